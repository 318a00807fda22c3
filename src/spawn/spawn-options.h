/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The options of nspawn 252 beyond the basic set: parsing (here), meanings (spawn-credentials.c,
 * spawn-journal.c, spawn-overlay.c, spawn-timezone.c, spawn-oci.c ...). */

#include <getopt.h>

#include "spawn-config.h"

enum {
        PERSONALITY_HOST,   /* as the host's */
        PERSONALITY_X86,    /* PER_LINUX32: uname -m says i686 */
        PERSONALITY_X86_64, /* PER_LINUX */
};

/* getopt_long entries, terminated by an empty one; and the short options they add. */
extern const struct option spawn_options_long[];
#define SPAWN_OPTIONS_SHORT "jZ:L:"

/* Parses one of those options. Returns 1 for an option that is not one of them, <0 (logged) on bad input. */
int spawn_options_parse(SpawnConfig *c, int opt, const char *arg);
/* Which setting an option sets (0 if none or not ours). */
SettingMask spawn_options_setting(int opt);
/* Before the tree is looked at: the root from an OCI bundle, a tree made from a template. Logs. */
int spawn_options_prepare(SpawnConfig *c);
/* Checks them, after the settings file is merged; logs. */
int spawn_options_verify(SpawnConfig *c);
void spawn_options_done(SpawnConfig *c);

const char *timezone_mode_to_string(TimezoneMode m) _pure_;
TimezoneMode timezone_mode_from_string(const char *s) _pure_;
const char *link_journal_to_string(LinkJournal m) _pure_;
LinkJournal link_journal_from_string(const char *s) _pure_;
/* "x86", "x86-64" (on an x86-64 host); -EINVAL otherwise. */
int personality_from_string(const char *s);
/* "PATH" or "PATH:PATH", both absolute and normalized. */
int pivot_root_parse(const char *s, char **ret_new, char **ret_old);
/* An absolute, normalized path other than "/". */
int inaccessible_parse(const char *s, char **ret);

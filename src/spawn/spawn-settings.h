/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* .nspawn settings files ([Exec], [Files], [Network]), merged under the command line: a field the
 * user set on the command line is never taken from a file. Files are looked up by machine name in
 * /etc/systemd/nspawn and /run/systemd/nspawn (trusted), then beside the image (untrusted: keys that
 * would grant privileges there are ignored, with a warning, as nspawn does). */

#include <stdbool.h>
#include <stdio.h>

#include "spawn-config.h"

typedef enum SettingsMode {
        SETTINGS_NO,       /* --settings=no: read no file */
        SETTINGS_YES,      /* default: the trust rule above */
        SETTINGS_TRUSTED,  /* --settings=trusted: a file beside the image is trusted too */
        SETTINGS_OVERRIDE, /* --settings=override: files win over the command line */
        _SETTINGS_MODE_MAX,
        _SETTINGS_MODE_INVALID = -EINVAL,
} SettingsMode;

const char *settings_mode_to_string(SettingsMode m) _pure_;
SettingsMode settings_mode_from_string(const char *s) _pure_;

/* Parses one settings file into s, marking what it set in s->set_mask. Untrusted files cannot set
 * privileged keys. Logs problems with file:line; unknown keys are warned about and skipped. */
int settings_parse(FILE *f, const char *filename, bool trusted, SpawnConfig *s);
/* Finds and applies the settings file NAME.nspawn according to mode. */
int spawn_settings_load(SpawnConfig *c, const char *name, SettingsMode mode);
/* Copies what s set into c, where c does not have it from the command line (or always, override). */
int spawn_settings_merge(SpawnConfig *c, const SpawnConfig *s, bool override);

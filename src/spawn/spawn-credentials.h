/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "spawn-context.h"

#define CREDENTIALS_DIRECTORY "/run/host/credentials"
#define CREDENTIAL_SIZE_MAX (1024U * 1024U)       /* as systemd's */
#define CREDENTIALS_TOTAL_SIZE_MAX (1024U * 1024U)

/* "ID:VALUE" (C escapes undone) or, with load, "ID:PATH". -EINVAL for a bad ID or escape. */
int credential_parse(const char *spec, bool load, Credential *ret);
void credential_done(Credential *c);
/* Parses and adds one; logs (bad input, a duplicate ID). */
int spawn_credential_add_spec(SpawnConfig *c, const char *spec, bool load);
/* Reads the --load-credential= files (at most CREDENTIAL_SIZE_MAX each, CREDENTIALS_TOTAL_SIZE_MAX in all); logs. */
int spawn_credentials_load(SpawnConfig *c);
void spawn_credentials_free(Credential *l, size_t n);
/* Child step after pivot_root: a read-only tmpfs at CREDENTIALS_DIRECTORY, mode 0500, one file of
 * mode 0400 per credential, for PID 1 (it gets $CREDENTIALS_DIRECTORY). */
int spawn_credentials_setup(SpawnContext *c);

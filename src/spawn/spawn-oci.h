/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "spawn-config.h"

#define OCI_CONFIG_MAX (1024U * 1024U) /* config.json */
#define OCI_FIELD_MAX (64U * 1024U)    /* any one string in it */
#define OCI_LIST_MAX 1024U             /* args, env, mounts */

/* --oci-bundle=DIR: the root, process (args, env, cwd, user 0, noNewPrivileges), hostname and mounts
 * of DIR/config.json (OCI runtime spec 1.x) fill what the command line left unset; no .nspawn file is
 * read. The file is untrusted input: the root and bind sources must lie inside the bundle, mount
 * destinations must be absolute and normalized, sizes are bounded. Logs. */
int spawn_oci_load(SpawnConfig *c);
/* The same on a buffer (for the unit tests); bundle is the bundle's absolute path. Logs. */
int spawn_oci_parse(SpawnConfig *c, const char *bundle, const char *json, size_t size);

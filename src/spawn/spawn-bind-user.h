/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "spawn-context.h"

/* --bind-user=NAME, as nspawn: with a user namespace, the host user's UID and GID are mapped to
 * UID/GID 60514 + n in the machine, its home is bound to /run/host/home/NAME, and JSON user and group
 * records (for nss-systemd / userdbctl in the machine) are written to /run/host/userdb/. */
#define BIND_USER_UID_MIN UINT32_C(60514)
#define BIND_USER_MAX 64U

typedef struct BoundUser {
        char *name, *group_name, *real_name, *home, *shell;
        uid_t host_uid;
        gid_t host_gid;
        uint32_t uid; /* inside */
        int home_fd;  /* child: a clone of the home */
} BoundUser;

/* Parent: looks the users up on the host (before the machine starts); logs. */
int spawn_bind_users_resolve(SpawnContext *c);
void spawn_bind_users_done(SpawnContext *c);
/* uid_map / gid_map text: "0 BASE RANGE" split around the bound users' IDs. */
int spawn_bind_users_map(const SpawnContext *c, uint32_t base, uint32_t range, bool gid, char **ret);
/* Child, before pivot_root (host view): clones of the homes. After it: binds them and writes the records. */
int spawn_bind_users_open(SpawnContext *c);
int spawn_bind_users_setup(SpawnContext *c);

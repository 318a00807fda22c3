/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "spawn-context.h"

/* Child side, before pivot_root: everything relative to c->root_fd. */
int spawn_mount_proc(SpawnContext *c);
int spawn_mount_sys(SpawnContext *c);
int spawn_mount_dev(SpawnContext *c);
int spawn_mount_run_tmp(SpawnContext *c);
int spawn_mount_user(SpawnContext *c);
int spawn_mount_inaccessible(SpawnContext *c);

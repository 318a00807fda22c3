/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* lxcfs's views of /proc and /sys. The parent decides (--lxcfs=yes without a running lxcfs is an
 * error); the child clones lxcfs's files before it drops privileges and binds them over /proc and
 * /sys once they exist. While the machine runs the launcher watches lxcfs's process: when it is
 * gone (its FUSE connection dead, every read ENOTCONN) the binds go and the machine sees the host's
 * figures again. */

#include "spawn-context.h"

int spawn_step_lxcfs_detect(SpawnContext *c);
int spawn_open_lxcfs(SpawnContext *c);
int spawn_mount_lxcfs(SpawnContext *c);

/* Parent: a pidfd of the lxcfs serving the bound files, to watch; -ESRCH when it is gone already
 * (or was replaced), -ENOENT when it cannot be found (no pid file, no process named lxcfs). */
int spawn_lxcfs_open_pidfd(const SpawnContext *c);
/* Parent: takes lxcfs's files away from the machine's mount namespace (in a forked helper):
 * unmounted, or where -U locked them, covered by the host's own /proc and /sys files. */
int spawn_lxcfs_release(const SpawnContext *c);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The launcher's resource steps: cgroup limits on the machine's scope (parent, before the clone),
 * process limits of PID 1 (parent, after it), lxcfs's views (child, before pivot_root). */

#include "spawn-context.h"

int spawn_step_cgroup_limits(SpawnContext *c);
int spawn_step_process_limits(SpawnContext *c);

/* lxcfs: the parent decides (--lxcfs=yes without a running lxcfs is an error), the child clones
 * lxcfs's files before it drops privileges and binds them over /proc and /sys once they exist. */
int spawn_step_lxcfs_detect(SpawnContext *c);
int spawn_open_lxcfs(SpawnContext *c);
int spawn_mount_lxcfs(SpawnContext *c);

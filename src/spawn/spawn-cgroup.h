/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "spawn-context.h"

/* Which /sys/fs/cgroup the machine sees (CgroupView in spawn-config.h). On a pure cgroup2 host every
 * machine sees cgroup2. On a hybrid host a guest whose systemd needs cgroup v2 (found from the tree's
 * libsystemd-shared-N.so, as nspawn does, or forced) gets a cgroup2-only view rooted at its own v2
 * cgroup; other guests see the host's layout (v1 controllers read-only, name=systemd and unified
 * writable, all rooted at the machine's cgroups). */

/* Parent: decides c->cgroup_unified_view and says once when the guest runs without controllers. */
int spawn_cgroup_pick_view(SpawnContext *c);
/* Child, before pivot_root: mounts the view at /sys/fs/cgroup under c->root_fd. */
int spawn_mount_cgroup(SpawnContext *c);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The launcher's resource steps: cgroup limits on the machine's scope (parent, before the clone),
 * process limits of PID 1 (parent, after it). lxcfs's views are in spawn-lxcfs.h. */

#include "spawn-context.h"

int spawn_step_cgroup_limits(SpawnContext *c);
int spawn_step_process_limits(SpawnContext *c);

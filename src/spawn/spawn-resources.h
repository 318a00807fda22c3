/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The launcher's resource steps: process limits of PID 1 (parent, after the clone); cgroup limits on
 * the machine's scope (after registration, before PID 1 runs init), unless systemd-machined took the
 * machine into a scope of systemd's, which then applies the properties the registration handed over
 * (register-properties.h). lxcfs's views are in spawn-lxcfs.h. */

#include "spawn-context.h"

int spawn_step_cgroup_limits(SpawnContext *c);
int spawn_step_process_limits(SpawnContext *c);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "spawn-context.h"

/* --timezone=: child steps. The first reads the host's /etc/localtime before pivot_root; the second
 * makes the machine's /etc/localtime what the mode says, after pivot_root. With "auto" (the default)
 * a failure is not fatal: the tree keeps what it has. */
int spawn_timezone_read_host(SpawnContext *c);
int spawn_timezone_setup(SpawnContext *c);

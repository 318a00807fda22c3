/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"
#include "spawn-context.h"

/* The child's life: runs in the new namespaces as their PID 1, builds the machine's root, waits for
 * the parent's go, and execs init (or the command). Never returns. */
_noreturn_ void spawn_child_main(SpawnContext *c);

/* --as-pid2: PID 1 that reaps zombies and forwards signals to PID 2; exits with PID 2's status. */
_noreturn_ void spawn_stub_init(pid_t payload);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "spawn-context.h"

/* --pivot-root=NEW[:OLD], child side right after the root is attached: NEW (resolved inside the
 * tree) becomes the machine's root; with OLD the whole tree is mounted there, else it is gone. */
int spawn_pivot_root_setup(SpawnContext *c);
/* --personality=: what uname(2) reports in the machine. */
int spawn_personality_set(SpawnContext *c);

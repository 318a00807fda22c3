/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "spawn-context.h"

void spawn_context_init(SpawnContext *c, const SpawnConfig *config, SpawnTree *tree);
/* The parent's steps, from the name lock to the child's exec of init. Logs what failed. */
int spawn_start(SpawnContext *c);
/* Kills what is left of the machine, removes its cgroups, unregisters, drops the lock. Every path. */
void spawn_teardown(SpawnContext *c);

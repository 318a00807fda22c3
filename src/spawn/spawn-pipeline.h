/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>

#include "spawn-context.h"

void spawn_context_init(SpawnContext *c, const SpawnConfig *config, SpawnTree *tree);
/* One launcher per machine name: takes /run/berth/spawn/NAME.lock. Logs. */
int spawn_lock(SpawnContext *c);
void spawn_unlock(SpawnContext *c);
/* -U: reserves the machine's UID range (once). Logs. */
int spawn_acquire_uid_range(SpawnContext *c);
/* A --bind whose source comes to the child as a tree idmapped by the parent (SYNC_BIND_FD). */
bool spawn_bind_needs_idmap(const SpawnContext *c, const BindMount *b);
/* The parent's steps, from the cgroups to the child's exec of init. Logs what failed. */
/* Prints the launcher's step names, in order, one a line (BERTH_DEBUG_KILL_AT=help). */
void spawn_list_parent_steps(FILE *f);
int spawn_start(SpawnContext *c);
/* Kills what is left of the machine, removes its cgroups, unregisters. Every path. */
void spawn_teardown(SpawnContext *c);

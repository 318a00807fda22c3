/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "spawn-context.h"

#define SPAWN_HOST_JOURNAL_DIR "/var/log/journal"

/* --link-journal=, parent side (host privileges, before the child): makes the host's
 * /var/log/journal/ID (host modes) or the tree's one plus a host symlink to it (guest modes), and
 * decides whether the host's directory is bound into the machine (c->journal_bind). Logs. */
int spawn_journal_link(SpawnContext *c);
/* Child side: binds c->journal_bind (cloned in open-host-paths) onto /var/log/journal/ID. */
int spawn_journal_mount(SpawnContext *c);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "spawn-config.h"

/* --template=: if the --directory= tree does not exist yet, it is made as a copy of the template (an OS
 * tree), copied next to it and renamed into place when complete; an existing tree is used as it is,
 * and the template is never written. Logs. */
int spawn_template_populate(SpawnConfig *c);

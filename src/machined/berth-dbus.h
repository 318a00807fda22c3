/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* io.berth.Machine1.Manager: what machine1 has no method for (persistent machines started by
 * berthd, autostart, commands whose exit status comes back), on /org/freedesktop/machine1. */

#include "manager.h"

int berth_add_bus_objects(Manager *m);
/* A machine registered: answers a StartMachine call waiting for it. */
void berth_machine_new(Manager *m, Machine *machine);

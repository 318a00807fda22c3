/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "spawn-context.h"

/* Registers the machine (leader = its PID 1) with whoever owns org.freedesktop.machine1: with one
 * message on berthd's registration socket for this bus (registry-socket.h) when there is one, else
 * through the short-lived berth-register helper over the bus (systemd-machined, an older berthd).
 * --register=auto: only if a system bus runs and someone owns the
 * name; --register=yes: failing to register is an error. Logs. */
int spawn_registration_register(SpawnContext *c);
/* UnregisterMachine (or its socket twin), as nspawn does on exit; errors are only logged at debug level. */
void spawn_registration_unregister(SpawnContext *c);

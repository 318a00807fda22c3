/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"

/* Listens on the registration socket for this bus (registry-socket.h); launchers that find no socket
 * fall back to the bus. manager_unlisten_registry() closes and removes it (manager_free() calls it). */
int manager_listen_registry(Manager *m);
void manager_unlisten_registry(Manager *m);

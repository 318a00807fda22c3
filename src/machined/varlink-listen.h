/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"

/* berthd's Varlink socket (registry-socket.h's machine_varlink_socket_path()): io.systemd.Machine's
 * List, as systemd-machined ≥ 256 serves it, plus org.varlink.service.GetInfo. Read-only and open to
 * every user, as ListMachines is. Answered from the table berthd holds, in its loop, without
 * blocking: bounded buffers, at most VARLINK_CLIENTS_MAX connections and VARLINK_CLIENTS_PER_UID_MAX
 * of one user other than root, idle ones closed after a while, and a client that sends garbage or
 * does not read its replies is dropped. */
#define VARLINK_CLIENTS_MAX 256
#define VARLINK_CLIENTS_PER_UID_MAX 32
#define VARLINK_MESSAGE_MAX (64U * 1024U)
#define VARLINK_OUTPUT_MAX (16U * 1024U * 1024U)
#define VARLINK_IDLE_USEC (60U * 1000U * 1000U)

int manager_listen_varlink(Manager *m);
void manager_unlisten_varlink(Manager *m);

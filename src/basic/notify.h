/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* sd_notify() for programs that do not link libsystemd: sends state ("READY=1") to $NOTIFY_SOCKET
 * (a path or an abstract "@name"). Returns 0 if there is no socket, 1 if sent, <0 on error. */
int notify_send(const char *state);

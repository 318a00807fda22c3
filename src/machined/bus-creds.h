/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Who sent a message: its UID (effective if known) and PID. On dbus-daemon these are not attached
 * to messages, and sd-bus asks the bus for them with a call that waits for the answer, which holds
 * berthd's whole loop while the bus is busy. A connection's unique name is never given to another
 * connection while the bus runs, so the answer is kept per unique name (the oldest forgotten beyond
 * BUS_CREDS_CACHE_MAX, all when the bus is another one: a dbus-daemon restart reuses names). */

#include <systemd/sd-bus.h>
#include <sys/types.h>

#define BUS_CREDS_CACHE_MAX 1024

int bus_sender_uid_pid(sd_bus_message *message, uid_t *ret_uid, pid_t *ret_pid);

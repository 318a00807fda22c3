/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Reading something from inside a machine without blocking berthd: a helper joins the machine
 * (machine_fork_inside()), writes what it found into a pipe, and the event loop collects it, at
 * most max bytes and within 5 s; a guest that makes the helper hang (a FIFO for os-release) or
 * talk too much costs it nothing but that one reply. No D-Bus types here. */

#include <stddef.h>

#include "machine.h"

/* result: 0 or a negative errno (-ETIMEDOUT, -E2BIG, the helper's error); buf is NUL-terminated, may
 * be changed, and is freed after the call. */
typedef void (*MachineCollectDone)(int result, char *buf, size_t size, void *userdata);

/* Runs fn(fd, ud) in a helper inside the namespaces 'wanted' of the machine. */
int machine_collect_async(Machine *machine, int wanted, int (*fn)(int fd, void *ud), void *ud, size_t max,
                          MachineCollectDone done, void *userdata);

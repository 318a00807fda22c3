/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* BindMountMachine: the core, with no D-Bus types (machine-dbus.c is the adapter).
 *
 * The daemon clones the host tree with open_tree(OPEN_TREE_CLONE|AT_RECURSIVE) (and makes the
 * clone read-only with mount_setattr), then a child that joined only the machine's mount namespace
 * and root resolves the destination inside the machine (RESOLVE_IN_ROOT; created with mkdir) and
 * attaches the detached tree there with move_mount(). Machines with a user namespace are refused
 * (-EOPNOTSUPP, as in systemd 252): the caller checks the UID shift and says so. */

#include <stdbool.h>

#include "machine-copy.h"
#include "machine.h"

/* Starts the bind mount; done() reports the result from the event loop. Returns 0 when started, or
 * a negative errno (-ENOENT: no such source, -EOPNOTSUPP: not a container). */
int machine_bind_mount(Machine *machine, const char *source, const char *destination, bool read_only,
                       bool make_directory, MachineOperationDone done, void *userdata);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* CopyFromMachine/CopyToMachine: the core, with no D-Bus types (machine-dbus.c is the adapter).
 *
 * The daemon opens the host side (the parent directory of the host path) first, then forks a child
 * that joins only the machine's mount namespace and root (it stays host root in the host's user
 * namespace) and resolves the machine side there with RESOLVE_IN_ROOT, so no symlink in the guest
 * reaches a host file. The copy never follows a symlink: the last component of the source and
 * everything below it are copied as they are (files, directories, symlinks, device nodes, FIFOs),
 * with mode, ownership and timestamps. It is built under a temporary name next to the destination
 * and renamed into place at the end, so a failed copy leaves nothing behind; with
 * MACHINE_COPY_REPLACE an existing destination is swapped out atomically and then removed.
 *
 * Ownership with a user namespace (UID shift S, a 65536-id range): copying out gives host files the
 * host-side IDs (an ID X inside becomes S + X on the host, as the host sees the guest's files).
 * Copying in maps host IDs into the range: IDs already in [S, S+65536) are kept (so a copy out and
 * back in round-trips), other IDs below 65536 become S + ID, and larger ones the guest's nobody. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "machine.h"

/* systemd 252's MACHINE_COPY_REPLACE: flags bit 0 of Copy*WithFlags. */
#define MACHINE_COPY_REPLACE (UINT64_C(1) << 0)
#define _MACHINE_COPY_KNOWN MACHINE_COPY_REPLACE

/* Called once from the event loop when an operation ends: 0 or a negative errno. */
typedef void (*MachineOperationDone)(int result, void *userdata);

/* Watches a helper process (its exit code is an errno) and calls done() when it exits; counts it in
 * manager->n_operations meanwhile. On failure the helper is killed and reaped. */
int machine_operation_watch(Manager *m, pid_t pid, MachineOperationDone done, void *userdata);

/* Starts a copy; both paths are absolute and normalized (checked by the caller). Returns 0 when
 * the copy runs (done() reports its result later), or a negative errno when it could not start. */
int machine_copy(Machine *machine, bool to_machine, const char *source, const char *destination, uint64_t flags,
                 MachineOperationDone done, void *userdata);

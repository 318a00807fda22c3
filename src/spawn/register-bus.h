/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the berth-register helper says on the bus (the launcher runs that helper, see
 * spawn-registration.c): register the machine with whoever owns org.freedesktop.machine1 (berthd or
 * systemd-machined), and forget it again at the end. */

#include <errno.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

typedef enum RegisterMode {
        REGISTER_NO,
        REGISTER_YES,  /* failure to register is an error */
        REGISTER_AUTO, /* register only if someone owns org.freedesktop.machine1 */
        _REGISTER_MODE_MAX,
        _REGISTER_MODE_INVALID = -EINVAL,
} RegisterMode;

typedef struct SpawnRegistration {
        const char *name;
        const uint8_t *uuid;        /* 16 bytes; NULL or all zero: none */
        pid_t leader;               /* the guest's PID 1 in host PID terms */
        const char *root_directory; /* NULL or "": none */
        const char *service;        /* NULL: "berth" */
        const char *class;          /* NULL: "container" */
        int netif;                  /* the veth's host-side interface index, 0: none */
        char *const *properties;    /* "MemoryMax=100M", ...: for systemd-machined's scope (NULL: none) */
} SpawnRegistration;

/* Registers the machine. Call it once the leader sits in its cgroup (machine.slice/
 * machine-NAME.scope) and before it execs init.
 *   - berthd owns the name: RegisterMachineWithNetwork (the leader stays where it is);
 *   - systemd-machined owns it: CreateMachineWithNetwork (machined makes the scope and moves the
 *     leader), as systemd-nspawn calls it, with the resource properties as the scope's unit
 *     properties (register-properties.h), so that systemd, which owns the scope, applies them.
 * With REGISTER_AUTO and no bus or no owner: returns 0 with *ret_bus = NULL, silently. On success
 * *ret_bus holds the connection to pass to spawn_unregister() (and then to
 * sd_bus_flush_close_unref()); returns 1 if registered with berthd, 2 with systemd-machined (whose
 * scope, owned by systemd, now holds the machine). Errors are logged. */
int spawn_register(const SpawnRegistration *reg, RegisterMode mode, sd_bus **ret_bus);

/* Forgets the machine (UnregisterMachine). A machine that is already gone is not an error: berthd
 * notices a dead leader by itself. bus may be NULL (nothing to do). */
int spawn_unregister(sd_bus *bus, const char *name);

/* Does berthd (rather than systemd-machined) own org.freedesktop.machine1 on this bus? */
int spawn_registry_is_berthd(sd_bus *bus);

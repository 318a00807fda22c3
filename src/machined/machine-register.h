/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The core of CreateMachine and RegisterMachine: a validated, authorized registration becomes a
 * running Machine. The D-Bus adapter (manager-dbus.c) reads, validates, authorizes, calls this and
 * replies; it turns the failure below into the error systemd-machined gives. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "machine.h"
#include "manager.h"

typedef struct MachineRegistration {
        const char *name;
        const void *id;            /* 16 bytes, or NULL */
        const char *service;
        MachineClass class;
        pid_t leader;              /* 0: the sender */
        const char *root_directory;
        const int *netifs;
        size_t n_netifs;
        int kill_signal;           /* 0: the guest's own */
        char **properties;         /* resource properties, "NAME=VALUE" (CreateMachine only) */
        bool create;               /* CreateMachine: berthd makes the scope; else the leader's cgroup */
} MachineRegistration;

typedef enum RegisterFailure {
        REGISTER_NAME_TAKEN,       /* -EEXIST */
        REGISTER_NO_SENDER,        /* leader 0 and the sender's PID is unknown */
        REGISTER_LEADER_TAKEN,     /* -EBUSY */
        REGISTER_WATCH_LEADER,
        REGISTER_CGROUP,           /* the scope (create) or the leader's cgroup (register) */
        REGISTER_START,
        _REGISTER_FAILURE_MAX,
} RegisterFailure;

/* The checks of a registration's fields that every adapter makes: -EINVAL, or -EOPNOTSUPP for class
 * "host", with *ret_message saying what is wrong. */
int machine_registration_check(const char *name, const char *class, uint32_t leader, const char *root,
                               const char *service, MachineClass *ret_class, const char **ret_message);

/* sender: the PID of whoever asked (0 if unknown). On failure, *ret_failure says which step failed;
 * nothing of the machine is left behind. */
int manager_register_machine(Manager *m, const MachineRegistration *reg, pid_t sender, Machine **ret,
                             RegisterFailure *ret_failure);

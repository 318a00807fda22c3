/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One registered machine: the core, with no D-Bus types (machine-dbus.c is the adapter). */

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <systemd/sd-event.h>
#include <systemd/sd-id128.h>

#include "macro.h"

typedef struct Manager Manager;
typedef struct Machine Machine;
typedef struct ExecJob ExecJob;

typedef enum MachineClass {
        MACHINE_CONTAINER,
        MACHINE_VM,
        MACHINE_HOST,
        _MACHINE_CLASS_MAX,
        _MACHINE_CLASS_INVALID = -EINVAL,
} MachineClass;

typedef enum MachineState {
        MACHINE_OPENING,
        MACHINE_RUNNING,
        MACHINE_CLOSING,
        _MACHINE_STATE_MAX,
        _MACHINE_STATE_INVALID = -EINVAL,
} MachineState;

typedef enum KillWhom {
        KILL_LEADER,
        KILL_ALL,
        _KILL_WHOM_MAX,
        _KILL_WHOM_INVALID = -EINVAL,
} KillWhom;

const char *machine_class_to_string(MachineClass c) _pure_;
MachineClass machine_class_from_string(const char *s) _pure_;
const char *machine_state_to_string(MachineState s) _pure_;
MachineState machine_state_from_string(const char *s) _pure_;
const char *kill_whom_to_string(KillWhom w) _pure_;
KillWhom kill_whom_from_string(const char *s) _pure_;

struct Machine {
        Manager *manager;
        char *name;
        sd_id128_t id;
        char *service;        /* "" if none */
        char *root_directory; /* "" if none */
        char *unit;           /* the systemd unit of the leader's cgroup, "" if none */
        char *cgroup;         /* relative cgroup of the machine ("machine.slice/machine-x.scope"), or NULL */
        bool own_scope;       /* we made the cgroup (CreateMachine) and remove it at the end */
        MachineClass class;
        MachineState state;
        int kill_signal;      /* from the scope properties, 0 if not set */

        pid_t leader;
        int leader_pidfd;
        uint64_t leader_start_time;
        uint64_t leader_pidfd_id;
        int private_net;      /* the leader's network namespace is not ours: 1/0, -1 until first looked at */
        pid_t supervisor;     /* who registered it (a launcher), 0 if unknown or the leader itself */
        int supervisor_pidfd;
        uint64_t supervisor_start_time;

        int *netifs;
        size_t n_netifs;
        char **os_release;           /* the guest's os-release, parsed (machine-peek.h), NULL if unread */
        struct stat os_release_stat; /* the file it came from: read again when this changes */
        int os_release_wds[3];       /* inotify watches on that file, /etc and /usr/lib (machine-watch.h) */
        size_t n_os_release_wds;
        bool os_release_watched;     /* all in place and silent since: os_release is current */
        struct NetlinkAddress *addresses; /* its addresses as last read (machine-peek.h) */
        size_t n_addresses;
        bool addresses_current;      /* no change seen on address_watch since they were read */
        sd_event_source *address_watch;
        uint64_t timestamp_realtime;
        uint64_t timestamp_monotonic;

        sd_event_source *leader_source;
        sd_event_source *terminate_timer;
        bool started;
        Machine *next, *prev;
};

/* Allocates a machine (not yet registered with the manager). */
int machine_new(Manager *m, MachineClass class, const char *name, Machine **ret);
Machine *machine_free(Machine *machine);
DEFINE_POINTER_CLEANUP(Machine *, machine_free);

/* Takes a pidfd on the leader (and supervisor), proving their identity; for adopted machines the
 * recorded start times must match. */
int machine_set_leader(Machine *machine, pid_t leader);
int machine_set_supervisor(Machine *machine, pid_t supervisor);
/* Derives unit and cgroup from the leader's current cgroup (RegisterMachine). */
int machine_derive_cgroup(Machine *machine);
/* Creates machine.slice/machine-<escaped>.scope in every hierarchy and moves the leader there. */
int machine_create_scope(Machine *machine);
/* Links it into the manager, writes the state file, watches the leader, announces it. */
int machine_start(Machine *machine);
/* Forgets it: removes state file and symlink, its own scope, the object, and announces that. */
void machine_finalize(Machine *machine);

int machine_save(Machine *machine);
/* Loads a state file written by machine_save() (or by systemd-machined 252). */
int machine_load(Manager *m, const char *name, Machine **ret);

int machine_kill(Machine *machine, KillWhom whom, int sig);
/* Asks the machine to shut down, then SIGKILLs it after the manager's timeout. */
int machine_terminate(Machine *machine);
/* The signal that makes this machine's init power off. */
int machine_shutdown_signal(Machine *machine);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "cgroup-util.h"
#include "machine.h"
#include "macro.h"

#define MANAGER_OPERATIONS_MAX 64

struct Manager {
        sd_event *event;
        sd_bus *bus;
        sd_event_source *bus_retry; /* reconnecting after the bus went away */
        CgroupSet cgroups;
        bool have_cgroups;
        char *state_dir;
        uint64_t terminate_timeout_usec;

        Machine *machines; /* a list, host first */
        size_t n_machines;
        Machine *host;
        unsigned n_operations;

        char *log_dir;        /* console logs of the machines berthd starts */
        char *autostart_dir;  /* one empty file per enabled machine */
        struct StartJob *start_jobs; /* launchers berthd started and still reaps */
        struct ExecJob *exec_jobs;   /* ExecMachine commands still running */
        struct Transfer *transfers;  /* berth-import helpers still running, newest first */
        uint32_t transfer_last_id;

        struct Image *image_cache; /* images resolved for the message being processed */
        sd_event_source *image_flush;

        sd_event_source *registry_source; /* registry-listen.c: berth-spawn's registrations */
        char *registry_path;

        int metadata_epoll_fd;       /* machine-watch.c: address watches and os-release inotify */
        int os_release_inotify_fd;
        sd_event_source *os_release_inotify_source;
        bool metadata_fresh;         /* flushed for the list being answered */

        sd_event_source *varlink_source; /* varlink-listen.c: io.systemd.Machine */
        char *varlink_path;
        struct VarlinkClient *varlink_clients;
        unsigned n_varlink_clients;
};

int manager_new(const char *state_dir, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_POINTER_CLEANUP(Manager *, manager_free);

/* Connects to the bus (or uses 'bus' if given), adds objects, loads state files, takes the name. */
int manager_startup(Manager *m, sd_bus *bus);
int manager_run(Manager *m);

Machine *manager_find_machine(Manager *m, const char *name);
Machine *manager_find_machine_by_leader(Manager *m, pid_t pid);
/* The machine a process belongs to: its leader, its cgroup, or its PID namespace. */
int manager_find_machine_by_pid(Manager *m, pid_t pid, Machine **ret);
void manager_link_machine(Manager *m, Machine *machine);
void manager_unlink_machine(Manager *m, Machine *machine);

/* machine-gc.c: removes what a machine that is gone left: its cgroup in machine.slice (emptied
 * first) and its launcher's name lock; while its launcher (supervisor_pidfd, taken over) still
 * runs, only once that exits (a live launcher tears down its own). */
int manager_collect_machine(Manager *m, const char *name, const char *cgroup, int supervisor_pidfd);

/* Implemented by manager-dbus.c: announcements of the core. */
void manager_send_machine_new(Manager *m, Machine *machine);
void manager_send_machine_removed(Manager *m, Machine *machine);
/* Registers all vtables, enumerators and the extension interface on m->bus. */
int manager_add_bus_objects(Manager *m);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fileio.h"
#include "log.h"
#include "machine-limits.h"
#include "machine-register.h"
#include "hostname-util.h"
#include "path-util.h"
#include "string-util.h"

/* The launcher that supervises the leader: its parent, when that is berth-spawn or systemd-nspawn
 * (whoever sent the call may be a short-lived helper), or the sender when it is the leader's parent.
 * Never an unrelated sender: TerminateMachine signals the supervisor instead of the guest. */
static pid_t find_supervisor(pid_t leader, pid_t sender) {
        _cleanup_free_ char *status = NULL, *comm = NULL;
        char path[64];
        const char *p;
        int ppid;

        (void) snprintf(path, sizeof path, "/proc/%d/status", (int) leader);
        if (read_full_file_at(AT_FDCWD, path, 64 * 1024, &status, NULL) < 0 || !(p = strstr(status, "\nPPid:")) ||
            sscanf(p + 7, "%d", &ppid) != 1 || ppid <= 1 || ppid == getpid())
                return 0;
        if (ppid == sender)
                return sender;
        (void) snprintf(path, sizeof path, "/proc/%d/comm", ppid);
        if (read_one_line_file(path, &comm) >= 0 && (streq(comm, "berth-spawn") || streq(comm, "systemd-nspawn")))
                return (pid_t) ppid;
        return 0;
}

static int fill_machine(Machine *machine, const MachineRegistration *reg) {
        int r;

        if (reg->id)
                memcpy(&machine->id, reg->id, 16);
        r = free_and_strdup(&machine->service, reg->service ?: "");
        if (r < 0)
                return r;
        r = free_and_strdup(&machine->root_directory, reg->root_directory ?: "");
        if (r < 0)
                return r;
        if (reg->n_netifs > 0) {
                machine->netifs = new(int, reg->n_netifs);
                if (!machine->netifs)
                        return -ENOMEM;
                memcpy(machine->netifs, reg->netifs, reg->n_netifs * sizeof(int));
                machine->n_netifs = reg->n_netifs;
        }
        machine->kill_signal = reg->kill_signal;
        return 0;
}

int machine_registration_check(const char *name, const char *class, uint32_t leader, const char *root,
                               const char *service, MachineClass *ret_class, const char **ret_message) {
        MachineClass c = MACHINE_CONTAINER;

        if (!machine_name_is_valid(name))
                return *ret_message = "Invalid machine name", -EINVAL;
        if (!isempty(class)) {
                c = machine_class_from_string(class);
                if (c < 0)
                        return *ret_message = "Invalid machine class parameter", -EINVAL;
        }
        if (c == MACHINE_HOST)
                return *ret_message = "Machines of class 'host' cannot be registered", -EOPNOTSUPP;
        if (leader == 1 || leader > INT32_MAX)
                return *ret_message = "Invalid leader PID", -EINVAL;
        if (!isempty(root) && !(path_is_absolute(root) && path_is_normalized(root)))
                return *ret_message = "Root directory must be empty or an absolute path", -EINVAL;
        if (!isempty(service) && (strlen(service) > 256 || string_has_cc(service) || !utf8_is_valid(service)))
                return *ret_message = "Invalid service name", -EINVAL;
        *ret_class = c;
        return 0;
}

static int fail(RegisterFailure *ret_failure, RegisterFailure f, int r) {
        *ret_failure = f;
        return r;
}

int manager_register_machine(Manager *m, const MachineRegistration *reg, pid_t sender, Machine **ret,
                             RegisterFailure *ret_failure) {
        _cleanup_(machine_freep) Machine *machine = NULL;
        pid_t leader = reg->leader ?: sender;
        Machine *started;
        int r;

        if (manager_find_machine(m, reg->name))
                return fail(ret_failure, REGISTER_NAME_TAKEN, -EEXIST);
        if (leader <= 0)
                return fail(ret_failure, REGISTER_NO_SENDER, -ESRCH);
        if (manager_find_machine_by_leader(m, leader))
                return fail(ret_failure, REGISTER_LEADER_TAKEN, -EBUSY);

        r = machine_new(m, reg->class, reg->name, &machine);
        if (r < 0)
                return r; /* no failure step: out of memory */
        r = fill_machine(machine, reg);
        if (r < 0)
                return r;
        r = machine_set_leader(machine, leader);
        if (r < 0)
                return fail(ret_failure, REGISTER_WATCH_LEADER, r);
        (void) machine_set_supervisor(machine, find_supervisor(leader, sender));
        r = reg->create ? machine_create_scope(machine) : machine_derive_cgroup(machine);
        if (r < 0)
                return fail(ret_failure, REGISTER_CGROUP, r);
        if (reg->create && reg->properties) {
                _cleanup_free_ char *limits_error = NULL;
                r = machine_limits_apply(machine, reg->properties, &limits_error);
                if (r < 0)
                        log_warning_errno(r, "Machine %s: resource properties not applied: %s", reg->name,
                                          limits_error ?: strerror(-r));
        }
        started = TAKE_PTR(machine);
        r = machine_start(started);
        if (r < 0) {
                machine_finalize(started);
                return fail(ret_failure, REGISTER_START, r);
        }
        log_info("New machine %s (leader %d, %s).", started->name, (int) started->leader,
                 reg->create ? "own scope" : isempty(started->unit) ? "no unit" : started->unit);
        *ret = started;
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alloc-util.h"
#include "cgroup-util.h"
#include "fd-util.h"
#include "hostname-util.h"
#include "log.h"
#include "machine.h"
#include "machine-watch.h"
#include "manager.h"
#include "ns-util.h"
#include "path-util.h"
#include "strv.h"
#include "pidfd-util.h"
#include "string-util.h"

static const char *const class_table[_MACHINE_CLASS_MAX] = {
        [MACHINE_CONTAINER] = "container",
        [MACHINE_VM] = "vm",
        [MACHINE_HOST] = "host",
};

static const char *const state_table[_MACHINE_STATE_MAX] = {
        [MACHINE_OPENING] = "opening",
        [MACHINE_RUNNING] = "running",
        [MACHINE_CLOSING] = "closing",
};

static const char *const whom_table[_KILL_WHOM_MAX] = {
        [KILL_LEADER] = "leader",
        [KILL_ALL] = "all",
};

#define DEFINE_TABLE(name, type, table, max, invalid)                 \
        const char *name##_to_string(type v) {                        \
                return v >= 0 && v < max ? table[v] : NULL;           \
        }                                                             \
        type name##_from_string(const char *s) {                      \
                for (int i = 0; i < max; i++)                         \
                        if (s && table[i] && streq(s, table[i]))      \
                                return (type) i;                      \
                return invalid;                                       \
        }

DEFINE_TABLE(machine_class, MachineClass, class_table, _MACHINE_CLASS_MAX, _MACHINE_CLASS_INVALID)
DEFINE_TABLE(machine_state, MachineState, state_table, _MACHINE_STATE_MAX, _MACHINE_STATE_INVALID)
DEFINE_TABLE(kill_whom, KillWhom, whom_table, _KILL_WHOM_MAX, _KILL_WHOM_INVALID)

int machine_new(Manager *m, MachineClass class, const char *name, Machine **ret) {
        _cleanup_(machine_freep) Machine *machine = NULL;

        assert(m);
        assert(name);

        machine = new0(Machine, 1);
        if (!machine)
                return -ENOMEM;
        machine->manager = m;
        machine->class = class;
        machine->state = MACHINE_RUNNING;
        machine->leader_pidfd = -EBADF;
        machine->private_net = -1;
        machine->supervisor_pidfd = -EBADF;
        machine->name = strdup(name);
        machine->service = strdup("");
        machine->root_directory = strdup("");
        machine->unit = strdup("");
        if (!machine->name || !machine->service || !machine->root_directory || !machine->unit)
                return -ENOMEM;
        *ret = TAKE_PTR(machine);
        return 0;
}

Machine *machine_free(Machine *machine) {
        if (!machine)
                return NULL;
        sd_event_source_disable_unref(machine->leader_source);
        sd_event_source_disable_unref(machine->address_watch);
        free(machine->addresses);
        if (machine->manager)
                machine_unwatch_os_release(machine);
        sd_event_source_disable_unref(machine->terminate_timer);
        safe_close(machine->leader_pidfd);
        safe_close(machine->supervisor_pidfd);
        free(machine->name);
        free(machine->service);
        free(machine->root_directory);
        free(machine->unit);
        free(machine->cgroup);
        free(machine->netifs);
        strv_free(machine->os_release);
        return mfree(machine);
}

int machine_set_leader(Machine *machine, pid_t leader) {
        uint64_t t;
        int fd;

        fd = pidfd_open_with_start_time(leader, &t);
        if (fd < 0)
                return fd;
        safe_close(machine->leader_pidfd);
        machine->leader_pidfd = fd;
        machine->leader = leader;
        machine->private_net = -1;
        machine->leader_start_time = t;
        if (pidfd_get_inode_id(fd, &machine->leader_pidfd_id) < 0)
                machine->leader_pidfd_id = 0;
        return 0;
}

int machine_set_supervisor(Machine *machine, pid_t supervisor) {
        uint64_t t;
        int fd;

        if (supervisor <= 1 || supervisor == machine->leader)
                return 0;
        fd = pidfd_open_with_start_time(supervisor, &t);
        if (fd < 0)
                return fd;
        safe_close(machine->supervisor_pidfd);
        machine->supervisor_pidfd = fd;
        machine->supervisor = supervisor;
        machine->supervisor_start_time = t;
        return 0;
}

/* "/machine.slice/machine-x.scope/payload" -> unit "machine-x.scope", cgroup "machine.slice/machine-x.scope" */
static int cgroup_split_unit(const char *path, char **ret_unit, char **ret_cgroup) {
        const char *p = path;

        while (*p == '/')
                p++;
        while (*p) {
                const char *e = strchrnul(p, '/');
                size_t n = (size_t) (e - p);
                _cleanup_free_ char *c = strndup(p, n);
                if (!c)
                        return -ENOMEM;
                if (!endswith(c, ".slice")) {
                        if (!endswith(c, ".scope") && !endswith(c, ".service"))
                                return -ENXIO;
                        char *cg = strndup(path + strspn(path, "/"), (size_t) (e - (path + strspn(path, "/"))));
                        if (!cg)
                                return -ENOMEM;
                        *ret_cgroup = cg;
                        *ret_unit = TAKE_PTR(c);
                        return 0;
                }
                p = *e ? e + 1 : e;
        }
        return -ENXIO;
}

int machine_derive_cgroup(Machine *machine) {
        _cleanup_free_ char *path = NULL, *unit = NULL, *cg = NULL;
        int r;

        r = cgroup_pid_get_path(machine->leader, "", &path);
        if (r < 0 || streq(path, "/")) {
                path = mfree(path);
                r = cgroup_pid_get_path(machine->leader, "name=systemd", &path);
        }
        if (r < 0)
                return r == -ENOENT ? -ESRCH : 0; /* no cgroup information: no unit */
        if (cgroup_split_unit(path, &unit, &cg) < 0)
                return 0;
        free(machine->unit);
        machine->unit = TAKE_PTR(unit);
        free(machine->cgroup);
        machine->cgroup = TAKE_PTR(cg);
        return 0;
}

int machine_create_scope(Machine *machine) {
        Manager *m = machine->manager;
        _cleanup_free_ char *cg = NULL, *unit = NULL;
        _cleanup_strv_free_ char **skipped = NULL;
        const char *slash;
        int r;

        if (!m->have_cgroups)
                return -EOPNOTSUPP;
        r = cgroup_machine_path(machine->name, &cg);
        if (r < 0)
                return r;
        r = cgroup_set_create(&m->cgroups, cg);
        if (r < 0)
                return r;
        r = cgroup_set_delegate(&m->cgroups, cg, false, &skipped);
        if (r < 0)
                return r;
        STRV_FOREACH(s, skipped)
                log_debug("cgroup controller not delegated to machine '%s': %s", machine->name, *s);
        r = cgroup_set_attach(&m->cgroups, cg, machine->leader);
        if (r < 0) {
                (void) cgroup_set_remove(&m->cgroups, cg);
                (void) cgroup_set_remove_empty_parents(&m->cgroups, cg);
                return r;
        }
        slash = strrchr(cg, '/');
        unit = strdup(slash ? slash + 1 : cg);
        if (!unit)
                return -ENOMEM;
        free(machine->unit);
        machine->unit = TAKE_PTR(unit);
        free(machine->cgroup);
        machine->cgroup = TAKE_PTR(cg);
        machine->own_scope = true;
        return 0;
}

static int on_leader_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Machine *machine = userdata;

        log_debug("Leader of machine '%s' exited.", machine->name);
        machine_finalize(machine);
        return 0;
}

static uint64_t now_usec(clockid_t clock) {
        struct timespec ts;

        (void) clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

int machine_start(Machine *machine) {
        Manager *m = machine->manager;
        int r;

        if (machine->timestamp_realtime == 0) {
                machine->timestamp_realtime = now_usec(CLOCK_REALTIME);
                machine->timestamp_monotonic = now_usec(CLOCK_MONOTONIC);
        }
        if (machine->leader_pidfd >= 0) {
                r = sd_event_add_io(m->event, &machine->leader_source, machine->leader_pidfd, EPOLLIN,
                                    on_leader_exit, machine);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_description(machine->leader_source, "machine-leader");
        }
        machine->started = true;
        manager_link_machine(m, machine);
        if (machine->class != MACHINE_HOST) {
                r = machine_save(machine);
                if (r < 0)
                        log_warning_errno(r, "Failed to write state file of machine '%s': %m", machine->name);
        }
        manager_send_machine_new(m, machine);
        return 0;
}

static void machine_remove_files(Machine *machine) {
        Manager *m = machine->manager;
        _cleanup_free_ char *p = NULL, *l = NULL, *target = NULL;

        p = path_join(m->state_dir, machine->name);
        if (p)
                (void) unlink(p);
        if (isempty(machine->unit))
                return;
        l = strjoin(m->state_dir, "/unit:", machine->unit);
        if (!l)
                return;
        /* only remove the link if it still points to us */
        target = new(char, 256);
        if (target) {
                ssize_t n = readlink(l, target, 255);
                if (n > 0) {
                        target[n] = 0;
                        if (streq(target, machine->name))
                                (void) unlink(l);
                }
        }
}

static void machine_remove_scope(Machine *machine) {
        Manager *m = machine->manager;
        int fd;

        if (machine->leader_pidfd >= 0 && pidfd_has_exited(machine->leader_pidfd) == 0) {
                log_debug("Machine '%s' forgotten while its leader still runs; leaving its scope.", machine->name);
                return;
        }
        /* the scope we made goes now; the one a launcher made goes with the launcher */
        fd = machine->own_scope ? -EBADF : TAKE_FD(machine->supervisor_pidfd);
        (void) manager_collect_machine(m, machine->name, machine->cgroup, fd);
}

void machine_finalize(Machine *machine) {
        Manager *m = machine->manager;

        if (machine->class == MACHINE_HOST)
                return;
        machine->leader_source = sd_event_source_disable_unref(machine->leader_source);
        machine->terminate_timer = sd_event_source_disable_unref(machine->terminate_timer);
        if (machine->started) {
                machine_remove_files(machine);
                manager_send_machine_removed(m, machine);
                manager_unlink_machine(m, machine);
                machine_remove_scope(machine);
        }
        log_info("Machine %s removed.", machine->name);
        machine_free(machine);
}

/* ---- signals ---- */

typedef enum GuestInit {
        GUEST_INIT_OTHER,
        GUEST_INIT_SYSTEMD,
        GUEST_INIT_BUSYBOX,
        GUEST_INIT_SYSVINIT,
} GuestInit;

/* What runs as the machine's PID 1, from its executable's name. */
static GuestInit leader_init(Machine *machine) {
        char path[64], exe[PATH_MAX];
        ssize_t n;

        (void) snprintf(path, sizeof path, "/proc/%d/exe", (int) machine->leader);
        n = readlink(path, exe, sizeof exe - 1);
        if (n <= 0)
                return GUEST_INIT_OTHER;
        exe[n] = 0;
        const char *base = strrchr(exe, '/');
        base = base ? base + 1 : exe;
        if (startswith(base, "systemd"))
                return GUEST_INIT_SYSTEMD;
        if (startswith(base, "busybox"))
                return GUEST_INIT_BUSYBOX;
        if (streq(base, "init"))
                return GUEST_INIT_SYSVINIT;
        return GUEST_INIT_OTHER;
}

int machine_shutdown_signal(Machine *machine) {
        if (machine->kill_signal > 0)
                return machine->kill_signal;
        switch (leader_init(machine)) {
        case GUEST_INIT_SYSTEMD:
                return SIGRTMIN + 4;
        case GUEST_INIT_BUSYBOX:
                return SIGUSR2;
        case GUEST_INIT_SYSVINIT:
                return SIGTERM;
        default:
                return SIGRTMIN + 3; /* nspawn's rule for any other init */
        }
}

/* machinectl poweroff/halt/reboot send systemd's signals to the leader (SIGRTMIN+4, SIGRTMIN+3,
 * SIGINT). Other inits get what they understand: busybox init its own signals; sysvinit a
 * SIGTERM to the launcher, which asks it for runlevel 0 (it has no poweroff signal). */
static int leader_signal(Machine *machine, int sig, int *ret_pidfd) {
        *ret_pidfd = machine->leader_pidfd;
        switch (leader_init(machine)) {
        case GUEST_INIT_BUSYBOX:
                if (sig == SIGRTMIN + 4)
                        return SIGUSR2;
                if (sig == SIGRTMIN + 3)
                        return SIGUSR1;
                if (sig == SIGINT)
                        return SIGTERM; /* busybox init reboots on SIGTERM */
                return sig;
        case GUEST_INIT_SYSVINIT:
                if ((sig == SIGRTMIN + 4 || sig == SIGRTMIN + 3) && machine->supervisor_pidfd >= 0) {
                        *ret_pidfd = machine->supervisor_pidfd;
                        return SIGTERM;
                }
                return sig;
        default:
                return sig;
        }
}

/* Signals every process in the leader's PID namespace (when it has one of its own). */
static int kill_pid_namespace(Machine *machine, int sig) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct stat leader_ns, self_ns;
        char path[64];
        int n = 0;

        (void) snprintf(path, sizeof path, "/proc/%d/ns/pid", (int) machine->leader);
        if (stat(path, &leader_ns) < 0)
                return -errno;
        if (stat("/proc/self/ns/pid", &self_ns) < 0)
                return -errno;
        if (leader_ns.st_ino == self_ns.st_ino)
                return -EOPNOTSUPP;
        d = opendir("/proc");
        if (!d)
                return -errno;
        for (struct dirent *de; (de = readdir(d));) {
                struct stat st;
                unsigned long v = strtoul(de->d_name, NULL, 10);
                if (v == 0)
                        continue;
                _cleanup_close_ int fd = pidfd_open_pid((pid_t) v);
                if (fd < 0)
                        continue;
                (void) snprintf(path, sizeof path, "/proc/%lu/ns/pid", v);
                if (stat(path, &st) < 0 || st.st_ino != leader_ns.st_ino || st.st_dev != leader_ns.st_dev)
                        continue;
                if (pidfd_signal(fd, sig) >= 0)
                        n++;
        }
        return n;
}

int machine_kill(Machine *machine, KillWhom whom, int sig) {
        Manager *m = machine->manager;
        int r;

        if (machine->class == MACHINE_HOST)
                return -EOPNOTSUPP;
        if (machine->leader_pidfd < 0)
                return -ESRCH;
        if (whom == KILL_LEADER) {
                int fd;
                sig = leader_signal(machine, sig, &fd);
                return pidfd_signal(fd, sig);
        }
        if (machine->cgroup && startswith(machine->cgroup, "machine.slice/") && m->have_cgroups) {
                r = cgroup_set_kill(&m->cgroups, machine->cgroup, sig);
                if (r > 0)
                        return 0;
        }
        r = kill_pid_namespace(machine, sig);
        if (r > 0)
                return 0;
        return pidfd_signal(machine->leader_pidfd, sig);
}

static int on_terminate_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Machine *machine = userdata;

        log_warning("Machine '%s' did not shut down in time, killing it.", machine->name);
        (void) machine_kill(machine, KILL_ALL, SIGKILL);
        return 0;
}

int machine_terminate(Machine *machine) {
        Manager *m = machine->manager;
        bool asked = false;
        int r;

        if (machine->class == MACHINE_HOST)
                return -EOPNOTSUPP;
        if (machine->leader_pidfd < 0)
                return -ESRCH;
        machine->state = MACHINE_CLOSING;
        if (machine->supervisor_pidfd >= 0 && pidfd_has_exited(machine->supervisor_pidfd) == 0 &&
            pidfd_signal(machine->supervisor_pidfd, SIGTERM) >= 0)
                asked = true; /* the launcher shuts its guest down in order */
        if (!asked) {
                r = pidfd_signal(machine->leader_pidfd, machine_shutdown_signal(machine));
                if (r < 0)
                        return r;
        }
        if (!machine->terminate_timer) {
                r = sd_event_add_time_relative(m->event, &machine->terminate_timer, CLOCK_MONOTONIC,
                                               m->terminate_timeout_usec, 0, on_terminate_timeout, machine);
                if (r < 0)
                        return r;
        }
        return 0;
}

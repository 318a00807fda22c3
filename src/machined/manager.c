/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc-util.h"
#include "bus-names.h"
#include "fd-util.h"
#include "fileio.h"
#include "hostname-util.h"
#include "image.h"
#include "image-ops.h"
#include "log.h"
#include "machine-exec.h"
#include "machine-start.h"
#include "machine-watch.h"
#include "manager.h"
#include "registry-listen.h"
#include "registry-socket.h"
#include "varlink-listen.h"
#include "path-util.h"
#include "pidfd-util.h"
#include "string-util.h"

int manager_new(const char *state_dir, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = new0(Manager, 1);
        if (!m)
                return -ENOMEM;
        m->terminate_timeout_usec = 10 * 1000000ULL;
        m->metadata_epoll_fd = m->os_release_inotify_fd = -EBADF;
        m->state_dir = strdup(state_dir ?: MACHINE_STATE_DIR);
        m->log_dir = strdup(MACHINE_LOG_DIR);
        m->autostart_dir = strdup(MACHINE_AUTOSTART_DIR);
        if (!m->state_dir || !m->log_dir || !m->autostart_dir)
                return -ENOMEM;
        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
        r = cgroup_set_detect(&m->cgroups);
        m->have_cgroups = r >= 0;
        if (r < 0)
                log_debug_errno(r, "No cgroup hierarchies found, CreateMachine will fail: %m");
        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        /* Machines stay registered on disk: a restarted berthd adopts them again. */
        while (m->machines) {
                Machine *machine = m->machines;
                manager_unlink_machine(m, machine);
                machine_free(machine);
        }
        manager_watch_done(m);
        start_jobs_free(m);
        exec_jobs_free(m);
        image_list_free(m->image_cache);
        sd_event_source_disable_unref(m->image_flush);
        manager_unlisten_registry(m);
        manager_unlisten_varlink(m);
        sd_event_source_disable_unref(m->bus_retry);
        sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);
        if (m->have_cgroups)
                cgroup_set_done(&m->cgroups);
        free(m->state_dir);
        free(m->log_dir);
        free(m->autostart_dir);
        return mfree(m);
}

void manager_link_machine(Manager *m, Machine *machine) {
        Machine *tail = m->machines;

        machine->next = NULL;
        if (!tail) {
                m->machines = machine;
                machine->prev = NULL;
        } else {
                /* keep list order = registration order (.host first) */
                while (tail->next)
                        tail = tail->next;
                tail->next = machine;
                machine->prev = tail;
        }
        m->n_machines++;
}

void manager_unlink_machine(Manager *m, Machine *machine) {
        if (machine->prev)
                machine->prev->next = machine->next;
        else if (m->machines == machine)
                m->machines = machine->next;
        else
                return;
        if (machine->next)
                machine->next->prev = machine->prev;
        machine->next = machine->prev = NULL;
        m->n_machines--;
}

Machine *manager_find_machine(Manager *m, const char *name) {
        for (Machine *i = m->machines; i; i = i->next)
                if (streq(i->name, name))
                        return i;
        return NULL;
}

Machine *manager_find_machine_by_leader(Manager *m, pid_t pid) {
        for (Machine *i = m->machines; i; i = i->next)
                if (i->class != MACHINE_HOST && i->leader == pid)
                        return i;
        return NULL;
}

static int pid_ns_inode(pid_t pid, struct stat *ret) {
        char path[64];

        (void) snprintf(path, sizeof path, "/proc/%d/ns/pid", (int) pid);
        return stat(path, ret) < 0 ? -errno : 0;
}

int manager_find_machine_by_pid(Manager *m, pid_t pid, Machine **ret) {
        _cleanup_free_ char *cg = NULL;
        struct stat ns, lns, self;
        Machine *machine;

        machine = manager_find_machine_by_leader(m, pid);
        if (machine) {
                *ret = machine;
                return 1;
        }
        if (cgroup_pid_get_path(pid, "", &cg) >= 0 || cgroup_pid_get_path(pid, "name=systemd", &cg) >= 0) {
                const char *rel = cg + strspn(cg, "/");
                for (Machine *i = m->machines; i; i = i->next) {
                        size_t n;
                        if (!i->cgroup)
                                continue;
                        n = strlen(i->cgroup);
                        if (strneq(rel, i->cgroup, n) && IN_SET(rel[n], '\0', '/')) {
                                *ret = i;
                                return 1;
                        }
                }
        }
        if (pid_ns_inode(pid, &ns) >= 0 && pid_ns_inode(getpid(), &self) >= 0 && ns.st_ino != self.st_ino)
                for (Machine *i = m->machines; i; i = i->next)
                        if (i->class != MACHINE_HOST && pid_ns_inode(i->leader, &lns) >= 0 &&
                            lns.st_ino == ns.st_ino && lns.st_dev == ns.st_dev) {
                                *ret = i;
                                return 1;
                        }
        return 0;
}

static uint64_t clock_usec(clockid_t c) {
        struct timespec ts;

        (void) clock_gettime(c, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

static int manager_add_host_machine(Manager *m) {
        _cleanup_(machine_freep) Machine *host = NULL;
        int r;

        r = machine_new(m, MACHINE_HOST, ".host", &host);
        if (r < 0)
                return r;
        (void) sd_id128_get_machine(&host->id);
        host->leader = 1;
        r = free_and_strdup(&host->root_directory, "/");
        if (r < 0)
                return r;
        r = free_and_strdup(&host->unit, "-.slice");
        if (r < 0)
                return r;
        /* boot time: now minus the time since boot */
        host->timestamp_realtime = clock_usec(CLOCK_REALTIME) - clock_usec(CLOCK_BOOTTIME);
        host->timestamp_monotonic = 0;
        m->host = host;
        return machine_start(TAKE_PTR(host));
}

/* Proves the leader of a loaded machine by pidfd + start time (+ pidfs id); never trusts a bare PID. */
static int manager_adopt(Manager *m, const char *name) {
        _cleanup_(machine_freep) Machine *machine = NULL;
        int r, fd;

        r = machine_load(m, name, &machine);
        if (r < 0)
                return r;
        fd = machine->leader_start_time == 0 ? -ESRCH : /* nothing to prove the leader with */
             pidfd_open_verified(machine->leader, machine->leader_start_time, machine->leader_pidfd_id);
        if (fd < 0) {
                /* the machine died while we were away: its cgroups go (or go with its launcher) */
                (void) manager_collect_machine(m, machine->name, machine->cgroup,
                                               machine->own_scope || machine->supervisor <= 0 ? -EBADF :
                                               pidfd_open_verified(machine->supervisor, machine->supervisor_start_time, 0));
                if (!isempty(machine->unit)) {
                        _cleanup_free_ char *link = strjoin(m->state_dir, "/unit:", machine->unit);
                        if (link)
                                (void) unlink(link);
                }
                return fd;
        }
        machine->leader_pidfd = fd;
        if (machine->supervisor > 0) {
                fd = pidfd_open_verified(machine->supervisor, machine->supervisor_start_time, 0);
                if (fd >= 0)
                        machine->supervisor_pidfd = fd;
                else
                        machine->supervisor = 0;
        }
        if (manager_find_machine(m, name))
                return -EEXIST;
        return machine_start(TAKE_PTR(machine));
}

static void manager_drop_state(Manager *m, const char *name) {
        _cleanup_free_ char *p = path_join(m->state_dir, name);
        if (p)
                (void) unlink(p);
}

static void manager_drop_stale_links(Manager *m) {
        _cleanup_close_ int dfd = open(m->state_dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        DIR *d;

        if (dfd < 0)
                return;
        d = fdopendir(dfd);
        if (!d)
                return;
        dfd = -EBADF;
        for (struct dirent *de; (de = readdir(d));) {
                char target[256];
                ssize_t n;
                if (!startswith(de->d_name, "unit:") && !startswith(de->d_name, ".#"))
                        continue;
                n = readlinkat(dirfd(d), de->d_name, target, sizeof target - 1);
                if (n > 0) {
                        target[n] = 0;
                        if (manager_find_machine(m, target))
                                continue;
                }
                (void) unlinkat(dirfd(d), de->d_name, 0);
        }
        closedir(d);
}

static int manager_load_state(Manager *m) {
        DIR *d;
        int r;

        d = opendir(m->state_dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_name[0] == '.' || startswith(de->d_name, "unit:"))
                        continue;
                if (!machine_name_is_valid(de->d_name))
                        continue;
                r = manager_adopt(m, de->d_name);
                if (r < 0) {
                        log_info("Dropping machine '%s': %s", de->d_name,
                                 r == -ESRCH ? "its leader is gone" : strerror(-r));
                        manager_drop_state(m, de->d_name);
                } else
                        log_info("Adopted running machine '%s'.", de->d_name);
        }
        closedir(d);
        manager_drop_stale_links(m);
        return 0;
}

static int manager_request_name(Manager *m) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *c = NULL;
        const char *comm = NULL;
        pid_t pid = 0;
        int r;

        r = sd_bus_request_name(m->bus, MACHINE1_BUS_NAME, 0);
        if (r >= 0)
                return 0;
        if (r != -EEXIST && r != -EALREADY)
                return log_error_errno(r, "Failed to acquire %s: %m", MACHINE1_BUS_NAME);
        if (sd_bus_get_name_creds(m->bus, MACHINE1_BUS_NAME, SD_BUS_CREDS_PID | SD_BUS_CREDS_COMM, &c) >= 0) {
                (void) sd_bus_creds_get_pid(c, &pid);
                (void) sd_bus_creds_get_comm(c, &comm);
        }
        log_error("%s is already owned by another process (%s, PID %d)%s; not starting.", MACHINE1_BUS_NAME,
                  strna(comm), (int) pid,
                  comm && strstr(comm, "machined") ? ": systemd-machined manages machines on this host" : "");
        return -EEXIST;
}

static int on_bus_disconnected(sd_bus_message *message, void *userdata, sd_bus_error *error);

static int manager_attach_bus(Manager *m) {
        int r;

        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");
        r = manager_add_bus_objects(m);
        if (r < 0)
                return log_error_errno(r, "Failed to add D-Bus objects: %m");
        return 0;
}

/* The system bus connection with our objects on it, a watch for its loss, and the name. */
static int manager_connect_bus(Manager *m) {
        int r;

        r = sd_bus_open_system(&m->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");
        r = manager_attach_bus(m);
        if (r < 0)
                return r;
        r = sd_bus_match_signal(m->bus, NULL, "org.freedesktop.DBus.Local", "/org/freedesktop/DBus/Local",
                                "org.freedesktop.DBus.Local", "Disconnected", on_bus_disconnected, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the bus connection: %m");
        /* Take the name first: when someone else owns it, their machines' state (and their imports
         * in progress) must stay. */
        return manager_request_name(m);
}

/* The bus went away (dbus-daemon restarted): keep every machine, connect again until a bus answers,
 * take the name back. Retried every half second; a reconnection that fails on the name (someone
 * else took it meanwhile) ends berthd, as at start-up. */
static int on_bus_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        int r;

        m->bus = sd_bus_flush_close_unref(m->bus);
        r = manager_connect_bus(m);
        if (r == -EEXIST)
                return sd_event_exit(m->event, r);
        if (r < 0) {
                m->bus = sd_bus_flush_close_unref(m->bus);
                (void) sd_event_source_set_time_relative(s, 500 * 1000);
                return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        }
        log_info("Reconnected to the system bus, %s taken back, %zu machine(s) kept.", MACHINE1_BUS_NAME,
                 m->n_machines - 1);
        m->bus_retry = sd_event_source_disable_unref(m->bus_retry);
        return 0;
}

static int on_bus_disconnected(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int r;

        log_warning("Lost the system bus connection; reconnecting.");
        if (m->bus_retry)
                return 0;
        /* not here: the connection is still being processed */
        r = sd_event_add_time_relative(m->event, &m->bus_retry, CLOCK_MONOTONIC, 100 * 1000, 0, on_bus_retry, m);
        if (r < 0)
                return sd_event_exit(m->event, r);
        return 0;
}

int manager_startup(Manager *m, sd_bus *bus) {
        int r;

        if (mkdir(m->state_dir, 0755) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Failed to create %s: %m", m->state_dir);
        r = manager_watch_init(m);
        if (r < 0) /* then questions look at every machine's files again */
                log_warning_errno(r, "Failed to set up the watches for machines' OS release and addresses: %m");
        if (bus) { /* a private test connection: no name to take, no sweep */
                m->bus = sd_bus_ref(bus);
                r = manager_attach_bus(m);
                if (r < 0)
                        return r;
                r = manager_add_host_machine(m);
                if (r < 0)
                        return log_error_errno(r, "Failed to add the host machine: %m");
                return manager_load_state(m);
        }
        r = manager_connect_bus(m);
        if (r < 0)
                return r;
        r = manager_add_host_machine(m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the host machine: %m");
        /* what berthds of other buses left when they were killed (tests, a bus that is gone) */
        (void) berth_sockets_collect(REGISTRY_SOCKET_DIR, SOCK_SEQPACKET);
        (void) berth_sockets_collect(MACHINE_VARLINK_DIR, SOCK_STREAM);
        r = manager_listen_registry(m);
        if (r < 0)
                log_warning_errno(r, "Failed to listen on the registration socket, launchers register over the bus: %m");
        r = manager_listen_varlink(m);
        if (r < 0)
                log_warning_errno(r, "Failed to listen on the Varlink socket, berthctl lists over the bus: %m");
        r = image_pool_sweep();
        if (r > 0)
                log_info("Removed %d half-made image(s) left in %s by an earlier berthd.", r, IMAGE_POOL_PATH);
        return manager_load_state(m);
}

int manager_run(Manager *m) {
        return sd_event_loop(m->event);
}

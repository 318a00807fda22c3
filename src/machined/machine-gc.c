/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whoever notices a machine gone removes its cgroups and its network: berthd when the leader exits,
 * a restarted berthd when it finds the leader gone, and the next berth-spawn of the name (the next
 * of any name, for the network). A launcher that still runs tears down its own; should it die
 * first, berthd does it when it notices. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "image-lock.h"
#include "log.h"
#include "machine-start.h"
#include "manager.h"
#include "pidfd-util.h"
#include "string-util.h"

typedef struct CgroupWatch {
        Manager *manager;
        char *name;
        char *cgroup;
} CgroupWatch;

static bool cgroup_in_use(Manager *m, const char *cgroup) {
        for (Machine *i = m->machines; i; i = i->next)
                if (i->cgroup && streq(i->cgroup, cgroup))
                        return true;
        return false;
}

/* Only the cgroups machines get in machine.slice: never a unit's cgroup that merely registered. */
static bool cgroup_is_machine_scope(const char *cgroup) {
        const char *p = startswith(cgroup, "machine.slice/machine-");
        return p && endswith(p, ".scope") && !strchr(p, '/');
}

static int remove_cgroup(Manager *m, const char *cgroup) {
        int r;

        if (!m->have_cgroups || !cgroup || !cgroup_is_machine_scope(cgroup) || cgroup_in_use(m, cgroup) ||
            !cgroup_set_exists(&m->cgroups, cgroup))
                return 0;
        /* empty it first: a process left behind (an nsenter, a stray fork) must not keep it */
        r = cgroup_set_kill_and_remove(&m->cgroups, cgroup, 500 * 1000ULL);
        if (r < 0)
                return log_warning_errno(r, "Failed to remove cgroup %s: %m", cgroup);
        (void) cgroup_set_remove_empty_parents(&m->cgroups, cgroup);
        log_debug("Removed cgroup %s.", cgroup);
        return 1;
}

static int on_network_collected(sd_event_source *s, const siginfo_t *si, void *userdata) {
        if (si->si_code != CLD_EXITED || si->si_status != EXIT_SUCCESS)
                log_warning("berth-network-collect failed (%s %d).", si->si_code == CLD_EXITED ? "status" : "signal",
                            si->si_status);
        sd_event_source_disable_unref(s);
        return 0;
}

/* A machine's network record outlives a killed launcher (its dnsmasq, leases, nftables entries, a
 * zone's bridge; or the zone bridge it made for systemd-networkd, marked in external/): berth-network-collect removes it as the next launcher would, without berthd
 * waiting for it. It checks each record's launcher lock itself: one that starts the name anew
 * meanwhile keeps its own. */
static int collect_network(Manager *m, const char *name) {
        _cleanup_free_ char *record = strjoin(MACHINE_NETWORK_DIR "/", name, ".net");
        _cleanup_free_ char *helper = helper_binary("berth-network-collect", "BERTH_NETWORK_COLLECT_BINARY");
        sd_event_source *s = NULL;
        pid_t pid;
        int r;

        if (!record || !helper)
                return -ENOMEM;
        /* its launcher took it down (and no zone bridge made for networkd may be left empty) */
        if (access(record, F_OK) < 0 && access(MACHINE_NETWORK_DIR "/external", F_OK) < 0)
                return 0;
        pid = fork();
        if (pid < 0)
                return log_warning_errno(-errno, "Failed to fork for berth-network-collect: %m");
        if (pid == 0) {
                sigset_t none;
                int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
                (void) sigemptyset(&none);
                (void) sigprocmask(SIG_SETMASK, &none, NULL);
                if (null < 0 || dup2(null, STDIN_FILENO) < 0)
                        _exit(EXIT_FAILURE);
                execl(helper, helper, (char *) NULL);
                log_error_errno(-errno, "Failed to execute %s: %m", helper);
                _exit(EXIT_FAILURE);
        }
        log_debug("Collecting the network that the dead launcher of '%s' left (pid %d).", name, (int) pid);
        r = sd_event_add_child(m->event, &s, pid, WEXITED, on_network_collected, NULL);
        if (r < 0) {
                (void) waitpid(pid, NULL, 0);
                return log_warning_errno(r, "Failed to watch berth-network-collect: %m");
        }
        (void) sd_event_source_set_description(s, "network-collect");
        r = sd_event_source_set_floating(s, true);
        sd_event_source_unref(s);
        return r;
}

static int remove_leftovers(Manager *m, const char *name, const char *cgroup) {
        int fd, r;

        if (manager_find_machine(m, name))
                return 0; /* registered again meanwhile */
        /* A launcher that holds the name's lock is starting it anew and collects what is left itself. */
        r = machine_name_lock_take(name, &fd);
        if (r == -EBUSY)
                return 0;
        if (r < 0)
                log_debug_errno(r, "Failed to take the launcher lock of '%s': %m", name);
        r = remove_cgroup(m, cgroup);
        machine_name_lock_drop(name, fd);
        (void) collect_network(m, name);
        return r;
}

static int on_supervisor_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        CgroupWatch *w = userdata;

        (void) remove_leftovers(w->manager, w->name, w->cgroup);
        sd_event_source_disable_unref(s); /* floating: frees w through the destroy callback */
        return 0;
}

static void cgroup_watch_free(void *userdata) {
        CgroupWatch *w = userdata;

        free(w->name);
        free(w->cgroup);
        free(w);
}

int manager_collect_machine(Manager *m, const char *name, const char *cgroup, int supervisor_pidfd) {
        _cleanup_close_ int fd = supervisor_pidfd;
        sd_event_source *s = NULL;
        CgroupWatch *w;
        int r;

        if (fd < 0 || pidfd_has_exited(fd) != 0)
                return remove_leftovers(m, name, cgroup);
        /* its launcher still runs and tears it down; watch in case it is killed first */
        w = new0(CgroupWatch, 1);
        if (!w)
                return -ENOMEM;
        *w = (CgroupWatch) { .manager = m, .name = strdup(name), .cgroup = cgroup ? strdup(cgroup) : NULL };
        if (!w->name || (cgroup && !w->cgroup)) {
                free(w);
                return -ENOMEM;
        }
        r = sd_event_add_io(m->event, &s, fd, EPOLLIN, on_supervisor_exit, w);
        if (r < 0) {
                cgroup_watch_free(w);
                return r;
        }
        fd = -EBADF; /* the source owns it now */
        (void) sd_event_source_set_io_fd_own(s, true);
        (void) sd_event_source_set_destroy_callback(s, cgroup_watch_free);
        (void) sd_event_source_set_description(s, "machine-cgroup-watch");
        r = sd_event_source_set_floating(s, true);
        sd_event_source_unref(s);
        return r;
}

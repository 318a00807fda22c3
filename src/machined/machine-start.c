/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "hostname-util.h"
#include "image.h"
#include "log.h"
#include "machine-limits.h"
#include "helper-path.h"
#include "machine-start.h"
#include "manager.h"
#include "string-util.h"
#include "strv.h"

struct StartJob {
        Manager *manager;
        char *name;
        pid_t pid;
        sd_event_source *child;
        sd_event_source *timer;
        start_done_t done; /* NULL once answered */
        void *userdata;
        StartJob *next;
};

static StartJob *start_job_free(StartJob *j) {
        if (!j)
                return NULL;
        sd_event_source_disable_unref(j->child);
        sd_event_source_disable_unref(j->timer);
        free(j->name);
        return mfree(j);
}

static void start_job_unlink(StartJob *j) {
        for (StartJob **p = &j->manager->start_jobs; *p; p = &(*p)->next)
                if (*p == j) {
                        *p = j->next;
                        return;
                }
}

void start_jobs_free(Manager *m) {
        while (m->start_jobs) {
                StartJob *j = m->start_jobs;
                m->start_jobs = j->next;
                start_job_free(j);
        }
}

char *machine_log_path(Manager *m, const char *name) {
        return strjoin(m->log_dir, "/", name, ".log");
}

static void start_job_answer(StartJob *j, Machine *machine, int error, const char *why) {
        start_done_t done = j->done;

        if (!done)
                return;
        j->done = NULL;
        j->timer = sd_event_source_disable_unref(j->timer);
        done(machine, error, why, j->userdata);
}

/* The launcher's last words: the last line of its log that is not one of our markers. */
static char *log_last_line(Manager *m, const char *name) {
        _cleanup_free_ char *path = machine_log_path(m, name);
        _cleanup_close_ int fd = -EBADF;
        char buf[4096];
        ssize_t n;
        off_t size;

        if (!path)
                return NULL;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return NULL;
        size = lseek(fd, 0, SEEK_END);
        n = pread(fd, buf, sizeof buf - 1, size > (off_t) sizeof buf - 1 ? size - (off_t) sizeof buf + 1 : 0);
        if (n <= 0)
                return NULL;
        buf[n] = 0;
        for (char *end = buf + n; end > buf;) {
                while (end > buf && (end[-1] == '\n' || end[-1] == '\r'))
                        *--end = 0;
                char *start = end;
                while (start > buf && start[-1] != '\n')
                        start--;
                if (*start && !startswith(start, "-- "))
                        return strdup(start);
                end = start;
        }
        return NULL;
}

static int on_launcher_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        StartJob *j = userdata;
        _cleanup_free_ char *why = NULL;

        log_debug("The launcher of machine '%s' exited with status %d.", j->name, si->si_status);
        if (j->done) {
                why = log_last_line(j->manager, j->name);
                start_job_answer(j, NULL, -ECHILD, why ?: "berth-spawn exited before the machine registered");
        }
        start_job_unlink(j);
        start_job_free(j);
        return 0;
}

static int on_start_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        start_job_answer(userdata, NULL, -ETIMEDOUT, "the machine did not register in time (it may still be starting)");
        return 0;
}

void start_jobs_machine_new(Manager *m, Machine *machine) {
        for (StartJob *j = m->start_jobs; j; j = j->next)
                if (j->done && streq(j->name, machine->name)) {
                        start_job_answer(j, machine, 0, NULL);
                        return;
                }
}

static const char *spawn_binary(void) {
        return getenv("BERTH_SPAWN_BINARY") ?: BINDIR "/berth-spawn";
}

/* Where a helper lives in the build tree, for a berthd run from there (tests, benches). */
static const char *helper_build_dir(const char *name) {
        if (streq(name, "berth-import"))
                return "src/import";
        if (streq(name, "berth-supervise"))
                return "src/supervise";
        if (streq(name, "berth-network-collect"))
                return "src/spawn";
        return NULL;
}

char *helper_binary(const char *name, const char *env) {
        return helper_binary_path(name, helper_build_dir(name), env);
}

static int fork_supervisor(Manager *m, const char *name, pid_t *ret) {
        _cleanup_free_ char *supervise = helper_binary("berth-supervise", "BERTH_SUPERVISE_BINARY"), *log = machine_log_path(m, name);
        _cleanup_free_ char *machine_arg = strjoin("--machine=", name);
        _cleanup_strv_free_ char **argv = NULL, **properties = NULL;
        pid_t pid;
        int r;

        if (!supervise || !log || !machine_arg)
                return -ENOMEM;
        /* the resource properties kept by set-property */
        r = machine_limits_load(m, name, &properties);
        if (r < 0)
                log_warning_errno(r, "Failed to read the kept properties of machine '%s', starting without: %m", name);
        {
                /* systemd-nspawn@.service's: unprivileged and with a network of its own, unless the machine's
                 * .nspawn file says otherwise (--settings=override) */
                const char *fixed[] = { supervise, log, spawn_binary(), "--quiet", "--boot", "--register=yes",
                                        "--network-veth", "-U", "--link-journal=try-guest", "--settings=override",
                                        "--console=read-only", machine_arg };
                for (size_t i = 0; i < ELEMENTSOF(fixed); i++)
                        if (strv_extend(&argv, fixed[i]) < 0)
                                return -ENOMEM;
        }
        STRV_FOREACH(p, properties) {
                r = strv_consume(&argv, strjoin("--property=", *p));
                if (r < 0)
                        return r;
        }
        if (mkdir(m->log_dir, 0750) < 0 && errno != EEXIST)
                return log_error_errno(-errno, "Failed to create %s: %m", m->log_dir);
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                sigset_t none;
                (void) sigemptyset(&none);
                (void) sigprocmask(SIG_SETMASK, &none, NULL);
                execv(supervise, argv);
                log_error_errno(-errno, "Failed to execute %s: %m", supervise);
                _exit(EXIT_FAILURE);
        }
        *ret = pid;
        return 0;
}

int manager_start_machine(Manager *m, const char *name, start_done_t done, void *userdata) {
        _cleanup_(image_freep) Image *image = NULL;
        StartJob *j;
        int r;

        if (!machine_name_is_valid(name))
                return -EINVAL;
        if (manager_find_machine(m, name))
                return -EEXIST;
        for (j = m->start_jobs; j; j = j->next)
                if (j->done && streq(j->name, name))
                        return -EALREADY;
        r = image_find(name, &image);
        if (r < 0)
                return r;
        j = new0(StartJob, 1);
        if (!j)
                return -ENOMEM;
        j->manager = m;
        j->done = done;
        j->userdata = userdata;
        j->name = strdup(name);
        r = j->name ? fork_supervisor(m, name, &j->pid) : -ENOMEM;
        if (r >= 0)
                r = sd_event_add_child(m->event, &j->child, j->pid, WEXITED, on_launcher_exit, j);
        if (r >= 0 && done)
                r = sd_event_add_time_relative(m->event, &j->timer, CLOCK_MONOTONIC, START_TIMEOUT_USEC, 0,
                                               on_start_timeout, j);
        if (r < 0) {
                if (j->pid > 0 && !j->child) {
                        (void) kill(j->pid, SIGTERM);
                        (void) waitpid(j->pid, NULL, 0);
                }
                start_job_free(j);
                return r;
        }
        j->next = m->start_jobs;
        m->start_jobs = j;
        log_info("Starting machine '%s' from %s.", name, image->path);
        return 0;
}

int autostart_set(Manager *m, const char *name, bool enable) {
        _cleanup_free_ char *p = NULL;
        _cleanup_close_ int fd = -EBADF;

        if (!machine_name_is_valid(name))
                return -EINVAL;
        p = strjoin(m->autostart_dir, "/", name);
        if (!p)
                return -ENOMEM;
        if (!enable)
                return unlink(p) < 0 && errno != ENOENT ? -errno : 0;
        _cleanup_free_ char *parent = strdup(m->autostart_dir);
        if (!parent)
                return -ENOMEM;
        char *slash = strrchr(parent, '/');
        if (slash && slash != parent) {
                *slash = 0;
                (void) mkdir(parent, 0755);
        }
        if (mkdir(m->autostart_dir, 0755) < 0 && errno != EEXIST)
                return -errno;
        fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        return fd < 0 ? -errno : 0;
}

bool autostart_enabled(Manager *m, const char *name) {
        _cleanup_free_ char *p = strjoin(m->autostart_dir, "/", name);
        return p && access(p, F_OK) >= 0;
}

void manager_autostart(Manager *m) {
        _cleanup_(closedirp) DIR *d = opendir(m->autostart_dir);
        struct dirent *de;
        int r;

        if (!d)
                return;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.' || manager_find_machine(m, de->d_name))
                        continue;
                r = manager_start_machine(m, de->d_name, NULL, NULL);
                if (r < 0)
                        log_warning_errno(r, "Failed to start enabled machine '%s': %m", de->d_name);
        }
}

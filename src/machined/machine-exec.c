/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "log.h"
#include "machine-exec.h"
#include "manager.h"

static void setup_stdio(int tty, const int fds[3]) {
        if (tty >= 0) {
                if (pty_attach_terminal(tty) < 0)
                        _exit(EXIT_FAILURE);
                return;
        }
        (void) setsid();
        /* The fds may be 0..2 themselves: move them out of the way first. */
        int moved[3];
        for (int i = 0; i < 3; i++) {
                moved[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
                if (moved[i] < 0)
                        _exit(EXIT_FAILURE);
        }
        for (int i = 0; i < 3; i++)
                if (dup2(moved[i], i) < 0)
                        _exit(EXIT_FAILURE);
}

static volatile sig_atomic_t child_pid;

static void forward_signal(int sig) {
        if (child_pid > 0)
                (void) kill(child_pid, sig);
}

/* The helper has joined the machine; its child is in the machine's PID namespace. */
static _noreturn_ void exec_helper(const ShellRequest *req, int tty, const int fds[3]) {
        struct sigaction sa = { .sa_handler = forward_signal };
        int wstatus;
        pid_t pid;

        pid = fork();
        if (pid < 0)
                _exit(EXIT_FAILURE);
        if (pid == 0) {
                setup_stdio(tty, fds);
                shell_request_exec(req);
        }
        child_pid = pid;
        (void) sigaction(SIGTERM, &sa, NULL);
        (void) sigaction(SIGHUP, &sa, NULL);
        for (int i = 0; i < 3; i++)
                (void) close(fds[i]);
        while (waitpid(pid, &wstatus, 0) < 0)
                if (errno != EINTR)
                        _exit(EXIT_FAILURE);
        if (WIFSIGNALED(wstatus))
                _exit(128 + WTERMSIG(wstatus));
        _exit(WEXITSTATUS(wstatus));
}

struct ExecJob {
        Manager *manager;
        sd_event_source *child;
        exec_done_t done;
        void *userdata;
        ExecJob *next;
};

static void exec_job_unlink_free(ExecJob *j) {
        for (ExecJob **p = &j->manager->exec_jobs; *p; p = &(*p)->next)
                if (*p == j) {
                        *p = j->next;
                        break;
                }
        sd_event_source_disable_unref(j->child);
        free(j);
}

static int on_helper_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        ExecJob *j = userdata;

        j->done(si->si_code == CLD_EXITED ? si->si_status : 128 + si->si_status, j->userdata);
        exec_job_unlink_free(j);
        return 0;
}

int machine_exec(Machine *machine, const ShellRequest *req, int tty, const int fds[3], exec_done_t done,
                 void *userdata) {
        Manager *m = machine->manager;
        ExecJob *j;
        pid_t pid;
        int r;

        j = new0(ExecJob, 1);
        if (!j)
                return -ENOMEM;
        r = machine_fork_inside(machine, ALL_NAMESPACES, true, &pid);
        if (r < 0)
                return free(j), r;
        if (r == 0)
                exec_helper(req, tty, fds);
        r = sd_event_add_child(m->event, &j->child, pid, WEXITED, on_helper_exit, j);
        if (r < 0) {
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return free(j), r;
        }
        *j = (ExecJob) { .manager = m, .child = j->child, .done = done, .userdata = userdata, .next = m->exec_jobs };
        m->exec_jobs = j;
        return 0;
}

void exec_jobs_free(Manager *m) {
        while (m->exec_jobs) {
                ExecJob *j = m->exec_jobs;
                j->done(-ECANCELED, j->userdata);
                exec_job_unlink_free(j);
        }
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "event-loop.h"
#include "fd-util.h"
#include "notify.h"
#include "log.h"
#include "mount-util.h"
#include "parse-util.h"
#include "spawn-console.h"
#include "spawn-lxcfs.h"
#include "spawn-network.h"
#include "spawn-supervise.h"
#include "string-util.h"

typedef struct Supervisor {
        SpawnContext *context;
        EventLoop *loop;
        ConsoleForward *console;
        EventSource *lxcfs_source;
        int lxcfs_pidfd;
        SpawnResult result;
        bool exited, shutdown_requested, ready_sent;
        unsigned shutdown_retries;
} Supervisor;

int spawn_result_exit_code(const SpawnResult *r) {
        switch (r->outcome) {
        case OUTCOME_EXITED:
                return r->status;
        case OUTCOME_POWEROFF:
                return 0;
        case OUTCOME_REBOOT:
                return 133;
        default:
                return 1;
        }
}

static int kill_machine(Supervisor *s) {
        if (syscall(SYS_pidfd_send_signal, s->context->pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
                return -errno;
        return 0;
}

/* sysvinit has no poweroff signal: ask it for runlevel 0 through its FIFO, like telinit does. */
static int sysvinit_request_runlevel(SpawnContext *c, char runlevel) {
        struct {
                int magic, cmd, runlevel, sleeptime;
                char data[368];
        } req = { .magic = 0x03091969, .cmd = 1, .runlevel = runlevel, .sleeptime = 5 };
        _cleanup_close_ int root = -EBADF, fifo = -EBADF;
        char path[64];
        struct stat st;

        (void) snprintf(path, sizeof path, "/proc/%d/root", (int) c->pid);
        root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return -errno;
        fifo = open_in_root(root, "/run/initctl", O_WRONLY | O_NONBLOCK | O_NOCTTY, 0);
        if (fifo < 0)
                return fifo;
        if (fstat(fifo, &st) < 0)
                return -errno;
        if (!S_ISFIFO(st.st_mode))
                return -EBADFD;
        if (write(fifo, &req, sizeof req) != (ssize_t) sizeof req)
                return -EIO;
        return 0;
}

/* What runit's "init 0" does: /run/runit.stopit executable by its owner, /run/runit.reboot not,
 * then SIGCONT to runit, which runs stage 3 and powers off. */
static int runit_request_poweroff(SpawnContext *c) {
        _cleanup_close_ int root = -EBADF, stopit = -EBADF, reboot = -EBADF;
        char path[64];

        (void) snprintf(path, sizeof path, "/proc/%d/root", (int) c->pid);
        root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return -errno;
        stopit = open_in_root(root, "/run/runit.stopit", O_WRONLY | O_CREAT | O_NONBLOCK | O_NOCTTY, 0100);
        if (stopit < 0)
                return stopit;
        if (fchmod(stopit, 0100) < 0)
                return -errno;
        reboot = open_in_root(root, "/run/runit.reboot", O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
        if (reboot >= 0 && fchmod(reboot, 0) < 0)
                return -errno;
        if (syscall(SYS_pidfd_send_signal, c->pidfd, SIGCONT, NULL, 0) < 0 && errno != ESRCH)
                return -errno;
        return 0;
}

/* Whether SIG reaches PID: SIGKILL and SIGSTOP always do; any other signal from outside a
 * namespace's init only when it has a handler for it (/proc/PID/status's SigCgt) or blocks it
 * (SigBlk: queued, for a signalfd, as systemd, tini and dumb-init take theirs). Unknown: yes. */
static bool init_catches(pid_t pid, int sig) {
        _cleanup_fclose_ FILE *f = NULL;
        char path[64], line[256];
        unsigned long long caught = 0, blocked = 0, mask;
        int seen = 0;

        if (sig == SIGKILL || sig == SIGSTOP || sig < 1 || sig > 64)
                return true;
        (void) snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return true;
        while (seen < 2 && fgets(line, sizeof line, f)) {
                if (sscanf(line, "SigCgt: %llx", &mask) == 1)
                        caught = mask, seen++;
                else if (sscanf(line, "SigBlk: %llx", &mask) == 1)
                        blocked = mask, seen++;
        }
        return seen < 2 || ((caught | blocked) >> (sig - 1)) & 1;
}

int spawn_request_shutdown(SpawnContext *c) {
        int sig = c->shutdown_signal;

        if (sig == 0 && c->tree->init == GUEST_INIT_SYSVINIT) {
                int r = sysvinit_request_runlevel(c, '0');
                if (r >= 0)
                        return 0;
                log_debug_errno(r, "Failed to ask sysvinit for runlevel 0, sending SIGTERM: %m");
                sig = SIGTERM;
        }
        if (sig == 0 && c->tree->init == GUEST_INIT_RUNIT) {
                int r = runit_request_poweroff(c);
                if (r >= 0)
                        return 0;
                log_debug_errno(r, "Failed to ask runit for stage 3, sending SIGTERM: %m");
                sig = SIGTERM;
        }
        sig = sig ?: SIGTERM;
        bool caught = init_catches(c->pid, sig);
        if (syscall(SYS_pidfd_send_signal, c->pidfd, sig, NULL, 0) < 0 && errno != ESRCH)
                return -errno;
        return caught ? 0 : 1;
}

static void on_kill_timeout(EventSource *es, int fd, uint32_t events, void *userdata) {
        Supervisor *s = userdata;

        log_warning("Machine '%s' did not shut down in time, killing it.", s->context->config->machine_name);
        (void) kill_machine(s);
}

/* An init ignores signals it has no handler for yet (PID namespace rules), so a request made
 * while it is still starting is lost: asked again every 20 ms while the init catches no such
 * signal (a busybox init in its first moments; for 2 s: a command that never catches it waits for
 * the kill), else every second until the machine is gone (an init may set up its handlers anew,
 * or lose a request some other way). */
#define SHUTDOWN_RETRY_USEC 20000
#define SHUTDOWN_RETRIES 100
#define SHUTDOWN_REPEAT_USEC 1000000

static void shutdown_repeat_later(Supervisor *s, int request_result);

static void on_shutdown_repeat(EventSource *es, int fd, uint32_t events, void *userdata) {
        Supervisor *s = userdata;

        if (s->exited)
                return;
        shutdown_repeat_later(s, spawn_request_shutdown(s->context));
}

static void shutdown_repeat_later(Supervisor *s, int request_result) {
        bool soon = request_result > 0 && s->shutdown_retries++ < SHUTDOWN_RETRIES;
        if (soon && s->shutdown_retries == 1)
                log_debug("The init of machine '%s' does not catch the shutdown signal yet: asking again every %u ms.",
                          s->context->config->machine_name, SHUTDOWN_RETRY_USEC / 1000);
        (void) event_add_timer(s->loop, soon ? SHUTDOWN_RETRY_USEC : SHUTDOWN_REPEAT_USEC, on_shutdown_repeat, s);
}

static void on_shutdown_signal(EventSource *es, int sig, uint32_t events, void *userdata) {
        Supervisor *s = userdata;
        int r;

        if (s->shutdown_requested) {
                log_info("Second signal received, killing machine '%s'.", s->context->config->machine_name);
                (void) kill_machine(s);
                return;
        }
        s->shutdown_requested = true;
        (void) notify_send("STOPPING=1");
        r = spawn_request_shutdown(s->context);
        if (r < 0) {
                log_warning_errno(r, "Failed to ask machine '%s' to shut down, killing it: %m",
                                  s->context->config->machine_name);
                (void) kill_machine(s);
                return;
        }
        shutdown_repeat_later(s, r);
        if (s->context->config->shutdown_timeout_usec != UINT64_MAX &&
            event_add_timer(s->loop, s->context->config->shutdown_timeout_usec, on_kill_timeout, s) < 0)
                (void) kill_machine(s);
}

static void on_winch(EventSource *es, int sig, uint32_t events, void *userdata) {
        Supervisor *s = userdata;
        console_forward_resize(s->console);
}

static void on_child(EventSource *es, int fd, uint32_t events, void *userdata) {
        Supervisor *s = userdata;
        siginfo_t si = {};

        if (waitid(P_PIDFD, (id_t) fd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
                return;
        s->exited = true;
        if (si.si_code == CLD_EXITED)
                s->result = (SpawnResult) { OUTCOME_EXITED, si.si_status };
        else if (si.si_status == SIGINT)
                s->result = (SpawnResult) { OUTCOME_POWEROFF, SIGINT };
        else if (si.si_status == SIGHUP)
                s->result = (SpawnResult) { OUTCOME_REBOOT, SIGHUP };
        else if (s->result.outcome != OUTCOME_ESCAPED)
                s->result = (SpawnResult) { OUTCOME_SIGNALED, si.si_status };
        event_loop_exit(s->loop, 0);
}

static void on_escape(void *userdata) {
        Supervisor *s = userdata;

        s->result.outcome = OUTCOME_ESCAPED;
        (void) kill_machine(s);
}

/* Messages from the guest's /run/host/notify; only its PID 1 is listened to. */
static void on_notify(EventSource *es, int fd, uint32_t revents, void *userdata) {
        Supervisor *s = userdata;
        char buf[4096];
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf - 1 };
        union {
                struct cmsghdr h;
                char data[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 253)];
        } control;
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                             .msg_controllen = sizeof control };
        struct ucred *cred = NULL;
        ssize_t n;

        n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
        if (n < 0)
                return;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                if (c->cmsg_level != SOL_SOCKET)
                        continue;
                if (c->cmsg_type == SCM_RIGHTS) { /* nobody asked for fds: close them */
                        int *fds = (int *) CMSG_DATA(c);
                        for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++)
                                safe_close(fds[i]);
                } else if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
                        cred = (struct ucred *) CMSG_DATA(c);
        }
        if (!cred || cred->pid != s->context->pid || (mh.msg_flags & MSG_TRUNC) || n <= 0)
                return;
        buf[n] = 0;
        for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                if (streq(l, "READY=1") && s->context->config->notify_ready && !s->ready_sent) {
                        (void) notify_send("READY=1");
                        s->ready_sent = true;
                }
}

static void on_nft_event(EventSource *es, int fd, uint32_t revents, void *userdata) {
        Supervisor *s = userdata;

        spawn_network_nft_watch_event(s->context);
}

static void lxcfs_release(Supervisor *s) {
        int r = spawn_lxcfs_release(s->context);
        if (r < 0)
                log_warning("lxcfs stopped; machine '%s' keeps some of its files, whose reads fail.",
                            s->context->config->machine_name);
        else if (!s->context->config->quiet)
                log_info("lxcfs stopped: machine '%s' sees the host's /proc and /sys figures.",
                         s->context->config->machine_name);
}

static void on_lxcfs_gone(EventSource *es, int fd, uint32_t events, void *userdata) {
        Supervisor *s = userdata;

        (void) event_source_set_enabled(es, false);
        lxcfs_release(s);
}

/* lxcfs's FUSE connection dies with its process: watched from here, where the machine has its
 * lxcfs files already (gone before we watch: released at once). */
static int lxcfs_watch(Supervisor *s) {
        s->lxcfs_pidfd = spawn_lxcfs_open_pidfd(s->context);
        if (s->lxcfs_pidfd == -ESRCH) {
                lxcfs_release(s);
                return 0;
        }
        if (s->lxcfs_pidfd < 0) {
                log_debug_errno(s->lxcfs_pidfd, "lxcfs's process not found, not watched: %m");
                return 0;
        }
        return event_add_io(s->loop, s->lxcfs_pidfd, EPOLLIN, on_lxcfs_gone, s, &s->lxcfs_source);
}

/* dnsmasq's ready watch was removed when it answered; its inotify instance is closed a second later,
 * when the close no longer waits for that removal's grace period: not one instance per running
 * machine (fs.inotify.max_user_instances is 128 by default). A machine that ends sooner leaves it to
 * its teardown. */
static void on_ready_watch_done(EventSource *src, int fd, uint32_t events, void *userdata) {
        Supervisor *s = userdata;

        s->context->net.dnsmasq.ready_fd = safe_close(s->context->net.dnsmasq.ready_fd);
}

static int supervisor_setup(Supervisor *s) {
        static const int shutdown_signals[] = { SIGTERM, SIGINT, SIGHUP };
        SpawnContext *c = s->context;
        int r;

        r = event_loop_new(&s->loop);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(shutdown_signals); i++) {
                r = event_add_signal(s->loop, shutdown_signals[i], on_shutdown_signal, s);
                if (r < 0)
                        return r;
        }
        r = event_add_signal(s->loop, SIGWINCH, on_winch, s);
        if (r < 0)
                return r;
        r = event_add_io(s->loop, c->pidfd, EPOLLIN, on_child, s, NULL);
        if (r < 0)
                return r;
        r = event_add_io(s->loop, c->notify_fd, EPOLLIN, on_notify, s, NULL);
        if (r < 0)
                return r;
        if (spawn_network_nft_watch_fd(c) >= 0) {
                r = event_add_io(s->loop, c->net.nft_watch_fd, EPOLLIN, on_nft_event, s, NULL);
                if (r < 0)
                        return r;
                spawn_network_nft_check(c);
        }
        if (c->net.dnsmasq.ready_fd >= 0) {
                r = event_add_timer(s->loop, 1000000, on_ready_watch_done, s);
                if (r < 0)
                        return r;
        }
        if (c->console_fd >= 0) {
                r = console_forward_new(s->loop, c->console_fd, c->config->console_mode, on_escape, s, &s->console);
                if (r < 0)
                        return r;
        }
        return c->lxcfs ? lxcfs_watch(s) : 0;
}

int spawn_supervise(SpawnContext *c, SpawnResult *ret) {
        Supervisor s = { .context = c, .lxcfs_pidfd = -EBADF };
        int r;

        r = supervisor_setup(&s);
        if (r < 0)
                log_error_errno(r, "Failed to set up the supervisor of machine '%s': %m", c->config->machine_name);
        else {
                if (!c->config->notify_ready)
                        (void) notify_send("READY=1");
                r = event_loop_run(s.loop);
                if (r < 0)
                        log_error_errno(r, "Supervising machine '%s' failed: %m", c->config->machine_name);
        }
        s.console = console_forward_free(s.console);
        s.loop = event_loop_free(s.loop);
        s.lxcfs_pidfd = safe_close(s.lxcfs_pidfd);
        if (r < 0)
                return r;
        if (!s.exited)
                return -ECHILD;
        *ret = s.result;
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* OpenMachinePTY / OpenMachineLogin / OpenMachineShell without any help from the guest's init:
 * a helper joins the machine (cgroups, namespaces, root), opens /dev/ptmx there so the pty lives
 * in the guest's devpts, hands the master back, and (for login/shell) forks the program on the
 * slave inside the guest's PID namespace. The daemon keeps no copy of either end. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <sys/time.h>
#include <unistd.h>
#include <utmpx.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "fileio.h"
#include "log.h"
#include "machine-copy.h"
#include "machine-enter.h"
#include "manager.h"
#include "string-util.h"
#include "strv.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

typedef struct PtyReply {
        int error;
        int number;
} PtyReply;

typedef struct Passwd {
        char *name;
        uid_t uid;
        gid_t gid;
        char *home;
        char *shell;
} Passwd;

/* Parses the guest's own /etc/passwd (we are chrooted into it); no NSS modules of the guest run
 * inside this privileged helper. */
static int passwd_lookup(const char *user, Passwd *ret) {
        _cleanup_free_ char *buf = NULL;
        char *save = NULL;
        int r;

        r = read_full_file_at(AT_FDCWD, "/etc/passwd", 4 * 1024 * 1024, &buf, NULL);
        if (r < 0)
                return r;
        for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char *f[7] = {};
                char *p = l;
                size_t i;
                for (i = 0; i < 7 && p; i++) {
                        f[i] = p;
                        p = strchr(p, ':');
                        if (p)
                                *p++ = 0;
                }
                if (i < 7)
                        continue;
                if (!streq(f[0], user) && !streq(f[2], user))
                        continue;
                ret->name = strdup(f[0]);
                ret->uid = (uid_t) strtoul(f[2], NULL, 10);
                ret->gid = (gid_t) strtoul(f[3], NULL, 10);
                ret->home = strdup(isempty(f[5]) ? "/" : f[5]);
                ret->shell = strdup(isempty(f[6]) ? "/bin/sh" : f[6]);
                return ret->name && ret->home && ret->shell ? 0 : -ENOMEM;
        }
        return -ESRCH;
}

static int supplementary_groups(const char *user, gid_t primary, gid_t **ret, size_t *ret_n) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_free_ gid_t *g = new(gid_t, 1);
        char *save = NULL;
        size_t n = 0;

        if (!g)
                return -ENOMEM;
        g[n++] = primary;
        if (read_full_file_at(AT_FDCWD, "/etc/group", 4 * 1024 * 1024, &buf, NULL) >= 0)
                for (char *l = strtok_r(buf, "\n", &save); l && n < 64; l = strtok_r(NULL, "\n", &save)) {
                        char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                        char *c3 = c2 ? strchr(c2 + 1, ':') : NULL, *save2 = NULL;
                        if (!c3)
                                continue;
                        for (char *mbr = strtok_r(c3 + 1, ",", &save2); mbr; mbr = strtok_r(NULL, ",", &save2))
                                if (streq(mbr, user)) {
                                        gid_t *ng = realloc(g, (n + 1) * sizeof(gid_t));
                                        if (!ng)
                                                return -ENOMEM;
                                        g = ng;
                                        g[n++] = (gid_t) strtoul(c2 + 1, NULL, 10);
                                        break;
                                }
                }
        *ret = TAKE_PTR(g);
        *ret_n = n;
        return 0;
}

static int become_user(const Passwd *pw) {
        _cleanup_free_ gid_t *groups = NULL;
        size_t n = 0;
        int r;

        r = supplementary_groups(pw->name, pw->gid, &groups, &n);
        if (r < 0)
                return r;
        if (setgroups(n, groups) < 0)
                return -errno;
        if (setresgid(pw->gid, pw->gid, pw->gid) < 0)
                return -errno;
        if (setresuid(pw->uid, pw->uid, pw->uid) < 0)
                return -errno;
        return 0;
}

int pty_attach_terminal(int number) {
        char path[64];
        int fd;

        if (setsid() < 0)
                return -errno;
        (void) snprintf(path, sizeof path, "/dev/pts/%d", number);
        fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (ioctl(fd, TIOCSCTTY, 0) < 0)
                return -errno;
        for (int i = 0; i < 3; i++)
                if (dup2(fd, i) < 0)
                        return -errno;
        if (fd > 2)
                close(fd);
        return 0;
}

static char **shell_environment(const Passwd *pw, char **extra) {
        _cleanup_strv_free_ char **env = NULL;
        const char *term;
        char *a[] = { strjoin("PATH=", DEFAULT_PATH), strjoin("HOME=", pw->home), strjoin("USER=", pw->name),
                      strjoin("LOGNAME=", pw->name), strjoin("SHELL=", pw->shell), NULL };

        for (size_t i = 0; i < 5; i++)
                if (!a[i] || strv_consume(&env, a[i]) < 0) {
                        for (size_t j = i + 1; j < 5; j++)
                                free(a[j]);
                        return NULL;
                }
        term = strv_env_get(extra, "TERM");
        if (!term && strv_env_replace(&env, "TERM=vt220") < 0)
                return NULL;
        STRV_FOREACH(e, extra)
                if (strv_env_replace(&env, *e) < 0)
                        return NULL;
        return TAKE_PTR(env);
}

_noreturn_ void shell_request_exec(const ShellRequest *req) {
        _cleanup_strv_free_ char **env = NULL;
        Passwd pw = {};
        int r;

        r = passwd_lookup(isempty(req->user) ? "root" : req->user, &pw);
        if (r < 0) {
                fprintf(stderr, "Failed to look up user %s: %s\n", req->user, strerror(-r));
                _exit(EXIT_FAILURE);
        }
        r = become_user(&pw);
        if (r < 0) {
                fprintf(stderr, "Failed to become user %s: %s\n", pw.name, strerror(-r));
                _exit(EXIT_FAILURE);
        }
        if (chdir(pw.home) < 0)
                (void) chdir("/");
        env = shell_environment(&pw, req->environment);
        if (!env)
                _exit(EXIT_FAILURE);
        if (isempty(req->path)) {
                const char *base = strrchr(pw.shell, '/');
                _cleanup_free_ char *arg0 = strjoin("-", base ? base + 1 : pw.shell);
                char *argv[] = { arg0, NULL };
                execve(pw.shell, argv, env);
        } else if (strv_length(req->args) > 0)
                execve(req->path, req->args, env);
        else {
                char *argv[] = { (char *) req->path, NULL };
                execve(req->path, argv, env);
        }
        fprintf(stderr, "Failed to execute %s: %m\n", isempty(req->path) ? pw.shell : req->path);
        _exit(127);
}

/* A utmp (and wtmp) record for pts/NUMBER, written where the guest keeps them (we are in its root). */
static void utmp_record(short type, pid_t pid, int number, const char *user) {
        struct utmpx ut = { .ut_type = type, .ut_pid = pid };
        struct timeval tv;
        char id[16];

        (void) gettimeofday(&tv, NULL);
        ut.ut_tv.tv_sec = (int32_t) tv.tv_sec;
        ut.ut_tv.tv_usec = (int32_t) tv.tv_usec;
        (void) snprintf(ut.ut_line, sizeof ut.ut_line, "pts/%d", number);
        (void) snprintf(id, sizeof id, "%d", number);
        memcpy(ut.ut_id, id + MAX(0, (int) strlen(id) - 4), MIN(strlen(id), sizeof ut.ut_id)); /* as login: the last 4 */
        if (user)
                (void) strncpy(ut.ut_user, user, sizeof ut.ut_user);
        setutxent();
        (void) pututxline(&ut);
        endutxent();
        if (access(_PATH_WTMPX, W_OK) >= 0)
                updwtmpx(_PATH_WTMPX, &ut);
}

/* The shell, as a login session the guest can see (who, last) where it keeps utmp: we stay as its
 * parent to write the records, the way login does. */
static _noreturn_ void run_shell(const ShellRequest *req, int number) {
        if (access(_PATH_UTMPX, W_OK) >= 0) {
                pid_t pid = fork();
                int status = 0;
                if (pid < 0)
                        _exit(EXIT_FAILURE);
                if (pid > 0) {
                        utmp_record(USER_PROCESS, pid, number, isempty(req->user) ? "root" : req->user);
                        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                                ;
                        utmp_record(DEAD_PROCESS, pid, number, NULL);
                        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_FAILURE);
                }
        }
        if (pty_attach_terminal(number) < 0)
                _exit(EXIT_FAILURE);
        shell_request_exec(req);
}

static const char *find_login(void) {
        static const char *const candidates[] = { "/bin/login", "/usr/bin/login", "/sbin/login", "/usr/sbin/login" };

        for (size_t i = 0; i < ELEMENTSOF(candidates); i++)
                if (access(candidates[i], X_OK) >= 0)
                        return candidates[i];
        return NULL;
}

static uint64_t now_msec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* Has the client closed the master? A hangup of our watch fd alone does not say so: util-linux's
 * login (Debian 13 and later) calls vhangup() on its terminal. With the master gone the slave cannot
 * be opened again; while it is there, a fresh fd keeps watching. */
static bool pty_client_gone(const char *path, int *watch) {
        int fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);

        if (fd < 0)
                return true;
        safe_close(*watch);
        *watch = fd;
        return false;
}

/* Runs login on the pty, again after each logout, until the client closes the master. */
static _noreturn_ void run_login_loop(int number) {
        const char *login = find_login();
        char path[64];
        int watch, quick = 0;

        (void) snprintf(path, sizeof path, "/dev/pts/%d", number);
        watch = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
        if (watch < 0 || !login)
                _exit(EXIT_FAILURE);
        (void) signal(SIGHUP, SIG_IGN);
        while (quick < 5) {
                uint64_t start = now_msec();
                pid_t pid = fork();
                if (pid < 0)
                        _exit(EXIT_FAILURE);
                if (pid == 0) {
                        char *argv[] = { (char *) "login", NULL };
                        char *env[] = { (char *) "TERM=vt220", (char *) "PATH=" DEFAULT_PATH, NULL };
                        (void) signal(SIGHUP, SIG_DFL);
                        if (pty_attach_terminal(number) < 0)
                                _exit(EXIT_FAILURE);
                        execve(login, argv, env);
                        _exit(127);
                }
                for (;;) {
                        struct pollfd p = { .fd = watch, .events = POLLIN };
                        if (waitpid(pid, NULL, WNOHANG) == pid)
                                break;
                        if (poll(&p, 1, 200) > 0 && (p.revents & (POLLHUP | POLLERR | POLLNVAL)) &&
                            pty_client_gone(path, &watch)) {
                                (void) kill(pid, SIGHUP); /* the client went away */
                                (void) waitpid(pid, NULL, 0);
                                _exit(EXIT_SUCCESS);
                        }
                }
                quick = now_msec() - start < 1000 ? quick + 1 : 0;
                struct pollfd p = { .fd = watch, .events = 0 };
                if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR | POLLNVAL)) && pty_client_gone(path, &watch))
                        break;
        }
        _exit(EXIT_SUCCESS);
}

static _noreturn_ void pty_helper(int sock, PtyMode mode, const ShellRequest *req) {
        PtyReply reply = {};
        int master;
        pid_t pid;

        master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0 || unlockpt(master) < 0 || ioctl(master, TIOCGPTN, &reply.number) < 0) {
                reply.error = errno ?: EIO;
                (void) send_fd_with(sock, -EBADF, &reply, sizeof reply);
                _exit(EXIT_FAILURE);
        }
        if (mode != PTY_PLAIN) {
                if (mode == PTY_LOGIN && !find_login()) {
                        reply.error = ENOENT;
                        (void) send_fd_with(sock, -EBADF, &reply, sizeof reply);
                        _exit(EXIT_FAILURE);
                }
                /* we joined the PID namespace: this child is inside it */
                pid = fork();
                if (pid < 0) {
                        reply.error = errno;
                        (void) send_fd_with(sock, -EBADF, &reply, sizeof reply);
                        _exit(EXIT_FAILURE);
                }
                if (pid == 0) {
                        close(sock);
                        close(master);
                        if (mode == PTY_LOGIN)
                                run_login_loop(reply.number);
                        run_shell(req, reply.number);
                }
        }
        _exit(send_fd_with(sock, master, &reply, sizeof reply) < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
}

typedef struct PtyOpen {
        int sock;
        pid_t pid;
        sd_event_source *timer;
        MachinePtyDone done;
        void *userdata;
} PtyOpen;

static void pty_open_free(PtyOpen *o) {
        sd_event_source_disable_unref(o->timer);
        safe_close(o->sock);
        free(o);
}

/* The helper is gone: its answer (or nothing) waits in the socket. */
static void pty_helper_exited(int result, void *userdata) {
        _cleanup_close_ int master = -EBADF;
        PtyOpen *o = userdata;
        PtyReply reply = {};
        char path[64] = "";
        int r;

        r = recv_fd_with(o->sock, &master, &reply, sizeof reply);
        if (r >= 0 && reply.error != 0)
                r = -reply.error;
        else if (r >= 0 && master < 0)
                r = result < 0 ? result : -EIO;
        if (r >= 0)
                (void) snprintf(path, sizeof path, "/dev/pts/%d", reply.number);
        o->done(r, master, r >= 0 ? path : NULL, o->userdata);
        pty_open_free(o);
}

/* A helper that neither answers nor exits (a guest file system that never answers) is killed. */
static int pty_helper_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        PtyOpen *o = userdata;

        (void) kill(o->pid, SIGKILL);
        return 0;
}

int machine_open_pty(Machine *machine, PtyMode mode, const ShellRequest *req, MachinePtyDone done, void *userdata) {
        _cleanup_close_ int a = -EBADF, b = -EBADF;
        PtyOpen *o;
        int pair[2], r;
        pid_t pid;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return -errno;
        a = pair[0];
        b = pair[1];
        r = machine_fork_inside(machine, ALL_NAMESPACES, mode != PTY_PLAIN, &pid);
        if (r < 0)
                return r;
        if (r == 0) {
                a = safe_close(a);
                pty_helper(b, mode, req);
        }
        b = safe_close(b);
        o = new0(PtyOpen, 1);
        if (!o) {
                (void) machine_wait_helper(pid, true);
                return -ENOMEM;
        }
        *o = (PtyOpen) { .sock = TAKE_FD(a), .pid = pid, .done = done, .userdata = userdata };
        r = sd_event_add_time_relative(machine->manager->event, &o->timer, CLOCK_MONOTONIC,
                                       HELPER_TIMEOUT_USEC, 0, pty_helper_timeout, o);
        if (r < 0) {
                (void) machine_wait_helper(pid, true);
                pty_open_free(o);
                return r;
        }
        r = machine_operation_watch(machine->manager, pid, pty_helper_exited, o);
        if (r < 0)
                pty_open_free(o); /* the watch killed and reaped the helper */
        return r;
}

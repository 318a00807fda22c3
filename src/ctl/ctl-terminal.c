/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* login and shell: a pty inside the machine relayed to our terminal, or (for shell in scripts)
 * the command run on our own stdin/stdout/stderr, with its exit status as ours. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "alloc-util.h"
#include "ctl-bus.h"
#include "ctl.h"
#include "fd-util.h"
#include "hostname-util.h"
#include "log.h"
#include "string-util.h"
#include "strv.h"

#define ESCAPE_CHAR 0x1d /* Ctrl-] */

static volatile sig_atomic_t window_changed;

static void on_sigwinch(int sig) {
        window_changed = 1;
}

static void copy_window_size(int master) {
        struct winsize ws;

        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) >= 0 || ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) >= 0)
                (void) ioctl(master, TIOCSWINSZ, &ws);
}

static uint64_t now_usec(void) {
        struct timespec ts;
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* Three Ctrl-] within a second end the session (like machinectl and nspawn). */
static bool saw_escape(const char *buf, size_t n) {
        static unsigned count;
        static uint64_t first;

        for (size_t i = 0; i < n; i++) {
                if (buf[i] != ESCAPE_CHAR) {
                        count = 0;
                        continue;
                }
                uint64_t t = now_usec();
                if (count == 0 || t - first > 1000000) {
                        first = t;
                        count = 0;
                }
                if (++count >= 3)
                        return true;
        }
        return false;
}

static int write_all(int fd, const char *buf, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, buf, n);
                if (k < 0) {
                        if (errno == EINTR || errno == EAGAIN) {
                                struct pollfd p = { .fd = fd, .events = POLLOUT };
                                (void) poll(&p, 1, 1000);
                                continue;
                        }
                        return -errno;
                }
                buf += k;
                n -= (size_t) k;
        }
        return 0;
}

typedef struct Relay {
        int master;
        sd_bus *bus;          /* processed while relaying, or NULL */
        bool done;            /* set by the bus callback: the command exited */
        int status;
        bool master_hup;
} Relay;

static void drain_master(Relay *r) {
        char buf[4096];
        ssize_t n;

        (void) fd_nonblock(r->master, true);
        while ((n = read(r->master, buf, sizeof buf)) > 0)
                (void) write_all(STDOUT_FILENO, buf, (size_t) n);
}

/* Returns 1 when the user pressed the escape, 0 when the session ended. */
static int relay(Relay *r) {
        bool stdin_open = true;
        char buf[4096];

        for (;;) {
                struct pollfd p[3] = {
                        { .fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN },
                        { .fd = r->master_hup ? -1 : r->master, .events = POLLIN },
                        { .fd = r->bus ? sd_bus_get_fd(r->bus) : -1, .events = r->bus ? sd_bus_get_events(r->bus) : 0 },
                };
                if (r->bus) {
                        while (sd_bus_process(r->bus, NULL) > 0)
                                ;
                        if (r->done) {
                                drain_master(r);
                                return 0;
                        }
                        p[2].events = (short) sd_bus_get_events(r->bus);
                }
                if (window_changed) {
                        window_changed = 0;
                        copy_window_size(r->master);
                }
                if (poll(p, 3, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (p[0].revents & (POLLIN | POLLHUP)) {
                        ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
                        if (n <= 0)
                                stdin_open = false;
                        else if (saw_escape(buf, (size_t) n))
                                return 1;
                        else
                                (void) write_all(r->master, buf, (size_t) n);
                }
                if (p[1].revents & POLLIN) {
                        ssize_t n = read(r->master, buf, sizeof buf);
                        if (n > 0)
                                (void) write_all(STDOUT_FILENO, buf, (size_t) n);
                        else if (n == 0 || errno != EAGAIN)
                                r->master_hup = true;
                } else if (p[1].revents & (POLLHUP | POLLERR))
                        r->master_hup = true;
                if (r->master_hup && !r->bus)
                        return 0;
        }
}

static struct termios saved_termios;
static bool termios_saved;

static void terminal_raw(void) {
        struct termios raw;
        struct sigaction sa = { .sa_handler = on_sigwinch, .sa_flags = SA_RESTART };

        (void) sigaction(SIGWINCH, &sa, NULL);
        if (tcgetattr(STDIN_FILENO, &saved_termios) < 0)
                return;
        termios_saved = true;
        raw = saved_termios;
        cfmakeraw(&raw);
        raw.c_oflag = saved_termios.c_oflag; /* keep output processing for our own messages */
        (void) tcsetattr(STDIN_FILENO, TCSANOW, &raw);
}

static void terminal_restore(void) {
        if (termios_saved)
                (void) tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
        termios_saved = false;
}

static int run_session(int master, sd_bus *bus, Relay *rl, const char *name, bool quiet) {
        int r;

        copy_window_size(master);
        rl->master = master;
        rl->bus = bus;
        if (!quiet && isatty(STDIN_FILENO))
                fprintf(stderr, "Connected to machine %s. Press ^] three times within 1s to exit session.\n", name);
        if (isatty(STDIN_FILENO))
                terminal_raw();
        r = relay(rl);
        terminal_restore();
        if (r == 1 && !quiet)
                fprintf(stderr, "\nConnection to machine %s terminated.\n", name);
        return r < 0 ? log_error_errno(r, "Failed to relay the terminal: %m") : 0;
}

static int open_pty_call(sd_bus *bus, const char *method, const char *name, int *ret_master, char **ret_path) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *what = strjoin("open a terminal in machine '", name, "'");
        const char *path;
        int fd, r;

        r = sd_bus_call_method(bus, MACHINE1_BUS_NAME, MACHINE1_PATH, MACHINE1_MANAGER_IFACE, method, &error, &reply,
                               "s", name);
        if (r < 0)
                return ctl_log_bus_error(&error, r, what ?: method);
        r = sd_bus_message_read(reply, "hs", &fd, &path);
        if (r < 0)
                return log_error_errno(r, "Malformed reply to %s: %m", method);
        *ret_master = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (*ret_master < 0)
                return log_error_errno(-errno, "Failed to duplicate the terminal: %m");
        if (ret_path && !(*ret_path = strdup(path)))
                return log_oom();
        return 0;
}

int verb_login(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]) {
        _cleanup_close_ int master = -EBADF;
        const char *name = argc > 1 ? argv[1] : ".host";
        Relay rl = {};
        int r;

        if (!isatty(STDIN_FILENO))
                return log_error_errno(-ENOTTY, "'berthctl login' needs a terminal on stdin; use 'berthctl shell NAME "
                                                "CMD' in scripts.");
        r = open_pty_call(bus, "OpenMachineLogin", name, &master, NULL);
        if (r < 0)
                return r;
        return run_session(master, NULL, &rl, name, args->quiet);
}

typedef struct ShellArgs {
        char *name;
        char *user;
        const char *path;
        char **args;
        char **env;
        bool quiet;
} ShellArgs;

/* A call of OpenMachineShell or ExecMachine with the request's name, user, path, args and env. */
static int new_shell_call(sd_bus *bus, const char *interface, const char *member, const ShellArgs *a,
                          sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, MACHINE1_BUS_NAME, MACHINE1_PATH, interface, member);
        if (r >= 0)
                r = sd_bus_message_append(m, "sss", a->name, a->user, a->path);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, a->args);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, a->env);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

static int append_exec_call(sd_bus *bus, const ShellArgs *a, const char *tty, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = new_shell_call(bus, BERTH_MANAGER_IFACE, "ExecMachine", a, &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "shhh", tty, STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO);
        if (r < 0)
                return log_error_errno(r, "Failed to build the call: %m");
        *ret = TAKE_PTR(m);
        return 0;
}

static int read_status(sd_bus_message *reply, const sd_bus_error *error, const ShellArgs *a) {
        _cleanup_free_ char *what = strjoin("run a command in machine '", a->name, "'");
        int32_t status;
        int r;

        if (sd_bus_error_is_set(error))
                return ctl_log_bus_error(error, -sd_bus_error_get_errno(error), what ?: "run the command");
        r = sd_bus_message_read(reply, "i", &status);
        if (r < 0)
                return log_error_errno(r, "Malformed reply to ExecMachine: %m");
        return status;
}

/* Scripts: the command gets our stdin/stdout/stderr directly; no relay. */
static int shell_pipes(sd_bus *bus, const ShellArgs *a) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = append_exec_call(bus, a, "", &m);
        if (r < 0)
                return r;
        r = sd_bus_call(bus, m, BUS_LONG_TIMEOUT_USEC, &error, &reply);
        return read_status(reply, &error, a);
}

static int on_exec_reply(sd_bus_message *reply, void *userdata, sd_bus_error *unused) {
        Relay *rl = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        rl->status = e ? ctl_log_bus_error(e, -sd_bus_error_get_errno(e), "run the command") : 0;
        if (!e && sd_bus_message_read(reply, "i", &rl->status) < 0)
                rl->status = -EBADMSG;
        rl->done = true;
        return 0;
}

/* A terminal: a pty in the machine, the command on it, our terminal relayed; its status is ours. */
static int shell_pty(sd_bus *bus, ShellArgs *a) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_close_ int master = -EBADF;
        _cleanup_free_ char *tty = NULL;
        const char *term = getenv("TERM");
        Relay rl = {};
        int r;

        if (term) {
                _cleanup_free_ char *t = strjoin("TERM=", term);
                if (!t || strv_extend(&a->env, t) < 0)
                        return log_oom();
        }
        r = open_pty_call(bus, "OpenMachinePTY", a->name, &master, &tty);
        if (r < 0)
                return r;
        r = append_exec_call(bus, a, tty, &m);
        if (r < 0)
                return r;
        r = sd_bus_call_async(bus, NULL, m, on_exec_reply, &rl, BUS_LONG_TIMEOUT_USEC);
        if (r < 0)
                return log_error_errno(r, "Failed to start the command: %m");
        r = run_session(master, bus, &rl, a->name, a->quiet);
        if (r < 0)
                return r;
        return rl.done ? rl.status : 0;
}

/* systemd-machined has no ExecMachine: its OpenMachineShell, without the exit status. */
static int shell_machined(sd_bus *bus, const ShellArgs *a) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        Relay rl = {};
        const char *path;
        int fd, r;

        r = new_shell_call(bus, MACHINE1_MANAGER_IFACE, "OpenMachineShell", a, &m);
        if (r < 0)
                return log_oom();
        r = sd_bus_call(bus, m, 0, &error, &reply);
        if (r < 0)
                return ctl_log_bus_error(&error, r, "open a shell");
        r = sd_bus_message_read(reply, "hs", &fd, &path);
        if (r < 0)
                return log_error_errno(r, "Malformed reply: %m");
        _cleanup_close_ int master = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        return run_session(master, NULL, &rl, a->name, a->quiet);
}

static int parse_shell_args(const CtlArgs *args, int argc, char *argv[], ShellArgs *a) {
        const char *target = argc > 1 && !isempty(argv[1]) ? argv[1] : ".host";
        const char *at = strchr(target, '@');

        a->user = at && at != target ? strndup(target, (size_t) (at - target)) : strdup(args->uid ?: "");
        if (at) {
                target = at + 1;
                if (!*target)
                        target = ".host";
        }
        a->name = strdup(target);
        if (!a->name || !a->user)
                return log_oom();
        if (!streq(a->name, ".host") && !machine_name_is_valid(a->name))
                return ctl_invalid_name(a->name);
        a->path = argc > 2 ? argv[2] : "";
        if (!isempty(a->path) && a->path[0] != '/') {
                /* a bare command name: let the guest's shell find it in its PATH */
                if (strv_extend(&a->args, "sh") < 0 || strv_extend(&a->args, "-c") < 0 ||
                    strv_extend(&a->args, "exec \"$0\" \"$@\"") < 0)
                        return log_oom();
                for (int k = 2; k < argc; k++)
                        if (strv_extend(&a->args, argv[k]) < 0)
                                return log_oom();
                a->path = "/bin/sh";
        } else if (argc > 2 && !(a->args = strv_copy(argv + 2)))
                return log_oom();
        a->env = strv_copy(args->setenv);
        if (args->setenv && !a->env)
                return log_oom();
        a->quiet = args->quiet;
        return 0;
}

int verb_shell(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]) {
        ShellArgs a = {};
        int r;

        r = parse_shell_args(args, argc, argv, &a);
        if (r >= 0) {
                if (!ctl_is_berthd(bus))
                        r = shell_machined(bus, &a);
                else if (isatty(STDIN_FILENO))
                        r = shell_pty(bus, &a);
                else
                        r = shell_pipes(bus, &a);
        }
        free(a.name);
        free(a.user);
        strv_free(a.args);
        strv_free(a.env);
        return r;
}

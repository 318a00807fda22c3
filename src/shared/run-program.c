/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-util.h"
#include "run-program.h"

extern char **environ;

static int pipe_pair(int p[2]) {
        return pipe2(p, O_CLOEXEC) < 0 ? -errno : 0;
}

/* A clean signal state: our callers block the signals their event loops take (berth-spawn's SIGHUP,
 * SIGINT, SIGTERM), and a program started here (dnsmasq, which reloads on SIGHUP) must get them. */
static void spawnattr_init_clean(posix_spawnattr_t *attr, short flags) {
        sigset_t none, all;

        sigemptyset(&none);
        sigfillset(&all);
        posix_spawnattr_init(attr);
        posix_spawnattr_setflags(attr, flags | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        posix_spawnattr_setsigmask(attr, &none);
        posix_spawnattr_setsigdefault(attr, &all);
}

int run_program_start(char *const argv[], const char *input, RunningProgram *ret) {
        _cleanup_close_pair_ int in[2] = { -EBADF, -EBADF }, errp[2] = { -EBADF, -EBADF };
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        pid_t pid;
        int r;

        if ((input && (r = pipe_pair(in)) < 0) || (r = pipe_pair(errp)) < 0)
                return r;
        posix_spawn_file_actions_init(&fa);
        if (input)
                posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
        else
                posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, errp[1], STDERR_FILENO);
        spawnattr_init_clean(&attr, 0);
        r = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                return -r;
        errp[1] = safe_close(errp[1]);
        if (input) {
                size_t l = strlen(input);
                in[0] = safe_close(in[0]);
                while (l > 0) { /* past a pipe's 64 KiB this waits for it to read */
                        ssize_t n = write(in[1], input, l);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0)
                                break; /* it stopped reading: its exit status says why */
                        input += n;
                        l -= (size_t) n;
                }
        }
        *ret = (RunningProgram) { .pid = pid, .err_fd = TAKE_FD(errp[0]) };
        return 0;
}

int run_program_finish(RunningProgram *p, char *err, size_t err_size) {
        size_t got = 0;
        int status;

        if (err_size > 0)
                err[0] = 0;
        for (;;) {
                char buf[512];
                ssize_t n = read(p->err_fd, buf, sizeof buf);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                for (ssize_t i = 0; i < n && got + 1 < err_size; i++)
                        err[got++] = buf[i];
        }
        p->err_fd = safe_close(p->err_fd);
        if (err_size > 0) {
                err[got] = 0;
                while (got > 0 && (err[got - 1] == '\n' || err[got - 1] == ' '))
                        err[--got] = 0;
        }
        while (waitpid(p->pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        p->pid = 0;
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        return -EPROTO;
}

int run_program(char *const argv[], const char *input, char *err, size_t err_size) {
        RunningProgram p;
        int r = run_program_start(argv, input, &p);

        if (r < 0) {
                if (err_size > 0)
                        err[0] = 0;
                return r;
        }
        return run_program_finish(&p, err, err_size);
}

int run_program_detached(char *const argv[], char *const envp[], int err_fd, pid_t *ret_pid) {
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        int r;

        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        if (err_fd >= 0)
                posix_spawn_file_actions_adddup2(&fa, err_fd, STDERR_FILENO);
        else
                posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
        spawnattr_init_clean(&attr, POSIX_SPAWN_SETSID);
        r = posix_spawnp(ret_pid, argv[0], &fa, &attr, argv, envp ?: environ);
        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&fa);
        return -r;
}

int program_find(const char *name, char **ret) {
        const char *path = getenv("PATH") ?: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

        for (const char *p = path; *p;) {
                size_t l = strcspn(p, ":");
                char buf[4096];

                if (l > 0 && (size_t) snprintf(buf, sizeof buf, "%.*s/%s", (int) l, p, name) < sizeof buf &&
                    access(buf, X_OK) == 0) {
                        if (ret && !(*ret = strdup(buf)))
                                return -ENOMEM;
                        return 0;
                }
                p += l;
                if (*p == ':')
                        p++;
        }
        return -ENOENT;
}

bool program_exists(const char *name) {
        return program_find(name, NULL) >= 0;
}

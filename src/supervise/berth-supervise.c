/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berth-supervise: keeps one persistent machine running for berthd, independent of berthd.
 *
 *   berth-supervise LOGFILE BERTH-SPAWN [ARGS...]
 *
 * Runs berth-spawn with stdin on /dev/null and stdout/stderr appended to LOGFILE (rotated once
 * when it grows past 8 MiB), starts it again when the guest reboots (exit status 133, at most 5
 * times in 10 s), and forwards SIGTERM/SIGINT/SIGHUP to it. Its own exit status is the
 * launcher's. It runs in its own session, so berthd can exit or restart while machines run. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"

#define LOG_ROTATE_SIZE (8ULL * 1024 * 1024)
#define EXIT_REBOOT 133

static volatile sig_atomic_t launcher_pid;
static volatile sig_atomic_t stopping;

static void forward_signal(int sig) {
        stopping = 1;
        if (launcher_pid > 0)
                (void) kill(launcher_pid, sig);
}

static int open_log(const char *path) {
        struct stat st;

        if (stat(path, &st) >= 0 && (uint64_t) st.st_size > LOG_ROTATE_SIZE) {
                char old[4096];
                (void) snprintf(old, sizeof old, "%s.1", path);
                (void) rename(path, old);
        }
        return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
}

static void log_line(int fd, const char *what) {
        char stamp[64], line[256];
        time_t t = time(NULL);
        struct tm tm;

        (void) strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
        int n = snprintf(line, sizeof line, "-- %s berth: %s --\n", stamp, what);
        if (n > 0)
                (void) !write(fd, line, (size_t) n);
}

static pid_t start_launcher(int log_fd, char **argv) {
        pid_t pid = fork();

        if (pid != 0)
                return pid;
        sigset_t none;
        (void) sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
                _exit(EXIT_FAILURE);
        execv(argv[0], argv);
        fprintf(stderr, "berth-supervise: failed to execute %s: %m\n", argv[0]);
        _exit(EXIT_FAILURE);
}

static int run_once(int log_fd, char **argv) {
        int wstatus;
        pid_t pid;

        pid = start_launcher(log_fd, argv);
        if (pid < 0)
                return -errno;
        launcher_pid = pid;
        if (stopping)
                (void) kill(pid, SIGTERM);
        while (waitpid(pid, &wstatus, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        launcher_pid = 0;
        if (WIFEXITED(wstatus))
                return WEXITSTATUS(wstatus);
        return 128 + WTERMSIG(wstatus);
}

int main(int argc, char *argv[]) {
        struct sigaction sa = { .sa_handler = forward_signal };
        struct timespec window = {}, now;
        int log_fd, status, quick = 0;

        log_set_prefix("berth-supervise");
        if (argc < 3) {
                fprintf(stderr, "Usage: berth-supervise LOGFILE BERTH-SPAWN [ARGS...]\n");
                return EXIT_FAILURE;
        }
        (void) close_range(3, ~0U, 0);
        (void) setsid();
        (void) sigaction(SIGTERM, &sa, NULL);
        (void) sigaction(SIGINT, &sa, NULL);
        (void) sigaction(SIGHUP, &sa, NULL);
        log_fd = open_log(argv[1]);
        if (log_fd < 0) {
                fprintf(stderr, "berth-supervise: cannot open %s: %m\n", argv[1]);
                return EXIT_FAILURE;
        }
        for (;;) {
                log_line(log_fd, "starting the machine");
                status = run_once(log_fd, argv + 2);
                if (status != EXIT_REBOOT || stopping)
                        break;
                (void) clock_gettime(CLOCK_MONOTONIC, &now);
                if (now.tv_sec - window.tv_sec > 10) {
                        window = now;
                        quick = 0;
                }
                if (++quick > 5) {
                        log_line(log_fd, "the machine rebooted too often, giving up");
                        break;
                }
                log_line(log_fd, "the guest asked for a reboot");
        }
        if (status < 0) {
                log_line(log_fd, "could not start berth-spawn");
                return EXIT_FAILURE;
        }
        char what[64];
        (void) snprintf(what, sizeof what, "the machine stopped, status %d", status);
        log_line(log_fd, what);
        return status;
}

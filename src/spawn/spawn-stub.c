/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-util.h"
#include "spawn-child.h"

/* PID 1 for --as-pid2: the payload (PID 2) gets every signal we get; we reap whatever dies; when the
 * payload exits we exit with its status (128+N if a signal killed it). */
void spawn_stub_init(pid_t payload) {
        sigset_t all;

        /* Not ptrace-able or readable through /proc/1/exe by the guest, and named for what it is. */
        (void) prctl(PR_SET_DUMPABLE, 0);
        (void) prctl(PR_SET_NAME, "(berth-stub)");
        sigfillset(&all);
        (void) sigprocmask(SIG_SETMASK, &all, NULL);
        (void) close_all_fds(NULL, 0);

        for (;;) {
                siginfo_t si;
                int sig = sigwaitinfo(&all, &si);

                if (sig < 0 && errno == EINTR)
                        continue;
                if (sig < 0) { /* a filter that denies it: end the machine rather than spin */
                        (void) kill(payload, SIGKILL);
                        _exit(EXIT_FAILURE);
                }
                if (sig != SIGCHLD) {
                        (void) kill(payload, sig);
                        continue;
                }
                for (;;) {
                        int status;
                        pid_t p = waitpid(-1, &status, WNOHANG);
                        if (p <= 0)
                                break;
                        if (p != payload)
                                continue;
                        if (WIFEXITED(status))
                                _exit(WEXITSTATUS(status));
                        _exit(128 + WTERMSIG(status));
                }
        }
}

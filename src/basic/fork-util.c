/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "fd-util.h"
#include "fork-util.h"

/* In the child: keep[] at 3.., the pipe's end after them, nothing else; then tells the caller. Every
 * fd is first copied above the range it goes to, so that none is overwritten before it is moved. */
static void child_settle(const int *keep, size_t n, int done) {
        int last = 3 + (int) n, moved[n + 1], null = open("/dev/null", O_RDWR | O_CLOEXEC);

        if (null < 0 || (null = fcntl(null, F_DUPFD_CLOEXEC, last + 1)) < 0)
                _exit(EXIT_FAILURE);
        for (size_t i = 0; i <= n; i++) {
                moved[i] = fcntl(i == n ? done : keep[i] >= 0 ? keep[i] : null, F_DUPFD_CLOEXEC, last + 1);
                if (moved[i] < 0)
                        _exit(EXIT_FAILURE);
        }
        for (size_t i = 0; i <= n; i++)
                if (dup2(moved[i], 3 + (int) i) < 0)
                        _exit(EXIT_FAILURE);
        for (int fd = 0; fd < 3; fd++)
                if (dup2(null, fd) < 0)
                        _exit(EXIT_FAILURE);
        (void) close_range((unsigned) last + 1, ~0U, 0);
        if (write(last, "x", 1) != 1)
                _exit(EXIT_FAILURE);
        (void) close(last);
}

pid_t fork_behind(const int *keep, size_t n_keep) {
        int p[2], r;
        pid_t pid;
        char x;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                r = -errno;
                safe_close(p[0]);
                safe_close(p[1]);
                return r;
        }
        if (pid == 0) {
                child_settle(keep, n_keep, p[1]);
                return 0;
        }
        safe_close(p[1]);
        /* its byte once it holds nothing else, or end of file if it died first */
        while (read(p[0], &x, 1) < 0 && errno == EINTR)
                ;
        safe_close(p[0]);
        return pid;
}

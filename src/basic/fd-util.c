/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <stdlib.h>
#include <sys/syscall.h>

#include "alloc-util.h"
#include "fd-util.h"

int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -EBADF;
}

static int cmp_int(const void *a, const void *b) {
        return *(const int *) a - *(const int *) b;
}

int close_all_fds(const int except[], size_t n_except) {
        int sorted[128];
        int start = 3;

        if (n_except > ELEMENTSOF(sorted))
                return -E2BIG;
        for (size_t i = 0; i < n_except; i++)
                sorted[i] = except[i];
        qsort(sorted, n_except, sizeof(int), cmp_int);

        /* close_range() between the fds we keep. */
        for (size_t i = 0; i < n_except; i++) {
                if (sorted[i] < start)
                        continue;
                if (sorted[i] > start &&
                    syscall(SYS_close_range, (unsigned) start, (unsigned) sorted[i] - 1, 0) < 0)
                        return -errno;
                start = sorted[i] + 1;
        }
        if (syscall(SYS_close_range, (unsigned) start, ~0U, 0) < 0)
                return -errno;
        return 0;
}

int fd_nonblock(int fd, bool nonblock) {
        int flags = fcntl(fd, F_GETFL);
        if (flags < 0)
                return -errno;
        flags = nonblock ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
        if (fcntl(fd, F_SETFL, flags) < 0)
                return -errno;
        return 0;
}

int fd_cloexec(int fd, bool cloexec) {
        int flags = fcntl(fd, F_GETFD);
        if (flags < 0)
                return -errno;
        flags = cloexec ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC;
        if (fcntl(fd, F_SETFD, flags) < 0)
                return -errno;
        return 0;
}

int fd_move_to(int fd, int to) {
        if (fd == to)
                return fd_cloexec(fd, false) < 0 ? -errno : to;
        if (dup2(fd, to) < 0)
                return -errno;
        (void) close(fd);
        return to;
}

int fd_count_open(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        int n = 0;

        if (!d)
                return -errno;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        (void) closedir(d);
        return n - 1; /* the directory's own fd */
}

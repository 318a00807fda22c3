/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "fileio.h"
#include "pidfd-util.h"

#ifndef PIDFS_MAGIC
#define PIDFS_MAGIC 0x50494446
#endif

int pidfd_open_pid(pid_t pid) {
        int fd;

        if (pid <= 0)
                return -EINVAL;
        fd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (fd < 0)
                return -errno;
        return fd; /* pidfds are always close-on-exec */
}

int pidfd_signal(int pidfd, int sig) {
        if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
                return -errno;
        return 0;
}

int pidfd_has_exited(int pidfd) {
        struct pollfd p = { .fd = pidfd, .events = POLLIN };
        int k = poll(&p, 1, 0);

        if (k < 0)
                return -errno;
        return k > 0;
}

int pid_get_start_time(pid_t pid, uint64_t *ret) {
        _cleanup_free_ char *buf = NULL;
        char path[64];
        const char *p;
        int r;

        (void) snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        r = read_full_file_at(AT_FDCWD, path, 4096, &buf, NULL);
        if (r == -ENOENT)
                return -ESRCH;
        if (r < 0)
                return r;
        p = strrchr(buf, ')'); /* comm may contain anything, even ')' and spaces */
        if (!p)
                return -EIO;
        p++;
        /* p is on the space before field 3 (state); start time is field 22 */
        for (int field = 3; field < 22; field++) {
                p = strchr(p + 1, ' ');
                if (!p)
                        return -EIO;
        }
        errno = 0;
        unsigned long long v = strtoull(p + 1, NULL, 10);
        if (errno != 0)
                return -errno;
        *ret = v;
        return 0;
}

int pidfd_get_inode_id(int pidfd, uint64_t *ret) {
        struct statfs sfs;
        struct stat st;

        if (fstatfs(pidfd, &sfs) < 0)
                return -errno;
        if ((unsigned long) sfs.f_type != PIDFS_MAGIC)
                return -EOPNOTSUPP;
        if (fstat(pidfd, &st) < 0)
                return -errno;
        *ret = (uint64_t) st.st_ino;
        return 0;
}

int pidfd_open_with_start_time(pid_t pid, uint64_t *ret_start_time) {
        _cleanup_close_ int fd = -EBADF;
        uint64_t t;
        int r;

        fd = pidfd_open_pid(pid);
        if (fd < 0)
                return fd;
        r = pid_get_start_time(pid, &t);
        if (r < 0)
                return r;
        /* If the pidfd's process is still alive, /proc/PID was that same process when we read it. */
        r = pidfd_signal(fd, 0);
        if (r < 0)
                return r;
        *ret_start_time = t;
        return TAKE_FD(fd);
}

int pidfd_open_verified(pid_t pid, uint64_t expected_start_time, uint64_t expected_id) {
        _cleanup_close_ int fd = -EBADF;
        uint64_t t, id;
        int r;

        fd = pidfd_open_with_start_time(pid, &t);
        if (fd < 0)
                return fd;
        if (t != expected_start_time)
                return -ESRCH; /* recycled PID */
        if (expected_id != 0) {
                r = pidfd_get_inode_id(fd, &id);
                if (r >= 0 && id != expected_id)
                        return -ESRCH;
        }
        return TAKE_FD(fd);
}

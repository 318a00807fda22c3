/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ns-util.h"

static const struct {
        int flag;
        const char *name;
} ns_table[] = {
        { CLONE_NEWUSER, "user" },
        { CLONE_NEWNS, "mnt" },
        { CLONE_NEWPID, "pid" },
        { CLONE_NEWUTS, "uts" },
        { CLONE_NEWIPC, "ipc" },
        { CLONE_NEWNET, "net" },
        { CLONE_NEWCGROUP, "cgroup" },
};

static int ns_differs(pid_t pid, const char *name) {
        char path[64];
        struct stat a, b;

        (void) snprintf(path, sizeof path, "/proc/%d/ns/%s", (int) pid, name);
        if (stat(path, &a) < 0)
                return errno == ENOENT ? -ESRCH : -errno;
        (void) snprintf(path, sizeof path, "/proc/self/ns/%s", name);
        if (stat(path, &b) < 0)
                return -errno;
        return a.st_dev != b.st_dev || a.st_ino != b.st_ino;
}

int namespace_differing(pid_t pid, int wanted, int *ret_flags) {
        int flags = 0;

        for (size_t i = 0; i < ELEMENTSOF(ns_table); i++) {
                if (!(wanted & ns_table[i].flag))
                        continue;
                int r = ns_differs(pid, ns_table[i].name);
                if (r < 0)
                        return r;
                if (r > 0)
                        flags |= ns_table[i].flag;
        }
        *ret_flags = flags;
        return 0;
}

int namespace_pid_has_private_net(pid_t pid) {
        return ns_differs(pid, "net");
}

int namespace_open_root(pid_t pid) {
        char path[64];
        int fd;

        (void) snprintf(path, sizeof path, "/proc/%d/root", (int) pid);
        fd = open(path, O_PATH|O_DIRECTORY|O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? -ESRCH : -errno;
        return fd;
}

int namespace_enter(int pidfd, int flags, int root_fd) {
        if (flags != 0 && setns(pidfd, flags) < 0)
                return -errno;
        /* In a machine's user namespace the host's root is nobody: become the machine's root, as nsenter
         * does (setuid programs such as busybox's login check the effective UID). */
        if (flags & CLONE_NEWUSER) {
                if (setgroups(0, NULL) < 0 && errno != EPERM)
                        return -errno;
                if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                        return -errno;
        }
        if (root_fd >= 0) {
                if (fchdir(root_fd) < 0)
                        return -errno;
                if (chroot(".") < 0)
                        return -errno;
        }
        if (chdir("/") < 0)
                return -errno;
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "fileio.h"
#include "log.h"
#include "mount-util.h"
#include "ns-util.h"
#include "parse-util.h"
#include "pidfd-util.h"
#include "spawn-lxcfs.h"
#include "string-util.h"

#define LXCFS_DIR "/var/lib/lxcfs"
#define LXCFS_PID_FILE "/run/lxcfs.pid" /* Debian's lxcfs.service and lxcfs's own default */
#define FUSE_SUPER_MAGIC 0x65735546

/* What LXC binds: the files lxcfs computes from the reader's cgroup. */
static const char *const lxcfs_files[] = {
        "/proc/meminfo", "/proc/cpuinfo", "/proc/stat", "/proc/uptime", "/proc/loadavg", "/proc/diskstats",
        "/proc/swaps", "/sys/devices/system/cpu/online",
};

static bool lxcfs_running(dev_t *ret_dev) {
        struct statfs sfs;
        struct stat st;

        if (statfs(LXCFS_DIR, &sfs) < 0 || (unsigned long) sfs.f_type != FUSE_SUPER_MAGIC ||
            access(LXCFS_DIR "/proc/meminfo", R_OK) < 0 || stat(LXCFS_DIR, &st) < 0)
                return false;
        *ret_dev = st.st_dev;
        return true;
}

int spawn_step_lxcfs_detect(SpawnContext *c) {
        LxcfsMode mode = c->config->limits.lxcfs;

        if (mode == LXCFS_NO)
                return 0;
        c->lxcfs = lxcfs_running(&c->lxcfs_dev);
        if (!c->lxcfs && mode == LXCFS_YES)
                return log_error_errno(-ENOENT, "--lxcfs=yes, but lxcfs does not run (no lxcfs file system on "
                                                LXCFS_DIR "): install Debian's lxcfs package and start it.");
        log_debug("lxcfs %s.", c->lxcfs ? "runs: binding its files" : "does not run");
        return 0;
}

int spawn_open_lxcfs(SpawnContext *c) {
        _Static_assert(ELEMENTSOF(lxcfs_files) <= 8, "lxcfs_fds is too small");
        for (size_t i = 0; c->lxcfs && i < ELEMENTSOF(lxcfs_files); i++) {
                _cleanup_free_ char *p = strjoin(LXCFS_DIR, lxcfs_files[i]);
                int r;
                if (!p)
                        return -ENOMEM;
                if (access(p, F_OK) < 0)
                        continue; /* an older lxcfs has no sys/devices/system/cpu/online */
                r = mount_clone_tree(AT_FDCWD, p, false, &c->lxcfs_fds[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

int spawn_mount_lxcfs(SpawnContext *c) {
        for (size_t i = 0; i < ELEMENTSOF(lxcfs_files); i++) {
                _cleanup_close_ int fd = TAKE_FD(c->lxcfs_fds[i]), target = -EBADF;
                int r;
                if (fd < 0)
                        continue;
                /* an existing file of the machine's /proc or (read-only) /sys: nothing is created */
                target = open_in_root(c->root_fd, lxcfs_files[i], O_PATH | O_NOFOLLOW, 0);
                if (target == -ENOENT)
                        continue;
                if (target < 0)
                        return target;
                r = mount_attach(fd, target);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A process named lxcfs in our mount namespace (an lxcfs of some machine is not the host's). */
static int lxcfs_pidfd_if_ours(pid_t pid) {
        _cleanup_close_ int pidfd = -EBADF;
        _cleanup_free_ char *comm = NULL;
        struct stat ours, theirs;
        char path[64];
        int r;

        pidfd = pidfd_open_pid(pid);
        if (pidfd < 0)
                return pidfd;
        (void) snprintf(path, sizeof path, "/proc/%d/comm", (int) pid);
        r = read_one_line_file(path, &comm);
        if (r < 0)
                return r == -ENOENT ? -ESRCH : r;
        (void) snprintf(path, sizeof path, "/proc/%d/ns/mnt", (int) pid);
        if (!streq(comm, "lxcfs") || stat(path, &theirs) < 0 || stat("/proc/self/ns/mnt", &ours) < 0 ||
            theirs.st_ino != ours.st_ino || theirs.st_dev != ours.st_dev)
                return -ESRCH;
        r = pidfd_signal(pidfd, 0); /* the pid was still lxcfs's when the pidfd was opened */
        if (r < 0)
                return r;
        return TAKE_FD(pidfd);
}

static int lxcfs_find_in_proc(void) {
        DIR *d = opendir("/proc");
        struct dirent *de;
        int fd = -ENOENT;

        if (!d)
                return -errno;
        while (fd < 0 && (de = readdir(d))) {
                int pid;
                if (safe_atoi(de->d_name, &pid) >= 0 && pid > 0)
                        fd = lxcfs_pidfd_if_ours(pid);
        }
        closedir(d);
        return fd >= 0 ? fd : -ENOENT;
}

int spawn_lxcfs_open_pidfd(const SpawnContext *c) {
        _cleanup_free_ char *line = NULL;
        dev_t dev;
        int fd = -ENOENT, pid;

        if (read_one_line_file(LXCFS_PID_FILE, &line) >= 0 && safe_atoi(line, &pid) >= 0 && pid > 0)
                fd = lxcfs_pidfd_if_ours(pid);
        if (fd < 0)
                fd = lxcfs_find_in_proc();
        if (fd < 0)
                return fd;
        /* the lxcfs we bound may have gone and another one taken its place since */
        if (!lxcfs_running(&dev) || dev != c->lxcfs_dev) {
                safe_close(fd);
                return -ESRCH;
        }
        return fd;
}

/* The host's own file for lxcfs_files[i], from a new proc or sysfs instance: what covers a dead
 * lxcfs file that cannot be unmounted (-U locks the machine's mounts). Made before we enter the
 * machine's mount namespace, where a new proc would be refused as too revealing. */
static int host_file_clone(size_t i, int *ret) {
        bool proc = startswith(lxcfs_files[i], "/proc/");
        _cleanup_close_ int fs = -EBADF;
        int r;

        r = mount_new_fs(proc ? "proc" : "sysfs", proc ? "proc" : "sysfs", NULL, 0, &fs);
        if (r < 0)
                return r;
        return mount_clone_tree(fs, lxcfs_files[i] + (proc ? 6 : 5), false, ret);
}

/* Is the top mount at path a file of the dead lxcfs? No request goes to the FUSE connection:
 * the lookup ends on the bind's root and the attributes are the cached ones. */
static bool is_lxcfs_file(const SpawnContext *c, const char *path) {
        struct statx stx;

        if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC, STATX_TYPE, &stx) < 0)
                return false;
        return makedev(stx.stx_dev_major, stx.stx_dev_minor) == c->lxcfs_dev;
}

_noreturn_ static void release_helper(const SpawnContext *c) {
        int covers[ELEMENTSOF(lxcfs_files)], root, r, failed = 0;

        for (size_t i = 0; i < ELEMENTSOF(lxcfs_files); i++)
                if (!c->userns || host_file_clone(i, &covers[i]) < 0)
                        covers[i] = -EBADF;
        root = namespace_open_root(c->pid);
        r = root < 0 ? root : namespace_enter(c->pidfd, CLONE_NEWNS, root);
        if (r == -ESRCH) /* the machine is gone too */
                _exit(EXIT_SUCCESS);
        if (r < 0) {
                log_error_errno(r, "Failed to enter the mount namespace of machine '%s': %m", c->config->machine_name);
                _exit(EXIT_FAILURE);
        }
        for (size_t i = 0; i < ELEMENTSOF(lxcfs_files); i++) {
                _cleanup_close_ int target = -EBADF;
                if (!is_lxcfs_file(c, lxcfs_files[i]))
                        continue;
                if (umount2(lxcfs_files[i], MNT_DETACH | UMOUNT_NOFOLLOW) >= 0)
                        continue;
                r = -errno;
                if (r == -EINVAL && covers[i] >= 0) { /* locked */
                        target = open(lxcfs_files[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
                        r = target < 0 ? -errno : mount_attach(covers[i], target);
                }
                if (r < 0) {
                        log_error_errno(r, "Failed to take lxcfs's %s away from machine '%s': %m", lxcfs_files[i],
                                        c->config->machine_name);
                        failed++;
                }
        }
        _exit(failed ? EXIT_FAILURE : EXIT_SUCCESS);
}

int spawn_lxcfs_release(const SpawnContext *c) {
        int status;
        pid_t pid;

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                release_helper(c);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

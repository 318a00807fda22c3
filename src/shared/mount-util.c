/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "mount-util.h"
#include "path-util.h"
#include "string-util.h"

int open_in_root(int root_fd, const char *path, int flags, mode_t mode) {
        return open_in_root_resolve(root_fd, path, flags, mode, 0);
}

int open_in_root_resolve(int root_fd, const char *path, int flags, mode_t mode, uint64_t resolve) {
        struct open_how how = {
                .flags = (uint64_t) (flags | O_CLOEXEC),
                .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | resolve,
        };
        int fd;

        while (*path == '/')
                path++;
        if (*path == 0)
                path = ".";
        /* With RESOLVE_IN_ROOT the kernel answers EAGAIN when a rename or mount anywhere on the host
         * raced with the lookup (many machines starting at once do that): look up again. */
        for (unsigned attempt = 0;; attempt++) {
                fd = (int) syscall(SYS_openat2, root_fd, path, &how, sizeof how);
                if (fd >= 0)
                        return fd;
                if (errno != EAGAIN || attempt >= 32)
                        return -errno;
        }
}

int mkdir_p_in_root(int root_fd, const char *path, mode_t mode) {
        _cleanup_free_ char *copy = strdup(path);
        _cleanup_close_ int parent = -EBADF;
        char *p;

        if (!copy)
                return -ENOMEM;
        parent = open_in_root(root_fd, "/", O_PATH | O_DIRECTORY, 0);
        if (parent < 0)
                return parent;

        p = copy;
        while (*p == '/')
                p++;
        while (*p) {
                char *slash = strchr(p, '/');
                int fd;

                if (slash)
                        *slash = 0;
                if (streq(p, "..") || streq(p, "."))
                        return -EINVAL;
                fd = open_in_root(root_fd, copy, O_PATH | O_DIRECTORY, 0);
                if (fd == -ENOENT) {
                        if (mkdirat(parent, p, mode) < 0 && errno != EEXIST)
                                return -errno;
                        fd = open_in_root(root_fd, copy, O_PATH | O_DIRECTORY, 0);
                }
                if (fd < 0)
                        return fd;
                safe_close(parent);
                parent = fd;
                if (!slash)
                        break;
                *slash = '/';
                p = slash + 1;
                while (*p == '/')
                        p++;
        }
        return TAKE_FD(parent);
}

int touch_in_root(int root_fd, const char *path, mode_t mode) {
        _cleanup_free_ char *dir = strdup(path);
        _cleanup_close_ int dfd = -EBADF;
        char *slash;
        int fd;

        fd = open_in_root(root_fd, path, O_PATH, 0);
        if (fd != -ENOENT)
                return fd;
        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (!slash || !filename_is_valid(slash + 1))
                return -EINVAL;
        *slash = 0;
        dfd = mkdir_p_in_root(root_fd, isempty(dir) ? "/" : dir, 0755);
        if (dfd < 0)
                return dfd;
        {
                _cleanup_close_ int real = openat(dfd, ".", O_DIRECTORY | O_CLOEXEC);
                int f;
                if (real < 0)
                        return -errno;
                f = openat(real, slash + 1, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
                if (f < 0 && errno != EEXIST)
                        return -errno;
                safe_close(f);
        }
        return open_in_root(root_fd, path, O_PATH, 0);
}

int mount_new_fs(const char *fstype, const char *source, const char *const *options, unsigned attrs,
                 int *ret_mount_fd) {
        _cleanup_close_ int fs = -EBADF;
        int m;

        fs = fsopen(fstype, FSOPEN_CLOEXEC);
        if (fs < 0)
                return -errno;
        if (source && fsconfig(fs, FSCONFIG_SET_STRING, "source", source, 0) < 0)
                return -errno;
        for (const char *const *o = options; o && *o; o++) {
                _cleanup_free_ char *key = strdup(*o);
                char *eq;
                int r;

                if (!key)
                        return -ENOMEM;
                eq = strchr(key, '=');
                if (eq) {
                        *eq = 0;
                        r = fsconfig(fs, FSCONFIG_SET_STRING, key, eq + 1, 0);
                } else
                        r = fsconfig(fs, FSCONFIG_SET_FLAG, key, NULL, 0);
                if (r < 0)
                        return -errno;
        }
        if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return -errno;
        m = fsmount(fs, FSMOUNT_CLOEXEC, attrs);
        if (m < 0)
                return -errno;
        *ret_mount_fd = m;
        return 0;
}

int mount_clone_tree(int dir_fd, const char *path, bool recursive, int *ret_mount_fd) {
        int fd = open_tree(dir_fd, isempty(path) ? "" : path,
                           OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0) |
                                   (isempty(path) ? AT_EMPTY_PATH : 0));
        if (fd < 0)
                return -errno;
        *ret_mount_fd = fd;
        return 0;
}

int mount_set_attr(int mount_fd, uint64_t set, uint64_t clear, bool recursive) {
        struct mount_attr a = { .attr_set = set, .attr_clr = clear };

        if (mount_setattr(mount_fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a, sizeof a) < 0)
                return -errno;
        return 0;
}

int mount_attach(int mount_fd, int target_fd) {
        if (move_mount(mount_fd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return -errno;
        return 0;
}

int mount_fs_in_root(int root_fd, const char *path, const char *fstype, const char *source,
                     const char *const *options, unsigned attrs) {
        _cleanup_close_ int target = -EBADF, m = -EBADF;
        int r;

        target = mkdir_p_in_root(root_fd, path, 0755);
        if (target < 0)
                return target;
        r = mount_new_fs(fstype, source, options, attrs, &m);
        if (r < 0)
                return r;
        return mount_attach(m, target);
}

int mount_bind_in_root(int root_fd, const char *path, int src_mount_fd, bool file) {
        _cleanup_close_ int target = -EBADF;

        target = file ? touch_in_root(root_fd, path, 0644) : mkdir_p_in_root(root_fd, path, 0755);
        if (target < 0)
                return target;
        return mount_attach(src_mount_fd, target);
}

int mount_api_supported(void) {
        int fd = fsopen("tmpfs", FSOPEN_CLOEXEC);
        if (fd < 0)
                return -errno;
        safe_close(fd);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "log.h"
#include "mount-util.h"
#include "spawn-mount.h"
#include "string-util.h"
#include "strv.h"

#define API_ATTRS (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)

/* Files in /proc that tell too much about the host or change it; bound over with a mode-000 file. */
static const char *const proc_inaccessible[] = {
        "/proc/kallsyms", "/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/latency_stats",
        "/proc/sched_debug", "/proc/config.gz",
};
/* Made read-only (recursively) by binding them over themselves. */
static const char *const proc_read_only[] = {
        "/proc/sys", "/proc/sysrq-trigger", "/proc/acpi", "/proc/apm", "/proc/asound",
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/scsi",
};

/* A detached tmpfs holding "reg" and "dir", both mode 000: sources for masking. */
static int make_inaccessible(int *ret_mount_fd) {
        static const char *const opts[] = { "mode=000", "size=4k", "nr_inodes=8", NULL };
        _cleanup_close_ int m = -EBADF, f = -EBADF;
        int r;

        r = mount_new_fs("tmpfs", "inaccessible", opts, API_ATTRS, &m);
        if (r < 0)
                return r;
        f = openat(m, "reg", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0000);
        if (f < 0)
                return -errno;
        f = safe_close(f); /* an open writer would keep the mount from going read-only */
        if (mkdirat(m, "dir", 0000) < 0)
                return -errno;
        r = mount_set_attr(m, MOUNT_ATTR_RDONLY, 0, false);
        if (r < 0)
                return r;
        *ret_mount_fd = TAKE_FD(m);
        return 0;
}

/* Covers path with the inaccessible node of its kind. A missing path is fine unless must_exist (then
 * symlinks are followed inside the root, as for --inaccessible=). */
static int mask_path_full(int root_fd, int inaccessible_fd, const char *path, bool must_exist) {
        _cleanup_close_ int target = open_in_root(root_fd, path, O_PATH | (must_exist ? 0 : O_NOFOLLOW), 0), src = -EBADF;
        struct stat st;
        int r;

        if (target == -ENOENT && !must_exist)
                return 0;
        if (target < 0)
                return target;
        if (fstat(target, &st) < 0)
                return -errno;
        r = mount_clone_tree(inaccessible_fd, S_ISDIR(st.st_mode) ? "dir" : "reg", false, &src);
        if (r < 0)
                return r;
        return mount_attach(src, target);
}

static int mask_path(int root_fd, int inaccessible_fd, const char *path) {
        return mask_path_full(root_fd, inaccessible_fd, path, false);
}

/* Binds path over itself with the read-only flag; 'keep_rw' (may be NULL) is a subpath cloned
 * before, and put back writable on top (for /proc/sys/net with a private network). */
static int bind_read_only(int root_fd, const char *path, const char *keep_rw) {
        _cleanup_close_ int target = open_in_root(root_fd, path, O_PATH | O_NOFOLLOW, 0);
        _cleanup_close_ int tree = -EBADF, rw = -EBADF, rw_target = -EBADF;
        int r;

        if (target == -ENOENT)
                return 0;
        if (target < 0)
                return target;
        if (keep_rw) {
                r = mount_clone_tree(target, keep_rw, true, &rw);
                if (r < 0 && r != -ENOENT)
                        return r;
        }
        r = mount_clone_tree(target, NULL, true, &tree);
        if (r < 0)
                return r;
        r = mount_set_attr(tree, MOUNT_ATTR_RDONLY, 0, true);
        if (r < 0)
                return r;
        r = mount_attach(tree, target);
        if (r < 0 || rw < 0)
                return r;
        rw_target = open_in_root(root_fd, path, O_PATH | O_NOFOLLOW, 0);
        if (rw_target < 0)
                return rw_target;
        {
                _cleanup_close_ int sub = openat(rw_target, keep_rw, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0)
                        return -errno;
                return mount_attach(rw, sub);
        }
}

int spawn_mount_proc(SpawnContext *c) {
        _cleanup_close_ int inaccessible = -EBADF;
        int r;

        r = mount_fs_in_root(c->root_fd, "/proc", "proc", "proc", NULL, API_ATTRS);
        if (r < 0)
                return r;
        r = make_inaccessible(&inaccessible);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(proc_inaccessible); i++) {
                r = mask_path(c->root_fd, inaccessible, proc_inaccessible[i]);
                if (r < 0)
                        return r;
        }
        if (c->config->api_vfs_writable)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(proc_read_only); i++) {
                bool sys = streq(proc_read_only[i], "/proc/sys");
                bool net = c->config->private_network || c->config->api_vfs_net_writable;
                r = bind_read_only(c->root_fd, proc_read_only[i], sys && net ? "net" : NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int bind_host_sys(int root_fd, uint64_t ro) {
        _cleanup_close_ int tree = -EBADF, target = -EBADF;
        int r;

        r = mount_clone_tree(AT_FDCWD, "/sys", true, &tree);
        if (r < 0)
                return r;
        r = mount_set_attr(tree, ro | API_ATTRS, 0, true);
        if (r < 0)
                return r;
        target = mkdir_p_in_root(root_fd, "/sys", 0755);
        if (target < 0)
                return target;
        return mount_attach(tree, target);
}

int spawn_mount_sys(SpawnContext *c) {
        _cleanup_close_ int inaccessible = -EBADF;
        int r;

        /* A fresh sysfs needs the network namespace to be ours: in a user namespace without a private
         * network, the host's /sys is bound read-only instead (as nspawn does). */
        uint64_t ro = c->config->api_vfs_writable ? 0 : MOUNT_ATTR_RDONLY;
        if (!c->userns || c->config->private_network)
                r = mount_fs_in_root(c->root_fd, "/sys", "sysfs", "sysfs", NULL, API_ATTRS | ro);
        else
                r = bind_host_sys(c->root_fd, ro);
        if (r < 0)
                return r;
        /* The firmware's tables (ACPI, the memory map) are the host's: hidden, as runc and LXC do. */
        r = make_inaccessible(&inaccessible);
        if (r < 0)
                return r;
        return mask_path(c->root_fd, inaccessible, "/sys/firmware");
}

/* In a user namespace mknod() is not allowed: the nodes are the host's, bound onto empty files. */
static int bind_dev_nodes(int root_fd) {
        static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };

        for (size_t i = 0; i < ELEMENTSOF(nodes); i++) {
                _cleanup_free_ char *src = strjoin("/dev/", nodes[i]), *dst = strjoin("/dev/", nodes[i]);
                _cleanup_close_ int tree = -EBADF;
                int r;

                if (!src || !dst)
                        return -ENOMEM;
                r = mount_clone_tree(AT_FDCWD, src, false, &tree);
                if (r < 0)
                        return r;
                r = mount_bind_in_root(root_fd, dst, tree, true);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int make_dev_nodes(int dev_fd, bool userns) {
        static const struct {
                const char *name;
                unsigned major, minor;
        } nodes[] = {
                { "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 },
                { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
        };
        static const struct {
                const char *name, *target;
        } links[] = {
                { "ptmx", "pts/ptmx" },          { "fd", "/proc/self/fd" },
                { "stdin", "/proc/self/fd/0" },  { "stdout", "/proc/self/fd/1" },
                { "stderr", "/proc/self/fd/2" },
        };
        static const char *const dirs[] = { "pts", "shm", "mqueue", "net" };

        for (size_t i = 0; i < ELEMENTSOF(nodes) && !userns; i++)
                if (mknodat(dev_fd, nodes[i].name, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor)) < 0 ||
                    fchmodat(dev_fd, nodes[i].name, 0666, 0) < 0)
                        return -errno;
        for (size_t i = 0; i < ELEMENTSOF(links); i++)
                if (symlinkat(links[i].target, dev_fd, links[i].name) < 0)
                        return -errno;
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                if (mkdirat(dev_fd, dirs[i], 0755) < 0)
                        return -errno;
        return 0;
}

int spawn_mount_dev(SpawnContext *c) {
        static const char *const dev_opts[] = { "mode=755", "size=4m", "nr_inodes=64k", NULL };
        static const char *const pts_opts[] = { "newinstance", "ptmxmode=0666", "mode=620", "gid=5", NULL };
        static const char *const shm_opts[] = { "mode=1777", "size=50%", NULL };
        _cleanup_close_ int dev = -EBADF, target = -EBADF;
        int r;

        r = mount_new_fs("tmpfs", "tmpfs", dev_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, &dev);
        if (r < 0)
                return r;
        r = make_dev_nodes(dev, c->userns);
        if (r < 0)
                return r;
        target = mkdir_p_in_root(c->root_fd, "/dev", 0755);
        if (target < 0)
                return target;
        r = mount_attach(dev, target);
        if (r < 0)
                return r;
        if (c->userns) {
                r = bind_dev_nodes(c->root_fd);
                if (r < 0)
                        return r;
        }
        r = mount_fs_in_root(c->root_fd, "/dev/pts", "devpts", "devpts", pts_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
        if (r < 0)
                return r;
        r = mount_fs_in_root(c->root_fd, "/dev/shm", "tmpfs", "tmpfs", shm_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
        if (r < 0)
                return r;
        return mount_fs_in_root(c->root_fd, "/dev/mqueue", "mqueue", "mqueue", NULL, API_ATTRS);
}

int spawn_mount_run_tmp(SpawnContext *c) {
        static const char *const run_opts[] = { "mode=755", "size=20%", "nr_inodes=400k", NULL };
        static const char *const tmp_opts[] = { "mode=1777", "nr_inodes=1m", NULL };
        int r;

        r = mount_fs_in_root(c->root_fd, "/run", "tmpfs", "tmpfs", run_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
        if (r < 0 || c->config->no_tmpfs_tmp)
                return r;
        return mount_fs_in_root(c->root_fd, "/tmp", "tmpfs", "tmpfs", tmp_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
}

static int mount_user_bind(const BindMount *b, int root_fd, int *tree_fd) {
        _cleanup_close_ int tree = TAKE_FD(*tree_fd); /* cloned in step open-host-paths */
        struct stat st;
        int r;

        if (fstat(tree, &st) < 0)
                return -errno;
        if (b->read_only) {
                r = mount_set_attr(tree, MOUNT_ATTR_RDONLY, 0, true);
                if (r < 0)
                        return r;
        }
        return mount_bind_in_root(root_fd, b->destination, tree, !S_ISDIR(st.st_mode));
}

/* --tmpfs=PATH:OPTIONS takes what mount -o takes, as nspawn: the mount flags among them become mount
 * attributes (on top of nosuid,nodev, which "suid" and "dev" lift), the rest go to tmpfs. */
static int tmpfs_options(const char *s, char ***ret, unsigned *attrs) {
        static const struct {
                const char *name;
                unsigned set, clear;
        } flags[] = {
                { "ro", MOUNT_ATTR_RDONLY, 0 },          { "rw", 0, MOUNT_ATTR_RDONLY },
                { "nosuid", MOUNT_ATTR_NOSUID, 0 },      { "suid", 0, MOUNT_ATTR_NOSUID },
                { "nodev", MOUNT_ATTR_NODEV, 0 },        { "dev", 0, MOUNT_ATTR_NODEV },
                { "noexec", MOUNT_ATTR_NOEXEC, 0 },      { "exec", 0, MOUNT_ATTR_NOEXEC },
                { "noatime", MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME },
                { "relatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME },
                { "strictatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME },
                { "nodiratime", MOUNT_ATTR_NODIRATIME, 0 }, { "diratime", 0, MOUNT_ATTR_NODIRATIME },
        };
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *copy = strdup(s);
        char *save = NULL;
        int r;

        if (!copy)
                return -ENOMEM;
        for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
                size_t i;
                for (i = 0; i < ELEMENTSOF(flags) && !streq(o, flags[i].name); i++)
                        ;
                if (i < ELEMENTSOF(flags)) {
                        *attrs = (*attrs & ~flags[i].clear) | flags[i].set;
                        continue;
                }
                r = strv_extend(&l, o);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int spawn_mount_user(SpawnContext *c) {
        const SpawnConfig *cfg = c->config;
        int r;

        for (size_t i = 0; i < cfg->n_binds; i++) {
                r = mount_user_bind(&cfg->binds[i], c->root_fd, &c->bind_fds[i]);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < cfg->n_tmpfs; i++) {
                _cleanup_strv_free_ char **opts = NULL;
                unsigned attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
                r = tmpfs_options(cfg->tmpfs[i].options ?: "mode=0755", &opts, &attrs);
                if (r < 0)
                        return r;
                r = mount_fs_in_root(c->root_fd, cfg->tmpfs[i].destination, "tmpfs", "tmpfs",
                                     (const char *const *) opts, attrs);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* --inaccessible=: each path (which must exist; symlinks resolved inside the machine) is covered by an
 * empty node of its kind with mode 000 on a read-only file system. */
int spawn_mount_inaccessible(SpawnContext *c) {
        _cleanup_close_ int inaccessible = -EBADF;
        int r;

        if (!c->config->inaccessible)
                return 0;
        r = make_inaccessible(&inaccessible);
        if (r < 0)
                return r;
        STRV_FOREACH(p, c->config->inaccessible) {
                r = mask_path_full(c->root_fd, inaccessible, *p, true);
                if (r < 0)
                        return r;
        }
        return 0;
}

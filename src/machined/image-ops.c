/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "alloc-util.h"
#include "copy.h"
#include "fd-util.h"
#include "image-lock.h"
#include "image-ops.h"
#include "layer-store.h"
#include "log.h"
#include "path-util.h"
#include "rm-rf.h"
#include "string-util.h"

/* Where systemd 252 looks for NAME.nspawn besides the image's own directory. */
static const char *const settings_dirs[] = { "/etc/systemd/nspawn", "/run/systemd/nspawn" };

static const char *const clean_mode_table[_IMAGE_CLEAN_MODE_MAX] = {
        [IMAGE_CLEAN_ALL] = "all",
        [IMAGE_CLEAN_HIDDEN] = "hidden",
};

const char *image_clean_mode_to_string(ImageCleanMode m) {
        return m >= 0 && m < _IMAGE_CLEAN_MODE_MAX ? clean_mode_table[m] : NULL;
}

ImageCleanMode image_clean_mode_from_string(const char *s) {
        for (int i = 0; i < _IMAGE_CLEAN_MODE_MAX; i++)
                if (s && streq(s, clean_mode_table[i]))
                        return i;
        return _IMAGE_CLEAN_MODE_INVALID;
}

static bool image_is_vendor(const Image *i) {
        return startswith(i->path, "/usr/") != NULL;
}

static bool image_is_host(const Image *i) {
        return streq(i->name, ".host") || streq(i->path, "/");
}

int image_check_writable(const Image *i) {
        return image_is_vendor(i) || image_is_host(i) ? -EROFS : 0;
}

static int is_btrfs_fd(int fd) {
        struct statfs sfs;

        if (fstatfs(fd, &sfs) < 0)
                return -errno;
        return (unsigned long) sfs.f_type == BTRFS_SUPER_MAGIC;
}

static int chattr_fd(int fd, unsigned set, unsigned mask, unsigned *ret_previous) {
        unsigned old, new;

        if (ioctl(fd, FS_IOC_GETFLAGS, &old) < 0)
                return ERRNO_IS_NOT_SUPPORTED(errno) || errno == ENOTTY ? -EOPNOTSUPP : -errno;
        new = (old & ~mask) | (set & mask);
        if (new != old && ioctl(fd, FS_IOC_SETFLAGS, &new) < 0)
                return ERRNO_IS_NOT_SUPPORTED(errno) || errno == ENOTTY ? -EOPNOTSUPP : -errno;
        if (ret_previous)
                *ret_previous = old;
        return 0;
}

static int chattr_path(const char *path, unsigned set, unsigned mask, unsigned *ret_previous) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        return chattr_fd(fd, set, mask, ret_previous);
}

/* ---- auxiliary files: NAME.nspawn (three places) and NAME.roothash ---- */

static int aux_path(const Image *i, size_t k, const char *name, char **ret) {
        _cleanup_free_ char *dir = NULL, *base = NULL;
        int r;

        if (k < ELEMENTSOF(settings_dirs)) {
                *ret = strjoin(settings_dirs[k], "/", name, ".nspawn");
                return *ret ? 0 : -ENOMEM;
        }
        r = path_split(i->path, &dir, &base);
        if (r < 0)
                return r;
        *ret = strjoin(dir, "/", name, k == ELEMENTSOF(settings_dirs) ? ".nspawn" : ".roothash");
        return *ret ? 0 : -ENOMEM;
}

#define N_AUX (ELEMENTSOF(settings_dirs) + 2)

static void aux_remove(const Image *i) {
        for (size_t k = 0; k < N_AUX; k++) {
                _cleanup_free_ char *p = NULL;
                if (aux_path(i, k, i->name, &p) >= 0 && unlink(p) < 0 && errno != ENOENT)
                        log_debug_errno(errno, "Failed to remove %s, ignoring: %m", p);
        }
}

static void aux_rename(const Image *i, const char *new_name) {
        for (size_t k = 0; k < N_AUX; k++) {
                _cleanup_free_ char *from = NULL, *to = NULL;
                if (aux_path(i, k, i->name, &from) < 0 || aux_path(i, k, new_name, &to) < 0)
                        continue;
                if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) < 0 && errno != ENOENT)
                        log_debug_errno(errno, "Failed to rename %s, ignoring: %m", from);
        }
}

/* ---- remove ---- */

static int btrfs_subvol_remove(const char *path) {
        _cleanup_free_ char *dir = NULL, *base = NULL;
        struct btrfs_ioctl_vol_args args = {};
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = path_split(path, &dir, &base);
        if (r < 0)
                return r;
        if (strlen(base) > BTRFS_PATH_NAME_MAX)
                return -ENAMETOOLONG;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        strncpy(args.name, base, BTRFS_PATH_NAME_MAX);
        if (ioctl(fd, BTRFS_IOC_SNAP_DESTROY, &args) < 0)
                return -errno;
        return 0;
}

/* Removes the tree or file at path; the caller holds the image lock. */
static int remove_path(ImageType type, const char *path) {
        switch (type) {
        case IMAGE_SUBVOLUME:
                if (btrfs_subvol_remove(path) >= 0)
                        return 0;
                /* nested subvolumes, or no permission for the ioctl: the plain way */
                (void) chattr_path(path, 0, FS_IMMUTABLE_FL, NULL);
                return rm_rf(path);
        case IMAGE_DIRECTORY:
                (void) chattr_path(path, 0, FS_IMMUTABLE_FL, NULL); /* read-only images can be removed */
                return rm_rf(path);
        case IMAGE_RAW:
                return unlink(path) < 0 ? -errno : 0;
        default:
                return -EOPNOTSUPP;
        }
}

int image_remove(const Image *i) {
        ImageLock lock = IMAGE_LOCK_NULL;
        int r;

        r = image_check_writable(i);
        if (r < 0)
                return r;
        if (i->type == IMAGE_BLOCK)
                return -EOPNOTSUPP;
        r = image_lock(i->path, LOCK_EX, &lock);
        if (r < 0)
                return r;
        r = remove_path(i->type, i->path);
        image_lock_release(&lock);
        if (r < 0)
                return r;
        aux_remove(i);
        return 0;
}

/* ---- rename ---- */

static int image_new_path(const Image *i, const char *dir, const char *new_name, char **ret) {
        _cleanup_free_ char *d = NULL, *base = NULL;
        int r;

        if (!dir) {
                r = path_split(i->path, &d, &base);
                if (r < 0)
                        return r;
                dir = d;
        }
        *ret = strjoin(dir, streq(dir, "/") ? "" : "/", new_name, i->type == IMAGE_RAW ? ".raw" : "");
        return *ret ? 0 : -ENOMEM;
}

static int name_is_free(const char *name) {
        _cleanup_(image_freep) Image *other = NULL;
        int r;

        r = image_find(name, &other);
        if (r >= 0)
                return -EEXIST;
        return r == -ENOENT ? 0 : r;
}

int image_rename(const Image *i, const char *new_name) {
        ImageLock lock = IMAGE_LOCK_NULL;
        _cleanup_free_ char *new_path = NULL;
        unsigned attr = 0;
        int r;

        if (!image_name_is_valid(new_name) || streq(new_name, ".host"))
                return -EINVAL;
        r = image_check_writable(i);
        if (r < 0)
                return r;
        if (i->type == IMAGE_BLOCK)
                return -EOPNOTSUPP; /* names of devices are udev's */
        r = image_new_path(i, NULL, new_name, &new_path);
        if (r < 0)
                return r;
        r = image_lock(i->path, LOCK_EX, &lock);
        if (r < 0)
                return r;
        r = name_is_free(new_name);
        if (r < 0)
                goto finish;
        if (i->type == IMAGE_DIRECTORY)
                (void) chattr_path(i->path, 0, FS_IMMUTABLE_FL, &attr); /* an immutable dir cannot move */
        r = renameat2(AT_FDCWD, i->path, AT_FDCWD, new_path, RENAME_NOREPLACE) < 0 ? -errno : 0;
        if (attr & FS_IMMUTABLE_FL)
                (void) chattr_path(r < 0 ? i->path : new_path, FS_IMMUTABLE_FL, FS_IMMUTABLE_FL, NULL);
        if (r >= 0)
                aux_rename(i, new_name);
finish:
        image_lock_release(&lock);
        return r;
}

/* ---- mark read-only ---- */

static int btrfs_subvol_set_read_only_full(int fd, bool b) {
        uint64_t flags;

        if (ioctl(fd, BTRFS_IOC_SUBVOL_GETFLAGS, &flags) < 0)
                return -errno;
        flags = b ? flags | BTRFS_SUBVOL_RDONLY : flags & ~(uint64_t) BTRFS_SUBVOL_RDONLY;
        if (ioctl(fd, BTRFS_IOC_SUBVOL_SETFLAGS, &flags) < 0)
                return -errno;
        return 0;
}

static int btrfs_subvol_set_read_only_fd(int fd) {
        return btrfs_subvol_set_read_only_full(fd, true);
}

static int btrfs_subvol_set_read_only(const char *path, bool b) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        return btrfs_subvol_set_read_only_full(fd, b);
}

static int block_set_read_only(const char *path, bool b) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        int v = b;

        if (fd < 0)
                return -errno;
        return ioctl(fd, BLKROSET, &v) < 0 ? -errno : 0;
}

static int set_read_only(const Image *i, bool b) {
        struct stat st;

        switch (i->type) {
        case IMAGE_SUBVOLUME:
                return btrfs_subvol_set_read_only(i->path, b);
        case IMAGE_DIRECTORY:
                /* The top directory's mode matters inside the machine: use the immutable flag. */
                return chattr_path(i->path, b ? FS_IMMUTABLE_FL : 0, FS_IMMUTABLE_FL, NULL);
        case IMAGE_RAW:
                if (stat(i->path, &st) < 0)
                        return -errno;
                return chmod(i->path, (st.st_mode & 0444) | (b ? 0 : 0200)) < 0 ? -errno : 0;
        case IMAGE_BLOCK:
                return block_set_read_only(i->path, b);
        default:
                return -EOPNOTSUPP;
        }
}

int image_mark_read_only(const Image *i, bool read_only) {
        ImageLock lock = IMAGE_LOCK_NULL;
        int r;

        r = image_check_writable(i);
        if (r < 0)
                return r;
        r = image_lock(i->path, LOCK_EX, &lock);
        if (r < 0)
                return r;
        r = set_read_only(i, read_only);
        image_lock_release(&lock);
        return r;
}

/* ---- limits (btrfs quota) ---- */

static int btrfs_set_limit(const char *path, uint64_t limit) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct btrfs_ioctl_qgroup_limit_args args = {
                .lim.flags = BTRFS_QGROUP_LIMIT_MAX_RFER,
                .lim.max_rfer = limit, /* UINT64_MAX clears the limit */
        };
        struct stat st;
        int r;

        if (fd < 0)
                return -errno;
        r = is_btrfs_fd(fd);
        if (r <= 0)
                return r < 0 ? r : -EOPNOTSUPP;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_ino != 256) /* not a subvolume */
                return -EOPNOTSUPP;
        if (ioctl(fd, BTRFS_IOC_QGROUP_LIMIT, &args) < 0)
                return -errno;
        return 0;
}

int image_set_limit(const Image *i, uint64_t limit) {
        int r = image_check_writable(i);

        if (r < 0)
                return r;
        if (i->type != IMAGE_SUBVOLUME)
                return -EOPNOTSUPP;
        return btrfs_set_limit(i->path, limit);
}

int image_pool_set_limit(uint64_t limit) {
        return btrfs_set_limit(IMAGE_POOL_PATH, limit);
}

/* ---- clone: a copy that tries reflinks, or a btrfs snapshot ---- */

static int random_temp_name(const char *new_name, const char *suffix, char **ret) {
        uint32_t rnd;
        char hex[9];

        if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t) sizeof rnd)
                return -errno;
        (void) snprintf(hex, sizeof hex, "%08x", rnd);
        *ret = strjoin(IMAGE_CLONE_TEMP_PREFIX, new_name, suffix, "-", hex);
        return *ret ? 0 : -ENOMEM;
}

static int make_dir_or_subvol(int pool_fd, const char *name, bool btrfs) {
        if (btrfs) {
                struct btrfs_ioctl_vol_args args = {};
                strncpy(args.name, name, BTRFS_PATH_NAME_MAX);
                if (ioctl(pool_fd, BTRFS_IOC_SUBVOL_CREATE, &args) >= 0)
                        return 0;
        }
        return mkdirat(pool_fd, name, 0700) < 0 ? -errno : 0;
}

/* Snapshots a subvolume into the pool, if both are on the same btrfs. 0 if not possible there. */
static int clone_snapshot(int src_fd, int pool_fd, const char *new_name, bool read_only) {
        struct btrfs_ioctl_vol_args_v2 args = {
                .fd = src_fd,
                .flags = read_only ? BTRFS_SUBVOL_RDONLY : 0,
        };

        if (strlen(new_name) > BTRFS_SUBVOL_NAME_MAX)
                return 0;
        strncpy(args.name, new_name, BTRFS_SUBVOL_NAME_MAX);
        if (ioctl(pool_fd, BTRFS_IOC_SNAP_CREATE_V2, &args) >= 0)
                return 1;
        return IN_SET(errno, EXDEV, ENOTTY, EOPNOTSUPP, EINVAL, EPERM) ? 0 : -errno;
}

static int pool_open(void) {
        int fd;

        if (mkdir(IMAGE_POOL_PATH, 0700) < 0 && errno != EEXIST)
                return -errno;
        fd = open(IMAGE_POOL_PATH, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

/* Copies the tree at src_fd to a hidden directory in the pool, then renames it into place. */
/* Puts the finished copy tmp in place as new_name: beside nothing, or (replace) swapped with the
 * image it replaces, which goes only now, so a failed copy keeps it. */
static int put_in_place(int pool_fd, const char *tmp, const char *new_name, const Image *replace) {
        _cleanup_free_ char *final = path_join(IMAGE_POOL_PATH, new_name), *old = NULL;
        ImageLock lock = IMAGE_LOCK_NULL;
        int r;

        if (!replace)
                return renameat2(pool_fd, tmp, pool_fd, new_name, RENAME_NOREPLACE) < 0 ? -errno : 0;
        if (!final)
                return -ENOMEM;
        r = image_lock(replace->path, LOCK_EX, &lock);
        if (r < 0)
                return r;
        if (streq(final, replace->path)) {
                r = renameat2(pool_fd, tmp, pool_fd, new_name, RENAME_EXCHANGE) < 0 ? -errno : 0;
                old = r >= 0 ? path_join(IMAGE_POOL_PATH, tmp) : NULL; /* the old image, now hidden */
        } else {
                r = renameat2(pool_fd, tmp, pool_fd, new_name, RENAME_NOREPLACE) < 0 ? -errno : 0;
                old = r >= 0 ? strdup(replace->path) : NULL;
        }
        if (old && remove_path(replace->type, old) < 0)
                log_debug("Failed to remove the replaced image %s, the next start sweeps it.", old);
        image_lock_release(&lock);
        return r;
}

static int clone_tree_copy(int src_fd, int pool_fd, const char *new_name, bool read_only, bool btrfs,
                           const Image *replace) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int dfd = -EBADF;
        struct stat st;
        int r;

        r = random_temp_name(new_name, "", &tmp);
        if (r < 0)
                return r;
        r = make_dir_or_subvol(pool_fd, tmp, btrfs);
        if (r < 0)
                return r;
        dfd = openat(pool_fd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        r = dfd < 0 ? -errno : copy_directory_into(src_fd, dfd, &(CopyOptions) { .flags = COPY_XATTRS | COPY_SAME_MOUNT });
        if (r >= 0)
                r = put_in_place(pool_fd, tmp, new_name, replace);
        if (r < 0) {
                _cleanup_free_ char *p = path_join(IMAGE_POOL_PATH, tmp);
                if (p)
                        (void) rm_rf(p);
                return r;
        }
        if (read_only) {
                r = btrfs && fstat(dfd, &st) >= 0 && st.st_ino == 256 ? btrfs_subvol_set_read_only_fd(dfd)
                                                                         : chattr_fd(dfd, FS_IMMUTABLE_FL, FS_IMMUTABLE_FL, NULL);
                if (r < 0)
                        log_debug_errno(r, "Failed to mark the clone read-only, ignoring: %m");
        }
        return 0;
}

static int clone_tree(const Image *i, int pool_fd, const char *new_name, bool read_only) {
        _cleanup_close_ int src_fd = -EBADF;
        int btrfs, r;

        src_fd = open(i->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (src_fd < 0)
                return -errno;
        btrfs = is_btrfs_fd(pool_fd);
        if (btrfs < 0)
                return btrfs;
        if (btrfs && i->type == IMAGE_SUBVOLUME) {
                r = clone_snapshot(src_fd, pool_fd, new_name, read_only);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
        return clone_tree_copy(src_fd, pool_fd, new_name, read_only, btrfs, NULL);
}

/* A raw image: an unnamed file in the pool that gets its name when complete. */
static int clone_raw(const Image *i, int pool_fd, const char *new_name, bool read_only) {
        _cleanup_free_ char *target = strjoin(new_name, ".raw");
        _cleanup_close_ int sfd = -EBADF, dfd = -EBADF;
        char proc[64];
        struct stat st;
        int r;

        if (!target)
                return -ENOMEM;
        sfd = open(i->path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
        if (sfd < 0 || fstat(sfd, &st) < 0)
                return -errno;
        dfd = openat(pool_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
        if (dfd < 0)
                return -errno;
        r = copy_data(sfd, dfd, st.st_size);
        if (r < 0)
                return r;
        if (fchmod(dfd, read_only ? 0444 : 0644) < 0)
                return -errno;
        (void) snprintf(proc, sizeof proc, "/proc/self/fd/%d", dfd);
        if (linkat(AT_FDCWD, proc, pool_fd, target, AT_SYMLINK_FOLLOW) < 0)
                return -errno; /* EEXIST if someone took the name meanwhile */
        return 0;
}

static void aux_clone(const Image *i, const char *new_name) {
        for (size_t k = 0; k < N_AUX; k++) {
                _cleanup_free_ char *from = NULL, *to = NULL;
                _cleanup_close_ int sfd = -EBADF, dfd = -EBADF;
                struct stat st;
                if (aux_path(i, k, i->name, &from) < 0 || aux_path(i, k, new_name, &to) < 0)
                        continue;
                sfd = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                if (sfd < 0 || fstat(sfd, &st) < 0 || !S_ISREG(st.st_mode))
                        continue;
                dfd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 0644);
                int r = dfd < 0 ? -errno : copy_data(sfd, dfd, st.st_size);
                if (r < 0)
                        log_debug_errno(r, "Failed to copy %s, ignoring: %m", from);
        }
}

/* The pool, if new_name is valid and free. */
static int pool_open_for(const char *new_name) {
        int r;

        if (!image_name_is_valid(new_name) || streq(new_name, ".host"))
                return -EINVAL;
        r = name_is_free(new_name);
        return r < 0 ? r : pool_open();
}

int image_clone(const Image *i, const char *new_name, bool read_only) {
        _cleanup_close_ int pool_fd = -EBADF;
        int r;

        if (image_is_host(i) || !IN_SET(i->type, IMAGE_DIRECTORY, IMAGE_SUBVOLUME, IMAGE_RAW))
                return image_name_is_valid(new_name) ? -EOPNOTSUPP : -EINVAL;
        pool_fd = pool_open_for(new_name);
        if (pool_fd < 0)
                return pool_fd;
        r = i->type == IMAGE_RAW ? clone_raw(i, pool_fd, new_name, read_only)
                                 : clone_tree(i, pool_fd, new_name, read_only);
        if (r < 0)
                return r;
        aux_clone(i, new_name);
        return 0;
}

int image_import_tree(int src_fd, const char *new_name, bool read_only, const Image *replace) {
        _cleanup_close_ int pool_fd = replace ? pool_open() : pool_open_for(new_name);
        int btrfs;

        if (pool_fd < 0)
                return pool_fd;
        if (replace && !image_name_is_valid(new_name))
                return -EINVAL;
        if (replace && image_check_writable(replace) < 0)
                return -EROFS;
        btrfs = is_btrfs_fd(pool_fd);
        if (btrfs < 0)
                return btrfs;
        return clone_tree_copy(src_fd, pool_fd, new_name, read_only, btrfs, replace);
}

int image_pool_sweep(void) {
        _cleanup_(closedirp) DIR *d = opendir(IMAGE_POOL_PATH);
        struct dirent *de;
        int n = 0;

        while (d && (de = readdir(d))) {
                if (!startswith(de->d_name, IMAGE_CLONE_TEMP_PREFIX) && !startswith(de->d_name, IMAGE_IMPORT_TEMP_PREFIX))
                        continue;
                _cleanup_free_ char *p = path_join(IMAGE_POOL_PATH, de->d_name);
                if (p && remove_path(de->d_type == DT_DIR ? IMAGE_SUBVOLUME : IMAGE_RAW, p) >= 0)
                        n++;
        }
        if (d) { /* and the layer store's, which no pull holds */
                _cleanup_close_ int store_fd = openat(dirfd(d), LAYER_STORE_NAME, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (store_fd >= 0)
                        layer_store_sweep(store_fd, 0);
        }
        return n;
}

/* ---- clean pool ---- */

static bool clean_pool_wants(const Image *i, ImageCleanMode mode) {
        if (image_check_writable(i) < 0 || i->read_only || i->type == IMAGE_BLOCK)
                return false;
        return mode == IMAGE_CLEAN_ALL || i->name[0] == '.';
}

static int write_record(int fd, const char *name, uint64_t usage) {
        size_t n = strlen(name) + 1;

        if (write(fd, &usage, sizeof usage) != (ssize_t) sizeof usage || write(fd, name, n) != (ssize_t) n)
                return errno > 0 ? -errno : -EIO;
        return 0;
}

static int record_layer(const char *path, uint64_t usage, void *userdata) {
        return write_record(*(int *) userdata, path, usage);
}

/* The layers no stacked image names any more (the images removed above included). A pull in
 * progress holds the store: its layers stay, for the next clean. */
static int clean_layers(int fd) {
        _cleanup_close_ int pool_fd = open(IMAGE_POOL_PATH, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int r;

        if (pool_fd < 0)
                return errno == ENOENT ? 0 : -errno;
        r = layer_store_clean(pool_fd, NULL, record_layer, &fd);
        if (r == -EBUSY) {
                log_debug("A pull holds the layer store; its layers stay.");
                return 0;
        }
        return r;
}

int image_clean_pool(ImageCleanMode mode, int fd) {
        Image *images = NULL;
        int r;

        r = image_discover(&images);
        if (r < 0)
                return r;
        for (Image *i = images; i; i = i->next) {
                if (!clean_pool_wants(i, mode))
                        continue;
                r = image_remove(i);
                if (r == -EBUSY) { /* in use: kept */
                        r = 0;
                        continue;
                }
                if (r < 0)
                        break;
                r = write_record(fd, i->name, i->usage_exclusive);
                if (r < 0)
                        break;
        }
        image_list_free(images);
        return r < 0 ? r : clean_layers(fd);
}

int image_clean_pool_read(FILE *f, char **ret_name, uint64_t *ret_usage) {
        _cleanup_free_ char *name = NULL;
        uint64_t usage;
        size_t sz = 0;

        if (fread(&usage, sizeof usage, 1, f) != 1)
                return ferror(f) ? -EIO : 0;
        if (getdelim(&name, &sz, 0, f) < 0)
                return -EBADMSG;
        *ret_name = TAKE_PTR(name);
        *ret_usage = usage;
        return 1;
}

/* ---- running long operations in a child ---- */

int image_op_fork(int (*fn)(void *userdata), void *userdata, pid_t *ret_pid) {
        pid_t parent = getpid(), pid = fork();

        if (pid < 0)
                return -errno;
        if (pid == 0) {
                sigset_t none;
                /* dies with berthd, whose next start sweeps what it left (image_pool_sweep()) */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                        _exit(EXIT_FAILURE); /* berthd is gone already */
                (void) sigemptyset(&none);
                (void) sigprocmask(SIG_SETMASK, &none, NULL);
                int r = fn(userdata);
                _exit(r >= 0 ? EXIT_SUCCESS : MIN(-r, 255));
        }
        *ret_pid = pid;
        return 0;
}

int image_op_result(int code, int status) {
        if (code != CLD_EXITED)
                return -EPROTO; /* killed: no result to report */
        return status == EXIT_SUCCESS ? 0 : -status;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "alloc-util.h"
#include "copy.h"
#include "fd-util.h"
#include "log.h"
#include "string-util.h"

typedef struct CopyWalk {
        const CopyOptions *options;
        uint64_t mnt_id; /* of the top directory, for COPY_SAME_MOUNT */
} CopyWalk;

/* Copies [off, off+len) with copy_file_range(), or read/write where that cannot. */
static int copy_range(int sfd, int dfd, off_t off, off_t len) {
        char buf[64 * 1024];
        bool plain = false;

        while (len > 0) {
                ssize_t n;
                if (!plain) {
                        off_t in = off, out = off;
                        n = copy_file_range(sfd, &in, dfd, &out, (size_t) MIN(len, (off_t) 1 << 30), 0);
                        if (n < 0 && IN_SET(errno, EXDEV, EINVAL, EOPNOTSUPP, ENOSYS, EBADF)) {
                                plain = true;
                                continue;
                        }
                } else {
                        n = pread(sfd, buf, (size_t) MIN(len, (off_t) sizeof buf), off);
                        for (ssize_t done = 0, w; n > 0 && done < n; done += w) {
                                w = pwrite(dfd, buf + done, (size_t) (n - done), off + done);
                                if (w < 0)
                                        return -errno;
                                if (w == 0)
                                        return -EIO;
                        }
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break; /* the source shrank */
                off += n;
                len -= n;
        }
        return 0;
}

int copy_data(int sfd, int dfd, off_t size) {
        off_t off = 0;
        int r;

        if (ioctl(dfd, FICLONE, sfd) >= 0)
                return 0;
        while (off < size) {
                off_t data = lseek(sfd, off, SEEK_DATA), hole;
                if (data < 0 && errno == ENXIO)
                        break; /* a hole up to the end */
                if (data < 0)
                        data = off; /* no SEEK_DATA: copy everything */
                hole = lseek(sfd, data, SEEK_HOLE);
                if (hole < 0 || hole > size)
                        hole = size;
                r = copy_range(sfd, dfd, data, hole - data);
                if (r < 0)
                        return r;
                off = hole;
        }
        return ftruncate(dfd, size) < 0 ? -errno : 0;
}

static int copy_xattrs(int sfd, int dfd) {
        _cleanup_free_ char *names = NULL, *value = NULL;
        ssize_t n = flistxattr(sfd, NULL, 0);

        if (n <= 0)
                return 0; /* none, or the file system has none */
        names = malloc(n);
        value = malloc(64 * 1024);
        if (!names || !value)
                return -ENOMEM;
        n = flistxattr(sfd, names, n);
        for (char *k = names; n > 0 && k < names + n; k += strlen(k) + 1) {
                ssize_t v = fgetxattr(sfd, k, value, 64 * 1024);
                if (v < 0)
                        continue;
                if (fsetxattr(dfd, k, value, v, 0) < 0 && !IN_SET(errno, EOPNOTSUPP, EPERM, EINVAL))
                        return -errno;
        }
        return 0;
}

static uid_t map_owner(const CopyOptions *o, uid_t id) {
        return o->map_id ? o->map_id(id, o->userdata) : id;
}

/* Owner, mode, xattrs and times of the open file dfd (a regular file or a directory). */
static int copy_attrs_fd(const CopyOptions *o, int sfd, int dfd, const struct stat *st) {
        struct timespec ts[2] = { st->st_atim, st->st_mtim };
        int r;

        if (fchown(dfd, map_owner(o, st->st_uid), (gid_t) map_owner(o, st->st_gid)) < 0 ||
            fchmod(dfd, st->st_mode & 07777) < 0)
                return -errno;
        if (o->flags & COPY_XATTRS) {
                r = copy_xattrs(sfd, dfd);
                if (r < 0)
                        return r;
        }
        return futimens(dfd, ts) < 0 ? -errno : 0;
}

/* Owner, mode and times of ddir/name, which is not opened (a symlink or a node). */
static int copy_attrs_at(const CopyOptions *o, int ddir, const char *name, const struct stat *st) {
        struct timespec ts[2] = { st->st_atim, st->st_mtim };

        if (fchownat(ddir, name, map_owner(o, st->st_uid), (gid_t) map_owner(o, st->st_gid), AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (!S_ISLNK(st->st_mode) && fchmodat(ddir, name, st->st_mode & 07777, 0) < 0)
                return -errno;
        return utimensat(ddir, name, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

static int copy_regular(const CopyWalk *w, int sdir, const char *name, int ddir, const char *dname) {
        _cleanup_close_ int sfd = -EBADF, dfd = -EBADF;
        struct stat st;
        int r;

        sfd = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        if (sfd < 0)
                return -errno;
        if (fstat(sfd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode)) /* swapped under us */
                return -EBUSY;
        dfd = openat(ddir, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
        if (dfd < 0)
                return -errno;
        r = copy_data(sfd, dfd, st.st_size);
        if (r < 0)
                return r;
        return copy_attrs_fd(w->options, sfd, dfd, &st);
}

static int copy_node(const CopyWalk *w, int sdir, const char *name, int ddir, const char *dname,
                     const struct stat *st) {
        char target[PATH_MAX];
        ssize_t n;

        switch (st->st_mode & S_IFMT) {
        case S_IFLNK:
                n = readlinkat(sdir, name, target, sizeof target);
                if (n < 0)
                        return -errno;
                if ((size_t) n >= sizeof target)
                        return -ENAMETOOLONG;
                target[n] = 0;
                if (symlinkat(target, ddir, dname) < 0)
                        return -errno;
                break;
        case S_IFIFO:
        case S_IFCHR:
        case S_IFBLK:
        case S_IFSOCK:
                if (mknodat(ddir, dname, (st->st_mode & S_IFMT) | 0600, st->st_rdev) < 0)
                        return -errno;
                break;
        default:
                return -EBADF;
        }
        return copy_attrs_at(w->options, ddir, dname, st);
}

static int copy_contents(const CopyWalk *w, int sfd, int dfd, unsigned depth);

static int copy_directory(const CopyWalk *w, int sdir, const char *name, int ddir, const char *dname,
                          unsigned depth) {
        _cleanup_close_ int sfd = -EBADF, dfd = -EBADF;
        struct stat st;
        int r;

        if (depth >= COPY_DEPTH_MAX)
                return -ELOOP;
        sfd = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sfd < 0)
                return -errno;
        if (fstat(sfd, &st) < 0)
                return -errno;
        if (mkdirat(ddir, dname, 0700) < 0)
                return -errno;
        dfd = openat(ddir, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        if (w->options->flags & COPY_SAME_MOUNT) {
                /* Another file system mounted below the top is not part of the copy: only its mount point is. */
                struct statx sx;
                if (statx(sfd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) >= 0 && (sx.stx_mask & STATX_MNT_ID) &&
                    sx.stx_mnt_id != w->mnt_id)
                        return copy_attrs_fd(w->options, sfd, dfd, &st);
        }
        r = copy_contents(w, sfd, dfd, depth + 1);
        if (r < 0)
                return r;
        return copy_attrs_fd(w->options, sfd, dfd, &st);
}

static int copy_entry(const CopyWalk *w, int sdir, const char *name, int ddir, const char *dname, unsigned depth) {
        struct stat st;

        if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (S_ISREG(st.st_mode))
                return copy_regular(w, sdir, name, ddir, dname);
        if (S_ISDIR(st.st_mode))
                return copy_directory(w, sdir, name, ddir, dname, depth);
        return copy_node(w, sdir, name, ddir, dname, &st);
}

static void closedir_p(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

static int copy_contents(const CopyWalk *w, int sfd, int dfd, unsigned depth) {
        _cleanup_(closedir_p) DIR *d = NULL;
        int fd, r = 0;

        fd = fcntl(sfd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return -errno;
        }
        rewinddir(d);
        for (struct dirent *de; r >= 0 && (errno = 0, de = readdir(d));) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                r = copy_entry(w, sfd, de->d_name, dfd, de->d_name, depth);
                if (r < 0)
                        log_debug_errno(r, "Failed to copy '%s': %m", de->d_name);
        }
        if (r >= 0 && errno > 0)
                return -errno;
        return r;
}

static int copy_walk_init(CopyWalk *w, const CopyOptions *o, int top) {
        struct statx sx;

        *w = (CopyWalk) { .options = o };
        if (!(o->flags & COPY_SAME_MOUNT))
                return 0;
        if (statx(top, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) < 0)
                return -errno;
        w->mnt_id = sx.stx_mnt_id;
        return 0;
}

int copy_entry_at(int sfd, const char *name, int ddir, const char *dname, const CopyOptions *o) {
        _cleanup_close_ int top = -EBADF;
        CopyWalk w;
        int r;

        top = openat(sfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (top < 0)
                return -errno;
        r = copy_walk_init(&w, o, top);
        if (r < 0)
                return r;
        return copy_entry(&w, sfd, name, ddir, dname, 0);
}

int copy_directory_into(int sfd, int dfd, const CopyOptions *o) {
        struct stat st;
        CopyWalk w;
        int r;

        if (fstat(sfd, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        r = copy_walk_init(&w, o, sfd);
        if (r < 0)
                return r;
        r = copy_contents(&w, sfd, dfd, 0);
        if (r < 0)
                return r;
        return copy_attrs_fd(o, sfd, dfd, &st);
}

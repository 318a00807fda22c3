/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "log.h"
#include "machine-copy.h"
#include "machine-enter.h"
#include "manager.h"
#include "mount-util.h"
#include "path-util.h"
#include "string-util.h"

#define COPY_DEPTH_MAX 256U
#define COPY_ID_RANGE 65536U

static bool dot_or_dot_dot(const char *p) {
        return streq(p, ".") || streq(p, "..");
}

/* ---- helper processes watched by the event loop ---- */

typedef struct MachineOperation {
        Manager *manager;
        pid_t pid;
        int pidfd;
        sd_event_source *source;
        MachineOperationDone done;
        void *userdata;
} MachineOperation;

static MachineOperation *machine_operation_free(MachineOperation *o) {
        if (!o)
                return NULL;
        sd_event_source_disable_unref(o->source);
        safe_close(o->pidfd);
        return mfree(o);
}

static int on_operation_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        MachineOperation *o = userdata;
        MachineOperationDone done = o->done;
        void *ud = o->userdata;
        int r;

        r = machine_wait_helper(o->pid, false);
        o->manager->n_operations--;
        machine_operation_free(o);
        done(r, ud);
        return 0;
}

int machine_operation_watch(Manager *m, pid_t pid, MachineOperationDone done, void *userdata) {
        MachineOperation *o;
        int r;

        o = new0(MachineOperation, 1);
        if (!o) {
                r = -ENOMEM;
                goto fail;
        }
        *o = (MachineOperation) { .manager = m, .pid = pid, .done = done, .userdata = userdata };
        o->pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (o->pidfd < 0) {
                r = -errno;
                goto fail;
        }
        r = sd_event_add_io(m->event, &o->source, o->pidfd, EPOLLIN, on_operation_exit, o);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(o->source, "machine-operation");
        m->n_operations++;
        return 0;
fail:
        machine_operation_free(o);
        (void) machine_wait_helper(pid, true);
        return r;
}

/* ---- the copy, run in the helper ---- */

typedef struct CopyContext {
        bool to_machine;
        uid_t shift; /* the machine's UID (and GID) shift, 0 without a user namespace */
} CopyContext;

static uid_t map_id(const CopyContext *c, uid_t id) {
        if (!c->to_machine || c->shift == 0)
                return id;
        if (id >= c->shift && id - c->shift < COPY_ID_RANGE)
                return id;
        return c->shift + (id < COPY_ID_RANGE ? id : 65534);
}

static int copy_bytes(int in, int out) {
        bool fallback = false;
        char buf[64 * 1024];

        for (;;) {
                ssize_t n;
                if (!fallback) {
                        n = copy_file_range(in, NULL, out, NULL, 1024 * 1024 * 1024, 0);
                        if (n < 0 && IN_SET(errno, EXDEV, EINVAL, EOPNOTSUPP, ENOSYS, EBADF)) {
                                fallback = true;
                                continue;
                        }
                } else {
                        n = read(in, buf, sizeof buf);
                        for (ssize_t done = 0, k; n > 0 && done < n; done += k) {
                                k = write(out, buf + done, (size_t) (n - done));
                                if (k < 0)
                                        return -errno;
                        }
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return 0;
        }
}

/* Ownership, then mode (chown clears set-id bits), then times, on the entry dfd/name (or on fd). */
static int copy_metadata(const CopyContext *c, int fd, int dfd, const char *name, const struct stat *st) {
        struct timespec ts[2] = { st->st_atim, st->st_mtim };
        uid_t uid = map_id(c, st->st_uid);
        gid_t gid = (gid_t) map_id(c, st->st_gid);

        if (fd >= 0) {
                if (fchown(fd, uid, gid) < 0 || fchmod(fd, st->st_mode & 07777) < 0 || futimens(fd, ts) < 0)
                        return -errno;
                return 0;
        }
        if (fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (!S_ISLNK(st->st_mode) && fchmodat(dfd, name, st->st_mode & 07777, 0) < 0)
                return -errno;
        if (utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        return 0;
}

static int copy_regular(const CopyContext *c, int sfd, const char *name, int dfd, const char *dname) {
        _cleanup_close_ int in = -EBADF, out = -EBADF;
        struct stat st;
        int r;

        in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        if (in < 0)
                return -errno;
        if (fstat(in, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode)) /* swapped under us */
                return -EBUSY;
        out = openat(dfd, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
        if (out < 0)
                return -errno;
        r = copy_bytes(in, out);
        if (r < 0)
                return r;
        return copy_metadata(c, out, -EBADF, NULL, &st);
}

static int copy_entry(const CopyContext *c, int sfd, const char *name, int dfd, const char *dname, unsigned depth);

static int copy_directory(const CopyContext *c, int sfd, const char *name, int dfd, const char *dname,
                          unsigned depth) {
        _cleanup_close_ int src = -EBADF, dst = -EBADF;
        struct stat st;
        DIR *d;
        int r = 0;

        if (depth >= COPY_DEPTH_MAX)
                return -ELOOP;
        src = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (src < 0)
                return -errno;
        if (fstat(src, &st) < 0)
                return -errno;
        if (mkdirat(dfd, dname, 0700) < 0)
                return -errno;
        dst = openat(dfd, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dst < 0)
                return -errno;
        d = fdopendir(fcntl(src, F_DUPFD_CLOEXEC, 3));
        if (!d)
                return -errno;
        for (struct dirent *de; r >= 0 && (errno = 0, de = readdir(d));) {
                if (dot_or_dot_dot(de->d_name))
                        continue;
                r = copy_entry(c, src, de->d_name, dst, de->d_name, depth + 1);
        }
        if (r >= 0 && errno != 0)
                r = -errno;
        closedir(d);
        if (r < 0)
                return r;
        return copy_metadata(c, dst, -EBADF, NULL, &st);
}

/* Copies sfd/name (never following it) to dfd/dname, which must not exist. */
static int copy_entry(const CopyContext *c, int sfd, const char *name, int dfd, const char *dname, unsigned depth) {
        char target[PATH_MAX];
        struct stat st;
        ssize_t n;

        if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        switch (st.st_mode & S_IFMT) {
        case S_IFREG:
                return copy_regular(c, sfd, name, dfd, dname);
        case S_IFDIR:
                return copy_directory(c, sfd, name, dfd, dname, depth);
        case S_IFLNK:
                n = readlinkat(sfd, name, target, sizeof target);
                if (n < 0)
                        return -errno;
                if ((size_t) n >= sizeof target)
                        return -ENAMETOOLONG;
                target[n] = 0;
                if (symlinkat(target, dfd, dname) < 0)
                        return -errno;
                break;
        case S_IFIFO:
        case S_IFCHR:
        case S_IFBLK:
        case S_IFSOCK:
                if (mknodat(dfd, dname, (st.st_mode & S_IFMT) | 0600, st.st_rdev) < 0)
                        return -errno;
                break;
        default:
                return -EBADF;
        }
        return copy_metadata(c, -EBADF, dfd, dname, &st);
}

/* rm -rf of dfd/name, never following symlinks nor leaving the file system. */
static int remove_tree(int dfd, const char *name, unsigned depth) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st, parent;
        DIR *d;
        int r = 0;

        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode))
                return unlinkat(dfd, name, 0) < 0 ? -errno : 0;
        if (depth >= COPY_DEPTH_MAX)
                return -ELOOP;
        if (fstat(dfd, &parent) < 0)
                return -errno;
        if (parent.st_dev != st.st_dev)
                return -EBUSY;
        fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fcntl(fd, F_DUPFD_CLOEXEC, 3));
        if (!d)
                return -errno;
        for (struct dirent *de; (de = readdir(d));)
                if (!dot_or_dot_dot(de->d_name)) {
                        int k = remove_tree(fd, de->d_name, depth + 1);
                        if (k < 0 && r == 0)
                                r = k;
                }
        closedir(d);
        if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && r == 0)
                r = -errno;
        return r;
}

/* Builds the copy under a temporary name in the destination directory, then renames it into place. */
static int copy_into_place(const CopyContext *c, int sfd, const char *name, int dfd, const char *dname,
                           bool replace) {
        char tmp[64];
        struct stat st;
        struct timespec ts;
        int r;

        if (fstatat(dfd, dname, &st, AT_SYMLINK_NOFOLLOW) >= 0) {
                if (!replace)
                        return -EEXIST;
        } else if (errno != ENOENT)
                return -errno;
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        (void) snprintf(tmp, sizeof tmp, ".#berth-copy-%d-%lx", (int) getpid(), (unsigned long) ts.tv_nsec);

        r = copy_entry(c, sfd, name, dfd, tmp, 0);
        if (r >= 0 && renameat2(dfd, tmp, dfd, dname, RENAME_NOREPLACE) < 0) {
                r = -errno;
                if (r == -EEXIST && replace) /* swap, then remove what was there */
                        r = renameat2(dfd, tmp, dfd, dname, RENAME_EXCHANGE) < 0 ? -errno : 0;
        }
        (void) remove_tree(dfd, tmp, 0);
        return r;
}

/* From now on we create files in the machine as its root (S), which an idmapped root mount needs
 * (the kernel refuses to create files for an ID the mount does not map); changing the fsuid drops
 * our file capabilities from the effective set, so they are raised again from the permitted set. */
static int become_machine_root_for_files(uid_t shift) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2] = {};

        (void) setfsgid(shift);
        (void) setfsuid(shift);
        if ((uid_t) setfsuid((uid_t) -1) != shift || (gid_t) setfsgid((gid_t) -1) != shift)
                return -EPERM;
        if (syscall(SYS_capget, &h, d) < 0)
                return -errno;
        d[0].effective = d[0].permitted;
        d[1].effective = d[1].permitted;
        if (syscall(SYS_capset, &h, d) < 0)
                return -errno;
        return 0;
}

typedef struct CopyJob {
        CopyContext context;
        int host_dir;          /* the host path's parent directory, opened by the daemon */
        const char *host_name; /* its last component */
        char *machine_dir;     /* the machine path's parent directory, resolved in the helper */
        const char *machine_name;
        bool replace;
} CopyJob;

/* Runs in the helper, inside the machine's mount namespace and root. */
static int copy_job_run(const CopyJob *j) {
        _cleanup_close_ int root = -EBADF, mdir = -EBADF;
        int r;

        root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return -errno;
        mdir = open_in_root(root, j->machine_dir, O_PATH | O_DIRECTORY, 0);
        if (mdir < 0)
                return mdir;
        if (j->context.to_machine && j->context.shift != 0) {
                r = become_machine_root_for_files(j->context.shift);
                if (r < 0)
                        return r;
        }
        if (j->context.to_machine)
                return copy_into_place(&j->context, j->host_dir, j->host_name, mdir, j->machine_name, j->replace);
        return copy_into_place(&j->context, mdir, j->machine_name, j->host_dir, j->host_name, j->replace);
}

/* "/a/b/c" -> "/a/b" and a pointer to "c" (which must be a valid file name). */
static int split_path(const char *path, char **ret_dir, const char **ret_name) {
        const char *slash = strrchr(path, '/');
        char *dir;

        if (!slash || !filename_is_valid(slash + 1))
                return -EINVAL;
        dir = strndup(path, slash == path ? 1 : (size_t) (slash - path));
        if (!dir)
                return -ENOMEM;
        *ret_dir = dir;
        *ret_name = slash + 1;
        return 0;
}

int machine_copy(Machine *machine, bool to_machine, const char *source, const char *destination, uint64_t flags,
                 MachineOperationDone done, void *userdata) {
        _cleanup_free_ char *host_dir = NULL;
        _cleanup_close_ int host_fd = -EBADF;
        CopyJob j = { .context.to_machine = to_machine, .replace = flags & MACHINE_COPY_REPLACE };
        pid_t pid;
        int r;

        if (machine->class != MACHINE_CONTAINER)
                return -EOPNOTSUPP;
        if (flags & ~_MACHINE_COPY_KNOWN)
                return -EINVAL;
        r = machine_get_uid_shift(machine, &j.context.shift);
        if (r < 0)
                return r;
        r = split_path(to_machine ? source : destination, &host_dir, &j.host_name);
        if (r < 0)
                return r;
        r = split_path(to_machine ? destination : source, &j.machine_dir, &j.machine_name);
        if (r < 0)
                return r;
        host_fd = open(host_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (host_fd < 0) {
                r = -errno;
                goto finish;
        }
        j.host_dir = host_fd;
        r = machine_fork_inside(machine, CLONE_NEWNS, false, &pid);
        if (r == 0) {
                r = copy_job_run(&j);
                _exit(r < 0 ? (-r & 0xff) ?: EIO : 0);
        }
        if (r > 0)
                r = machine_operation_watch(machine->manager, pid, done, userdata);
finish:
        free(j.machine_dir);
        return r;
}

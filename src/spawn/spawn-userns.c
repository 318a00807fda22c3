/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sched.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "fileio.h"
#include "mount-util.h"
#include "image-lock.h"
#include "spawn-root.h"
#include "spawn-userns.h"
#include "string-util.h"


static int try_lock_range(uint32_t base, int *ret_fd) {
        char path[64];

        (void) snprintf(path, sizeof path, SPAWN_RUN_UID_DIR "/%u.lock", base);
        return flock_file_take(path, ret_fd);
}

void userns_range_release(uint32_t base, int lock_fd) {
        char path[64];

        (void) snprintf(path, sizeof path, SPAWN_RUN_UID_DIR "/%u.lock", base);
        (void) unlink(path);
        safe_close(lock_fd);
}

/* FNV-1a of the name: the same machine tends to get the same range, as with nspawn. */
static uint32_t name_hash(const char *s) {
        uint32_t h = 2166136261u;
        for (; *s; s++)
                h = (h ^ (uint8_t) *s) * 16777619u;
        return h;
}

int userns_range_acquire(const SpawnConfig *c, uint32_t *ret_base, int *ret_lock_fd) {
        uint32_t slots = (USERNS_BASE_MAX - USERNS_BASE_MIN) / USERNS_RANGE;
        uint32_t start = name_hash(c->machine_name) % slots;
        int r;

        if (mkdir("/run/berth", 0755) < 0 && errno != EEXIST)
                return -errno;
        if (mkdir(SPAWN_RUN_UID_DIR, 0700) < 0 && errno != EEXIST)
                return -errno;
        if (c->private_users == PRIVATE_USERS_FIXED) {
                r = try_lock_range(c->uid_shift, ret_lock_fd);
                if (r < 0)
                        return r;
                *ret_base = c->uid_shift;
                return 0;
        }
        /* pick, as nspawn: a tree owned in a range (chowned before, by berth or by nspawn) keeps it
         * while no other machine uses it */
        if (c->directory && userns_tree_range(c->directory, ret_base) >= 0 && try_lock_range(*ret_base, ret_lock_fd) >= 0)
                return 0;
        for (uint32_t i = 0; i < slots; i++) {
                uint32_t base = USERNS_BASE_MIN + ((start + i) % slots) * USERNS_RANGE;
                r = try_lock_range(base, ret_lock_fd);
                if (r == -EBUSY)
                        continue;
                if (r < 0)
                        return r;
                *ret_base = base;
                return 0;
        }
        return -EUSERS;
}


int userns_write_map_text(pid_t pid, const char *uid_map, const char *gid_map) {
        char path[64];
        int r;

        (void) snprintf(path, sizeof path, "/proc/%d/uid_map", (int) pid);
        r = write_string_file(path, uid_map);
        if (r < 0)
                return r;
        (void) snprintf(path, sizeof path, "/proc/%d/gid_map", (int) pid);
        return write_string_file(path, gid_map);
}

int userns_write_maps(pid_t pid, uint32_t base, uint32_t range) {
        char map[64];

        (void) snprintf(map, sizeof map, "0 %u %u\n", base, range);
        return userns_write_map_text(pid, map, map);
}

static int chown_dir_and_files(const char *dir, uint32_t base) {
        DIR *d = opendir(dir);
        struct dirent *de;

        if (!d)
                return errno == ENOENT ? 0 : -errno;
        if (fchown(dirfd(d), base, base) < 0) {
                int r = -errno;
                closedir(d);
                return r;
        }
        /* The files a delegate writes: cgroup.procs, cgroup.subtree_control, ... (not the limits). */
        while ((de = readdir(d)))
                if (de->d_type == DT_REG && (startswith(de->d_name, "cgroup.") || streq(de->d_name, "tasks") ||
                                             streq(de->d_name, "notify_on_release")))
                        (void) fchownat(dirfd(d), de->d_name, base, base, 0);
        closedir(d);
        return 0;
}

int userns_chown_cgroups(const CgroupSet *s, const char *rel, uint32_t base) {
        for (size_t i = 0; i < s->n; i++) {
                const CgroupHierarchy *h = &s->hierarchies[i];
                _cleanup_free_ char *p = NULL;
                int r;

                if (!h->unified && !startswith(h->name, "name="))
                        continue; /* controllers are read-only in the machine anyway */
                p = strjoin(h->mount_point, "/", rel);
                if (!p)
                        return -ENOMEM;
                r = chown_dir_and_files(p, base);
                if (r < 0)
                        return r;
        }
        return 0;
}

int userns_fd_with_maps(const char *uid_map, const char *gid_map, int *ret_fd) {
        int pipefd[2], r = 0;
        char path[64];
        pid_t pid;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                r = -errno;
                safe_close(pipefd[0]);
                safe_close(pipefd[1]);
                return r;
        }
        if (pid == 0) {
                char c;
                safe_close(pipefd[1]);
                if (unshare(CLONE_NEWUSER) < 0)
                        _exit(EXIT_FAILURE);
                (void) read(pipefd[0], &c, 1); /* until the parent has what it needs */
                _exit(EXIT_SUCCESS);
        }
        safe_close(pipefd[0]);
        /* Wait until the child is in its namespace: its ns link then differs from ours. */
        for (int i = 0; i < 1000; i++) {
                struct stat a, b;
                (void) snprintf(path, sizeof path, "/proc/%d/ns/user", (int) pid);
                if (stat(path, &a) >= 0 && stat("/proc/self/ns/user", &b) >= 0 && a.st_ino != b.st_ino)
                        break;
                (void) usleep(100);
        }
        r = userns_write_map_text(pid, uid_map, gid_map);
        if (r >= 0) {
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        r = -errno;
                else
                        *ret_fd = fd;
        }
        safe_close(pipefd[1]);
        (void) waitpid(pid, NULL, 0);
        return r;
}

int userns_fd_for_range(uint32_t base, uint32_t range, int *ret_fd) {
        char map[64];

        (void) snprintf(map, sizeof map, "0 %u %u\n", base, range);
        return userns_fd_with_maps(map, map, ret_fd);
}

/* nspawn's ":rootidmap": an idmapped copy of path in which its owner (UID and GID alike) is the
 * machine's root (host ID base) and every other ID is unmapped, so it shows as nobody. */
int userns_root_idmapped_tree(const char *path, uint32_t base, bool read_only, bool recursive, int *ret_tree_fd) {
        _cleanup_close_ int tree = -EBADF, userns = -EBADF;
        struct mount_attr a = { .attr_set = MOUNT_ATTR_IDMAP | (read_only ? MOUNT_ATTR_RDONLY : 0) };
        struct stat st;
        char map[64];
        int r;

        if (stat(path, &st) < 0)
                return -errno;
        (void) snprintf(map, sizeof map, "%u %u 1\n", (unsigned) st.st_uid, base);
        r = userns_fd_with_maps(map, map, &userns);
        if (r < 0)
                return r;
        r = mount_clone_tree(AT_FDCWD, path, recursive, &tree);
        if (r < 0)
                return r;
        a.userns_fd = (uint64_t) userns;
        if (mount_setattr(tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a, sizeof a) < 0)
                return -errno;
        *ret_tree_fd = TAKE_FD(tree);
        return 0;
}

int userns_idmap_onto(const char *path, int userns_fd, const char *target) {
        _cleanup_close_ int tree = -EBADF, t = -EBADF;
        struct mount_attr a = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t) userns_fd };
        int r;

        r = mount_clone_tree(AT_FDCWD, path, true, &tree);
        if (r < 0)
                return r;
        if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a) < 0)
                return -errno;
        t = open(target, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (t < 0)
                return -errno;
        return mount_attach(tree, t);
}

int userns_idmapped_tree_fd(const char *path, int userns_fd, bool read_only, bool recursive, int *ret_tree_fd) {
        _cleanup_close_ int tree = -EBADF;
        struct mount_attr a = { .attr_set = MOUNT_ATTR_IDMAP | (read_only ? MOUNT_ATTR_RDONLY : 0),
                                .userns_fd = (uint64_t) userns_fd };
        int r;

        r = mount_clone_tree(AT_FDCWD, path, recursive, &tree);
        if (r < 0)
                return r;
        if (mount_setattr(tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a, sizeof a) < 0)
                return -errno;
        *ret_tree_fd = TAKE_FD(tree);
        return 0;
}

int userns_idmapped_tree(const char *path, pid_t pid, bool read_only, bool recursive, int *ret_tree_fd) {
        _cleanup_close_ int userns = -EBADF;
        char p[64];

        (void) snprintf(p, sizeof p, "/proc/%d/ns/user", (int) pid);
        userns = open(p, O_RDONLY | O_CLOEXEC);
        if (userns < 0)
                return -errno;
        return userns_idmapped_tree_fd(path, userns, read_only, recursive, ret_tree_fd);
}

int userns_tree_base(const char *path, uint32_t *ret_base) {
        struct stat st;

        if (stat(path, &st) < 0)
                return -errno;
        *ret_base = st.st_uid & 0xffff0000U;
        return 0;
}

int userns_tree_range(const char *path, uint32_t *ret_base) {
        struct stat st;
        uint32_t base;

        if (stat(path, &st) < 0)
                return -errno;
        base = st.st_uid & 0xffff0000U;
        if (base != (st.st_gid & 0xffff0000U) || base < USERNS_BASE_MIN || base >= USERNS_BASE_MAX)
                return -ERANGE;
        *ret_base = base;
        return 0;
}

static uint32_t shifted(uint32_t id, uint32_t from, uint32_t to) {
        if (id - to < USERNS_RANGE)
                return id; /* moved already: a second hard link, or a run that was interrupted */
        return id - from < USERNS_RANGE ? id - from + to : to + 65534; /* outside: the machine's nobody */
}

typedef struct ChownShift {
        uint32_t from, to;
        dev_t dev; /* the tree's file system: mounts below it are left alone */
} ChownShift;

/* Moves the owner of dfd/name (not followed) into the new range, keeping what chown() clears:
 * file capabilities (ping's cap_net_raw) and the set-id bits. */
static int chown_entry(const ChownShift *c, int dfd, const char *name, const struct stat *st) {
        char proc[64 + NAME_MAX], caps[64];
        const char *p = proc; /* for the xattr calls, which take no directory fd */
        ssize_t n = -1;

        if (dfd == AT_FDCWD)
                p = name;
        else
                (void) snprintf(proc, sizeof proc, "/proc/self/fd/%d/%s", dfd, name);
        if (S_ISREG(st->st_mode))
                n = lgetxattr(p, "security.capability", caps, sizeof caps);
        if (fchownat(dfd, name, shifted(st->st_uid, c->from, c->to), shifted(st->st_gid, c->from, c->to),
                     AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (n > 0 && lsetxattr(p, "security.capability", caps, (size_t) n, 0) < 0)
                return -errno;
        if (!S_ISLNK(st->st_mode) && (st->st_mode & (S_ISUID | S_ISGID)) &&
            fchmodat(dfd, name, st->st_mode & 07777, 0) < 0)
                return -errno;
        return 0;
}

/* Depth-first, so that a directory (and last the top, which records the range) changes after
 * what it holds; stops at the first error. */
static int chown_tree_at(const ChownShift *c, int dfd, const char *name, unsigned depth) {
        struct stat st;
        int r = 0;

        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (st.st_dev != c->dev)
                return 0; /* another file system mounted in the tree: not ours to change */
        if (S_ISDIR(st.st_mode)) {
                DIR *d;
                int fd;

                if (depth >= 512)
                        return -ELOOP;
                fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
                d = fdopendir(fd);
                if (!d) {
                        safe_close(fd);
                        return -errno;
                }
                for (struct dirent *de; r >= 0 && (errno = 0, de = readdir(d));)
                        if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                                r = chown_tree_at(c, dirfd(d), de->d_name, depth + 1);
                if (r >= 0 && errno > 0)
                        r = -errno;
                closedir(d);
                if (r < 0)
                        return r;
        }
        return chown_entry(c, dfd, name, &st);
}

int userns_chown_tree(const char *path, uint32_t base) {
        struct stat st;
        uint32_t from;
        int r;

        r = userns_tree_base(path, &from);
        if (r < 0)
                return r;
        if (from == base)
                return 0;
        if (stat(path, &st) < 0)
                return -errno;
        return chown_tree_at(&(ChownShift) { .from = from, .to = base, .dev = st.st_dev }, AT_FDCWD, path, 0);
}

static uint32_t machine_id_of(uint32_t host_id, uint32_t base) {
        return base + (host_id < USERNS_RANGE ? host_id : 65534);
}

int userns_device_node_tree(const char *source, uint32_t base, int *ret_tree_fd) {
        static const char *const options[] = { "mode=0755", "size=4k", NULL };
        _cleanup_close_ int fs = -EBADF;
        struct stat st;
        int r;

        if (stat(source, &st) < 0)
                return -errno;
        if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
                return -ENODEV;
        r = mount_new_fs("tmpfs", "berth-dev", options, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, &fs);
        if (r < 0)
                return r;
        if (mknodat(fs, "node", st.st_mode & (S_IFMT | 07777), st.st_rdev) < 0 ||
            fchownat(fs, "node", machine_id_of(st.st_uid, base), machine_id_of(st.st_gid, base), AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        return mount_clone_tree(fs, "node", false, ret_tree_fd);
}

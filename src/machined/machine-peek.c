/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "fileio.h"
#include "log.h"
#include "machine-peek.h"
#include "machine-watch.h"
#include "manager.h"
#include "mount-util.h"
#include "ns-util.h"
#include "pidfd-util.h"
#include "string-util.h"
#include "strv.h"

/* An O_PATH fd on the machine's root as its leader sees it (its mount namespace's tree). */
static int machine_open_root(Machine *machine) {
        int fd, r;

        if (machine->class == MACHINE_VM)
                return -EOPNOTSUPP;
        if (machine->class == MACHINE_HOST) {
                fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
                return fd < 0 ? -errno : fd;
        }
        if (machine->leader_pidfd < 0)
                return -ESRCH;
        fd = namespace_open_root(machine->leader);
        if (fd < 0)
                return fd;
        r = pidfd_signal(machine->leader_pidfd, 0); /* still our leader, not a reused PID */
        if (r < 0) {
                safe_close(fd);
                return r;
        }
        return fd;
}

static bool same_file_version(const struct stat *a, const struct stat *b) {
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
               a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
               a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

void machine_forget_os_release(Machine *machine) {
        machine->os_release = strv_free(machine->os_release);
        machine->os_release_stat = (struct stat) {};
        machine->os_release_watched = false;
}

/* Is a FUSE file system mounted anywhere in the leader's mount namespace? Its daemon (the guest's,
 * possibly) could leave a lookup there waiting forever, and berthd with it. */
static int machine_has_fuse_mount(Machine *machine) {
        _cleanup_free_ char *buf = NULL;
        char path[64], *save = NULL;
        int r;

        (void) snprintf(path, sizeof path, "/proc/%d/mountinfo", (int) machine->leader);
        r = read_full_file_at(AT_FDCWD, path, 4 * 1024 * 1024, &buf, NULL);
        if (r < 0)
                return r;
        r = pidfd_signal(machine->leader_pidfd, 0);
        if (r < 0)
                return r;
        for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                const char *sep = strstr(l, " - "); /* then: fstype source options */
                if (sep && startswith(sep + 3, "fuse"))
                        return 1;
        }
        return 0;
}

/* Opens one os-release candidate: a regular file anyone may read, as 'nobody' inside would. Within
 * the root's own mount first; across mount points only if no FUSE mount could stall the lookup. */
static int open_os_release(Machine *machine, int root, const char *path, struct stat *st) {
        _cleanup_close_ int fd = open_in_root_resolve(root, path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0,
                                                      RESOLVE_NO_XDEV);
        int r;

        if (fd == -EXDEV && machine->class != MACHINE_HOST) {
                r = machine_has_fuse_mount(machine);
                if (r < 0)
                        return r;
                if (r > 0)
                        return -EREMOTE;
        }
        if (fd == -EXDEV)
                fd = open_in_root(root, path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);

        if (fd < 0)
                return fd;
        if (fstat(fd, st) < 0)
                return -errno;
        if (!S_ISREG(st->st_mode))
                return -EBADFD; /* a FIFO or device must not block or feed us */
        if (!(st->st_mode & S_IROTH))
                return -EACCES; /* a root-only file (a host file bound over it) stays unread */
        if (st->st_size > OS_RELEASE_MAX)
                return -E2BIG;
        return TAKE_FD(fd);
}

static int os_release_copy(Machine *machine, char ***ret) {
        char **l = strv_copy(machine->os_release);

        if (!l)
                return -ENOMEM;
        *ret = l;
        return 0;
}

int machine_get_os_release(Machine *machine, char ***ret) {
        static const char *const paths[] = { "/etc/os-release", "/usr/lib/os-release" };
        _cleanup_close_ int root = -EBADF, fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        int r;

        /* read before, and no change since (inotify): no need to look */
        machine_metadata_flush(machine->manager);
        if (machine->os_release && machine->os_release_watched &&
            (machine->class == MACHINE_HOST || machine->leader_pidfd >= 0))
                return os_release_copy(machine, ret);
        root = machine_open_root(machine);
        if (root < 0)
                return root;
        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                fd = open_os_release(machine, root, paths[i], &st);
                if (fd != -ENOENT)
                        break;
        }
        if (fd < 0) {
                machine_forget_os_release(machine);
                return fd;
        }
        if (!machine->os_release || !same_file_version(&st, &machine->os_release_stat)) {
                machine_forget_os_release(machine);
                r = read_full_fd(fd, OS_RELEASE_MAX, &buf, NULL);
                if (r < 0)
                        return r;
                r = os_release_parse(buf, &machine->os_release);
                if (r < 0)
                        return r;
                machine->os_release_stat = st;
        }
        if (!machine->os_release_watched)
                machine_watch_os_release(machine, root, fd);
        return os_release_copy(machine, ret);
}

static int address_compare(const void *x, const void *y) {
        const NetlinkAddress *a = x, *b = y;

        if (a->family != b->family)
                return a->family == AF_INET ? -1 : 1;
        return memcmp(a->bytes, b->bytes, 16);
}

static int read_addresses(Machine *machine, int netns_fd) {
        _cleanup_(netlink_freep) Netlink *nl = NULL;
        NetlinkAddress *a = NULL;
        size_t n = 0;
        int r;

        machine_watch_addresses(machine, netns_fd); /* first: a change while we read is not missed */
        r = netlink_open(netns_fd, &nl);
        if (r >= 0)
                r = netlink_addresses(nl, &a, &n);
        if (r < 0)
                return r;
        qsort(a, n, sizeof *a, address_compare);
        free(machine->addresses);
        machine->addresses = a;
        machine->n_addresses = n;
        machine->addresses_current = !!machine->address_watch;
        return 0;
}

int machine_get_addresses(Machine *machine, NetlinkAddress **ret, size_t *ret_n) {
        NetlinkAddress *copy;
        int r;

        if (machine->class == MACHINE_VM)
                return -EOPNOTSUPP;
        if (machine->class == MACHINE_CONTAINER) {
                if (machine->leader_pidfd < 0)
                        return -ESRCH;
                /* a leader keeps its network namespace: looked at once (two stats of /proc per
                 * machine and list otherwise) */
                if (machine->private_net < 0) {
                        r = namespace_pid_has_private_net(machine->leader);
                        if (r < 0)
                                return r;
                        if (pidfd_signal(machine->leader_pidfd, 0) < 0)
                                return -ESRCH; /* the PID was another process's by now */
                        machine->private_net = r;
                }
                if (machine->private_net == 0)
                        return -ENONET;
        }
        /* a change that came with the question, before the loop dispatched the watch */
        machine_metadata_flush(machine->manager);
        if (!machine->addresses_current) {
                /* setns() takes the pidfd itself: the leader's namespace, whatever its PID is now. */
                r = read_addresses(machine, machine->class == MACHINE_HOST ? -EBADF : machine->leader_pidfd);
                if (r < 0)
                        return r;
        }
        copy = new(NetlinkAddress, machine->n_addresses);
        if (!copy)
                return -ENOMEM;
        if (machine->n_addresses > 0)
                memcpy(copy, machine->addresses, machine->n_addresses * sizeof *copy);
        *ret = copy;
        *ret_n = machine->n_addresses;
        return 0;
}

static char *unquote(const char *v) {
        size_t n = strlen(v);

        if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
                char *r = malloc(n), *p = r;
                if (!r)
                        return NULL;
                for (size_t i = 1; i < n - 1; i++) {
                        if (v[0] == '"' && v[i] == '\\' && i + 1 < n - 1)
                                i++;
                        *p++ = v[i];
                }
                *p = 0;
                return r;
        }
        return strdup(v);
}

int os_release_parse(char *buf, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        char *save = NULL;
        int r;

        for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *eq;
                line += strspn(line, " \t");
                if (line[0] == '#' || !(eq = strchr(line, '=')))
                        continue;
                *eq = 0;
                if (isempty(line) || !utf8_is_valid(line) || !utf8_is_valid(eq + 1))
                        continue;
                r = strv_extend(&l, line);
                if (r < 0)
                        return r;
                r = strv_consume(&l, unquote(strstrip_trailing(eq + 1)));
                if (r < 0)
                        return r;
        }
        if (!l) {
                l = new0(char *, 1);
                if (!l)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

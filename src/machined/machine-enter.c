/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alloc-util.h"
#include "cgroup-util.h"
#include "fd-util.h"
#include "fileio.h"
#include "log.h"
#include "machine-enter.h"
#include "manager.h"
#include "ns-util.h"
#include "string-util.h"
#include "strv.h"

#define HELPER_TIMEOUT_MSEC ((int) (HELPER_TIMEOUT_USEC / 1000))

/* Moves the calling process into the leader's cgroup in every hierarchy (best effort). */
static void join_leader_cgroups(Machine *machine) {
        Manager *m = machine->manager;

        if (!m->have_cgroups || machine->class == MACHINE_HOST)
                return;
        for (size_t i = 0; i < m->cgroups.n; i++) {
                const CgroupHierarchy *h = &m->cgroups.hierarchies[i];
                _cleanup_free_ char *path = NULL, *procs = NULL;
                if (cgroup_pid_get_path(machine->leader, h->unified ? "" : h->name, &path) < 0)
                        continue;
                procs = strjoin(h->mount_point, path, "/cgroup.procs");
                if (procs)
                        (void) write_string_file(procs, "0");
        }
}

int machine_fork_inside(Machine *machine, int wanted, bool join_cgroup, pid_t *ret_pid) {
        _cleanup_close_ int root_fd = -EBADF;
        int flags = 0, r;
        pid_t pid;

        if (machine->class == MACHINE_VM)
                return -EOPNOTSUPP;
        if (machine->class != MACHINE_HOST) {
                if (machine->leader_pidfd < 0)
                        return -ESRCH;
                r = namespace_differing(machine->leader, wanted, &flags);
                if (r < 0)
                        return r;
                if (wanted & CLONE_NEWNS) {
                        root_fd = namespace_open_root(machine->leader);
                        if (root_fd < 0)
                                return root_fd;
                }
        }
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid > 0) {
                *ret_pid = pid;
                return 1;
        }
        sigset_t none;
        (void) sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (join_cgroup)
                join_leader_cgroups(machine);
        r = namespace_enter(machine->leader_pidfd, flags, root_fd);
        if (r < 0) {
                log_debug_errno(r, "Failed to enter machine '%s': %m", machine->name);
                _exit(-r & 0xff);
        }
        safe_close(root_fd);
        return 0;
}

/* Waits for a helper: its exit code is an errno (0 = success). */
int machine_wait_helper(pid_t pid, bool kill_first) {
        siginfo_t si = {};

        if (kill_first)
                (void) kill(pid, SIGKILL);
        while (waitid(P_PID, (id_t) pid, &si, WEXITED) < 0)
                if (errno != EINTR)
                        return -errno;
        if (si.si_code != CLD_EXITED)
                return -EPROTO;
        return si.si_status == 0 ? 0 : -si.si_status;
}

/* Parses one of /proc/PID/{uid,gid}_map into (inside, outside, count) triples. */
static int read_id_map(pid_t pid, bool group, uint32_t (**ret)[3], size_t *ret_n) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_free_ uint32_t(*m)[3] = NULL;
        char path[64], *save = NULL;
        size_t n = 0;
        int r;

        (void) snprintf(path, sizeof path, "/proc/%d/%s", (int) pid, group ? "gid_map" : "uid_map");
        r = read_full_file_at(AT_FDCWD, path, 64 * 1024, &buf, NULL);
        if (r < 0)
                return r;
        for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                unsigned a, b, c;
                if (sscanf(l, "%u %u %u", &a, &b, &c) != 3)
                        return -EBADMSG;
                uint32_t(*nm)[3] = realloc(m, (n + 1) * sizeof *m);
                if (!nm)
                        return -ENOMEM;
                m = nm;
                m[n][0] = a;
                m[n][1] = b;
                m[n][2] = c;
                n++;
        }
        *ret = TAKE_PTR(m);
        *ret_n = n;
        return 0;
}

int machine_get_uid_shift(Machine *machine, uid_t *ret) {
        _cleanup_free_ uint32_t(*u)[3] = NULL, (*g)[3] = NULL;
        size_t nu = 0, ng = 0;
        int r;

        if (machine->class == MACHINE_HOST) {
                *ret = 0;
                return 0;
        }
        if (machine->class != MACHINE_CONTAINER)
                return -EOPNOTSUPP;
        r = read_id_map(machine->leader, false, &u, &nu);
        if (r == -ENOENT)
                return -ESRCH;
        if (r < 0)
                return r;
        if (nu == 1 && u[0][0] == 0 && u[0][1] == 0 && u[0][2] == UINT32_MAX) {
                *ret = 0; /* the initial user namespace */
                return 0;
        }
        r = read_id_map(machine->leader, true, &g, &ng);
        if (r < 0)
                return r;
        if (nu != 1 || ng != 1 || u[0][0] != 0 || u[0][2] < 65534 || memcmp(u[0], g[0], sizeof u[0]) != 0)
                return -EOPNOTSUPP;
        *ret = u[0][1];
        return 0;
}

int machine_map_id(Machine *machine, bool group, bool to_host, uint32_t id, uint32_t *ret) {
        _cleanup_free_ uint32_t(*m)[3] = NULL;
        size_t n = 0;
        int r;

        if (machine->class != MACHINE_CONTAINER)
                return -EOPNOTSUPP;
        r = read_id_map(machine->leader, group, &m, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                uint32_t from = to_host ? m[i][0] : m[i][1], to = to_host ? m[i][1] : m[i][0];
                if (id >= from && id - from < m[i][2]) {
                        *ret = to + (id - from);
                        return 0;
                }
        }
        return -ENXIO;
}

/* ---- fd passing ---- */

int send_fd_with(int sock, int fd, const void *data, size_t size) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = (void *) data, .iov_len = size };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (fd >= 0) {
                mh.msg_control = &control;
                mh.msg_controllen = sizeof control;
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &fd, sizeof(int));
        }
        if (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
                return -errno;
        return 0;
}

int recv_fd_with(int sock, int *ret_fd, void *data, size_t size) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = data, .iov_len = size };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                             .msg_controllen = sizeof control };
        struct pollfd p = { .fd = sock, .events = POLLIN };
        int fd = -EBADF, k;

        do
                k = poll(&p, 1, HELPER_TIMEOUT_MSEC);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return -errno;
        if (k == 0)
                return -ETIMEDOUT;
        ssize_t l = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        if (l < 0)
                return -errno;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                        memcpy(&fd, CMSG_DATA(c), sizeof(int));
        if ((size_t) l != size) {
                safe_close(fd);
                return -EIO;
        }
        *ret_fd = fd;
        return 0;
}

int machine_open_root_directory(Machine *machine, int *ret_fd) {
        _cleanup_close_ int a = -EBADF, b = -EBADF, fd = -EBADF;
        int pair[2], r, k, err = 0;
        pid_t pid;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return -errno;
        a = pair[0];
        b = pair[1];
        r = machine_fork_inside(machine, CLONE_NEWUSER | CLONE_NEWNS, false, &pid);
        if (r < 0)
                return r;
        if (r == 0) {
                int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                err = root < 0 ? errno : 0;
                _exit(send_fd_with(b, root, &err, sizeof err) < 0 ? EIO : 0);
        }
        b = safe_close(b);
        r = recv_fd_with(a, &fd, &err, sizeof err);
        k = machine_wait_helper(pid, r < 0);
        if (r < 0)
                return r;
        if (err != 0)
                return -err;
        if (k < 0 || fd < 0)
                return k < 0 ? k : -EIO;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

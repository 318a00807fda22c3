/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd-util.h"
#include "sync-channel.h"

static const char *const sync_point_table[_SYNC_POINT_MAX] = {
        [SYNC_ATTACHED] = "attached",
        [SYNC_CGROUP_READY] = "cgroup-ready", [SYNC_ROOTFS_FD] = "rootfs-fd",
        [SYNC_BIND_FD] = "bind-fd",
        [SYNC_CONSOLE_FD] = "console-fd",
        [SYNC_NOTIFY_FD] = "notify-fd",       [SYNC_ROOTFS_READY] = "rootfs-ready",
        [SYNC_GO] = "go",                     [SYNC_FAILED] = "failed",
};

const char *sync_point_to_string(SyncPoint p) {
        return p >= 0 && p < _SYNC_POINT_MAX ? sync_point_table[p] : NULL;
}

SyncPoint sync_point_from_string(const char *s) {
        for (int i = 0; i < _SYNC_POINT_MAX; i++)
                if (s && streq(s, sync_point_table[i]))
                        return i;
        return _SYNC_POINT_INVALID;
}

/* On the wire: fixed-size, so a short or oversized datagram is a protocol error. */
typedef struct WireMessage {
        uint32_t magic;
        int32_t point;
        int32_t error;
        char step[64];
} WireMessage;

#define SYNC_MAGIC 0x62727468U /* "brth" */

int sync_channel_new(int ret[2]) {
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ret) < 0)
                return -errno;
        return 0;
}

static int send_wire(int sock, const WireMessage *w, int fd) {
        struct iovec iov = { .iov_base = (void *) w, .iov_len = sizeof *w };
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (fd >= 0) {
                struct cmsghdr *c;
                mh.msg_control = &control;
                mh.msg_controllen = sizeof control.buf;
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &fd, sizeof(int));
        }
        for (;;) {
                ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                return (size_t) n == sizeof *w ? 0 : -EIO;
        }
}

int sync_send(int sock, SyncPoint point, int fd) {
        WireMessage w = { .magic = SYNC_MAGIC, .point = point };
        return send_wire(sock, &w, fd);
}

int sync_send_failure(int sock, const char *step, int error) {
        WireMessage w = { .magic = SYNC_MAGIC, .point = SYNC_FAILED, .error = error < 0 ? -error : error };
        (void) snprintf(w.step, sizeof w.step, "%s", step ?: "unknown");
        return send_wire(sock, &w, -EBADF);
}

int sync_receive(int sock, SyncMessage *ret) {
        WireMessage w;
        struct iovec iov = { .iov_base = &w, .iov_len = sizeof w };
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * 4)];
        } control;
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                             .msg_controllen = sizeof control.buf };
        int fd = -EBADF;
        ssize_t n;

        do
                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return errno == ECONNRESET ? -EPIPE : -errno;

        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        int fds[4];
                        memcpy(fds, CMSG_DATA(c), k * sizeof(int));
                        for (size_t i = 0; i < k; i++) {
                                if (fd < 0)
                                        fd = fds[i];
                                else
                                        safe_close(fds[i]); /* only one fd per message */
                        }
                }
        if (n == 0) {
                safe_close(fd);
                return -EPIPE;
        }
        if ((size_t) n != sizeof w || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || w.magic != SYNC_MAGIC ||
            w.point < 0 || w.point >= _SYNC_POINT_MAX) {
                safe_close(fd);
                return -EBADMSG;
        }
        *ret = (SyncMessage) { .point = w.point, .error = w.error, .fd = fd };
        memcpy(ret->step, w.step, sizeof ret->step);
        ret->step[sizeof ret->step - 1] = 0;
        return 0;
}

int sync_expect(int sock, SyncPoint expected, int *ret_fd, char ret_failed_step[static 64]) {
        SyncMessage m;
        int r;

        ret_failed_step[0] = 0;
        r = sync_receive(sock, &m);
        if (r < 0)
                return r;
        if (m.point == SYNC_FAILED) {
                safe_close(m.fd);
                memcpy(ret_failed_step, m.step, 64);
                return m.error > 0 ? -m.error : -EIO;
        }
        if (m.point != expected) {
                safe_close(m.fd);
                (void) snprintf(ret_failed_step, 64, "protocol (got %s, expected %s)",
                                sync_point_to_string(m.point), sync_point_to_string(expected));
                return -EPROTO;
        }
        if (ret_fd)
                *ret_fd = m.fd;
        else
                safe_close(m.fd);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A static probe run inside machines by the tests: makes one system call and prints "OK" or the
 * errno name, so a test can assert what a machine may and may not do. libc only. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static const char *errno_name(int e) {
        switch (e) {
        case EPERM: return "EPERM";
        case EACCES: return "EACCES";
        case EINVAL: return "EINVAL";
        case ENOSYS: return "ENOSYS";
        case EFAULT: return "EFAULT";
        case EBADF: return "EBADF";
        case ENOENT: return "ENOENT";
        case EROFS: return "EROFS";
        case ENOEXEC: return "ENOEXEC";
        default: return strerror(e);
        }
}

static long try(const char *what) {
        struct timeval tv = { 0, 0 };
        char handle[128] = { 0 };

        if (!strcmp(what, "kexec_load"))
                return syscall(SYS_kexec_load, 0, 0, NULL, 0);
        if (!strcmp(what, "kexec_file_load"))
                return syscall(SYS_kexec_file_load, -1, -1, 0, NULL, 0);
        if (!strcmp(what, "open_by_handle_at"))
                return syscall(SYS_open_by_handle_at, AT_FDCWD, handle, O_RDONLY);
        if (!strcmp(what, "bpf"))
                return syscall(SYS_bpf, 0, NULL, 0);
        if (!strcmp(what, "perf_event_open"))
                return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0);
        if (!strcmp(what, "keyctl"))
                return syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3 /* session */, 0);
        if (!strcmp(what, "add_key"))
                return syscall(SYS_add_key, "user", "berth", "x", 1, -3);
        if (!strcmp(what, "init_module"))
                return syscall(SYS_init_module, NULL, 0, "");
        if (!strcmp(what, "finit_module"))
                return syscall(SYS_finit_module, -1, "", 0);
        if (!strcmp(what, "delete_module"))
                return syscall(SYS_delete_module, "dummy", 0);
        if (!strcmp(what, "settimeofday"))
                return syscall(SYS_settimeofday, &tv, NULL);
        if (!strcmp(what, "clock_settime"))
                return syscall(SYS_clock_settime, 0, NULL);
        if (!strcmp(what, "swapon"))
                return syscall(SYS_swapon, "/nonexistent", 0);
        if (!strcmp(what, "syslog"))
                return syscall(SYS_syslog, 3 /* READ_ALL */, handle, (int) sizeof handle);
        if (!strcmp(what, "reboot_cad_on"))
                return syscall(SYS_reboot, 0xfee1dead, 672274793, 0x89abcdef /* CAD_ON */, NULL);
        errno = ENOSYS;
        fprintf(stderr, "unknown probe '%s'\n", what);
        return -2;
}

/* I14: hostile notify traffic at /run/host/notify: empty, oversized and garbage datagrams, a READY=1
 * from a process that is not PID 1, and many fds, n times over. */
static int notify_flood(int n) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/run/host/notify" };
        static char big[70000];
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return 1;
        memset(big, 'x', sizeof big);
        for (int i = 0; i < n; i++) {
                int fds[250];
                union {
                        struct cmsghdr h;
                        char buf[CMSG_SPACE(sizeof fds)];
                } control = {};
                struct iovec iov = { .iov_base = (char *) "READY=1", .iov_len = 7 };
                struct msghdr mh = { .msg_name = &sa, .msg_namelen = sizeof sa, .msg_iov = &iov, .msg_iovlen = 1,
                                     .msg_control = &control, .msg_controllen = sizeof control.buf };
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

                (void) sendto(fd, "", 0, MSG_DONTWAIT, (struct sockaddr *) &sa, sizeof sa);
                (void) sendto(fd, big, sizeof big, MSG_DONTWAIT, (struct sockaddr *) &sa, sizeof sa);
                (void) sendto(fd, "\xff\xfe=\n\n==", 7, MSG_DONTWAIT, (struct sockaddr *) &sa, sizeof sa);
                for (size_t k = 0; k < 250; k++)
                        fds[k] = 0;
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof fds);
                memcpy(CMSG_DATA(c), fds, sizeof fds);
                (void) sendmsg(fd, &mh, MSG_DONTWAIT);
        }
        printf("sent\n");
        return 0;
}

int main(int argc, char **argv) {
        if (argc == 3 && !strcmp(argv[1], "notify-flood"))
                return notify_flood(atoi(argv[2]));
        if (argc == 3 && !strcmp(argv[1], "try")) {
                long r = try(argv[2]);
                if (r == -2)
                        return 2;
                printf("%s\n", r >= 0 ? "OK" : errno_name(errno));
                return 0;
        }
        fprintf(stderr, "usage: probe try SYSCALL\n");
        return 2;
}

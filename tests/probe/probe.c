/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A static probe run inside machines by the tests: makes one system call and prints "OK" or the
 * errno name, so a test can assert what a machine may and may not do. libc only.
 * "probe serve DIR" is a command server for a booted machine: the host drops N.sh into DIR, the
 * probe runs it under /bin/sh (a descendant of the machine's init, so with its capabilities,
 * seccomp filter and cgroup) and leaves the output in N.out. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <grp.h>
#include <stddef.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/timex.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
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
        case EBUSY: return "EBUSY";
        case ENODEV: return "ENODEV";
        case ENXIO: return "ENXIO";
        case ESRCH: return "ESRCH";
        case EAGAIN: return "EAGAIN";
        case EMFILE: return "EMFILE";
        case ENOTTY: return "ENOTTY";
        case EIO: return "EIO";
        case ENOSPC: return "ENOSPC";
        case ENOMEM: return "ENOMEM";
        case EAFNOSUPPORT: return "EAFNOSUPPORT";
        case EOPNOTSUPP: return "EOPNOTSUPP";
        case ESTALE: return "ESTALE";
        case EEXIST: return "EEXIST";
        case ENOTDIR: return "ENOTDIR";
        case ECONNREFUSED: return "ECONNREFUSED";
        default: return strerror(e);
        }
}

static long bpf_call(int cmd) {
        static const struct bpf_insn prog[] = {
                { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
                { .code = BPF_JMP | BPF_EXIT },
        };
        union bpf_attr a;

        memset(&a, 0, sizeof a);
        if (cmd == BPF_MAP_CREATE) {
                a.map_type = BPF_MAP_TYPE_ARRAY;
                a.key_size = 4;
                a.value_size = 4;
                a.max_entries = 1;
        } else {
                a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
                a.insns = (uintptr_t) prog;
                a.insn_cnt = 2;
                a.license = (uintptr_t) "GPL";
        }
        return syscall(SYS_bpf, cmd, &a, sizeof a);
}

static long perf_open(bool per_cpu) {
        struct perf_event_attr a = { .type = PERF_TYPE_SOFTWARE, .size = sizeof a,
                                     .config = PERF_COUNT_SW_CPU_CLOCK, .disabled = 1 };

        return syscall(SYS_perf_event_open, &a, per_cpu ? -1 : 0, per_cpu ? 0 : -1, -1, 0);
}

/* Harmless if it were allowed: the clock is set to what it already is, the tick to its value. */
static long clock_calls(const char *what) {
        struct timeval tv;
        struct timespec ts;
        struct timex tx = { .modes = 0 };

        if (!strcmp(what, "settimeofday_now")) {
                (void) gettimeofday(&tv, NULL);
                return syscall(SYS_settimeofday, &tv, NULL);
        }
        if (!strcmp(what, "clock_settime_now")) {
                (void) clock_gettime(CLOCK_REALTIME, &ts);
                return syscall(SYS_clock_settime, CLOCK_REALTIME, &ts);
        }
        if (adjtimex(&tx) < 0)
                return -1;
        tx.modes = ADJ_TICK;
        return syscall(SYS_adjtimex, &tx);
}

static long try(const char *what) {
        struct timeval tv = { 0, 0 };
        char handle[128] = { 0 };

        if (!strcmp(what, "settimeofday_now") || !strcmp(what, "clock_settime_now") || !strcmp(what, "adjtimex"))
                return clock_calls(what);
        if (!strcmp(what, "bpf_map_create"))
                return bpf_call(BPF_MAP_CREATE);
        if (!strcmp(what, "bpf_prog_load"))
                return bpf_call(BPF_PROG_LOAD);
        if (!strcmp(what, "perf_cpu") || !strcmp(what, "perf_task"))
                return perf_open(!strcmp(what, "perf_cpu"));
        if (!strcmp(what, "request_key"))
                return syscall(SYS_request_key, "user", "berth", NULL, 0);
        if (!strcmp(what, "join_session_keyring"))
                return syscall(SYS_keyctl, 1 /* JOIN_SESSION_KEYRING */, NULL);
        if (!strcmp(what, "ptrace_traceme"))
                return ptrace(PTRACE_TRACEME, 0, NULL, NULL);

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
        if (!strcmp(what, "settimeofday")) {
                (void) gettimeofday(&tv, NULL); /* never move the host's clock, even if let through */
                return syscall(SYS_settimeofday, &tv, NULL);
        }
        if (!strcmp(what, "clock_settime"))
                return syscall(SYS_clock_settime, 0, NULL);
        if (!strcmp(what, "swapon"))
                return syscall(SYS_swapon, "/nonexistent", 0);
        if (!strcmp(what, "syslog"))
                return syscall(SYS_syslog, 3 /* READ_ALL */, handle, (int) sizeof handle);
        /* --suppress-sync: a sync call on a bad fd "succeeds" when it does nothing. */
        if (!strcmp(what, "fsync_badfd"))
                return fsync(-1);
        if (!strcmp(what, "fdatasync_badfd"))
                return fdatasync(-1);
        if (!strcmp(what, "syncfs_badfd"))
                return syncfs(-1);
        if (!strcmp(what, "open_osync") || !strcmp(what, "open_odsync")) {
                int fd = open("/tmp/probe-sync", O_WRONLY | O_CREAT | O_CLOEXEC |
                              (!strcmp(what, "open_osync") ? O_SYNC : O_DSYNC), 0600);
                if (fd >= 0)
                        close(fd);
                return fd;
        }
        if (!strcmp(what, "reboot_cad_on"))
                return syscall(SYS_reboot, 0xfee1dead, 672274793, 0x89abcdef /* CAD_ON */, NULL);
        if (!strcmp(what, "reboot_restart"))
                return syscall(SYS_reboot, 0xfee1dead, 672274793, RB_AUTOBOOT, NULL);
        if (!strcmp(what, "reboot_power_off"))
                return syscall(SYS_reboot, 0xfee1dead, 672274793, RB_POWER_OFF, NULL);
        if (!strcmp(what, "reboot_halt"))
                return syscall(SYS_reboot, 0xfee1dead, 672274793, RB_HALT_SYSTEM, NULL);
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

static const char *res(long r) {
        return r >= 0 ? "OK" : errno_name(errno);
}

/* open PATH r|w: the result of open(), and for r also of a one-byte read(). */
static int do_open(char **a) {
        char c;
        int fd = open(a[0], (a[1][0] == 'w' ? O_WRONLY : O_RDONLY) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

        if (fd < 0 || a[1][0] == 'w') {
                printf("%s\n", res(fd));
                return 0;
        }
        printf("OK %s\n", res(read(fd, &c, 1)));
        return 0;
}

static int do_write(char **a) {
        int fd = open(a[0], O_WRONLY | O_CLOEXEC | O_NOCTTY);
        long r = fd < 0 ? -1 : write(fd, a[1], strlen(a[1]));

        printf("%s\n", res(r));
        return 0;
}

static int do_mknod(char **a) {
        mode_t type = a[1][0] == 'b' ? S_IFBLK : S_IFCHR;

        printf("%s\n", res(mknod(a[0], type | 0600, makedev(atoi(a[2]), atoi(a[3])))));
        return 0;
}

/* mount SRC TARGET FSTYPE none|bind|rbind|remount-rw|remount-bind-rw */
static int do_mount(char **a) {
        static const struct { const char *name; unsigned long flags; } f[] = {
                { "none", 0 }, { "bind", MS_BIND }, { "rbind", MS_BIND | MS_REC },
                { "remount-rw", MS_REMOUNT }, { "remount-bind-rw", MS_REMOUNT | MS_BIND },
        };
        for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
                if (!strcmp(a[3], f[i].name)) {
                        printf("%s\n", res(mount(a[0], a[1], a[2], f[i].flags, NULL)));
                        return 0;
                }
        return 2;
}

static int do_umount(char **a) {
        printf("%s\n", res(umount2(a[0], MNT_DETACH)));
        return 0;
}

/* Shocker: a handle of a file of ours, then a guessed one of the root inode (2) of the host's
 * root filesystem, both opened through open_by_handle_at(). */
static int do_handle(char **a) {
        struct { struct file_handle h; unsigned char b[128]; } fh = { .h.handle_bytes = 128 };
        int mnt_id, fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        long r = syscall(SYS_name_to_handle_at, AT_FDCWD, a[0], &fh.h, &mnt_id, 0);

        printf("name_to_handle_at=%s", res(r));
        printf(" own=%s", res(syscall(SYS_open_by_handle_at, fd, &fh.h, O_RDONLY)));
        fh.h.handle_bytes = 8;
        fh.h.handle_type = 1; /* FILEID_INO32_GEN */
        memset(fh.b, 0, sizeof fh.b);
        fh.b[0] = 2;
        printf(" guessed=%s\n", res(syscall(SYS_open_by_handle_at, fd, &fh.h, O_RDONLY)));
        return 0;
}

/* ptrace PID: PTRACE_ATTACH, process_vm_readv and /proc/PID/mem on one process. */
static int do_ptrace(char **a) {
        pid_t pid = atoi(a[0]);
        char buf[8], path[64];
        struct iovec l = { buf, sizeof buf }, rem = { (void *) 0x400000, sizeof buf };
        long r = ptrace(PTRACE_ATTACH, pid, NULL, NULL);
        int fd;

        printf("attach=%s", res(r));
        if (r >= 0) {
                (void) waitpid(pid, NULL, __WALL);
                (void) ptrace(PTRACE_DETACH, pid, NULL, NULL);
        }
        r = process_vm_readv(pid, &l, 1, &rem, 1, 0);
        printf(" vm_readv=%s", r < 0 && errno == EFAULT ? "OK" : res(r)); /* EFAULT: allowed, bad address */
        (void) snprintf(path, sizeof path, "/proc/%d/mem", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        printf(" mem=%s\n", res(fd));
        return 0;
}

/* tiocsti FD|PATH: push a harmless character into a terminal's input queue. */
static int do_tiocsti(char **a) {
        int fd = a[0][0] == '/' ? open(a[0], O_RDWR | O_NOCTTY | O_CLOEXEC) : atoi(a[0]);
        char c = '#';

        if (fd < 0) {
                printf("%s\n", res(fd));
                return 0;
        }
        printf("%s\n", res(ioctl(fd, TIOCSTI, &c)));
        return 0;
}

/* connect PATH: a unix stream socket; "@name" is in the abstract namespace. */
static int do_connect(char **a) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t l = strlen(a[0]);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (l >= sizeof sa.sun_path)
                return 2;
        memcpy(sa.sun_path, a[0], l);
        if (a[0][0] == '@')
                sa.sun_path[0] = 0;
        printf("%s\n", res(connect(fd, (struct sockaddr *) &sa, offsetof(struct sockaddr_un, sun_path) + l)));
        return 0;
}

/* as-user UID FILE ARG: become UID (and GID UID, no groups), then exec FILE ARG. */
static int do_as_user(char **a) {
        gid_t g = atoi(a[0]);
        uid_t u = atoi(a[0]);

        if (setgroups(0, NULL) < 0 || setresgid(g, g, g) < 0 || setresuid(u, u, u) < 0) {
                printf("%s\n", errno_name(errno));
                return 1;
        }
        execl(a[1], a[1], a[2], (char *) NULL);
        printf("exec=%s\n", errno_name(errno));
        return 1;
}

/* caps: the capability sets and no_new_privs of this process. */
static int do_caps(char **a) {
        char line[256];
        FILE *f = fopen("/proc/self/status", "re");
        (void) a;
        while (f && fgets(line, sizeof line, f))
                if (!strncmp(line, "Cap", 3) || !strncmp(line, "NoNewPrivs", 10) || !strncmp(line, "Seccomp:", 8))
                        fputs(line, stdout);
        if (f)
                fclose(f);
        return 0;
}

static int do_socket(char **a) {
        int fd = socket(atoi(a[0]), SOCK_DGRAM | SOCK_CLOEXEC, 0);

        if (fd < 0 && errno == ESOCKTNOSUPPORT)
                fd = socket(atoi(a[0]), SOCK_STREAM | SOCK_CLOEXEC, 0);
        printf("%s\n", res(fd));
        return 0;
}

/* Fork children that sleep until we hit a limit; print how many, and why it stopped. */
static int do_forkbomb(char **a) {
        int n = 0, max = atoi(a[0]), e = 0;

        (void) signal(SIGCHLD, SIG_DFL);
        (void) setpgid(0, 0); /* the kill below is for our children only */
        for (; n < max; n++) {
                pid_t p = fork();
                if (p == 0) {
                        pause();
                        _exit(0);
                }
                if (p < 0) {
                        e = errno;
                        break;
                }
        }
        (void) signal(SIGTERM, SIG_IGN);
        (void) kill(0, SIGTERM);
        while (wait(NULL) > 0)
                ;
        printf("%d %s\n", n, e ? errno_name(e) : "none");
        return 0;
}

static int do_inotify(char **a) {
        int n = 0, max = atoi(a[0]), e = 0;

        for (; n < max; n++)
                if (inotify_init1(IN_CLOEXEC) < 0) {
                        e = errno;
                        break;
                }
        printf("%d %s\n", n, e ? errno_name(e) : "none");
        return 0;
}

/* alloc MB: touch that much memory (to meet the machine's memory limit or the OOM killer). */
static int do_alloc(char **a) {
        size_t mb = strtoul(a[0], NULL, 10);

        for (size_t i = 0; i < mb; i++) {
                char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (p == MAP_FAILED) {
                        printf("%zu %s\n", i, errno_name(errno));
                        return 0;
                }
                memset(p, 1, 1 << 20);
        }
        printf("%zu none\n", mb);
        return 0;
}

/* fds: every open fd of this process and of PID 1, with its target. */
static int do_fds(char **a) {
        const char *dirs[] = { "/proc/self/fd", "/proc/1/fd" };
        (void) a;
        for (size_t i = 0; i < 2; i++) {
                DIR *d = opendir(dirs[i]);
                struct dirent *de;
                while (d && (de = readdir(d))) {
                        char t[512] = "", p[600];
                        if (de->d_name[0] == '.')
                                continue;
                        (void) snprintf(p, sizeof p, "%s/%s", dirs[i], de->d_name);
                        (void) readlink(p, t, sizeof t - 1);
                        printf("%s %s %s\n", i ? "init" : "self", de->d_name, t);
                }
                if (d)
                        closedir(d);
        }
        return 0;
}

/* The classic chroot breakout: chroot into a subdirectory, climb out with "..", chroot there. */
static int do_chroot_escape(char **a) {
        struct stat before, after;
        (void) a;

        (void) stat("/", &before);
        (void) mkdir("/tmp/.jail", 0700);
        if (chroot("/tmp/.jail") < 0) {
                printf("chroot=%s\n", errno_name(errno));
                return 0;
        }
        for (int i = 0; i < 64; i++)
                (void) chdir("..");
        (void) chroot(".");
        (void) stat("/", &after);
        printf("%s\n", before.st_dev == after.st_dev && before.st_ino == after.st_ino ? "same-root" : "ESCAPED");
        return 0;
}

static void run_one(const char *dir, const char *name) {
        char run[512], tmp[512], out[512];
        size_t n = strlen(name) - 3;
        int status = 0;
        pid_t pid;

        (void) snprintf(run, sizeof run, "%s/%.*s.run", dir, (int) n, name);
        (void) snprintf(tmp, sizeof tmp, "%s/%.*s.tmp", dir, (int) n, name);
        (void) snprintf(out, sizeof out, "%s/%.*s.out", dir, (int) n, name);
        {
                char sh[512];
                (void) snprintf(sh, sizeof sh, "%s/%s", dir, name);
                if (rename(sh, run) < 0)
                        return;
        }
        pid = fork();
        if (pid == 0) {
                int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644), nul = open("/dev/null", O_RDONLY);
                (void) dup2(nul, 0);
                (void) dup2(fd, 1);
                (void) dup2(fd, 2);
                (void) setsid();
                execl("/bin/sh", "sh", run, (char *) NULL);
                _exit(127);
        }
        (void) waitpid(pid, &status, 0);
        {
                FILE *f = fopen(tmp, "a");
                if (f) {
                        fprintf(f, "\nrc=%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
                        fclose(f);
                }
        }
        (void) rename(tmp, out);
}

static int serve(char **a) {
        for (;;) { /* until the machine stops */
                DIR *d = opendir(a[0]);
                struct dirent *de;

                while (d && (de = readdir(d))) {
                        size_t l = strlen(de->d_name);
                        if (l > 3 && !strcmp(de->d_name + l - 3, ".sh"))
                                run_one(a[0], de->d_name);
                }
                if (d)
                        closedir(d);
                (void) usleep(10000);
        }
        return 0; /* not reached */
}

static const struct {
        const char *name;
        int n_args;
        int (*run)(char **args);
} actions[] = {
        { "open", 2, do_open },           { "write", 2, do_write },     { "mknod", 4, do_mknod },
        { "mount", 4, do_mount },         { "umount", 1, do_umount },   { "handle", 1, do_handle },
        { "ptrace", 1, do_ptrace },       { "tiocsti", 1, do_tiocsti }, { "socket", 1, do_socket },
        { "forkbomb", 1, do_forkbomb },   { "inotify", 1, do_inotify }, { "alloc", 1, do_alloc },
        { "fds", 0, do_fds },             { "chroot-escape", 0, do_chroot_escape },
        { "connect", 1, do_connect },     { "as-user", 3, do_as_user },
        { "caps", 0, do_caps },
        { "serve", 1, serve },
};

/* "Some other init" (not systemd, busybox or sysvinit; like runit's, openrc-init, s6, tini): as PID 1
 * it writes "up" and then the name of every signal it gets to /probe-init.log and halts on SIGRTMIN+3, powers off
 * on SIGRTMIN+4 and reboots on SIGINT (systemd's meanings, which such inits follow). */
static void log_signal(int sig) {
        char line[32];
        int fd = open("/probe-init.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

        if (sig == 0)
                (void) snprintf(line, sizeof line, "up\n");
        else if (sig >= SIGRTMIN && sig <= SIGRTMAX)
                (void) snprintf(line, sizeof line, "SIGRTMIN+%d\n", sig - SIGRTMIN);
        else
                (void) snprintf(line, sizeof line, "%s\n", sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" :
                                sig == SIGUSR1 ? "SIGUSR1" : sig == SIGUSR2 ? "SIGUSR2" : "other");
        if (fd >= 0) {
                (void) write(fd, line, strlen(line));
                (void) close(fd);
        }
}

static int run_init(void) {
        sigset_t all;
        int sig;

        (void) sigfillset(&all);
        (void) sigprocmask(SIG_BLOCK, &all, NULL);
        log_signal(0); /* "up": from here on no signal is lost */
        for (;;) {
                sig = sigwaitinfo(&all, NULL);
                if (sig < 0 || sig == SIGCHLD)
                        continue;
                log_signal(sig);
                if (sig == SIGRTMIN + 3)
                        (void) reboot(RB_HALT_SYSTEM);
                else if (sig == SIGRTMIN + 4)
                        (void) reboot(RB_POWER_OFF);
                else if (sig == SIGINT)
                        (void) reboot(RB_AUTOBOOT);
                else
                        continue;
                return 0; /* reboot() ends a PID namespace's init; just in case */
        }
}

/* One sd_notify datagram to /run/host/notify, as a guest's init sends it. */
static int notify_once(const char *msg) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/run/host/notify" };
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        if (fd < 0 || sendto(fd, msg, strlen(msg), 0, (struct sockaddr *) &sa, sizeof sa) < 0) {
                printf("%s\n", errno_name(errno));
                return 1;
        }
        printf("OK\n");
        return 0;
}

int main(int argc, char **argv) {
        if (getpid() == 1 && argc == 1)
                return run_init();
        if (argc == 3 && !strcmp(argv[1], "notify-flood"))
                return notify_flood(atoi(argv[2]));
        if (argc == 3 && !strcmp(argv[1], "notify"))
                return notify_once(argv[2]);
        for (size_t i = 0; argc >= 2 && i < sizeof actions / sizeof actions[0]; i++)
                if (!strcmp(argv[1], actions[i].name) && argc == actions[i].n_args + 2) {
                        int r = actions[i].run(argv + 2);
                        fflush(stdout);
                        return r;
                }
        if (argc == 3 && !strcmp(argv[1], "try")) {
                long r = try(argv[2]);
                if (r == -2)
                        return 2;
                printf("%s\n", r >= 0 ? "OK" : errno_name(errno));
                return 0;
        }
        fprintf(stderr, "usage: probe try SYSCALL | ACTION ARGS... | notify MSG | notify-flood N | serve DIR\n");
        return 2;
}

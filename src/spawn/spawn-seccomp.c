/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <seccomp.h>
#include <sys/capability.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "fileio.h"
#include "macro.h"
#include "string-util.h"
#include "spawn-seccomp.h"

#define CAP(c) (UINT64_C(1) << (c))

/* Each group is denied unless the machine holds cap (0: always denied). Names are systemd's groups,
 * for --system-call-filter=. */
static const struct {
        const char *group;
        uint64_t cap;
        const char *const syscalls[12];
} deny_groups[] = {
        /* Not namespaced at all: never for a machine. */
        { "@host", 0, { "kexec_load", "kexec_file_load", "open_by_handle_at", "bpf", "perf_event_open",
               "lookup_dcookie", "userfaultfd", "nfsservctl", "vm86", "vm86old", "iopl", "ioperm" } },
        { "@keyring", 0, { "add_key", "keyctl", "request_key" } },
        { "@obsolete", 0, { "fanotify_init", "quotactl", "quotactl_fd", "uselib", "_sysctl", "acct" } },
        { "@module", CAP(CAP_SYS_MODULE), { "init_module", "finit_module", "delete_module" } },
        { "@clock", CAP(CAP_SYS_TIME), { "settimeofday", "clock_settime", "clock_settime64", "adjtimex",
                                         "clock_adjtime", "clock_adjtime64", "stime" } },
        { "@swap", CAP(CAP_SYS_ADMIN) | CAP(CAP_SYS_RAWIO), { "swapon", "swapoff" } },
        { "@syslog", CAP(CAP_SYSLOG), { "syslog" } },
        { "@debug", CAP(CAP_SYS_PTRACE), { "ptrace", "process_vm_readv", "process_vm_writev", "kcmp" } },
        { "@numa", CAP(CAP_SYS_NICE), { "migrate_pages", "move_pages", "mbind", "set_mempolicy" } },
};

static bool listed(char *const *l, const char *name, const char *group) {
        for (; l && *l; l++)
                if (streq(*l, name) || (group && streq(*l, group)))
                        return true;
        return false;
}

bool spawn_seccomp_name_is_valid(const char *name) {
        if (name[0] == '@') {
                for (size_t g = 0; g < ELEMENTSOF(deny_groups); g++)
                        if (streq(name, deny_groups[g].group))
                                return true;
                return false;
        }
        return seccomp_syscall_resolve_name(name) != __NR_SCMP_ERROR;
}


static bool is_denied(uint64_t caps, char *const *allow, char *const *deny, const char *name) {
        if (listed(deny, name, NULL))
                return true;
        for (size_t g = 0; g < ELEMENTSOF(deny_groups); g++)
                for (size_t i = 0; i < ELEMENTSOF(deny_groups[g].syscalls) && deny_groups[g].syscalls[i]; i++) {
                        if (!streq(deny_groups[g].syscalls[i], name))
                                continue;
                        if (listed(deny, deny_groups[g].group, NULL))
                                return true;
                        if (deny_groups[g].cap && (caps & deny_groups[g].cap) == deny_groups[g].cap)
                                continue; /* legitimate with this capability */
                        if (!listed(allow, name, deny_groups[g].group))
                                return true;
                }
        return false;
}

/* An allow-list, as nspawn's: every system call this libseccomp knows (for the 64-bit and 32-bit
 * x86 ABIs) is allowed unless denied above; anything else, such as a system call newer than this
 * build, fails with ENOSYS, which programs treat as "not implemented here". */
static int add_rules(scmp_filter_ctx ctx, uint64_t caps, char *const *allow, char *const *deny) {
        static const uint32_t arches[] = { SCMP_ARCH_X86_64, SCMP_ARCH_X86 };

        for (size_t a = 0; a < ELEMENTSOF(arches); a++)
                for (int nr = 0; nr < 1024; nr++) {
                        char *name = seccomp_syscall_resolve_num_arch(arches[a], nr);
                        int r, native;

                        if (!name)
                                continue;
                        native = seccomp_syscall_resolve_name(name);
                        r = native == __NR_SCMP_ERROR ? 0 :
                            seccomp_rule_add(ctx, is_denied(caps, allow, deny, name) ? SCMP_ACT_ERRNO(EPERM)
                                                                                   : SCMP_ACT_ALLOW, native, 0);
                        free(name);
                        if (r < 0 && !IN_SET(r, -EEXIST, -EDOM, -EINVAL))
                                return r;
                }
        return 0;
}

/* A filter context for this machine's ABIs, with default action def. */
static scmp_filter_ctx filter_new(uint32_t def) {
        scmp_filter_ctx ctx = seccomp_init(def);

        if (!ctx)
                return NULL;
        /* Loaded as root with CAP_SYS_ADMIN: no need for no_new_privs (that is --no-new-privileges). */
        if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) < 0) {
                seccomp_release(ctx);
                return NULL;
        }
        /* Also filter the 32-bit ABIs of this machine: a call must not slip through them. */
        (void) seccomp_arch_add(ctx, SCMP_ARCH_X86);
        (void) seccomp_arch_add(ctx, SCMP_ARCH_X32);
        return ctx;
}

static int compile(uint64_t caps, char *const *allow, char *const *deny, int out_fd) {
        scmp_filter_ctx ctx = filter_new(SCMP_ACT_ERRNO(ENOSYS));
        int r;

        if (!ctx)
                return -ENOMEM;
        r = add_rules(ctx, caps, allow, deny);
        if (r >= 0)
                r = seccomp_export_bpf(ctx, out_fd);
        seccomp_release(ctx);
        return r;
}

/* The filter depends on the capabilities, the user's lists, this build and libseccomp's tables. */
static uint64_t filter_key(uint64_t caps, char *const *allow, char *const *deny) {
        const struct scmp_version *v = seccomp_version();
        uint64_t h = UINT64_C(14695981039346656037);
        char buf[128];

#define MIX(str) for (const char *_p = (str); *_p; _p++) h = (h ^ (uint8_t) *_p) * UINT64_C(1099511628211)
        (void) snprintf(buf, sizeof buf, "%s %u.%u.%u %" PRIx64 "|", PROJECT_VERSION, v->major, v->minor, v->micro, caps);
        MIX(buf);
        MIX(__DATE__ __TIME__); /* a rebuilt launcher may have other rules */
        for (char *const *l = allow; l && *l; l++) {
                MIX(*l);
                MIX(",");
        }
        MIX("|");
        for (char *const *l = deny; l && *l; l++) {
                MIX(*l);
                MIX(",");
        }
#undef MIX
        return h;
}

#define SECCOMP_CACHE_DIR "/run/berth/seccomp"

typedef int (*CompileFunc)(uint64_t caps, char *const *allow, char *const *deny, int out_fd);

/* Runs a compiler into a memfd and reads the BPF program back. */
static int compile_to_buffer(CompileFunc f, uint64_t caps, char *const *allow, char *const *deny, char **ret,
                             size_t *ret_size) {
        _cleanup_close_ int fd = memfd_create("berth-seccomp", MFD_CLOEXEC);
        int r;

        if (fd < 0)
                return -errno;
        r = f(caps, allow, deny, fd);
        if (r < 0)
                return r;
        if (lseek(fd, 0, SEEK_SET) < 0)
                return -errno;
        return read_full_fd(fd, 1 << 20, ret, ret_size);
}

int spawn_seccomp_prepare(uint64_t caps, char *const *allow, char *const *deny, SeccompProgram *ret) {
        _cleanup_free_ char *cached = NULL, *tmp = NULL;
        size_t size;
        char *buf = NULL;
        int r;

        if (asprintf(&cached, SECCOMP_CACHE_DIR "/%016" PRIx64 ".bpf", filter_key(caps, allow, deny)) < 0)
                return -ENOMEM;
        /* Compiling the allow-list takes libseccomp tens of milliseconds: keep the result. */
        r = read_full_file_at(AT_FDCWD, cached, 1 << 20, &buf, &size);
        if (r < 0) {
                r = compile_to_buffer(compile, caps, allow, deny, &buf, &size);
                if (r < 0)
                        return r;
                if ((mkdir("/run/berth", 0755) >= 0 || errno == EEXIST) &&
                    (mkdir(SECCOMP_CACHE_DIR, 0700) >= 0 || errno == EEXIST) &&
                    asprintf(&tmp, "%s.%d", cached, (int) getpid()) >= 0) {
                        _cleanup_close_ int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
                        if (out >= 0 && write(out, buf, size) == (ssize_t) size && rename(tmp, cached) >= 0)
                                tmp = mfree(tmp);
                        if (tmp)
                                (void) unlink(tmp);
                }
        }
        if (size == 0 || size % sizeof(struct sock_filter) != 0) {
                free(buf);
                return -EBADMSG;
        }
        *ret = (SeccompProgram) { .filter = (struct sock_filter *) buf, .n = size / sizeof(struct sock_filter) };
        return 0;
}

/* --suppress-sync: a second filter, stacked on the first. The sync family succeeds without doing
 * anything; open() and openat() with O_SYNC or O_DSYNC (O_SYNC includes O_DSYNC) fail with EINVAL;
 * openat2(), whose flags a filter cannot see, reports ENOSYS, and libc falls back to openat(). */
static int compile_suppress_sync(uint64_t caps, char *const *allow, char *const *deny, int out_fd) {
        static const char *const sync_calls[] = {
                "sync", "syncfs", "fsync", "fdatasync", "msync", "sync_file_range", "sync_file_range2",
        };
        scmp_filter_ctx ctx = filter_new(SCMP_ACT_ALLOW);
        int r = 0;

        if (!ctx)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(sync_calls) && r >= 0; i++) {
                int nr = seccomp_syscall_resolve_name(sync_calls[i]);
                if (nr == __NR_SCMP_ERROR)
                        continue;
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(0), nr, 0);
                if (IN_SET(r, -EEXIST, -EDOM, -EINVAL))
                        r = 0;
        }
        if (r >= 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EINVAL), SCMP_SYS(open), 1,
                                     SCMP_A1(SCMP_CMP_MASKED_EQ, O_DSYNC, O_DSYNC));
        if (r >= 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EINVAL), SCMP_SYS(openat), 1,
                                     SCMP_A2(SCMP_CMP_MASKED_EQ, O_DSYNC, O_DSYNC));
        if (r >= 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2), 0);
        if (r >= 0)
                r = seccomp_export_bpf(ctx, out_fd);
        seccomp_release(ctx);
        return r;
}

int spawn_seccomp_prepare_suppress_sync(SeccompProgram *ret) {
        size_t size;
        char *buf = NULL;
        int r;

        r = compile_to_buffer(compile_suppress_sync, 0, NULL, NULL, &buf, &size);
        if (r < 0)
                return r;
        if (size == 0 || size % sizeof(struct sock_filter) != 0) {
                free(buf);
                return -EBADMSG;
        }
        *ret = (SeccompProgram) { .filter = (struct sock_filter *) buf, .n = size / sizeof(struct sock_filter) };
        return 0;
}

int spawn_seccomp_install(const SeccompProgram *p) {
        struct sock_fprog prog = { .len = (unsigned short) p->n, .filter = p->filter };

        if (!p->filter)
                return 0;

        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
                return -errno;
        return 0;
}

void spawn_seccomp_done(SeccompProgram *p) {
        p->filter = mfree(p->filter);
        p->n = 0;
}

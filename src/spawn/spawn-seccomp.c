/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <seccomp.h>
#include <sys/capability.h>

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

static int deny_one(scmp_filter_ctx ctx, const char *name) {
        int nr = seccomp_syscall_resolve_name(name), r;

        if (nr == __NR_SCMP_ERROR)
                return 0; /* not on this architecture */
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
        return r == -EEXIST || r == -EDOM ? 0 : r; /* listed twice, or a pseudo-syscall */
}

int spawn_seccomp_load(uint64_t caps, char *const *allow, char *const *deny) {
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        int r = 0;

        if (!ctx)
                return -ENOMEM;
        /* We load it as root with CAP_SYS_ADMIN: no need for no_new_privs (that is --no-new-privileges). */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        if (r < 0) {
                seccomp_release(ctx);
                return r;
        }
        /* Also filter the 32-bit ABIs of this machine: a syscall must not slip through them. */
        (void) seccomp_arch_add(ctx, SCMP_ARCH_X86);
        (void) seccomp_arch_add(ctx, SCMP_ARCH_X32);

        for (size_t g = 0; g < ELEMENTSOF(deny_groups) && r >= 0; g++) {
                bool group_denied = listed(deny, deny_groups[g].group, NULL);
                if (!group_denied && deny_groups[g].cap && (caps & deny_groups[g].cap) == deny_groups[g].cap)
                        continue;
                for (size_t i = 0; i < ELEMENTSOF(deny_groups[g].syscalls) && deny_groups[g].syscalls[i] && r >= 0; i++)
                        if (group_denied || !listed(allow, deny_groups[g].syscalls[i], deny_groups[g].group))
                                r = deny_one(ctx, deny_groups[g].syscalls[i]);
        }
        for (char *const *d = deny; d && *d && r >= 0; d++)
                if ((*d)[0] != '@')
                        r = deny_one(ctx, *d);
        if (r >= 0)
                r = seccomp_load(ctx);
        seccomp_release(ctx);
        return r;
}

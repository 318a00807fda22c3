/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/filter.h>

/* The system call filter of a machine: calls that act on the whole host (kernel modules, kexec, the
 * clock, swap, the kernel keyring, bpf, perf, open_by_handle_at, ...) fail with EPERM unless the
 * machine keeps the capability that would make them legitimate. caps is the bounding set. */
typedef struct SeccompProgram {
        struct sock_filter *filter;
        size_t n;
} SeccompProgram;

/* Builds the filter (or takes it from /run/berth/seccomp, where compiled filters are kept) in the
 * parent; the child installs it right before exec. */
int spawn_seccomp_prepare(uint64_t caps, char *const *allow, char *const *deny, SeccompProgram *ret);
/* --suppress-sync: sync calls do nothing, O_SYNC/O_DSYNC opens fail (stacked on the filter above). */
int spawn_seccomp_prepare_suppress_sync(SeccompProgram *ret);
/* Installs p; an empty program (no filter) is nothing to install. */
int spawn_seccomp_install(const SeccompProgram *p);
void spawn_seccomp_done(SeccompProgram *p);
/* Is name a system call of this architecture, or one of our groups ("@clock")? */
bool spawn_seccomp_name_is_valid(const char *name);

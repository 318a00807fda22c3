/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* The system call filter of a machine: calls that act on the whole host (kernel modules, kexec, the
 * clock, swap, the kernel keyring, bpf, perf, open_by_handle_at, ...) fail with EPERM unless the
 * machine keeps the capability that would make them legitimate. caps is the bounding set. */
int spawn_seccomp_load(uint64_t caps, char *const *allow, char *const *deny);
/* Is name a system call of this architecture, or one of our groups ("@clock")? */
bool spawn_seccomp_name_is_valid(const char *name);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Entering a machine: its namespaces via one setns() on the leader's pidfd, then its root. */

#include <stdbool.h>
#include <sys/types.h>

#include "macro.h"

/* CLONE_NEW* flags of the namespaces (among 'wanted') in which pid differs from us. */
int namespace_differing(pid_t pid, int wanted, int *ret_flags);
/* Is pid in a network namespace of its own (not ours)? */
int namespace_pid_has_private_net(pid_t pid);
/* Opens /proc/PID/root as an O_PATH directory fd, to chroot into after setns(). */
int namespace_open_root(pid_t pid);
/* In a forked child: joins the namespaces 'flags' of the process behind pidfd, then chroots into
 * root_fd (if valid); in a user namespace it becomes UID/GID 0 there. CLONE_NEWPID takes effect for
 * children only: fork again afterwards. */
int namespace_enter(int pidfd, int flags, int root_fd);

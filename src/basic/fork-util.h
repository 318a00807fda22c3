/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Forks a child that the caller does not wait for and that keeps nothing of the caller's but keep[]
 * (moved to fds 3, 4, ...; a negative entry becomes /dev/null there), with /dev/null as its standard
 * input, output and error. Returns once the child has let go of everything else: whoever reads the
 * caller's output or waits on its fds is done when the caller is, and an flock on a file the two
 * shared is the caller's alone again (its next holder need not wait for the child to be scheduled).
 * 0 in the child, its PID in the caller, or -errno. */
pid_t fork_behind(const int *keep, size_t n_keep);

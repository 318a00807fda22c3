/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Process handles that cannot be fooled by PID reuse. A pidfd names one process for its whole
 * life; (start time, pidfs inode id) name it across restarts of the daemon that watches it. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

/* pidfd_open(2), O_CLOEXEC implied. Returns the fd or -errno (-ESRCH: no such process). */
int pidfd_open_pid(pid_t pid);
/* pidfd_send_signal(2). sig 0 checks that the process is still alive (-ESRCH when it is not). */
int pidfd_signal(int pidfd, int sig);
/* Has the process exited (it may still be a zombie)? pidfds poll readable then. */
int pidfd_has_exited(int pidfd);
/* The process start time in clock ticks since boot (field 22 of /proc/PID/stat). */
int pid_get_start_time(pid_t pid, uint64_t *ret);
/* The pidfs inode number, unique for the system's uptime. -EOPNOTSUPP before Linux 6.9. */
int pidfd_get_inode_id(int pidfd, uint64_t *ret);
/* Opens a pidfd for pid and proves it is the process that had this start time (and, when
 * expected_id is not 0 and pidfs is available, this inode id). -ESRCH if it is gone or the PID
 * now belongs to another process. Returns the fd. */
int pidfd_open_verified(pid_t pid, uint64_t expected_start_time, uint64_t expected_id);
/* Opens a pidfd and reads the start time of the same process (checked alive after the read). */
int pidfd_open_with_start_time(pid_t pid, uint64_t *ret_start_time);

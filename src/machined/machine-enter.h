/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What acts inside a machine (shells, ptys, copies, binds): done in a forked child that joins the
 * leader's namespaces (pidfd + setns) and root, so symlinks and mounts resolve as the guest sees
 * them and the daemon itself never changes namespace. Results come back over a socket, with
 * timeouts. What berthd only reads (OS release, addresses) needs no child: machine-peek.h. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <sched.h>

#include "machine.h"

#define ALL_NAMESPACES (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | \
                        CLONE_NEWNET | CLONE_NEWCGROUP)

/* Forks a child that has entered the machine (the namespaces in 'wanted' that differ from ours,
 * then its root). Returns 0 in the child, the child's PID in the parent. */
int machine_fork_inside(Machine *machine, int wanted, bool join_cgroup, pid_t *ret_pid);
/* Reaps a helper; its exit code is an errno (0 = success). */
int machine_wait_helper(pid_t pid, bool kill_first);
/* One message with an optional fd (SCM_RIGHTS); receiving waits at most 5 s. */
int send_fd_with(int sock, int fd, const void *data, size_t size);
int recv_fd_with(int sock, int *ret_fd, void *data, size_t size);

/* 0 without a user namespace; the base of a simple 0-based mapping of >= 65534 ids; else -EOPNOTSUPP. */
int machine_get_uid_shift(Machine *machine, uid_t *ret);
/* Maps an id through /proc/LEADER/{uid,gid}_map: inside -> outside (to_host) or back. -ENXIO if unmapped. */
int machine_map_id(Machine *machine, bool group, bool to_host, uint32_t id, uint32_t *ret);
/* An O_DIRECTORY fd on the machine's root, opened inside it. */
int machine_open_root_directory(Machine *machine, int *ret_fd);

typedef enum PtyMode {
        PTY_PLAIN,  /* just the pty */
        PTY_LOGIN,  /* login(1) on it, respawned while the pty stays open */
        PTY_SHELL,  /* a command as a user */
} PtyMode;

typedef struct ShellRequest {
        const char *user;    /* "" -> root */
        const char *path;    /* "" -> the user's login shell */
        char **args;         /* full argv (argv[0] included); empty -> [path] */
        char **environment;  /* K=V */
} ShellRequest;

#define HELPER_TIMEOUT_USEC (5ULL * 1000 * 1000) /* what a helper may take to answer */

/* The result of machine_open_pty(): the master and the slave's path as seen inside ("/dev/pts/N"),
 * or a negative errno (-ENOENT: no login program) with master -EBADF and path NULL. The master is
 * closed when done returns. */
typedef void (*MachinePtyDone)(int result, int master, const char *path, void *userdata);

/* Allocates a pty in the machine's devpts (opening /dev/ptmx inside it) and starts login or the
 * shell on it, in a helper the event loop watches: done is called once it is over (a helper that
 * takes longer than HELPER_TIMEOUT_USEC is killed), so berthd serves other calls meanwhile. The
 * daemon keeps no copy of either end. */
int machine_open_pty(Machine *machine, PtyMode mode, const ShellRequest *req, MachinePtyDone done, void *userdata);

/* In a process inside the machine: makes /dev/pts/N our session's controlling terminal and stdio. */
int pty_attach_terminal(int number);
/* In a process inside the machine: becomes req->user (from the guest's own passwd and group
 * files), sets up the login environment and executes the request; never returns (127 if the
 * program cannot be executed). */
_noreturn_ void shell_request_exec(const ShellRequest *req);

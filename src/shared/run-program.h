/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Runs argv[0] (looked up in PATH) with input on its stdin (NULL: /dev/null), stdout to /dev/null,
 * and waits for it. Its stderr (up to err_size-1 bytes, the last newline cut) lands in err. Returns
 * its exit status (0..255), -ENOENT when there is no such program, another -errno on failure. A
 * program that daemonizes must close its stderr (dnsmasq does), or this waits for its end. */
int run_program(char *const argv[], const char *input, char *err, size_t err_size);

/* run_program() in two halves, so the caller works while the program runs. start() has written
 * all of input (up to a pipe's size) when it returns; finish() reaps and reads as above. */
typedef struct RunningProgram {
        pid_t pid;
        int err_fd;
} RunningProgram;
int run_program_start(char *const argv[], const char *input, RunningProgram *ret);
int run_program_finish(RunningProgram *p, char *err, size_t err_size);

/* Starts argv[0] in a session of its own, stdin and stdout on /dev/null, stderr on err_fd (-1:
 * /dev/null), with envp (NULL: ours), and does not wait: the caller reaps *ret_pid. Returns -ENOENT
 * when there is no such program. */
int run_program_detached(char *const argv[], char *const envp[], int err_fd, pid_t *ret_pid);

/* The first executable NAME in PATH (or the default search path): its path in *ret (NULL: only
 * looked for), or -ENOENT. */
int program_find(const char *name, char **ret);
bool program_exists(const char *name);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* ExecMachine: a command run inside a machine on file descriptors the caller passed (pipes or a
 * file), or on a pty the caller opened with OpenMachinePTY, so that its exit status can come
 * back to the caller. */

#include "machine-enter.h"

/* Called once: with the command's exit status (its exit code, or 128 + the signal that killed
 * it), or -ECANCELED when the daemon exits first. */
typedef void (*exec_done_t)(int status, void *userdata);

/* Starts the request in the machine. 'tty' is a pty number in the guest's devpts to use as
 * controlling terminal and stdio (then 'fds' is ignored), or -1 to use fds[0..2] as stdio. */
int machine_exec(Machine *machine, const ShellRequest *req, int tty, const int fds[3], exec_done_t done,
                 void *userdata);
/* Forgets the commands still running (they go on; each done() gets -ECANCELED). */
void exec_jobs_free(Manager *m);

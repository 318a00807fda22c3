/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Persistent machines without systemd: berthd starts an image of the search path through
 * berth-supervise (which runs berth-spawn, keeps its console log, restarts it on reboot), waits
 * until the machine registers, and starts the enabled machines when it starts itself. */

#include <stdbool.h>
#include <sys/types.h>

#include "machine.h"

#define MACHINE_LOG_DIR "/var/log/berth"
#define MACHINE_AUTOSTART_DIR "/var/lib/berth/autostart"
#define START_TIMEOUT_USEC (90 * 1000000ULL)

typedef struct StartJob StartJob;

/* Called once per start: with the machine when it registered, or with a negative errno and a
 * one-line reason (the launcher's last words) when it failed. */
typedef void (*start_done_t)(Machine *machine, int error, const char *why, void *userdata);

/* -EINVAL bad name, -EEXIST already running, -EALREADY being started, -ENOENT no such image. */
int manager_start_machine(Manager *m, const char *name, start_done_t done, void *userdata);
/* Completes a pending start of this machine. */
void start_jobs_machine_new(Manager *m, Machine *machine);
/* Forgets the jobs; the launchers keep running. */
void start_jobs_free(Manager *m);

/* A helper of berthd: $env if set, else beside our own binary (a build directory), else in
 * LIBEXECDIR/berth. */
char *helper_binary(const char *name, const char *env);

/* The console log of a machine berthd started: LOG_DIR/NAME.log. */
char *machine_log_path(Manager *m, const char *name);

int autostart_set(Manager *m, const char *name, bool enable);
bool autostart_enabled(Manager *m, const char *name);
/* Starts every enabled machine that is not running. */
void manager_autostart(Manager *m);

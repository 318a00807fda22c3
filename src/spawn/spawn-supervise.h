/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "spawn-context.h"

typedef enum SpawnOutcome {
        OUTCOME_EXITED,    /* PID 1 exited with a status */
        OUTCOME_POWEROFF,  /* the guest powered off or halted (PID 1 killed by SIGINT) */
        OUTCOME_REBOOT,    /* the guest rebooted (PID 1 killed by SIGHUP) */
        OUTCOME_SIGNALED,  /* PID 1 killed by another signal */
        OUTCOME_ESCAPED,   /* the user pressed Ctrl-] three times */
        _OUTCOME_MAX,
        _OUTCOME_INVALID = -EINVAL,
} SpawnOutcome;

typedef struct SpawnResult {
        SpawnOutcome outcome;
        int status; /* exit status, or the signal */
} SpawnResult;

/* Runs the machine until PID 1 is gone: console, notifications, our signals. */
int spawn_supervise(SpawnContext *c, SpawnResult *ret);
/* nspawn's exit code convention: the status; 0 for poweroff; 133 for reboot; 1 otherwise. */
int spawn_result_exit_code(const SpawnResult *r) _pure_;
/* Asks the guest to power off, the way its init understands: 0, or 1 when the request was a signal
 * that its init neither catches nor blocks yet (still starting), which the kernel drops: ask again
 * soon. */
int spawn_request_shutdown(SpawnContext *c);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Imports and exports, run by berth-import (libexec/berth) so that libarchive and json-c stay out
 * of berthd: the helper gets the caller's fd as its fd 3 and a memfd as stderr, dies with berthd
 * (PR_SET_PDEATHSIG), and its last words become the error the caller sees. No D-Bus types here. */

#include "manager.h"

/* result: 0 or a negative errno; message: the helper's error (NULL on success). */
typedef void (*TransferDone)(int result, const char *message, void *userdata);

/* Runs berth-import ARGS... with io_fd as its fd 3 (io_fd stays the caller's). */
int transfer_start(Manager *m, char *const *args, int io_fd, TransferDone done, void *userdata);

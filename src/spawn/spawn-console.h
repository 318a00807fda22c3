/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "event-loop.h"

#include "spawn-config.h"

/* Forwards between our terminal (stdin/stdout) and the machine's /dev/console pty master. */
typedef struct ConsoleForward ConsoleForward;

/* on_escape is called when Ctrl-] is pressed three times within a second (interactive only). */
int console_forward_new(EventLoop *e, int master, ConsoleMode mode, void (*on_escape)(void *userdata),
                        void *userdata, ConsoleForward **ret);
/* Restores the terminal, flushes what the guest wrote last. Accepts NULL. */
ConsoleForward *console_forward_free(ConsoleForward *f);
DEFINE_POINTER_CLEANUP(ConsoleForward *, console_forward_free);
/* Copies our terminal's window size to the pty (on start and SIGWINCH). */
void console_forward_resize(ConsoleForward *f);

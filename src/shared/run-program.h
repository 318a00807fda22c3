/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Runs argv[0] (looked up in PATH) with input on its stdin (NULL: /dev/null), stdout to /dev/null,
 * and waits for it. Its stderr (up to err_size-1 bytes, the last newline cut) lands in err. Returns
 * its exit status (0..255), -ENOENT when there is no such program, another -errno on failure. A
 * program that daemonizes must close its stderr (dnsmasq does), or this waits for its end. */
int run_program(char *const argv[], const char *input, char *err, size_t err_size);

/* Is there an executable NAME in PATH (or the default search path)? */
bool program_exists(const char *name);

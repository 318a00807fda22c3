/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "ctl.h"

/* The options part of --help. */
extern const char ctl_options_help[];

/* Fills *arg from the command line; the words that are not options go to *ret_positional.
 * Options may come anywhere, except after the command of 'shell' (those belong to it).
 * Returns 1 to go on, 0 when done (--version printed), <0 on bad input (logged unless quiet). */
int ctl_parse_argv(int argc, char *argv[], bool quiet, CtlArgs *arg, bool *ret_help, char ***ret_positional);

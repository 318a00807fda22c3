/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The machine table of 'berthctl list', apart from how its rows were fetched: over D-Bus
 * (ctl-machines.c) or over berthd's Varlink socket (ctl-varlink.c, the front's quick path). Both
 * print through here, so their output is the same byte for byte. */

#include <stdbool.h>
#include <stddef.h>

#include "cgroup-apply.h"
#include "ctl.h"

typedef struct MachineRow {
        char *name, *class, *service;
        char *os, *version;
        char **addresses;
        CgroupAccounting acc; /* --columns= */
        unsigned *pending;
} MachineRow;

typedef struct ListState {
        const CtlArgs *args;
        MachineRow *rows;
        size_t n;
        unsigned pending;
} ListState;

/* Whether the list shows this machine (.host and other hidden ones only with --all). */
bool ctl_list_wants(const ListState *s, const char *name);
/* Appends a row with copies of the strings (service NULL: none); NULL when out of memory. */
MachineRow *ctl_list_add(ListState *s, const char *name, const char *class, const char *service);
void ctl_list_done(ListState *s);
/* Reads --columns= figures, opens the pager and prints the table and its footer. */
int ctl_list_show(ListState *s);

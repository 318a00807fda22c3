/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What machines use (memory, tasks, CPU time, I/O), read from the host's cgroups. */

#include <stddef.h>

#include "cgroup-apply.h"

typedef struct MachineCgroup {
        char *name; /* the machine's name, from "machine-<escaped name>.scope" */
        char *rel;  /* its cgroup below the hierarchy's root */
} MachineCgroup;

/* Every machine-*.scope below the slices of the hierarchy that holds the pids controller. */
int ctl_machine_cgroups(const CgroupControllerMap *map, MachineCgroup **ret, size_t *ret_n);
void machine_cgroups_free(MachineCgroup *l, size_t n);
/* -ENOENT if the machine has no cgroup of its own. */
int ctl_machine_accounting(const char *name, CgroupAccounting *ret);

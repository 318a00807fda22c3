/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What a machine uses, as status lines, as show's properties (systemd's names: MemoryCurrent=,
 * TasksMax=, CPUUsageNSec=, ...) and as list's extra columns (--columns=). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup-apply.h"
#include "ctl.h"

/* The fields, in the order of list's columns. */
enum {
        CTL_FIELD_MEMORY,
        CTL_FIELD_MEMORY_PEAK,
        CTL_FIELD_MEMORY_MAX,
        CTL_FIELD_TASKS,
        CTL_FIELD_TASKS_MAX,
        CTL_FIELD_CPU,
        CTL_FIELD_IO_READ,
        CTL_FIELD_IO_WRITE,
        _CTL_FIELD_MAX,
};

/* "memory,tasks,cpu" -> the fields, in that order (duplicates once); a clear error otherwise. */
int ctl_accounting_columns_parse(const char *s, int fields[static CTL_MAX_COLUMNS], size_t *ret_n);
/* "MEMORY:number": the list column of a field. */
const char *ctl_accounting_column(int field) _pure_;
/* The cell of a field: "83.2M", "2.100s", in JSON plain numbers; NULL ("-", null) if not known. */
char *ctl_accounting_cell(const CtlArgs *args, const CgroupAccounting *a, int field);
/* show's name of a field ("MemoryCurrent"), and whether UINT64_MAX means "infinity" for it. */
const char *ctl_accounting_property(int field, bool *ret_limit);
uint64_t ctl_accounting_value(const CgroupAccounting *a, int field);
/* status's "Memory:", "Tasks:", "CPU:", "IO:" lines. */
void ctl_print_accounting(const CgroupAccounting *a);

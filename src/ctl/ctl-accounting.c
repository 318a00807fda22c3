/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alloc-util.h"
#include "ctl-accounting.h"
#include "ctl-output.h"
#include "log.h"
#include "string-util.h"
#include "strv.h"

typedef enum FieldKind {
        KIND_BYTES,
        KIND_COUNT,
        KIND_NSEC,
} FieldKind;

static const struct {
        const char *column;   /* list --columns= (lower case) and its header */
        const char *property; /* show, as systemd names it */
        size_t offset;
        FieldKind kind;
        bool limit;           /* UINT64_MAX is "infinity", not "not known" */
} fields[_CTL_FIELD_MAX] = {
        [CTL_FIELD_MEMORY] = { "MEMORY:number",      "MemoryCurrent", offsetof(CgroupAccounting, memory_current), KIND_BYTES, false },
        [CTL_FIELD_MEMORY_PEAK] = { "MEMORY-PEAK:number", "MemoryPeak",    offsetof(CgroupAccounting, memory_peak),    KIND_BYTES, false },
        [CTL_FIELD_MEMORY_MAX] = { "MEMORY-MAX:number",  "MemoryMax",     offsetof(CgroupAccounting, memory_max),     KIND_BYTES, true  },
        [CTL_FIELD_TASKS] = { "TASKS:number",       "TasksCurrent",  offsetof(CgroupAccounting, tasks_current),  KIND_COUNT, false },
        [CTL_FIELD_TASKS_MAX] = { "TASKS-MAX:number",   "TasksMax",      offsetof(CgroupAccounting, tasks_max),      KIND_COUNT, true  },
        [CTL_FIELD_CPU] = { "CPU:number",         "CPUUsageNSec",  offsetof(CgroupAccounting, cpu_usage_nsec), KIND_NSEC,  false },
        [CTL_FIELD_IO_READ] = { "IO-READ:number",     "IOReadBytes",   offsetof(CgroupAccounting, io_read_bytes),  KIND_BYTES, false },
        [CTL_FIELD_IO_WRITE] = { "IO-WRITE:number",    "IOWriteBytes",  offsetof(CgroupAccounting, io_write_bytes), KIND_BYTES, false },
};
_Static_assert(ELEMENTSOF(fields) <= CTL_MAX_COLUMNS, "CTL_MAX_COLUMNS is too small");

static uint64_t field_value(const CgroupAccounting *a, int f) {
        uint64_t v;
        memcpy(&v, (const char *) a + fields[f].offset, sizeof v);
        return v;
}

static int field_from_column(const char *name, size_t len) {
        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                if (strcspn(fields[i].column, ":") == len && ascii_strncasecmp(name, fields[i].column, len) == 0)
                        return (int) i;
        return -EINVAL;
}

int ctl_accounting_columns_parse(const char *s, int out[static CTL_MAX_COLUMNS], size_t *ret_n) {
        size_t n = 0;

        for (const char *p = s;; p++) {
                size_t len = strcspn(p, ",");
                int f = field_from_column(p, len);
                bool seen = false;

                if (f < 0)
                        return log_error_errno(f, "Unknown column '%.*s' in --columns=: use memory, memory-peak, "
                                                  "memory-max, tasks, tasks-max, cpu, io-read, io-write.",
                                               (int) len, p);
                for (size_t i = 0; i < n; i++)
                        seen = seen || out[i] == f;
                if (!seen)
                        out[n++] = f;
                p += len;
                if (!*p)
                        break;
        }
        *ret_n = n;
        return 0;
}

const char *ctl_accounting_column(int field) {
        return fields[field].column;
}

static char *format_nsec(uint64_t nsec, char buf[static 32]) {
        if (nsec >= UINT64_C(60000000000))
                (void) snprintf(buf, 32, "%" PRIu64 "min %.1fs", nsec / UINT64_C(60000000000),
                                (double) (nsec % UINT64_C(60000000000)) / 1e9);
        else
                (void) snprintf(buf, 32, "%.3fs", (double) nsec / 1e9);
        return buf;
}

char *ctl_accounting_cell(const CtlArgs *args, const CgroupAccounting *a, int f) {
        uint64_t v = field_value(a, f);
        char buf[32];

        if (v == UINT64_MAX)
                return fields[f].limit && args->json == JSON_OFF ? strdup("infinity") : NULL;
        if (args->json != JSON_OFF || fields[f].kind == KIND_COUNT)
                (void) snprintf(buf, sizeof buf, "%" PRIu64, v);
        else if (fields[f].kind == KIND_BYTES)
                (void) ctl_format_bytes(v, buf);
        else
                (void) format_nsec(v, buf);
        return strdup(buf);
}

const char *ctl_accounting_property(int field, bool *ret_limit) {
        *ret_limit = fields[field].limit;
        return fields[field].property;
}

uint64_t ctl_accounting_value(const CgroupAccounting *a, int field) {
        return field_value(a, field);
}

void ctl_print_accounting(const CgroupAccounting *a) {
        char b1[16], b2[16], b3[16], c[32];

        if (a->memory_current != UINT64_MAX)
                printf("          Memory: %s (peak: %s, max: %s)\n", ctl_format_bytes(a->memory_current, b1),
                       ctl_format_bytes(a->memory_peak, b2),
                       a->memory_max == UINT64_MAX ? "infinity" : ctl_format_bytes(a->memory_max, b3));
        if (a->tasks_current != UINT64_MAX) {
                if (a->tasks_max == UINT64_MAX)
                        printf("           Tasks: %" PRIu64 " (limit: infinity)\n", a->tasks_current);
                else
                        printf("           Tasks: %" PRIu64 " (limit: %" PRIu64 ")\n", a->tasks_current, a->tasks_max);
        }
        if (a->cpu_usage_nsec != UINT64_MAX)
                printf("             CPU: %s\n", format_nsec(a->cpu_usage_nsec, c));
        if (a->io_read_bytes != UINT64_MAX || a->io_write_bytes != UINT64_MAX)
                printf("              IO: %s read, %s written\n", ctl_format_bytes(a->io_read_bytes, b1),
                       ctl_format_bytes(a->io_write_bytes, b2));
}

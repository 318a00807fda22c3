/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The table of 'berthctl list' (ctl-list.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc-util.h"
#include "ctl-accounting.h"
#include "ctl-list.h"
#include "glyph.h"
#include "ctl-output.h"
#include "log.h"
#include "string-util.h"
#include "strv.h"

bool ctl_list_wants(const ListState *s, const char *name) {
        return name[0] != '.' || s->args->all;
}

MachineRow *ctl_list_add(ListState *s, const char *name, const char *class, const char *service) {
        MachineRow *n, *row;

        n = realloc(s->rows, (s->n + 1) * sizeof(MachineRow));
        if (!n)
                return NULL;
        s->rows = n;
        row = &s->rows[s->n++];
        *row = (MachineRow) { .name = strdup(name), .class = strdup(class), .service = strdup(service ?: ""),
                              .acc = CGROUP_ACCOUNTING_NULL };
        return row->name && row->class && row->service ? row : NULL;
}

void ctl_list_done(ListState *s) {
        for (size_t i = 0; i < s->n; i++) {
                MachineRow *r = &s->rows[i];
                free(r->name), free(r->class), free(r->service), free(r->os), free(r->version);
                strv_free(r->addresses);
        }
        s->rows = mfree(s->rows);
        s->n = 0;
}

static int add_machine_row(const ListState *s, struct libscols_table *t, const MachineRow *row) {
        const CtlArgs *args = s->args;
        char *acc[CTL_MAX_COLUMNS] = {};
        const char *cells[6 + CTL_MAX_COLUMNS] = {};
        _cleanup_free_ char *addrs = NULL;
        int r = 0;

        if (row->addresses) {
                if (args->json != JSON_OFF || args->full)
                        addrs = strv_join(row->addresses, "\n");
                else
                        addrs = strjoin(row->addresses[0], row->addresses[1] ? glyph(GLYPH_ELLIPSIS) : "");
                if (!addrs)
                        return -ENOMEM;
        }
        cells[0] = row->name, cells[1] = row->class, cells[2] = row->service;
        cells[3] = row->os, cells[4] = row->version, cells[5] = addrs;
        for (size_t k = 0; k < args->n_columns; k++)
                cells[6 + k] = acc[k] = ctl_accounting_cell(args, &row->acc, args->columns[k]);
        r = ctl_table_add_row(t, cells);
        for (size_t k = 0; k < args->n_columns; k++)
                free(acc[k]);
        return r;
}

static int print_machine_table(const ListState *s) {
        const char *cols[6 + CTL_MAX_COLUMNS + 1] = { "MACHINE", "CLASS", "SERVICE", "OS", "VERSION", "ADDRESSES:array" };
        _cleanup_(scols_unref_tablep) struct libscols_table *t = NULL;
        int r;

        for (size_t k = 0; k < s->args->n_columns; k++)
                cols[6 + k] = ctl_accounting_column(s->args->columns[k]);
        t = ctl_table_new(s->args, "machines", cols);
        if (!t)
                return log_oom();
        for (size_t i = 0; i < s->n; i++)
                if (add_machine_row(s, t, &s->rows[i]) < 0)
                        return log_oom();
        r = ctl_table_print(t);
        if (r < 0)
                return r;
        if (s->args->legend && s->args->json == JSON_OFF) {
                if (s->n == 0)
                        printf("No machines.\n");
                else
                        printf("\n%zu machine%s listed.\n", s->n, s->n == 1 ? "" : "s");
        }
        return 0;
}


int ctl_list_show(ListState *s) {
        ctl_pager_open(s->args);
        return print_machine_table(s);
}

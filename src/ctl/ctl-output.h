/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <libsmartcols/libsmartcols.h>
#include <stdint.h>

#include "ctl.h"
#include "macro.h"

/* A table in berthctl's style: a header unless --no-legend, colour only on a terminal, JSON
 * (lower-case column names as keys) with --json. Columns are given as "NAME" or "NAME:number"
 * (JSON number), "NAME:bool", "NAME:array" (cells are space-separated lists). */
struct libscols_table *ctl_table_new(const CtlArgs *args, const char *json_name, const char *const *columns);
/* Appends a row; cells may be NULL (shown as "-", null in JSON). */
int ctl_table_add_row(struct libscols_table *t, const char *const *cells);
int ctl_table_print(struct libscols_table *t);
static inline void scols_unref_tablep(struct libscols_table **t) {
        scols_unref_table(*t);
}

/* Starts $PAGER (less by default) on our stdout when it is a terminal, unless --no-pager or JSON. */
void ctl_pager_open(const CtlArgs *args);
/* Waits for the pager; call before exiting. */
void ctl_pager_close(void);

/* "1.2G", "-" for UINT64_MAX. */
char *ctl_format_bytes(uint64_t bytes, char buf[static 16]);
/* "Mon 2026-11-23 03:00:00 UTC", "-" for 0. */
char *ctl_format_timestamp(uint64_t usec, char buf[static 64]);
/* "2h 3min ago". */
char *ctl_format_timespan_ago(uint64_t usec, char buf[static 64]);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "ctl.h"

/* Where show's properties go: printed at once as KEY=VALUE (or values only with --value), or with
 * --json collected and printed as one object by ctl_property_sink_flush(). */
typedef struct PropertySink {
        const CtlArgs *args;
        char **columns; /* JSON: "Name", "Leader:number", ... (ctl_table_new()'s column form) */
        char **values;
        bool oom;
} PropertySink;

void ctl_property_sink_done(PropertySink *s);
/* Not filtered out by -p. */
bool ctl_property_wanted(const PropertySink *s, const char *name);
/* JSON_TYPE: "" (string), ":number", ":bool" (value "1"/"0"), ":array" (space-separated). */
void ctl_property_emit(PropertySink *s, const char *name, const char *value, const char *json_type);
/* With --json, prints what was collected as {"JSON_NAME": [{...}]}; else nothing to do. */
int ctl_property_sink_flush(PropertySink *s, const char *json_name);

/* show's accounting properties, after the machine's others (honours -p, --value and --json). */
struct CgroupAccounting;
void ctl_show_accounting(PropertySink *s, const struct CgroupAccounting *a);

/* The properties of path/iface into the sink, filtered by -p. */
int ctl_collect_properties(sd_bus *bus, PropertySink *s, const char *path, const char *iface);
/* Collect and flush. */
int ctl_print_properties(sd_bus *bus, const CtlArgs *args, const char *path, const char *iface,
                         const char *json_name);

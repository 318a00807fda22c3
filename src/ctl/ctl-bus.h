/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "bus-names.h"
#include "macro.h"

typedef struct CtlArgs CtlArgs; /* ctl.h */

#define BUS_LONG_TIMEOUT_USEC (24ULL * 3600 * 1000000) /* copies, commands: effectively none */

/* The system bus; a clear message if there is none. */
int ctl_bus_open(sd_bus **ret);

/* Logs a failed call once, with the cause in the words a user needs ("No machine 'x' known.",
 * "no machine manager on the bus: start berthd", "needs root"), and returns r. */
int ctl_log_bus_error(const sd_bus_error *error, int r, const char *what);
/* "Invalid machine name '...'."; returns -EINVAL. */
int ctl_invalid_name(const char *name);

/* Calls a method of org.freedesktop.machine1.Manager (or berth's extension with 'berth'). */
int ctl_call(sd_bus *bus, const char *member, sd_bus_message **reply, const char *types, ...);
int ctl_call_berth(sd_bus *bus, const char *member, sd_bus_error *error, sd_bus_message **reply,
                   const char *types, ...);

/* The object path of a machine or image; logs "No machine 'x' known." itself. */
int ctl_machine_path(sd_bus *bus, const char *name, char **ret);
int ctl_image_path(sd_bus *bus, const char *name, char **ret);

/* A string property of an object of org.freedesktop.machine1. */
int ctl_get_string(sd_bus *bus, const char *path, const char *iface, const char *prop, char **ret);

/* Whether the owner of org.freedesktop.machine1 is berthd (it serves berth's extension). */
bool ctl_is_berthd(sd_bus *bus);
/* systemd runs as PID 1 here (persistent machines are its units then). */
bool ctl_have_systemd(void);

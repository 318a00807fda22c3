/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Resource properties of berthd's machines: those that CreateMachine's scope properties carry
 * (stock systemd-nspawn --property=...), SetMachineProperties (berthctl set-property), and the
 * ones kept for a machine's next start (beside the autostart directory, one "NAME=VALUE" a line). */

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "manager.h"

/* Reads one scope property (name, variant) that is a resource property into "NAME=VALUE"
 * assignments. 1 if it was one (the variant is consumed), 0 if not (nothing read). */
int bus_scope_property_to_assignments(sd_bus_message *m, const char *name, char ***assignments);

/* Parses and checks assignments without writing anything; *ret_error says what is wrong. */
int machine_limits_check(char *const *assignments, char **ret_error);
/* Writes them to the machine's cgroup; warnings for what this host cannot express are logged. */
int machine_limits_apply(Machine *machine, char *const *assignments, char **ret_error);

/* The properties kept for the next start of name, merged with what is kept already. */
int machine_limits_save(Manager *m, const char *name, char *const *assignments);
int machine_limits_load(Manager *m, const char *name, char ***ret);

/* set-property: checks, applies to the running machine (-ESRCH if none and runtime), and unless
 * runtime keeps them for its next start. */
int machine_set_properties(Manager *m, const char *name, char *const *assignments, bool runtime, char **ret_error);

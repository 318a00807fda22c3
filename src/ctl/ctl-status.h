/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

/* Readers of machine1 replies. */
int ctl_read_addresses(sd_bus_message *m, char ***ret);
int ctl_read_os_release(sd_bus_message *m, const char *key, char **ret);
/* PRETTY_NAME, else NAME. */
int ctl_read_os_pretty_name(sd_bus_message *m, char **ret);

/* Prints "Unit:" (or "CGroup:") and the processes of the machine's cgroup (found from its
 * leader and unit) as a tree, each line starting with 'prefix'. */
int ctl_show_cgroup_tree(pid_t leader, const char *unit, const char *prefix);
/* Prints the last n lines of a file, each with 'prefix'. */
void ctl_show_file_tail(const char *path, unsigned n, const char *prefix);
/* The console log of a machine berthd started ("" when berthd is not the manager). */
char *ctl_machine_log_path(sd_bus *bus, const char *name);

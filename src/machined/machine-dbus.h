/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "machine-enter.h"
#include "machine.h"

#define BUS_ERROR_NO_SUCH_MACHINE "org.freedesktop.machine1.NoSuchMachine"
#define BUS_ERROR_NO_SUCH_IMAGE "org.freedesktop.machine1.NoSuchImage"
#define BUS_ERROR_NO_MACHINE_FOR_PID "org.freedesktop.machine1.NoMachineForPID"
#define BUS_ERROR_MACHINE_EXISTS "org.freedesktop.machine1.MachineExists"
#define BUS_ERROR_NO_PRIVATE_NETWORKING "org.freedesktop.machine1.NoPrivateNetworking"
#define BUS_ERROR_NO_SUCH_USER_MAPPING "org.freedesktop.machine1.NoSuchUserMapping"
#define BUS_ERROR_NO_SUCH_GROUP_MAPPING "org.freedesktop.machine1.NoSuchGroupMapping"

extern const sd_bus_vtable machine_vtable[];

/* 1 if the sender is root; otherwise sets AccessDenied and returns a negative error. */
int bus_verify_root(sd_bus_message *message, sd_bus_error *error);
/* InvalidArgs "Invalid KIND name '...'." with control characters escaped (the name is the caller's). */
int bus_invalid_name(sd_bus_error *error, const char *kind, const char *name);

/* Checks user, path, arguments and environment of OpenShell and ExecMachine. */
int bus_shell_request_validate(const ShellRequest *req, sd_bus_error *error);

char *machine_bus_path(const Machine *machine);
int machine_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                        sd_bus_error *error);
int machine_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error);

/* The Machine methods; the Manager's twins find the machine by name and call these. */
int bus_machine_method_terminate(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_machine_method_kill(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_machine_method_get_addresses(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_machine_method_get_os_release(sd_bus_message *message, void *userdata, sd_bus_error *error);
/* io.berth.Machine1.Manager.ListMachinesWithDetails (userdata: the Manager): ListMachines' four
 * fields plus each machine's OS release and addresses (empty where those calls would fail). */
int bus_method_list_machines_with_details(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_machine_method_get_uid_shift(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_machine_method_open_pty(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_machine_method_open_login(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_machine_method_open_shell(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_machine_method_open_root_directory(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_machine_method_bind_mount(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_machine_method_copy_from(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_machine_method_copy_to(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_machine_method_copy_from_with_flags(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_machine_method_copy_to_with_flags(sd_bus_message *message, void *userdata, sd_bus_error *error);

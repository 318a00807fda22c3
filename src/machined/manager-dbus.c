/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.freedesktop.machine1.Manager (systemd 252) and berth's extension interface. */
#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "alloc-util.h"
#include "bus-creds.h"
#include "berth-dbus.h"
#include "bus-names.h"
#include "hostname-util.h"
#include "image-dbus.h"
#include "log.h"
#include "machine-dbus.h"
#include "machine-limits.h"
#include "machine-register.h"
#include "machine-enter.h"
#include "manager.h"
#include "path-util.h"
#include "string-util.h"
#include "strv.h"

static int reply_machine_path(sd_bus_message *message, const Machine *machine) {
        _cleanup_free_ char *p = machine_bus_path(machine);
        if (!p)
                return -ENOMEM;
        return sd_bus_reply_method_return(message, "o", p);
}

static int machine_by_name(Manager *m, sd_bus_message *message, Machine **ret, sd_bus_error *error) {
        const char *name;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        *ret = manager_find_machine(m, name);
        if (!*ret)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_MACHINE, "No machine '%s' known", name);
        return 0;
}

static int method_get_machine(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Machine *machine;
        int r = machine_by_name(userdata, message, &machine, error);
        if (r < 0)
                return r;
        return reply_machine_path(message, machine);
}

static int method_get_machine_by_pid(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        Machine *machine = NULL;
        uint32_t pid;
        int r;

        r = sd_bus_message_read(message, "u", &pid);
        if (r < 0)
                return r;
        if (pid > INT32_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid PID %" PRIu32, pid);
        if (pid == 0) {
                pid_t p;
                r = bus_sender_uid_pid(message, NULL, &p);
                if (r < 0)
                        return r;
                pid = (uint32_t) p;
        }
        r = manager_find_machine_by_pid(m, (pid_t) pid, &machine);
        if (r <= 0)
                return sd_bus_error_setf(error, BUS_ERROR_NO_MACHINE_FOR_PID, "PID %" PRIu32 " does not belong to any known machine", pid);
        return reply_machine_path(message, machine);
}

static int method_list_machines(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ssso)");
        if (r < 0)
                return r;
        for (Machine *i = m->machines; i; i = i->next) {
                _cleanup_free_ char *p = machine_bus_path(i);
                if (!p)
                        return -ENOMEM;
                r = sd_bus_message_append(reply, "(ssso)", i->name, machine_class_to_string(i->class), i->service, p);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

typedef struct Registration {
        const char *name;
        const void *id;
        size_t id_size;
        const char *service;
        const char *class;
        uint32_t leader;
        const char *root_directory;
        int *netifs;
        size_t n_netifs;
        int kill_signal;
        char **properties; /* resource properties, "NAME=VALUE" */
} Registration;

static void registration_done(Registration *reg) {
        reg->properties = strv_free(reg->properties);
}

static int read_scope_properties(sd_bus_message *message, Registration *reg, sd_bus_error *error) {
        int r;

        r = sd_bus_message_enter_container(message, 'a', "(sv)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(message, 'r', "sv")) > 0) {
                const char *name, *contents;
                char type;
                r = sd_bus_message_read(message, "s", &name);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(message, &type, &contents);
                if (r < 0)
                        return r;
                if (streq(name, "KillSignal") && streq(contents, "i")) {
                        int32_t sig;
                        r = sd_bus_message_read(message, "v", "i", &sig);
                        if (r < 0)
                                return r;
                        if (sig <= 0 || sig > SIGRTMAX)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid KillSignal %" PRIi32, sig);
                        reg->kill_signal = sig;
                } else if ((r = bus_scope_property_to_assignments(message, name, &reg->properties)) != 0) {
                        if (r < 0)
                                return r;
                } else {
                        /* Slice, Controller, DevicePolicy, DeviceAllow, --property=…: tolerated */
                        r = sd_bus_message_skip(message, "v");
                        if (r < 0)
                                return r;
                }
                r = sd_bus_message_exit_container(message);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(message);
}

static int read_registration(sd_bus_message *message, bool network, bool create, Registration *reg,
                             sd_bus_error *error) {
        int r;

        r = sd_bus_message_read(message, "s", &reg->name);
        if (r < 0)
                return r;
        r = sd_bus_message_read_array(message, 'y', &reg->id, &reg->id_size);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "ssus", &reg->service, &reg->class, &reg->leader, &reg->root_directory);
        if (r < 0)
                return r;
        if (network) {
                const void *p;
                size_t n;
                r = sd_bus_message_read_array(message, 'i', &p, &n);
                if (r < 0)
                        return r;
                reg->netifs = (int *) p;
                reg->n_netifs = n / sizeof(int);
                for (size_t i = 0; i < reg->n_netifs; i++)
                        if (reg->netifs[i] <= 0)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid network interface index %i",
                                                         reg->netifs[i]);
        }
        if (create)
                return read_scope_properties(message, reg, error);
        return 0;
}

static int validate_registration(Registration *reg, MachineClass *ret_class, sd_bus_error *error) {
        const char *message = NULL;
        int r;

        if (reg->id_size != 0 && reg->id_size != 16)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid machine ID parameter");
        r = machine_registration_check(reg->name, reg->class, reg->leader, reg->root_directory, reg->service,
                                       ret_class, &message);
        if (r == -EOPNOTSUPP)
                return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED, message);
        if (r < 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, message);
        return 0;
}

static int sender_pid(sd_bus_message *message, pid_t *ret) {
        *ret = 0;
        return bus_sender_uid_pid(message, NULL, ret);
}

static int register_failed(const Registration *reg, RegisterFailure f, int r, bool create, sd_bus_error *error) {
        switch (f) {
        case REGISTER_NAME_TAKEN:
                return sd_bus_error_setf(error, BUS_ERROR_MACHINE_EXISTS, "Machine '%s' already exists", reg->name);
        case REGISTER_NO_SENDER:
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Cannot determine the caller's PID");
        case REGISTER_LEADER_TAKEN:
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Leader PID %" PRIu32 " already registered",
                                         reg->leader);
        case REGISTER_WATCH_LEADER:
                return sd_bus_error_set_errnof(error, r, "Failed to watch leader PID %" PRIu32 ": %m", reg->leader);
        case REGISTER_CGROUP:
                return sd_bus_error_set_errnof(error, r, "Failed to %s of machine '%s': %m",
                                               create ? "create the scope" : "determine the cgroup", reg->name);
        case REGISTER_START:
                return sd_bus_error_set_errnof(error, r, "Failed to start machine '%s': %m", reg->name);
        default:
                return r;
        }
}

/* CreateMachine[WithNetwork], RegisterMachine[WithNetwork]: read → validate → authorize → act → reply. */
static int register_common(sd_bus_message *message, Manager *m, bool network, bool create, sd_bus_error *error) {
        _cleanup_(registration_done) Registration reg = {};
        _cleanup_free_ char *limits_error = NULL;
        RegisterFailure failure = _REGISTER_FAILURE_MAX;
        MachineClass class = MACHINE_CONTAINER;
        Machine *machine;
        pid_t sender;
        int r;

        r = read_registration(message, network, create, &reg, error);
        if (r < 0)
                return r;
        r = validate_registration(&reg, &class, error);
        if (r < 0)
                return r;
        r = machine_limits_check(reg.properties, &limits_error);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s", limits_error);
        r = bus_verify_root(message, error);
        if (r < 0)
                return r;

        (void) sender_pid(message, &sender);
        r = manager_register_machine(m, &(MachineRegistration) {
                        .name = reg.name, .id = reg.id_size == 16 ? reg.id : NULL, .service = reg.service,
                        .class = class, .leader = (pid_t) reg.leader, .root_directory = reg.root_directory,
                        .netifs = reg.netifs, .n_netifs = reg.n_netifs, .kill_signal = reg.kill_signal,
                        .properties = reg.properties, .create = create,
                }, sender, &machine, &failure);
        if (r < 0)
                return register_failed(&reg, failure, r, create, error);
        return reply_machine_path(message, machine);
}

static int method_create_machine(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return register_common(message, userdata, false, true, error);
}

static int method_create_machine_with_network(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return register_common(message, userdata, true, true, error);
}

static int method_register_machine(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return register_common(message, userdata, false, false, error);
}

static int method_register_machine_with_network(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return register_common(message, userdata, true, false, error);
}

static int method_unregister_machine(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Machine *machine;
        int r;

        r = machine_by_name(userdata, message, &machine, error);
        if (r < 0)
                return r;
        r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        if (machine->class == MACHINE_HOST)
                return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED, "The host cannot be unregistered.");
        machine_finalize(machine);
        return sd_bus_reply_method_return(message, NULL);
}

/* The Manager twins of the Machine methods: find by name, then hand over. */
#define REDIRECT_TO_MACHINE(fname, handler)                                                      \
        static int fname(sd_bus_message *message, void *userdata, sd_bus_error *error) {         \
                Machine *machine;                                                                \
                int r = machine_by_name(userdata, message, &machine, error);                     \
                if (r < 0)                                                                       \
                        return r;                                                                \
                return handler(message, machine, error);                                         \
        }

REDIRECT_TO_MACHINE(method_terminate_machine, bus_machine_method_terminate)
REDIRECT_TO_MACHINE(method_kill_machine, bus_machine_method_kill)
REDIRECT_TO_MACHINE(method_get_machine_addresses, bus_machine_method_get_addresses)
REDIRECT_TO_MACHINE(method_get_machine_os_release, bus_machine_method_get_os_release)
REDIRECT_TO_MACHINE(method_get_machine_uid_shift, bus_machine_method_get_uid_shift)
REDIRECT_TO_MACHINE(method_open_machine_pty, bus_machine_method_open_pty)
REDIRECT_TO_MACHINE(method_open_machine_login, bus_machine_method_open_login)
REDIRECT_TO_MACHINE(method_open_machine_shell, bus_machine_method_open_shell)
REDIRECT_TO_MACHINE(method_open_machine_root_directory, bus_machine_method_open_root_directory)
REDIRECT_TO_MACHINE(method_bind_mount_machine, bus_machine_method_bind_mount)
REDIRECT_TO_MACHINE(method_copy_from_machine, bus_machine_method_copy_from)
REDIRECT_TO_MACHINE(method_copy_to_machine, bus_machine_method_copy_to)
REDIRECT_TO_MACHINE(method_copy_from_machine_with_flags, bus_machine_method_copy_from_with_flags)
REDIRECT_TO_MACHINE(method_copy_to_machine_with_flags, bus_machine_method_copy_to_with_flags)

static int image_by_name(sd_bus_message *message, Image **ret, sd_bus_error *error) {
        const char *name;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        if (!image_name_is_valid(name))
                return bus_invalid_name(error, "image", name);
        r = image_find(name, ret);
        if (r < 0)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_IMAGE, "No image '%s' known", name);
        return 0;
}

static int method_get_image(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(image_freep) Image *i = NULL;
        _cleanup_free_ char *p = NULL;
        int r;

        r = image_by_name(message, &i, error);
        if (r < 0)
                return r;
        p = image_bus_path(i->name);
        if (!p)
                return -ENOMEM;
        return sd_bus_reply_method_return(message, "o", p);
}

static int method_list_images(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Image *images = NULL;
        int r;

        r = image_discover(&images);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssbttto)");
        for (Image *i = images; i && r >= 0; i = i->next) {
                _cleanup_free_ char *p = image_bus_path(i->name);
                r = p ? sd_bus_message_append(reply, "(ssbttto)", i->name, image_type_to_string(i->type),
                                              i->read_only, i->crtime, i->mtime, i->usage, p)
                      : -ENOMEM;
        }
        image_list_free(images);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

#define REDIRECT_TO_IMAGE(fname, handler)                                                \
        static int fname(sd_bus_message *message, void *userdata, sd_bus_error *error) { \
                _cleanup_(image_freep) Image *i = NULL;                                  \
                int r = image_by_name(message, &i, error);                               \
                if (r < 0)                                                               \
                        return r;                                                        \
                return handler(message, i, error);                                       \
        }

REDIRECT_TO_IMAGE(method_get_image_hostname, bus_image_method_get_hostname)
REDIRECT_TO_IMAGE(method_get_image_machine_id, bus_image_method_get_machine_id)
REDIRECT_TO_IMAGE(method_get_image_machine_info, bus_image_method_get_machine_info)
REDIRECT_TO_IMAGE(method_get_image_os_release, bus_image_method_get_os_release)

/* The methods that change images: root only, checked before the lookup (no hint whether it exists). */
#define REDIRECT_TO_IMAGE_PRIVILEGED(fname, handler)                                     \
        static int fname(sd_bus_message *message, void *userdata, sd_bus_error *error) { \
                _cleanup_(image_freep) Image *i = NULL;                                  \
                int r = bus_verify_root(message, error);                                 \
                if (r < 0)                                                               \
                        return r;                                                        \
                r = image_by_name(message, &i, error);                                   \
                if (r < 0)                                                               \
                        return r;                                                        \
                return handler(message, i, error);                                       \
        }

REDIRECT_TO_IMAGE_PRIVILEGED(method_remove_image, bus_image_method_remove)
REDIRECT_TO_IMAGE_PRIVILEGED(method_rename_image, bus_image_method_rename)
REDIRECT_TO_IMAGE_PRIVILEGED(method_clone_image, bus_image_method_clone)
REDIRECT_TO_IMAGE_PRIVILEGED(method_mark_image_read_only, bus_image_method_mark_read_only)
REDIRECT_TO_IMAGE_PRIVILEGED(method_set_image_limit, bus_image_method_set_limit)

static int map_from_machine(sd_bus_message *message, Manager *m, bool group, sd_bus_error *error) {
        Machine *machine;
        uint32_t id, out;
        int r;

        r = machine_by_name(m, message, &machine, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "u", &id);
        if (r < 0)
                return r;
        if (machine->class != MACHINE_CONTAINER)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Not supported for non-container machines.");
        r = machine_map_id(machine, group, true, id, &out);
        if (r == -ENXIO)
                /* 252 reports unmapped groups with the user error name too */
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_USER_MAPPING, "Machine '%s' has no matching %s mappings.",
                                         machine->name, group ? "group" : "user");
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to map: %m");
        return sd_bus_reply_method_return(message, "u", out);
}

static int method_map_from_machine_user(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return map_from_machine(message, userdata, false, error);
}

static int method_map_from_machine_group(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return map_from_machine(message, userdata, true, error);
}

static int map_to_machine(sd_bus_message *message, Manager *m, bool group, sd_bus_error *error) {
        uint32_t id, inner;
        int r;

        r = sd_bus_message_read(message, "u", &id);
        if (r < 0)
                return r;
        if (id >= 65536)
                for (Machine *i = m->machines; i; i = i->next) {
                        if (i->class != MACHINE_CONTAINER || machine_map_id(i, group, false, id, &inner) < 0)
                                continue;
                        _cleanup_free_ char *p = machine_bus_path(i);
                        if (!p)
                                return -ENOMEM;
                        return sd_bus_reply_method_return(message, "sou", i->name, p, inner);
                }
        return sd_bus_error_setf(error, group ? BUS_ERROR_NO_SUCH_GROUP_MAPPING : BUS_ERROR_NO_SUCH_USER_MAPPING,
                                 "%s " "%" PRIu32 " belongs to host %s or no machine.", group ? "GID" : "UID", id,
                                 group ? "group" : "user");
}

static int method_map_to_machine_user(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return map_to_machine(message, userdata, false, error);
}

static int method_map_to_machine_group(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return map_to_machine(message, userdata, true, error);
}

static int property_get_pool_path(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", "/var/lib/machines");
}

static int property_get_unknown_size(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "t", UINT64_MAX);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("PoolPath", "s", property_get_pool_path, 0, 0),
        SD_BUS_PROPERTY("PoolUsage", "t", property_get_unknown_size, 0, 0),
        SD_BUS_PROPERTY("PoolLimit", "t", property_get_unknown_size, 0, 0),
        SD_BUS_METHOD_WITH_NAMES("GetMachine", "s", SD_BUS_PARAM(name), "o", SD_BUS_PARAM(machine),
                                 method_get_machine, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetImage", "s", SD_BUS_PARAM(name), "o", SD_BUS_PARAM(image),
                                 method_get_image, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetMachineByPID", "u", SD_BUS_PARAM(pid), "o", SD_BUS_PARAM(machine),
                                 method_get_machine_by_pid, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ListMachines", NULL, , "a(ssso)", SD_BUS_PARAM(machines),
                                 method_list_machines, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ListImages", NULL, , "a(ssbttto)", SD_BUS_PARAM(images),
                                 method_list_images, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("CreateMachine", "sayssusa(sv)",
                                 SD_BUS_PARAM(name) SD_BUS_PARAM(id) SD_BUS_PARAM(service) SD_BUS_PARAM(class)
                                 SD_BUS_PARAM(leader) SD_BUS_PARAM(root_directory) SD_BUS_PARAM(scope_properties),
                                 "o", SD_BUS_PARAM(path), method_create_machine, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("CreateMachineWithNetwork", "sayssusaia(sv)",
                                 SD_BUS_PARAM(name) SD_BUS_PARAM(id) SD_BUS_PARAM(service) SD_BUS_PARAM(class)
                                 SD_BUS_PARAM(leader) SD_BUS_PARAM(root_directory) SD_BUS_PARAM(ifindices)
                                 SD_BUS_PARAM(scope_properties),
                                 "o", SD_BUS_PARAM(path), method_create_machine_with_network, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("RegisterMachine", "sayssus",
                                 SD_BUS_PARAM(name) SD_BUS_PARAM(id) SD_BUS_PARAM(service) SD_BUS_PARAM(class)
                                 SD_BUS_PARAM(leader) SD_BUS_PARAM(root_directory),
                                 "o", SD_BUS_PARAM(path), method_register_machine, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("RegisterMachineWithNetwork", "sayssusai",
                                 SD_BUS_PARAM(name) SD_BUS_PARAM(id) SD_BUS_PARAM(service) SD_BUS_PARAM(class)
                                 SD_BUS_PARAM(leader) SD_BUS_PARAM(root_directory) SD_BUS_PARAM(ifindices),
                                 "o", SD_BUS_PARAM(path), method_register_machine_with_network, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("UnregisterMachine", "s", SD_BUS_PARAM(name), NULL, ,
                                 method_unregister_machine, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("TerminateMachine", "s", SD_BUS_PARAM(id), NULL, ,
                                 method_terminate_machine, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("KillMachine", "ssi", SD_BUS_PARAM(name) SD_BUS_PARAM(who) SD_BUS_PARAM(signal), NULL, ,
                                 method_kill_machine, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetMachineAddresses", "s", SD_BUS_PARAM(name), "a(iay)", SD_BUS_PARAM(addresses),
                                 method_get_machine_addresses, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetMachineOSRelease", "s", SD_BUS_PARAM(name), "a{ss}", SD_BUS_PARAM(fields),
                                 method_get_machine_os_release, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("OpenMachinePTY", "s", SD_BUS_PARAM(name), "hs", SD_BUS_PARAM(pty) SD_BUS_PARAM(pty_path),
                                 method_open_machine_pty, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("OpenMachineLogin", "s", SD_BUS_PARAM(name), "hs", SD_BUS_PARAM(pty) SD_BUS_PARAM(pty_path),
                                 method_open_machine_login, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("OpenMachineShell", "sssasas",
                                 SD_BUS_PARAM(name) SD_BUS_PARAM(user) SD_BUS_PARAM(path) SD_BUS_PARAM(args)
                                 SD_BUS_PARAM(environment),
                                 "hs", SD_BUS_PARAM(pty) SD_BUS_PARAM(pty_path), method_open_machine_shell,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("BindMountMachine", "sssbb",
                                 SD_BUS_PARAM(name) SD_BUS_PARAM(source) SD_BUS_PARAM(destination)
                                 SD_BUS_PARAM(read_only) SD_BUS_PARAM(mkdir),
                                 NULL, , method_bind_mount_machine, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("CopyFromMachine", "sss", SD_BUS_PARAM(name) SD_BUS_PARAM(source) SD_BUS_PARAM(destination),
                                 NULL, , method_copy_from_machine, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("CopyToMachine", "sss", SD_BUS_PARAM(name) SD_BUS_PARAM(source) SD_BUS_PARAM(destination),
                                 NULL, , method_copy_to_machine, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("CopyFromMachineWithFlags", "ssst",
                                 SD_BUS_PARAM(name) SD_BUS_PARAM(source) SD_BUS_PARAM(destination) SD_BUS_PARAM(flags),
                                 NULL, , method_copy_from_machine_with_flags, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("CopyToMachineWithFlags", "ssst",
                                 SD_BUS_PARAM(name) SD_BUS_PARAM(source) SD_BUS_PARAM(destination) SD_BUS_PARAM(flags),
                                 NULL, , method_copy_to_machine_with_flags, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("OpenMachineRootDirectory", "s", SD_BUS_PARAM(name), "h", SD_BUS_PARAM(fd),
                                 method_open_machine_root_directory, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetMachineUIDShift", "s", SD_BUS_PARAM(name), "u", SD_BUS_PARAM(shift),
                                 method_get_machine_uid_shift, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("RemoveImage", "s", SD_BUS_PARAM(name), NULL, , method_remove_image,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("RenameImage", "ss", SD_BUS_PARAM(name) SD_BUS_PARAM(new_name), NULL, ,
                                 method_rename_image, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("CloneImage", "ssb", SD_BUS_PARAM(name) SD_BUS_PARAM(new_name) SD_BUS_PARAM(read_only),
                                 NULL, , method_clone_image, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("MarkImageReadOnly", "sb", SD_BUS_PARAM(name) SD_BUS_PARAM(read_only), NULL, ,
                                 method_mark_image_read_only, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetImageHostname", "s", SD_BUS_PARAM(name), "s", SD_BUS_PARAM(hostname),
                                 method_get_image_hostname, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetImageMachineID", "s", SD_BUS_PARAM(name), "ay", SD_BUS_PARAM(id),
                                 method_get_image_machine_id, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetImageMachineInfo", "s", SD_BUS_PARAM(name), "a{ss}", SD_BUS_PARAM(machine_info),
                                 method_get_image_machine_info, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetImageOSRelease", "s", SD_BUS_PARAM(name), "a{ss}", SD_BUS_PARAM(os_release),
                                 method_get_image_os_release, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("SetPoolLimit", "t", SD_BUS_PARAM(size), NULL, , bus_manager_method_set_pool_limit,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("SetImageLimit", "st", SD_BUS_PARAM(name) SD_BUS_PARAM(size), NULL, ,
                                 method_set_image_limit, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("CleanPool", "s", SD_BUS_PARAM(mode), "a(st)", SD_BUS_PARAM(images),
                                 bus_manager_method_clean_pool, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("MapFromMachineUser", "su", SD_BUS_PARAM(name) SD_BUS_PARAM(uid_inner), "u",
                                 SD_BUS_PARAM(uid_outer), method_map_from_machine_user, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("MapToMachineUser", "u", SD_BUS_PARAM(uid_outer), "sou",
                                 SD_BUS_PARAM(machine_name) SD_BUS_PARAM(machine_path) SD_BUS_PARAM(uid_inner),
                                 method_map_to_machine_user, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("MapFromMachineGroup", "su", SD_BUS_PARAM(name) SD_BUS_PARAM(gid_inner), "u",
                                 SD_BUS_PARAM(gid_outer), method_map_from_machine_group, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("MapToMachineGroup", "u", SD_BUS_PARAM(gid_outer), "sou",
                                 SD_BUS_PARAM(machine_name) SD_BUS_PARAM(machine_path) SD_BUS_PARAM(gid_inner),
                                 method_map_to_machine_group, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_NAMES("MachineNew", "so", SD_BUS_PARAM(machine) SD_BUS_PARAM(path), 0),
        SD_BUS_SIGNAL_WITH_NAMES("MachineRemoved", "so", SD_BUS_PARAM(machine) SD_BUS_PARAM(path), 0),
        SD_BUS_VTABLE_END
};

static void send_machine_signal(Manager *m, Machine *machine, const char *member) {
        _cleanup_free_ char *p = NULL;
        int r;

        if (!m->bus)
                return;
        p = machine_bus_path(machine);
        if (!p)
                return;
        r = sd_bus_emit_signal(m->bus, MACHINE1_PATH, MACHINE1_MANAGER_IFACE, member, "so", machine->name, p);
        if (r < 0)
                log_debug_errno(r, "Failed to send %s: %m", member);
}

void manager_send_machine_new(Manager *m, Machine *machine) {
        send_machine_signal(m, machine, "MachineNew");
        berth_machine_new(m, machine);
}

void manager_send_machine_removed(Manager *m, Machine *machine) {
        send_machine_signal(m, machine, "MachineRemoved");
}

int manager_add_bus_objects(Manager *m) {
        int r;

        r = sd_bus_add_object_vtable(m->bus, NULL, MACHINE1_PATH, MACHINE1_MANAGER_IFACE, manager_vtable, m);
        if (r < 0)
                return r;
        r = berth_add_bus_objects(m);
        if (r < 0)
                return r;
        r = sd_bus_add_fallback_vtable(m->bus, NULL, MACHINE1_MACHINE_PREFIX, MACHINE1_MACHINE_IFACE, machine_vtable,
                                       machine_object_find, m);
        if (r < 0)
                return r;
        r = sd_bus_add_node_enumerator(m->bus, NULL, MACHINE1_MACHINE_PREFIX, machine_node_enumerator, m);
        if (r < 0)
                return r;
        r = sd_bus_add_fallback_vtable(m->bus, NULL, MACHINE1_IMAGE_PREFIX, MACHINE1_IMAGE_IFACE, image_vtable,
                                       image_object_find, m);
        if (r < 0)
                return r;
        return sd_bus_add_node_enumerator(m->bus, NULL, MACHINE1_IMAGE_PREFIX, image_node_enumerator, m);
}

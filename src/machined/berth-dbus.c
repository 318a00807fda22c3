/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <string.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "hostname-util.h"
#include "berth-dbus.h"
#include "bus-names.h"
#include "image.h"
#include "log.h"
#include "machine-dbus.h"
#include "machine-exec.h"
#include "machine-limits.h"
#include "machine-start.h"
#include "parse-util.h"
#include "string-util.h"
#include "strv.h"
#include "transfer-dbus.h"

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", PROJECT_VERSION);
}

static int property_get_n_machines(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "u", (uint32_t) m->n_machines);
}

static void start_done(Machine *machine, int error, const char *why, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = userdata;
        _cleanup_free_ char *path = NULL;
        int r;

        if (machine) {
                path = machine_bus_path(machine);
                r = path ? sd_bus_reply_method_return(call, "o", path) : -ENOMEM;
        } else
                r = sd_bus_reply_method_errorf(call, error == -ETIMEDOUT ? SD_BUS_ERROR_TIMEOUT : SD_BUS_ERROR_FAILED,
                                               "%s", why);
        if (r < 0)
                log_debug_errno(r, "Failed to answer StartMachine: %m");
}

static int method_start_machine(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *name;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        r = manager_start_machine(m, name, start_done, sd_bus_message_ref(message));
        if (r >= 0)
                return 1; /* answered when the machine registers or the launcher fails */
        sd_bus_message_unref(message);
        switch (r) {
        case -EINVAL:
                return bus_invalid_name(error, "machine", name);
        case -EEXIST:
                return sd_bus_error_setf(error, BUS_ERROR_MACHINE_EXISTS, "Machine '%s' is already running", name);
        case -EALREADY:
                return sd_bus_error_setf(error, BUS_ERROR_MACHINE_EXISTS, "Machine '%s' is being started", name);
        case -ENOENT:
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_IMAGE, "No image '%s' known", name);
        default:
                return sd_bus_error_set_errnof(error, r, "Failed to start machine '%s': %m", name);
        }
}

static int method_set_autostart(sd_bus_message *message, Manager *m, bool enable, sd_bus_error *error) {
        _cleanup_(image_freep) Image *image = NULL;
        const char *name;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        if (!machine_name_is_valid(name))
                return bus_invalid_name(error, "machine", name);
        if (enable && image_find(name, &image) < 0)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_IMAGE, "No image '%s' known", name);
        r = autostart_set(m, name, enable);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to %s machine '%s': %m",
                                               enable ? "enable" : "disable", name);
        return sd_bus_reply_method_return(message, NULL);
}

static int method_set_machine_properties(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_strv_free_ char **assignments = NULL;
        _cleanup_free_ char *why = NULL;
        _cleanup_(image_freep) Image *image = NULL;
        Manager *m = userdata;
        const char *name;
        int runtime, r;

        r = sd_bus_message_read(message, "sb", &name, &runtime);
        if (r >= 0)
                r = sd_bus_message_read_strv(message, &assignments);
        if (r < 0)
                return r;
        if (!machine_name_is_valid(name))
                return bus_invalid_name(error, "machine", name);
        if (strv_length(assignments) == 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "No properties given");
        r = machine_limits_check(assignments, &why);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s", why);
        r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        if (!manager_find_machine(m, name) && !runtime && image_find(name, &image) < 0)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_MACHINE, "No machine or image '%s' known", name);
        r = machine_set_properties(m, name, assignments, runtime, &why);
        if (r == -ESRCH)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_MACHINE, "No machine '%s' known", name);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to set properties of machine '%s': %s", name,
                                               why ?: strerror(-r));
        return sd_bus_reply_method_return(message, NULL);
}

static int method_enable_machine(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return method_set_autostart(message, userdata, true, error);
}

static int method_disable_machine(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return method_set_autostart(message, userdata, false, error);
}

static int property_get_autostart(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_(closedirp) DIR *d = opendir(m->autostart_dir);
        struct dirent *de;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "s");
        if (r < 0)
                return r;
        while (d && (de = readdir(d)))
                if (de->d_name[0] != '.' && machine_name_is_valid(de->d_name)) {
                        r = sd_bus_message_append(reply, "s", de->d_name);
                        if (r < 0)
                                return r;
                }
        return sd_bus_message_close_container(reply);
}

static void exec_done(int status, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = userdata;
        int r;

        if (status < 0)
                return; /* we are exiting: the caller sees the connection close */
        r = sd_bus_reply_method_return(call, "i", (int32_t) status);
        if (r < 0)
                log_debug_errno(r, "Failed to answer ExecMachine: %m");
}

/* "/dev/pts/N" -> N; "" -> -1 (no terminal). */
static int parse_tty(const char *tty) {
        unsigned n;

        if (isempty(tty))
                return -1;
        const char *num = startswith(tty, "/dev/pts/");
        if (!num || safe_atou(num, &n) < 0 || n > 1u << 20)
                return -EINVAL;
        return (int) n;
}

/* ExecMachine's arguments after the machine name. The strvs are the request's own. */
typedef struct ExecCall {
        ShellRequest req;
        const char *tty;
        int fds[3];
} ExecCall;

static void exec_call_done(ExecCall *c) {
        strv_free(c->req.args);
        strv_free(c->req.environment);
}

static int read_exec_call(sd_bus_message *message, ExecCall *c) {
        int r;

        r = sd_bus_message_read(message, "ss", &c->req.user, &c->req.path);
        if (r < 0)
                return r;
        r = sd_bus_message_read_strv(message, &c->req.args);
        if (r < 0)
                return r;
        r = sd_bus_message_read_strv(message, &c->req.environment);
        if (r < 0)
                return r;
        return sd_bus_message_read(message, "shhh", &c->tty, &c->fds[0], &c->fds[1], &c->fds[2]);
}

/* read → validate → authorize → act; the reply comes from exec_done() when the command exits. */
static int method_exec_machine(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(exec_call_done) ExecCall c = {};
        Manager *m = userdata;
        Machine *machine;
        const char *name;
        int pty, r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        r = read_exec_call(message, &c);
        if (r < 0)
                return r;

        r = bus_shell_request_validate(&c.req, error);
        if (r < 0)
                return r;
        pty = parse_tty(c.tty);
        if (pty == -EINVAL)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid terminal '%s'", c.tty);

        r = bus_verify_root(message, error);
        if (r < 0)
                return r;

        machine = manager_find_machine(m, name);
        if (!machine)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_MACHINE, "No machine '%s' known", name);
        r = machine_exec(machine, &c.req, pty, c.fds, exec_done, sd_bus_message_ref(message));
        if (r < 0) {
                sd_bus_message_unref(message);
                return sd_bus_error_set_errnof(error, r, "Failed to run a command in machine '%s': %m", name);
        }
        return 1;
}

static const sd_bus_vtable berth_manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("StateDirectory", "s", NULL, offsetof(Manager, state_dir), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("LogDirectory", "s", NULL, offsetof(Manager, log_dir), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("NMachines", "u", property_get_n_machines, 0, 0),
        SD_BUS_PROPERTY("AutostartMachines", "as", property_get_autostart, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_METHOD_WITH_NAMES("ListMachinesWithDetails", NULL, , "a(sssoa{ss}a(iay))", SD_BUS_PARAM(machines),
                                 bus_method_list_machines_with_details, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("StartMachine", "s", SD_BUS_PARAM(name), "o", SD_BUS_PARAM(machine),
                                 method_start_machine, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("SetMachineProperties", "sbas",
                                 SD_BUS_PARAM(name) SD_BUS_PARAM(runtime) SD_BUS_PARAM(properties), NULL, ,
                                 method_set_machine_properties, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("EnableMachine", "s", SD_BUS_PARAM(name), NULL, , method_enable_machine,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("DisableMachine", "s", SD_BUS_PARAM(name), NULL, , method_disable_machine,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ExecMachine", "sssasasshhh",
                                 SD_BUS_PARAM(name) SD_BUS_PARAM(user) SD_BUS_PARAM(path) SD_BUS_PARAM(args)
                                 SD_BUS_PARAM(environment) SD_BUS_PARAM(tty) SD_BUS_PARAM(stdin)
                                 SD_BUS_PARAM(stdout) SD_BUS_PARAM(stderr),
                                 "i", SD_BUS_PARAM(status), method_exec_machine, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ImportTar", "hsbb", SD_BUS_PARAM(fd) SD_BUS_PARAM(name) SD_BUS_PARAM(force)
                                 SD_BUS_PARAM(read_only), NULL, , bus_method_import_tar, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ImportRaw", "hsbb", SD_BUS_PARAM(fd) SD_BUS_PARAM(name) SD_BUS_PARAM(force)
                                 SD_BUS_PARAM(read_only), NULL, , bus_method_import_raw, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ImportOCI", "hsbb", SD_BUS_PARAM(fd) SD_BUS_PARAM(name) SD_BUS_PARAM(force)
                                 SD_BUS_PARAM(read_only), NULL, , bus_method_import_oci, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ImportFileSystem", "hsbb", SD_BUS_PARAM(fd) SD_BUS_PARAM(name) SD_BUS_PARAM(force)
                                 SD_BUS_PARAM(read_only), NULL, , bus_method_import_fs, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ExportTar", "shs", SD_BUS_PARAM(name) SD_BUS_PARAM(fd) SD_BUS_PARAM(format),
                                 NULL, , bus_method_export_tar, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ExportRaw", "shs", SD_BUS_PARAM(name) SD_BUS_PARAM(fd) SD_BUS_PARAM(format),
                                 NULL, , bus_method_export_raw, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("PullTar", "sssbb", SD_BUS_PARAM(url) SD_BUS_PARAM(name) SD_BUS_PARAM(verify)
                                 SD_BUS_PARAM(force) SD_BUS_PARAM(read_only), NULL, , bus_method_pull_tar,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("PullRaw", "sssbb", SD_BUS_PARAM(url) SD_BUS_PARAM(name) SD_BUS_PARAM(verify)
                                 SD_BUS_PARAM(force) SD_BUS_PARAM(read_only), NULL, , bus_method_pull_raw,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("PullOCI", "ssbbbs", SD_BUS_PARAM(reference) SD_BUS_PARAM(name) SD_BUS_PARAM(force)
                                 SD_BUS_PARAM(read_only) SD_BUS_PARAM(tls_verify) SD_BUS_PARAM(layers), NULL, ,
                                 bus_method_pull_oci,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ListTransfers", NULL, , "a(usssdttt)", SD_BUS_PARAM(transfers),
                                 bus_method_list_transfers, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("CancelTransfer", "u", SD_BUS_PARAM(id), NULL, , bus_method_cancel_transfer,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

int berth_add_bus_objects(Manager *m) {
        return sd_bus_add_object_vtable(m->bus, NULL, MACHINE1_PATH, BERTH_MANAGER_IFACE, berth_manager_vtable, m);
}

void berth_machine_new(Manager *m, Machine *machine) {
        start_jobs_machine_new(m, machine);
}

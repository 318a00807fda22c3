/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc-util.h"
#include "ctl-bus.h"
#include "ctl.h"
#include "log.h"
#include "string-util.h"
#include "strv.h"

int ctl_bus_open(sd_bus **ret) {
        int r = sd_bus_open_system(ret);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m. Is dbus-daemon running? "
                                          "(Start it with 'dbus-daemon --system --fork' as root.)");
        return 0;
}

static bool error_is(const sd_bus_error *e, const char *name) {
        return sd_bus_error_has_name(e, name);
}

int ctl_log_bus_error(const sd_bus_error *error, int r, const char *what) {
        if (error_is(error, SD_BUS_ERROR_SERVICE_UNKNOWN) || error_is(error, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                return log_error_errno(r, "No machine manager is running on the system bus: start berthd "
                                          "(as root, 'berthd &', or 'systemctl start berthd').");
        if (error_is(error, SD_BUS_ERROR_ACCESS_DENIED) ||
            ((!error || !sd_bus_error_is_set(error)) && (r == -EACCES || r == -EPERM)))
                return log_error_errno(r, "Cannot %s: permission denied; this needs root (try sudo).", what);
        if (error_is(error, "org.freedesktop.machine1.NoSuchMachine") ||
            error_is(error, "org.freedesktop.machine1.NoSuchImage") ||
            error_is(error, "org.freedesktop.machine1.MachineExists") ||
            error_is(error, "org.freedesktop.machine1.NoMachineForPID"))
                return log_error_errno(r, "%s.", error->message);
        if (error_is(error, SD_BUS_ERROR_UNKNOWN_METHOD) || error_is(error, SD_BUS_ERROR_UNKNOWN_INTERFACE))
                return log_error_errno(r, "Cannot %s: the machine manager on the bus does not support it (%s).",
                                       what, error->message);
        if (error && sd_bus_error_is_set(error))
                return log_error_errno(r, "Failed to %s: %s", what, error->message);
        return log_error_errno(r, "Failed to %s: %m", what);
}

int ctl_invalid_name(const char *name) {
        return log_error_errno(-EINVAL, "Invalid machine name '%s'.", name);
}

typedef struct PendingCall {
        sd_bus_message *reply;
        bool done;
} PendingCall;

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        PendingCall *c = userdata;

        c->reply = sd_bus_message_ref(m);
        c->done = true;
        return 0;
}

/* sd_bus_call() first waits for the bus's answer to Hello, then sends; sent asynchronously, the call
 * goes out right behind Hello and the reply comes one round trip sooner (most runs of berthctl make
 * one or two calls). Same results as sd_bus_call(). */
static int call_pipelined(sd_bus *bus, const char *iface, const char *member, sd_bus_error *error,
                          sd_bus_message **reply, const char *types, va_list ap) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        PendingCall c = {};
        int r;

        r = sd_bus_message_new_method_call(bus, &m, MACHINE1_BUS_NAME, MACHINE1_PATH, iface, member);
        if (r >= 0 && !isempty(types))
                r = sd_bus_message_appendv(m, types, ap);
        if (r >= 0)
                r = sd_bus_call_async(bus, &slot, m, on_reply, &c, 0);
        while (r >= 0 && !c.done) {
                r = sd_bus_process(bus, NULL);
                if (r == 0)
                        r = sd_bus_wait(bus, UINT64_MAX);
        }
        if (r >= 0 && sd_bus_message_is_method_error(c.reply, NULL)) {
                r = -sd_bus_message_get_errno(c.reply);
                (void) sd_bus_error_copy(error, sd_bus_message_get_error(c.reply));
        }
        if (r >= 0 && reply)
                *reply = TAKE_PTR(c.reply);
        sd_bus_message_unref(c.reply);
        return r < 0 ? r : 1;
}

int ctl_call(sd_bus *bus, const char *member, sd_bus_message **reply, const char *types, ...) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        va_list ap;
        int r;

        va_start(ap, types);
        r = call_pipelined(bus, MACHINE1_MANAGER_IFACE, member, &error, reply, types, ap);
        va_end(ap);
        if (r < 0) {
                _cleanup_free_ char *what = strjoin("call ", member);
                return ctl_log_bus_error(&error, r, what ?: member);
        }
        return r;
}

int ctl_call_berth(sd_bus *bus, const char *member, sd_bus_error *error, sd_bus_message **reply,
                   const char *types, ...) {
        va_list ap;
        int r;

        va_start(ap, types);
        r = call_pipelined(bus, BERTH_MANAGER_IFACE, member, error, reply, types, ap);
        va_end(ap);
        return r;
}

static int object_path(sd_bus *bus, const char *method, const char *name, char **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *p;
        int r;

        r = ctl_call(bus, method, &reply, "s", name);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &p);
        if (r < 0)
                return log_error_errno(r, "Malformed reply to %s: %m", method);
        *ret = strdup(p);
        return *ret ? 0 : log_oom();
}

int ctl_machine_path(sd_bus *bus, const char *name, char **ret) {
        return object_path(bus, "GetMachine", name, ret);
}

int ctl_image_path(sd_bus *bus, const char *name, char **ret) {
        return object_path(bus, "GetImage", name, ret);
}

int ctl_get_string(sd_bus *bus, const char *path, const char *iface, const char *prop, char **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r = sd_bus_get_property_string(bus, MACHINE1_BUS_NAME, path, iface, prop, &error, ret);
        if (r < 0)
                return ctl_log_bus_error(&error, r, "read a property");
        return 0;
}

bool ctl_is_berthd(sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *v = NULL;
        return sd_bus_get_property_string(bus, MACHINE1_BUS_NAME, MACHINE1_PATH, BERTH_MANAGER_IFACE, "Version",
                                          &error, &v) >= 0;
}

bool ctl_have_systemd(void) {
        return access("/run/systemd/system", F_OK) >= 0;
}

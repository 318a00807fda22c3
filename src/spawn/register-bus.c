/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus-names.h"
#include "log.h"
#include "macro.h"
#include "register-properties.h"
#include "register-bus.h"

static void bus_unrefp(sd_bus **b) {
        sd_bus_flush_close_unref(*b);
}

static int name_has_owner(sd_bus *bus) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int owned = 0, r;

        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "NameHasOwner", &error, &reply, "s", MACHINE1_BUS_NAME);
        if (r >= 0)
                r = sd_bus_message_read(reply, "b", &owned);
        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
        return r < 0 ? r : owned;
}

int spawn_registry_is_berthd(sd_bus *bus) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        char *version = NULL;
        int r;

        /* berth's extension interface answers; systemd-machined says UnknownInterface/Property */
        r = sd_bus_get_property_string(bus, MACHINE1_BUS_NAME, MACHINE1_PATH, BERTH_MANAGER_IFACE, "Version",
                                       &error, &version);
        sd_bus_error_free(&error);
        free(version);
        return r >= 0;
}

static int call_register(sd_bus *bus, bool berthd, const SpawnRegistration *reg, sd_bus_error *error) {
        static const uint8_t zero[16] = {};
        sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, MACHINE1_BUS_NAME, MACHINE1_PATH, MACHINE1_MANAGER_IFACE,
                                           berthd ? "RegisterMachineWithNetwork" : "CreateMachineWithNetwork");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", reg->name);
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', reg->uuid ?: zero,
                                                reg->uuid && memcmp(reg->uuid, zero, 16) != 0 ? 16 : 0);
        if (r >= 0)
                r = sd_bus_message_append(m, "ssus", reg->service ?: "berth", reg->class ?: "container",
                                          (uint32_t) reg->leader, reg->root_directory ?: "");
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'i', &reg->netif, reg->netif > 0 ? sizeof(int) : 0);
        if (r >= 0 && !berthd) {
                /* machined makes machine-NAME.scope in machine.slice; systemd applies the limits there */
                r = sd_bus_message_open_container(m, 'a', "(sv)");
                if (r >= 0)
                        r = bus_append_cgroup_assignments(m, reg->properties);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0)
                r = sd_bus_call(bus, m, 0, error, NULL);
        sd_bus_message_unref(m);
        return r;
}

int spawn_register(const SpawnRegistration *reg, RegisterMode mode, sd_bus **ret_bus) {
        _cleanup_(bus_unrefp) sd_bus *bus = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *name = reg->name;
        bool berthd;
        int r;

        *ret_bus = NULL;
        if (mode == REGISTER_NO)
                return 0;
        if (!name || reg->leader <= 1)
                return log_error_errno(-EINVAL, "Cannot register a machine without a name and leader.");

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                if (mode == REGISTER_AUTO) {
                        log_debug_errno(r, "No system bus, not registering machine %s: %m", name);
                        return 0;
                }
                return log_error_errno(r, "Failed to connect to the system bus to register machine %s: %m", name);
        }
        r = name_has_owner(bus);
        if (r <= 0 && mode == REGISTER_AUTO) {
                log_debug("Nobody owns %s, not registering machine %s.", MACHINE1_BUS_NAME, name);
                return 0;
        }
        /* with --register=yes an unowned name may still be activatable: just call */
        berthd = r > 0 && spawn_registry_is_berthd(bus);
        r = call_register(bus, berthd, reg, &error);
        if (r < 0) {
                log_error_errno(r, "Failed to register machine %s: %s", name, error.message ?: strerror(-r));
                sd_bus_error_free(&error);
                return r;
        }
        log_debug("Registered machine %s with %s.", name, berthd ? "berthd" : "systemd-machined");
        *ret_bus = bus;
        bus = NULL;
        return berthd ? 1 : 2;
}

int spawn_unregister(sd_bus *bus, const char *name) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        if (!bus)
                return 0;
        r = sd_bus_call_method(bus, MACHINE1_BUS_NAME, MACHINE1_PATH, MACHINE1_MANAGER_IFACE, "UnregisterMachine",
                               &error, NULL, "s", name);
        if (r < 0 && sd_bus_error_has_name(&error, "org.freedesktop.machine1.NoSuchMachine"))
                r = 0; /* the registry noticed the leader's death first */
        if (r < 0)
                log_debug_errno(r, "Failed to unregister machine %s: %s", name, error.message ?: strerror(-r));
        sd_bus_error_free(&error);
        return r;
}

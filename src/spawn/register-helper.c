/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berth-register: registers a machine with whoever owns org.freedesktop.machine1 (berthd, or
 * systemd-machined), and unregisters it. berth-spawn runs it as a short-lived helper, so the
 * launcher that stays with the machine does not carry libsystemd and its dependencies around.
 *
 *   berth-register register NAME UUID LEADER ROOT SERVICE CLASS
 *   berth-register unregister NAME
 *
 * Exit status: 0 done; 3 nobody owns org.freedesktop.machine1 (or there is no system bus);
 * 1 any other failure, explained on stderr. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "id128.h"
#include "log.h"
#include "parse-util.h"
#include "string-util.h"

#define EXIT_NO_REGISTRY 3
#define MACHINE1 "org.freedesktop.machine1"
#define MACHINE1_PATH "/org/freedesktop/machine1"
#define MACHINE1_MANAGER MACHINE1 ".Manager"

static int open_bus(sd_bus **ret) {
        int r = sd_bus_open_system(ret);
        if (IN_SET(r, -ENOENT, -ECONNREFUSED, -ENOTCONN))
                return -ENXIO;
        return r;
}

/* systemd-machined makes the scope itself (CreateMachine); berthd takes the leader where it is. */
static int owner_is_systemd_machined(sd_bus *bus) {
        sd_bus_creds *creds = NULL;
        const char *comm = NULL;
        int r;

        r = sd_bus_get_name_creds(bus, MACHINE1, SD_BUS_CREDS_PID | SD_BUS_CREDS_COMM, &creds);
        if (r < 0)
                return -ENXIO; /* no owner (or we cannot even ask): nobody to register with */
        r = sd_bus_creds_get_comm(creds, &comm);
        r = r >= 0 && comm && streq(comm, "systemd-machine");
        sd_bus_creds_unref(creds);
        return r;
}

static int do_register(int argc, char **argv) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL, *reply = NULL;
        sd_bus *bus = NULL;
        Id128 uuid = {};
        unsigned leader;
        int r, machined;

        if (argc != 8 || id128_from_string(argv[3], &uuid) < 0 || safe_atou(argv[4], &leader) < 0 || leader <= 1)
                return log_error_errno(-EINVAL, "Usage: berth-register register NAME UUID LEADER ROOT SERVICE CLASS");
        r = open_bus(&bus);
        if (r == -ENXIO)
                return EXIT_NO_REGISTRY;
        if (r < 0) {
                log_error_errno(r, "Failed to connect to the system bus: %m");
                return 1;
        }
        machined = owner_is_systemd_machined(bus);
        if (machined == -ENXIO) {
                sd_bus_unref(bus);
                return EXIT_NO_REGISTRY;
        }
        r = sd_bus_message_new_method_call(bus, &m, MACHINE1, MACHINE1_PATH, MACHINE1_MANAGER,
                                           machined > 0 ? "CreateMachine" : "RegisterMachine");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", argv[2]);
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', uuid.bytes, sizeof uuid.bytes);
        if (r >= 0) /* service, class, leader, root directory */
                r = sd_bus_message_append(m, "ssus", argv[6], argv[7], (uint32_t) leader, argv[5]);
        if (r >= 0 && machined > 0) /* systemd-machined makes the scope: no extra properties */
                r = sd_bus_message_append(m, "a(sv)", 0);
        if (r >= 0)
                r = sd_bus_call(bus, m, 0, &error, &reply);
        if (r < 0)
                log_error("Failed to register machine: %s", error.message ?: strerror(-r));
        sd_bus_error_free(&error);
        sd_bus_message_unref(m);
        sd_bus_message_unref(reply);
        sd_bus_unref(bus);
        return r < 0 ? 1 : 0;
}

static int do_unregister(int argc, char **argv) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus *bus = NULL;
        int r;

        if (argc != 3)
                return log_error_errno(-EINVAL, "Usage: berth-register unregister NAME");
        r = open_bus(&bus);
        if (r < 0)
                return r == -ENXIO ? EXIT_NO_REGISTRY : 1;
        r = sd_bus_call_method(bus, MACHINE1, MACHINE1_PATH, MACHINE1_MANAGER,
                               "UnregisterMachine", &error, NULL, "s", argv[2]);
        /* The registry may have noticed the leader's death first: that is fine. */
        if (r < 0)
                log_debug("Failed to unregister machine %s: %s", argv[2], error.message ?: strerror(-r));
        sd_bus_error_free(&error);
        sd_bus_unref(bus);
        return 0;
}

int main(int argc, char **argv) {
        log_parse_environment();
        if (argc >= 2 && streq(argv[1], "register"))
                return do_register(argc, argv);
        if (argc >= 2 && streq(argv[1], "unregister"))
                return do_unregister(argc, argv);
        fprintf(stderr, "Usage: berth-register register|unregister ...\n");
        return 1;
}

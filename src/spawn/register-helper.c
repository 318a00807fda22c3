/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berth-register: registers a machine with whoever owns org.freedesktop.machine1 (berthd, or
 * systemd-machined), and unregisters it. berth-spawn runs it as a short-lived helper, so the
 * launcher that stays with the machine does not carry libsystemd and its dependencies around.
 *
 *   berth-register register yes|auto NAME UUID LEADER ROOT SERVICE CLASS [NETIF [PROPERTY=VALUE...]]
 *   berth-register unregister NAME
 *
 * Exit status: 0 registered with berthd; 4 registered with systemd-machined (systemd owns the scope
 * and applies the properties); 3 not registered (auto: no bus, or nobody owns the name); 1 any other
 * failure, explained on stderr. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "id128.h"
#include "log.h"
#include "parse-util.h"
#include "register-bus.h"
#include "string-util.h"

#define EXIT_NOT_REGISTERED 3
#define EXIT_REGISTERED_SYSTEMD 4

static int do_register(int argc, char **argv) {
        sd_bus *bus = NULL;
        Id128 uuid = {};
        unsigned leader;
        int netif = 0;
        int r;

        if (argc < 9 || !(streq(argv[2], "yes") || streq(argv[2], "auto")) ||
            id128_from_string(argv[4], &uuid) < 0 || safe_atou(argv[5], &leader) < 0 ||
            (argc >= 10 && !isempty(argv[9]) && safe_atoi(argv[9], &netif) < 0)) {
                log_error("Usage: berth-register register yes|auto NAME UUID LEADER ROOT SERVICE CLASS "
                          "[NETIF [PROPERTY=VALUE...]]");
                return 1;
        }
        r = spawn_register(&(SpawnRegistration) { .name = argv[3], .uuid = uuid.bytes, .leader = (pid_t) leader,
                                                  .root_directory = argv[6], .service = argv[7], .class = argv[8],
                                                  .netif = netif, .properties = argc > 10 ? argv + 10 : NULL },
                           streq(argv[2], "yes") ? REGISTER_YES : REGISTER_AUTO, &bus);
        sd_bus_flush_close_unref(bus);
        if (r < 0)
                return 1; /* logged */
        return r == 2 ? EXIT_REGISTERED_SYSTEMD : r > 0 ? 0 : EXIT_NOT_REGISTERED;
}

static int do_unregister(int argc, char **argv) {
        sd_bus *bus = NULL;

        if (argc != 3) {
                log_error("Usage: berth-register unregister NAME");
                return 1;
        }
        if (sd_bus_open_system(&bus) < 0)
                return EXIT_NOT_REGISTERED;
        (void) spawn_unregister(bus, argv[2]);
        sd_bus_flush_close_unref(bus);
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

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The launcher side of registration. Without a bus: --register=auto is quiet, yes fails.
 * With "live NAME PID" it registers PID on the system bus of $DBUS_SYSTEM_BUS_ADDRESS (the
 * integration tests run it against berthd on a private bus), waits for a line on stdin, then
 * unregisters. */
#include <stdlib.h>
#include <unistd.h>

#include "register-bus.h"
#include "test.h"

TEST(no_bus) {
        sd_bus *bus = (sd_bus *) 0x1;

        if (getenv("BERTH_LIVE"))
                return;
        SpawnRegistration x = { .name = "x", .leader = 1234, .root_directory = "/" };

        ASSERT_OK(setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/berth-test.sock", 1));
        ASSERT_EQ(spawn_register(&(SpawnRegistration) { .name = "x", .leader = 1234 }, REGISTER_NO, &bus), 0);
        ASSERT_TRUE(bus == NULL);
        bus = (sd_bus *) 0x1;
        ASSERT_EQ(spawn_register(&x, REGISTER_AUTO, &bus), 0);
        ASSERT_TRUE(bus == NULL);
        ASSERT_TRUE(spawn_register(&x, REGISTER_YES, &bus) < 0);
        ASSERT_TRUE(bus == NULL);
        ASSERT_EQ(spawn_unregister(NULL, "x"), 0);
}

int main(int argc, char **argv) {
        if (argc == 4 && strcmp(argv[1], "live") == 0) {
                static const uint8_t uuid[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
                sd_bus *bus = NULL;
                char line[16];
                int r;

                r = spawn_register(&(SpawnRegistration) { .name = argv[2], .uuid = uuid, .leader = (pid_t) atoi(argv[3]),
                                                          .root_directory = "/", .netif = 1 },
                                   REGISTER_AUTO, &bus);
                printf("registered=%d berthd=%d\n", r, bus ? spawn_registry_is_berthd(bus) : -1);
                fflush(stdout);
                if (r < 0)
                        return EXIT_FAILURE;
                if (!fgets(line, sizeof line, stdin))
                        line[0] = 0;
                r = spawn_unregister(bus, argv[2]);
                printf("unregistered=%d\n", r);
                sd_bus_flush_close_unref(bus);
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        }
        int n = 0;
        for (const TestCase *t = __start_berth_tests; t < __stop_berth_tests; t++, n++)
                t->func();
        printf("%d test(s) passed\n", n);
        return 0;
}

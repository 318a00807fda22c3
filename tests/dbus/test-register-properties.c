/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berth-spawn's --property= values as CreateMachine's scope properties for systemd-machined: the a(sv)
 * is built by the launcher's writer, sealed, and read back with systemd's types, and by berthd's own
 * reader of CreateMachine's properties (which takes what stock systemd-nspawn sends). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "machine-limits.h"
#include "register-properties.h"
#include "string-util.h"
#include "strv.h"
#include "test.h"

static void bus_unrefp(sd_bus **b) {
        sd_bus_flush_close_unref(*b);
}

/* A message as CreateMachineWithNetwork's last argument, sealed and rewound for reading. */
static sd_bus_message *build(sd_bus *bus, char *const *assignments, int *ret) {
        sd_bus_message *m = NULL;
        int r;

        ASSERT_OK(sd_bus_message_new_method_call(bus, &m, "org.freedesktop.machine1", "/org/freedesktop/machine1",
                                                 "org.freedesktop.machine1.Manager", "CreateMachineWithNetwork"));
        ASSERT_OK(sd_bus_message_open_container(m, 'a', "(sv)"));
        r = bus_append_cgroup_assignments(m, assignments);
        *ret = r;
        if (r < 0) {
                sd_bus_message_unref(m);
                return NULL;
        }
        ASSERT_OK(sd_bus_message_close_container(m));
        ASSERT_OK(sd_bus_message_seal(m, 1, 0));
        ASSERT_OK(sd_bus_message_rewind(m, true));
        return m;
}

static sd_bus *new_bus(void) {
        sd_bus *bus = NULL;
        int pair[2];

        ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair));
        ASSERT_OK(sd_bus_new(&bus));
        ASSERT_OK(sd_bus_set_fd(bus, pair[0], pair[0]));
        ASSERT_OK(sd_bus_set_anonymous(bus, 1));
        ASSERT_OK(sd_bus_start(bus));
        close(pair[1]);
        return bus;
}

TEST(systemd_types) {
        _cleanup_(bus_unrefp) sd_bus *bus = new_bus();
        char *in[] = { (char *) "MemoryMax=100M", (char *) "CPUQuota=50%", (char *) "TasksMax=infinity",
                       (char *) "AllowedCPUs=0,2-3", (char *) "DeviceAllow=/dev/null rw",
                       (char *) "IOWriteBandwidthMax=/ 1M", (char *) "DevicePolicy=strict", NULL };
        sd_bus_message *m;
        const char *name, *path, *access, *s;
        const uint8_t *bits;
        uint64_t v;
        size_t n;
        int r;

        m = build(bus, in, &r);
        ASSERT_OK(r);
        ASSERT_OK(sd_bus_message_enter_container(m, 'a', "(sv)"));
        ASSERT_EQ(sd_bus_message_read(m, "(sv)", &name, "t", &v), 1);
        ASSERT_STREQ(name, "MemoryMax");
        ASSERT_EQ(v, UINT64_C(104857600));
        ASSERT_EQ(sd_bus_message_read(m, "(sv)", &name, "t", &v), 1);
        ASSERT_STREQ(name, "CPUQuotaPerSecUSec");
        ASSERT_EQ(v, UINT64_C(500000));
        ASSERT_EQ(sd_bus_message_read(m, "(sv)", &name, "t", &v), 1);
        ASSERT_STREQ(name, "TasksMax");
        ASSERT_TRUE(v == UINT64_MAX);
        ASSERT_OK(sd_bus_message_enter_container(m, 'r', "sv"));
        ASSERT_OK(sd_bus_message_read(m, "s", &name));
        ASSERT_STREQ(name, "AllowedCPUs");
        ASSERT_OK(sd_bus_message_enter_container(m, 'v', "ay"));
        ASSERT_OK(sd_bus_message_read_array(m, 'y', (const void **) &bits, &n));
        ASSERT_EQ(n, 1);
        ASSERT_EQ(bits[0], 0x0d); /* CPUs 0, 2, 3 */
        ASSERT_OK(sd_bus_message_exit_container(m));
        ASSERT_OK(sd_bus_message_exit_container(m));
        ASSERT_EQ(sd_bus_message_read(m, "(sv)", &name, "a(ss)", 1, &path, &access), 1);
        ASSERT_STREQ(name, "DeviceAllow");
        ASSERT_STREQ(path, "/dev/null");
        ASSERT_STREQ(access, "rw");
        ASSERT_EQ(sd_bus_message_read(m, "(sv)", &name, "a(st)", 1, &path, &v), 1);
        ASSERT_STREQ(name, "IOWriteBandwidthMax");
        ASSERT_STREQ(path, "/");
        ASSERT_EQ(v, UINT64_C(1048576));
        ASSERT_EQ(sd_bus_message_read(m, "(sv)", &name, "s", &s), 1);
        ASSERT_STREQ(name, "DevicePolicy");
        ASSERT_STREQ(s, "strict");
        ASSERT_EQ(sd_bus_message_read(m, "(sv)", &name, "t", &v), 0); /* nothing else */
        sd_bus_message_unref(m);
}

/* Everything the launcher sends, berthd's reader of CreateMachine's properties takes back. */
TEST(round_trip) {
        _cleanup_(bus_unrefp) sd_bus *bus = new_bus();
        char *in[] = { (char *) "MemoryMax=104857600", (char *) "MemoryHigh=infinity", (char *) "MemoryLow=1048576",
                       (char *) "MemorySwapMax=0", (char *) "CPUQuota=20%", (char *) "CPUQuotaPeriodSec=10000us",
                       (char *) "CPUWeight=200", (char *) "CPUShares=512", (char *) "AllowedCPUs=0",
                       (char *) "AllowedMemoryNodes=0", (char *) "TasksMax=64", (char *) "IOWeight=300",
                       (char *) "IODeviceWeight=/ 500", (char *) "IOReadBandwidthMax=/ 2097152",
                       (char *) "IOWriteIOPSMax=/ 100", (char *) "DeviceAllow=/dev/fuse rwm",
                       (char *) "DevicePolicy=closed", NULL };
        _cleanup_strv_free_ char **out = NULL;
        sd_bus_message *m;
        int r;

        m = build(bus, in, &r);
        ASSERT_OK(r);
        ASSERT_OK(sd_bus_message_enter_container(m, 'a', "(sv)"));
        while ((r = sd_bus_message_enter_container(m, 'r', "sv")) > 0) {
                const char *name;
                ASSERT_OK(sd_bus_message_read(m, "s", &name));
                ASSERT_EQ(bus_scope_property_to_assignments(m, name, &out), 1);
                ASSERT_OK(sd_bus_message_exit_container(m));
        }
        ASSERT_OK(r);
        ASSERT_EQ(strv_length(out), strv_length(in));
        for (size_t i = 0; in[i]; i++)
                if (!streq(in[i], out[i])) {
                        fprintf(stderr, "sent %s, read back %s\n", in[i], out[i]);
                        abort();
                }
        sd_bus_message_unref(m);
}

TEST(refused) {
        _cleanup_(bus_unrefp) sd_bus *bus = new_bus();
        char *bad[] = { (char *) "MemoryMax=lots", NULL }, *unknown[] = { (char *) "Nope=1", NULL };
        int r;

        ASSERT_TRUE(build(bus, bad, &r) == NULL);
        ASSERT_EQ(r, -EINVAL);
        ASSERT_TRUE(build(bus, unknown, &r) == NULL);
        ASSERT_EQ(r, -ENOENT);
}

DEFINE_TEST_MAIN

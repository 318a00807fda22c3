/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "netlink-util.h"
#include "spawn-network.h"
#include "spawn-nft.h"
#include "test.h"

TEST(ifname) {
        char n[IFNAMSIZ], m[IFNAMSIZ];

        ASSERT_EQ(spawn_network_ifname("ve-", "web", n), 0);
        ASSERT_STREQ(n, "ve-web");
        ASSERT_EQ(spawn_network_ifname("ve-", "twelve-chars", n), 0); /* 15 characters fit */
        ASSERT_STREQ(n, "ve-twelve-chars");
        ASSERT_EQ(spawn_network_ifname("ve-", "a-rather-long-machine-name", n), 1);
        ASSERT_EQ(strlen(n), 15u);
        ASSERT_TRUE(strncmp(n, "ve-a-rather", 11) == 0);
        ASSERT_EQ(spawn_network_ifname("ve-", "a-rather-long-machine-nam2", m), 1);
        ASSERT_TRUE(strcmp(n, m) != 0); /* the hash tells them apart */
        for (int i = 11; i < 15; i++)
                ASSERT_TRUE(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", n[i]) != NULL);
}

TEST(mac) {
        Id128 id = { .bytes = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 } };
        uint8_t a[6], b[6], c[6];

        spawn_network_mac(id, "web", spawn_network_host_key, 0, a);
        spawn_network_mac(id, "web", spawn_network_host_key, 0, b);
        ASSERT_TRUE(memcmp(a, b, 6) == 0);
        ASSERT_EQ(a[0] & 0x03, 0x02); /* unicast, locally administered */
        spawn_network_mac(id, "web", spawn_network_guest_key, 0, c);
        ASSERT_TRUE(memcmp(a, c, 6) != 0);
        spawn_network_mac(id, "web", spawn_network_host_key, 1, c);
        ASSERT_TRUE(memcmp(a, c, 6) != 0);
}

TEST(prefix_overlap) {
        Ipv4Prefix a = { 0x0a000010, 28 }, b = { 0x0a000000, 24 }, c = { 0x0a000020, 28 }, d = { 0x0a00002f, 32 };

        ASSERT_TRUE(ipv4_prefix_overlaps(a, b));
        ASSERT_TRUE(ipv4_prefix_overlaps(b, a));
        ASSERT_FALSE(ipv4_prefix_overlaps(a, c));
        ASSERT_TRUE(ipv4_prefix_overlaps(c, d));
        ASSERT_FALSE(ipv4_prefix_overlaps(a, d));
}

TEST(nft_render) {
        Ipv4Prefix s[] = { { 0x0a010200, 28 }, { 0x0a010210, 28 } };
        char *t = spawn_nft_render(s, 2);

        ASSERT_TRUE(t != NULL);
        ASSERT_TRUE(strncmp(t, "add table ip berth\ndelete table ip berth\ntable ip berth {\n", 58) == 0);
        ASSERT_TRUE(strstr(t, "elements = { 10.1.2.0/28, 10.1.2.16/28 }") != NULL);
        ASSERT_TRUE(strstr(t, "ip saddr @machines ip daddr != @machines masquerade") != NULL);
        free(t);
        t = spawn_nft_render(NULL, 0);
        ASSERT_STREQ(t, "add table ip berth\ndelete table ip berth\n");
        free(t);
}

DEFINE_TEST_MAIN

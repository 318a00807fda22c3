/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "netlink-util.h"
#include "spawn-forward-check.h"
#include "spawn-network.h"
#include "spawn-networkd.h"
#include "spawn-nft.h"
#include "spawn-port.h"
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
        NftPort p[] = { { IPPROTO_TCP, 8080, 80, 0x0a010202 }, { IPPROTO_UDP, 5353, 53, 0x0a010212 } };
        char *t = spawn_nft_render(&(NftMachines) { .subnets = s, .n_subnets = 2 });

        ASSERT_TRUE(t != NULL);
        ASSERT_TRUE(strncmp(t, "add table ip berth\ndelete table ip berth\nadd table ip6 berth\ndelete table ip6 berth\n"
                               "table ip berth {\n", 98) == 0);
        ASSERT_TRUE(strstr(t, "elements = { 10.1.2.0/28, 10.1.2.16/28 }") != NULL);
        ASSERT_TRUE(strstr(t, "ip saddr @machines ip daddr != @machines masquerade") != NULL);
        ASSERT_TRUE(strstr(t, "map ports") == NULL);
        ASSERT_TRUE(strstr(t, "table ip6 berth {") == NULL); /* no IPv6 prefixes given */
        free(t);
        {
                uint8_t s6[2][16] = { { 0xfd, 0x12, [15] = 0 }, { 0xfd, 0x13 } };
                NftPort p6[] = { { IPPROTO_TCP, 8080, 80, 0x0a010202, { 0xfd, 0x12, [15] = 2 } } };
                t = spawn_nft_render(&(NftMachines) { .subnets = s, .subnets6 = s6, .n_subnets = 2, .ports = p6,
                                                      .n_ports = 1 });
                ASSERT_TRUE(strstr(t, "table ip6 berth {") != NULL);
                ASSERT_TRUE(strstr(t, "elements = { fd12::/64, fd13::/64 }") != NULL);
                ASSERT_TRUE(strstr(t, "ip6 saddr @machines ip6 daddr != @machines masquerade") != NULL);
                ASSERT_TRUE(strstr(t, "elements = { tcp . 8080 : fd12::2 . 80 }") != NULL);
                ASSERT_TRUE(strstr(t, "ip6 daddr != ::1 fib daddr type local dnat ip6 addr . port") != NULL);
                free(t);
        }
        t = spawn_nft_render(&(NftMachines) { .subnets = s, .n_subnets = 2, .ports = p, .n_ports = 2 });
        ASSERT_TRUE(strstr(t, "elements = { tcp . 8080 : 10.1.2.2 . 80, udp . 5353 : 10.1.2.18 . 53 }") != NULL);
        ASSERT_TRUE(strstr(t, "type nat hook output priority -99;") != NULL);
        ASSERT_TRUE(strstr(t, "ct status dnat ip saddr 127.0.0.0/8 masquerade") != NULL);
        free(t);
        t = spawn_nft_render(&(NftMachines) {});
        ASSERT_STREQ(t, "add table ip berth\ndelete table ip berth\nadd table ip6 berth\ndelete table ip6 berth\n");
        free(t);
}

TEST(subnet6) {
        uint8_t a[16], b[16], c[16];

        spawn_network_subnet6(0x0a000000, a);
        spawn_network_subnet6(0x0a000010, b);
        spawn_network_subnet6(0x0afffff0, c);
        ASSERT_TRUE(a[0] == 0xfd);
        ASSERT_TRUE(memcmp(a, b, 7) == 0 && (a[5] >> 4) == (c[5] >> 4)); /* one global ID per host */
        ASSERT_TRUE(a[7] == 0 && b[7] == 1 && (c[5] & 0xf) == 0xf && c[6] == 0xff && c[7] == 0xff); /* the /28's index */
        ASSERT_TRUE(memcmp(a + 8, (uint8_t[8]) {}, 8) == 0);
}

TEST(port_parse) {
        ExposePorts ports = {};
        ExposePort p;

        ASSERT_OK(expose_port_parse("8080", &p));
        ASSERT_TRUE(p.protocol == IPPROTO_TCP && p.host_port == 8080 && p.guest_port == 8080);
        ASSERT_OK(expose_port_parse("udp:53:5353", &p));
        ASSERT_TRUE(p.protocol == IPPROTO_UDP && p.host_port == 53 && p.guest_port == 5353);
        ASSERT_OK(expose_port_parse("tcp:1:65535", &p));
        ASSERT_TRUE(p.host_port == 1 && p.guest_port == 65535);
        static const char *const bad[] = { "", "0", "65536", "tcp:", "sctp:80", "80:", ":80", "80:90:100",
                                           "-1", "+80", "8o", "udp:80:0", "tcp:tcp:80" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ASSERT_ERROR(expose_port_parse(bad[i], &p), EINVAL);
        ASSERT_OK(expose_ports_add(&ports, "8080:80"));
        ASSERT_OK(expose_ports_add(&ports, "udp:8080"));
        ASSERT_ERROR(expose_ports_add(&ports, "tcp:8080:81"), EEXIST);
        ASSERT_EQ(ports.n, 2u);
}

TEST(forward_drop) {
        const char *table = NULL;

        ASSERT_TRUE(spawn_forward_drop_in_nft("table ip berth {\n\tchain forward {\n\t\ttype filter hook forward "
                                              "priority filter; policy drop;\n\t}\n}\ntable ip filter {\n\tchain "
                                              "FORWARD {\n\t\ttype filter hook forward priority filter; policy "
                                              "drop;\n\t}\n}\n", &table));
        ASSERT_STREQ(table, "ip filter");
        ASSERT_FALSE(spawn_forward_drop_in_nft("table ip berth {\n\tchain forward {\n\t\ttype filter hook forward "
                                               "priority filter; policy drop;\n\t}\n}\ntable inet f {\n\tchain "
                                               "fw {\n\t\ttype filter hook forward priority filter; policy "
                                               "accept;\n\t}\n\tchain in {\n\t\ttype filter hook input priority "
                                               "filter; policy drop;\n\t}\n}\n", &table));
        ASSERT_FALSE(spawn_forward_drop_in_nft("", &table));
        ASSERT_TRUE(spawn_forward_drop_in_iptables("-P INPUT ACCEPT\n-P FORWARD DROP\n-N DOCKER-USER\n"));
        ASSERT_FALSE(spawn_forward_drop_in_iptables("-P FORWARD ACCEPT\n-A FORWARD -j DROP\n"));
}

static void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");
        ASSERT_TRUE(f != NULL);
        fputs(text, f);
        fclose(f);
}

TEST(networkd_file) {
        char root[] = "/tmp/test-networkd-XXXXXX", etc[160], lib[128], file[192];

        ASSERT_EQ(network_setup_from_string("networkd"), NETWORK_SETUP_NETWORKD);
        ASSERT_EQ(network_setup_from_string("berth"), NETWORK_SETUP_BERTH);
        ASSERT_EQ(network_setup_from_string("yes"), _NETWORK_SETUP_INVALID);
        ASSERT_STREQ(network_setup_to_string(NETWORK_SETUP_AUTO), "auto");
        ASSERT_STREQ(spawn_networkd_file_for("ve-"), "80-container-ve.network");
        ASSERT_STREQ(spawn_networkd_file_for("vz-"), "80-container-vz.network");
        ASSERT_STREQ(spawn_networkd_file_for("vb-"), "");

        ASSERT_TRUE(mkdtemp(root) != NULL);
        ASSERT_FALSE(spawn_networkd_file_active(root, "ve-")); /* no file: nothing configures ve-* */
        snprintf(etc, sizeof etc, "mkdir -p %s/etc/systemd/network %s/lib/systemd/network", root, root);
        ASSERT_EQ(system(etc), 0);
        snprintf(etc, sizeof etc, "%s/etc/systemd/network", root);
        snprintf(lib, sizeof lib, "%s/lib/systemd/network", root);

        snprintf(file, sizeof file, "%s/80-container-ve.network", lib);
        write_file(file, "[Match]\nName=ve-*\n");
        ASSERT_TRUE(spawn_networkd_file_active(root, "ve-"));
        ASSERT_FALSE(spawn_networkd_file_active(root, "vz-"));

        snprintf(file, sizeof file, "%s/80-container-ve.network", etc); /* masked in /etc */
        ASSERT_EQ(symlink("/dev/null", file), 0);
        ASSERT_FALSE(spawn_networkd_file_active(root, "ve-"));
        ASSERT_EQ(unlink(file), 0);
        write_file(file, ""); /* an empty file masks too */
        ASSERT_FALSE(spawn_networkd_file_active(root, "ve-"));
        ASSERT_EQ(unlink(file), 0);
        write_file(file, "[Match]\nName=ve-*\n[Network]\nDHCPServer=no\n"); /* overridden, still networkd's */
        ASSERT_TRUE(spawn_networkd_file_active(root, "ve-"));

        snprintf(file, sizeof file, "rm -rf %s", root);
        ASSERT_EQ(system(file), 0);
}

DEFINE_TEST_MAIN

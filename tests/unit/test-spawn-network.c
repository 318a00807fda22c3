/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "netlink-util.h"
#include "spawn-forward-check.h"
#include "spawn-network.h"
#include "spawn-networkd.h"
#include "spawn-nfset.h"
#include "spawn-nft.h"
#include "spawn-port.h"
#include "string-util.h"
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
        /* the map and its chains are there without ports too: a machine adds its own */
        ASSERT_TRUE(strstr(t, "\tmap ports {\n\t\ttype inet_proto . inet_service : ipv4_addr . inet_service\n\t}\n") !=
                    NULL);
        ASSERT_TRUE(strstr(t, "fib daddr type local dnat ip addr . port to meta l4proto . th dport map @ports") != NULL);
        ASSERT_TRUE(strstr(t, "table ip6 berth {") == NULL); /* no IPv6 */
        free(t);
        {
                uint8_t s6[2][16] = { { 0xfd, 0x12, [15] = 0 }, { 0xfd, 0x13 } };
                NftPort p6[] = { { IPPROTO_TCP, 8080, 80, 0x0a010202, { 0xfd, 0x12, [15] = 2 } } };
                t = spawn_nft_render(&(NftMachines) { .subnets = s, .subnets6 = s6, .n_subnets = 2, .ports = p6,
                                                      .n_ports = 1, .ipv6 = true });
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
        /* no machine: the tables, empty (made once, they stay) */
        t = spawn_nft_render(&(NftMachines) { .ipv6 = true });
        ASSERT_TRUE(strstr(t, "\tset machines {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t}\n") != NULL);
        ASSERT_TRUE(strstr(t, "\tset machines {\n\t\ttype ipv6_addr\n\t\tflags interval\n\t}\n") != NULL);
        ASSERT_TRUE(strstr(t, "elements") == NULL);
        free(t);
}

/* The messages of a batch, in order: type, family, and the start of the elements list. */
typedef struct Msg {
        uint16_t type;
        uint8_t family;
        uint16_t res_id;
        char set[16];
        const struct nlattr *elements;
} Msg;

static int attr_cb(const struct nlattr *a, void *data) {
        Msg *m = data;

        if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_SET)
                snprintf(m->set, sizeof m->set, "%s", mnl_attr_get_str(a));
        else if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_ELEMENTS)
                m->elements = a;
        else if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_TABLE)
                ASSERT_STREQ(mnl_attr_get_str(a), "berth");
        return MNL_CB_OK;
}

static size_t parse_batch(const void *buf, ssize_t len, Msg *msgs, size_t max) {
        size_t n = 0;
        int left = (int) len;

        for (const struct nlmsghdr *h = buf; mnl_nlmsg_ok(h, left) && n < max; h = mnl_nlmsg_next(h, &left)) {
                const struct nfgenmsg *g = mnl_nlmsg_get_payload(h);
                msgs[n] = (Msg) { .type = h->nlmsg_type, .family = g->nfgen_family, .res_id = ntohs(g->res_id) };
                ASSERT_EQ(h->nlmsg_seq, 7 + n);
                (void) mnl_attr_parse(h, sizeof *g, attr_cb, &msgs[n]);
                n++;
        }
        ASSERT_EQ(left, 0);
        return n;
}

/* Element i of a list: its key, data (or NULL) and flags. */
typedef struct Elem {
        const uint8_t *key, *data;
        size_t key_len, data_len;
        uint32_t flags;
} Elem;

static Elem element(const struct nlattr *list, size_t i) {
        const struct nlattr *e, *a;
        size_t k = 0;
        Elem r = {};

        mnl_attr_for_each_nested(e, list) {
                if (k++ != i)
                        continue;
                ASSERT_EQ(mnl_attr_get_type(e), NFTA_LIST_ELEM);
                mnl_attr_for_each_nested(a, e) {
                        const struct nlattr *v = mnl_attr_get_payload(a);
                        if (mnl_attr_get_type(a) == NFTA_SET_ELEM_FLAGS)
                                r.flags = ntohl(mnl_attr_get_u32(a));
                        else if (mnl_attr_get_type(a) == NFTA_SET_ELEM_KEY) {
                                ASSERT_EQ(mnl_attr_get_type(v), NFTA_DATA_VALUE);
                                r.key = mnl_attr_get_payload(v), r.key_len = mnl_attr_get_payload_len(v);
                        } else if (mnl_attr_get_type(a) == NFTA_SET_ELEM_DATA)
                                r.data = mnl_attr_get_payload(v), r.data_len = mnl_attr_get_payload_len(v);
                }
                return r;
        }
        ASSERT_TRUE(false); /* no element i */
        return r;
}

static size_t count_elements(const struct nlattr *list) {
        const struct nlattr *e;
        size_t n = 0;

        mnl_attr_for_each_nested(e, list)
                n++;
        return n;
}

TEST(nfset_build_add) {
        Ipv4Prefix s[] = { { 0x0a0102f0, 28 } };
        NftPort p[] = { { IPPROTO_UDP, 8080, 80, 0x0a0102f2 } };
        uint8_t buf[4096];
        uint32_t last;
        ssize_t len;
        Msg m[8];
        Elem e;

        len = nfset_build(buf, sizeof buf, 7, true, &(NftMachines) { .subnets = s, .n_subnets = 1, .ports = p, .n_ports = 1 },
                          &last);
        ASSERT_TRUE(len > 0);
        ASSERT_EQ(parse_batch(buf, len, m, 8), 4u);
        ASSERT_EQ(last, 9u); /* the last element message: the one whose answer ends the reading */
        ASSERT_EQ(m[0].type, NFNL_MSG_BATCH_BEGIN);
        ASSERT_EQ(m[0].res_id, NFNL_SUBSYS_NFTABLES);
        ASSERT_EQ(m[3].type, NFNL_MSG_BATCH_END);
        ASSERT_EQ(m[1].type, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWSETELEM);
        ASSERT_EQ(m[1].family, NFPROTO_IPV4);
        ASSERT_STREQ(m[1].set, "machines");
        /* 10.1.2.240/28 as nft sends it: the start, and the first address past it marked as the end */
        ASSERT_EQ(count_elements(m[1].elements), 2u);
        e = element(m[1].elements, 0);
        ASSERT_TRUE(e.key_len == 4 && memcmp(e.key, (uint8_t[]) { 10, 1, 2, 240 }, 4) == 0 && e.flags == 0 && !e.data);
        e = element(m[1].elements, 1);
        ASSERT_TRUE(e.key_len == 4 && memcmp(e.key, (uint8_t[]) { 10, 1, 3, 0 }, 4) == 0); /* carried */
        ASSERT_EQ(e.flags, (uint32_t) NFT_SET_ELEM_INTERVAL_END);
        /* udp . 8080 : 10.1.2.242 . 80, each field in a 32-bit register */
        ASSERT_STREQ(m[2].set, "ports");
        e = element(m[2].elements, 0);
        ASSERT_TRUE(e.key_len == 8 && memcmp(e.key, (uint8_t[]) { IPPROTO_UDP, 0, 0, 0, 0x1f, 0x90, 0, 0 }, 8) == 0);
        ASSERT_TRUE(e.data && e.data_len == 8 && memcmp(e.data, (uint8_t[]) { 10, 1, 2, 242, 0, 80, 0, 0 }, 8) == 0);
}

TEST(nfset_build_delete_ipv6) {
        Ipv4Prefix s[] = { { 0x0a000010, 28 } };
        uint8_t s6[1][16] = { { 0xfd, 1, 2, 3, 4, 5, 0xff, 0xff } };
        NftPort p[] = { { IPPROTO_TCP, 443, 8443, 0x0a000012, { 0xfd, 1, 2, 3, 4, 5, 0xff, 0xff, [15] = 2 } } };
        uint8_t buf[4096];
        uint32_t last;
        ssize_t len;
        Msg m[8];
        Elem e;

        len = nfset_build(buf, sizeof buf, 7, false,
                          &(NftMachines) { .subnets = s, .subnets6 = s6, .n_subnets = 1, .ports = p, .n_ports = 1 }, &last);
        ASSERT_EQ(parse_batch(buf, len, m, 8), 6u);
        ASSERT_EQ(last, 11u);
        for (size_t i = 1; i <= 4; i++)
                ASSERT_EQ(m[i].type, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_DELSETELEM);
        ASSERT_TRUE(m[3].family == NFPROTO_IPV6 && streq(m[3].set, "machines"));
        /* the /64 fd00:102:304:5ff:ff::/64 ends where fd01:203:405:600:: starts */
        e = element(m[3].elements, 1);
        ASSERT_TRUE(e.key_len == 16 && memcmp(e.key, (uint8_t[16]) { 0xfd, 1, 2, 3, 4, 6 }, 16) == 0);
        ASSERT_EQ(e.flags, (uint32_t) NFT_SET_ELEM_INTERVAL_END);
        /* a map's element is deleted by its key alone */
        ASSERT_TRUE(m[4].family == NFPROTO_IPV6 && streq(m[4].set, "ports"));
        e = element(m[4].elements, 0);
        ASSERT_TRUE(e.key_len == 8 && e.key[0] == IPPROTO_TCP && e.key[4] == 1 && e.key[5] == 0xbb && !e.data);
        /* no room: said so, never a cut batch */
        ASSERT_EQ(nfset_build(buf, 100, 7, false, &(NftMachines) { .subnets = s, .subnets6 = s6, .n_subnets = 1 }, &last),
                  -ENOBUFS);
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

/* An nftables notification about table name in family, as the kernel sends it to NFNLGRP_NFTABLES. */
static void send_table_event(int fd, uint16_t type, uint8_t family, const char *name) {
        char buf[256];
        struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
        struct nfgenmsg *g;

        h->nlmsg_type = NFNL_SUBSYS_NFTABLES << 8 | type;
        g = mnl_nlmsg_put_extra_header(h, sizeof *g);
        g->nfgen_family = family;
        mnl_attr_put_strz(h, NFTA_TABLE_NAME, name);
        ASSERT_EQ(send(fd, buf, h->nlmsg_len, 0), (ssize_t) h->nlmsg_len);
}

TEST(nfset_watch_read) {
        int p[2];

        ASSERT_OK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, p));
        ASSERT_EQ(nfset_watch_read(p[0]), 0); /* nothing heard */
        send_table_event(p[1], NFT_MSG_DELTABLE, NFPROTO_IPV4, "berth");
        ASSERT_EQ(nfset_watch_read(p[0]), 1);
        /* a render from the records: deleted and made again in one batch */
        send_table_event(p[1], NFT_MSG_DELTABLE, NFPROTO_IPV6, "berth");
        send_table_event(p[1], NFT_MSG_NEWTABLE, NFPROTO_IPV6, "berth");
        ASSERT_EQ(nfset_watch_read(p[0]), 0);
        /* another table, another family */
        send_table_event(p[1], NFT_MSG_DELTABLE, NFPROTO_IPV4, "filter");
        send_table_event(p[1], NFT_MSG_DELTABLE, NFPROTO_INET, "berth");
        ASSERT_EQ(nfset_watch_read(p[0]), 0);
        /* one of the two went for good */
        send_table_event(p[1], NFT_MSG_DELTABLE, NFPROTO_IPV4, "berth");
        send_table_event(p[1], NFT_MSG_DELTABLE, NFPROTO_IPV6, "berth");
        send_table_event(p[1], NFT_MSG_NEWTABLE, NFPROTO_IPV6, "berth");
        ASSERT_EQ(nfset_watch_read(p[0]), 1);
        close(p[0]);
        close(p[1]);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "fileio.h"
#include "log.h"
#include "netlink-util.h"
#include "spawn-context.h"
#include "spawn-dnsmasq.h"
#include "spawn-network.h"
#include "spawn-zone.h"
#include "string-util.h"

#define ZONE_DIR SPAWN_NETWORK_DIR "/zones"
#define ZONE_ADDRESSES 253 /* .2 … .254 */

typedef struct ZoneMember {
        char name[256];
        uint32_t address;
        uint8_t mac[6];
} ZoneMember;

int spawn_network_zone_name_check(const char *name) {
        size_t l = strlen(name);

        if (l == 0 || l > IFNAMSIZ - 1 - strlen("vz-") || streq(name, ".") || streq(name, ".."))
                return -EINVAL;
        for (const char *p = name; *p; p++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", *p))
                        return -EINVAL;
        return 0;
}

static char *zone_path(const char *zone, const char *suffix) {
        return strjoin(ZONE_DIR "/", zone, suffix);
}

void spawn_zone_bridge_name(const char *zone, char ret[static IFNAMSIZ]) {
        size_t l = strnlen(zone, IFNAMSIZ - 4);

        memcpy(ret, "vz-", 3);
        memcpy(ret + 3, zone, l);
        ret[3 + l] = 0;
}

/* zones/ZONE.zone: "SUBNET/24 vz-ZONE". -ENOENT: no such zone. */
static int zone_read(const char *path, uint32_t *ret_subnet) {
        _cleanup_free_ char *line = NULL;
        unsigned a, b, c, d, len;
        int r = read_one_line_file(path, &line);

        if (r < 0)
                return r;
        if (sscanf(line, "%u.%u.%u.%u/%u", &a, &b, &c, &d, &len) != 5 || (a | b | c | d) > 255 ||
            len != SPAWN_ZONE_PREFIXLEN)
                return -EBADMSG;
        *ret_subnet = a << 24 | b << 16 | c << 8 | d;
        return 0;
}

/* A member's record: "zone ZONE IFNAME ADDRESS MAC". 1 if it is one of zone's, else 0. */
static int member_read(const char *path, const char *zone, ZoneMember *ret) {
        _cleanup_free_ char *line = NULL;
        char z[IFNAMSIZ], ifname[IFNAMSIZ];
        unsigned a, b, c, d, m[6];

        if (read_one_line_file(path, &line) < 0)
                return 0;
        if (sscanf(line, "zone %15s %15s %u.%u.%u.%u %x:%x:%x:%x:%x:%x", z, ifname, &a, &b, &c, &d, &m[0], &m[1],
                   &m[2], &m[3], &m[4], &m[5]) != 12 || !streq(z, zone) || (a | b | c | d) > 255)
                return 0;
        ret->address = a << 24 | b << 16 | c << 8 | d;
        for (size_t i = 0; i < 6; i++)
                ret->mac[i] = (uint8_t) m[i];
        return 1;
}

/* Every machine whose record names zone (under the network lock). */
static int zone_members(const char *zone, ZoneMember **ret, size_t *ret_n) {
        _cleanup_(closedirp) DIR *d = opendir(SPAWN_NETWORK_DIR);
        _cleanup_free_ ZoneMember *list = NULL;
        size_t n = 0;

        if (!d)
                return -errno;
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_free_ char *path = NULL;
                const char *dot = endswith(de->d_name, ".net");
                ZoneMember m = {};
                if (!dot || (size_t) (dot - de->d_name) >= sizeof m.name)
                        continue;
                path = strjoin(SPAWN_NETWORK_DIR "/", de->d_name);
                if (!path)
                        return -ENOMEM;
                if (member_read(path, zone, &m) <= 0)
                        continue;
                memcpy(m.name, de->d_name, (size_t) (dot - de->d_name));
                ZoneMember *l = realloc(list, (n + 1) * sizeof *l);
                if (!l)
                        return -ENOMEM;
                list = l;
                list[n++] = m;
        }
        *ret = TAKE_PTR(list);
        *ret_n = n;
        return 0;
}

static int write_file_atomic(const char *path, const char *text) {
        _cleanup_free_ char *tmp = strjoin(path, ".new");
        int r;

        if (!tmp)
                return -ENOMEM;
        r = write_string_file_create(tmp, text, 0644);
        if (r < 0)
                return r;
        return rename(tmp, path) < 0 ? -errno : 0;
}

/* The zone's dnsmasq files, from its members' records. */
static int zone_render(const char *zone) {
        _cleanup_free_ ZoneMember *members = NULL;
        _cleanup_free_ char *hosts = NULL, *dhcp = NULL, *hosts_path = zone_path(zone, ".hosts"),
                            *dhcp_path = zone_path(zone, ".dhcp");
        size_t n, hosts_size = 0, dhcp_size = 0;
        bool ipv6 = spawn_network_ipv6_supported();
        FILE *h, *p;
        int r;

        if (!hosts_path || !dhcp_path)
                return -ENOMEM;
        r = zone_members(zone, &members, &n);
        if (r < 0)
                return r;
        h = open_memstream(&hosts, &hosts_size);
        p = open_memstream(&dhcp, &dhcp_size);
        for (size_t i = 0; h && p && i < n; i++) {
                const uint8_t *m = members[i].mac;
                char a[16], a6[INET6_ADDRSTRLEN + 3] = "";
                ipv4_to_string(members[i].address, a);
                fprintf(h, "%s %s\n", a, members[i].name);
                if (ipv6) {
                        uint8_t addr6[16];
                        /* the zone's /64 and the IPv4 address's last byte, as host0 gets them */
                        spawn_network_subnet6(members[i].address & ~UINT32_C(0xff), addr6);
                        addr6[15] = (uint8_t) members[i].address;
                        a6[0] = '[';
                        (void) inet_ntop(AF_INET6, addr6, a6 + 1, INET6_ADDRSTRLEN);
                        fprintf(h, "%s %s\n", a6 + 1, members[i].name);
                        strcat(a6, "],");
                }
                fprintf(p, "%02x:%02x:%02x:%02x:%02x:%02x,%s,%s%s\n", m[0], m[1], m[2], m[3], m[4], m[5], a, a6,
                        members[i].name);
        }
        if (h && fclose(h) != 0)
                h = NULL;
        if (p && fclose(p) != 0)
                p = NULL;
        if (!h || !p)
                return -ENOMEM;
        r = write_file_atomic(hosts_path, hosts);
        return r < 0 ? r : write_file_atomic(dhcp_path, dhcp);
}

static int pick_address(const char *zone, uint32_t subnet, uint32_t *ret) {
        _cleanup_free_ ZoneMember *members = NULL;
        size_t n;
        int r = zone_members(zone, &members, &n);

        if (r < 0)
                return r;
        for (uint32_t a = subnet + 2; a < subnet + 2 + ZONE_ADDRESSES; a++) {
                bool used = false;
                for (size_t i = 0; i < n && !used; i++)
                        used = members[i].address == a;
                if (!used) {
                        *ret = a;
                        return 0;
                }
        }
        return -EADDRNOTAVAIL;
}

static int zone_create(const char *zone, const char *path, Id128 host_id, uint32_t *ret_subnet) {
        char bridge[IFNAMSIZ], a[16], text[64];
        int r;

        spawn_zone_bridge_name(zone, bridge);
        r = spawn_network_subnet_pick(bridge, host_id, SPAWN_ZONE_PREFIXLEN, ret_subnet);
        if (r < 0)
                return r;
        if (mkdir(ZONE_DIR, 0755) < 0 && errno != EEXIST)
                return -errno;
        ipv4_to_string(*ret_subnet, a);
        (void) snprintf(text, sizeof text, "%s/%u %s\n", a, SPAWN_ZONE_PREFIXLEN, bridge);
        return write_string_file_create(path, text, 0644);
}

int spawn_zone_join(SpawnContext *c, Id128 host_id) {
        const char *zone = c->config->network_zone, *name = c->config->machine_name;
        _cleanup_free_ char *zone_file = zone_path(zone, ".zone"), *record = NULL;
        _cleanup_close_ int lock = -EBADF;
        SpawnNetwork *n = &c->net;
        const uint8_t *m = n->mac_guest;
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        char a[16];
        FILE *f;
        int r;

        record = strjoin(SPAWN_NETWORK_DIR "/", name, ".net");
        if (!zone_file || !record)
                return log_oom();
        lock = spawn_network_lock();
        if (lock < 0)
                return log_error_errno(lock, "Failed to take the network lock: %m");
        /* From here teardown leaves the zone: a zone this launcher creates and then fails to join
         * (full, unreadable records) goes again with it. */
        n->recorded = true;
        r = spawn_network_ports_check_free(&c->config->ports); /* under the lock: no other may take them now */
        if (r < 0)
                return r;
        r = zone_read(zone_file, &n->subnet);
        if (r == -ENOENT)
                r = zone_create(zone, zone_file, host_id, &n->subnet);
        if (r == -EADDRNOTAVAIL)
                return log_error_errno(r, "No free /24 subnet left in 10.0.0.0/8 for zone '%s'.", zone);
        if (r < 0)
                return log_error_errno(r, "Failed to set up zone '%s' (%s): %m", zone, zone_file);
        r = pick_address(zone, n->subnet, &n->address);
        if (r == -EADDRNOTAVAIL)
                return log_error_errno(r, "Zone '%s' is full: it has %u machines.", zone, ZONE_ADDRESSES);
        if (r < 0)
                return log_error_errno(r, "Failed to read the records of zone '%s': %m", zone);
        n->prefixlen = SPAWN_ZONE_PREFIXLEN;
        n->ipv6 = spawn_network_ipv6_supported();
        if (n->ipv6)
                spawn_network_subnet6(n->subnet, n->subnet6);
        ipv4_to_string(n->address, a);
        f = open_memstream(&text, &size);
        if (!f)
                return log_oom();
        fprintf(f, "zone %s %s %s %02x:%02x:%02x:%02x:%02x:%02x\n", zone, n->ifname, a, m[0], m[1], m[2], m[3], m[4],
                m[5]);
        spawn_network_write_ports(f, &c->config->ports);
        if (fclose(f) != 0)
                return log_oom();
        r = write_string_file_create(record, text, 0644);
        if (r < 0)
                return log_error_errno(r, "Failed to write %s: %m", record);
        return 0;
}

/* The zone's bridge with the gateway's addresses: .1 of its /24 and ::1 of its /64. */
static int bridge_up(Netlink *nl, const char *bridge, const SpawnNetwork *n) {
        uint32_t gw = htonl(n->subnet + 1);
        int index = netlink_link_index(nl, bridge), r;
        uint8_t mac[6];

        if (index >= 0)
                return 0;
        spawn_network_bridge_mac(bridge, mac);
        r = netlink_bridge_add(nl, bridge, mac);
        if (r < 0)
                return r;
        index = netlink_link_index(nl, bridge);
        if (index < 0)
                return index;
        r = netlink_addr_add(nl, index, AF_INET, &gw, SPAWN_ZONE_PREFIXLEN);
        if (r >= 0 && n->ipv6) {
                uint8_t gw6[16];
                memcpy(gw6, n->subnet6, 16);
                gw6[15] = 1;
                r = netlink_addr_add(nl, index, AF_INET6, gw6, 64);
        }
        return r < 0 ? r : netlink_link_set_up(nl, index);
}

static int zone_dnsmasq(const char *zone, const char *bridge, const SpawnNetwork *n) {
        _cleanup_free_ char *state = strjoin("zones/", zone), *hosts = zone_path(zone, ".hosts"),
                            *dhcp = zone_path(zone, ".dhcp");
        char err[512];
        int r;

        if (!state || !hosts || !dhcp)
                return log_oom();
        r = spawn_dnsmasq_reload(state);
        if (r != -ESRCH)
                return r < 0 ? log_error_errno(r, "Failed to reload the dnsmasq of zone '%s': %m", zone) : 0;
        r = spawn_dnsmasq_start_zone(&(DnsmasqZone) { .state_name = state, .ifname = bridge, .subnet = n->subnet,
                                                      .prefixlen = SPAWN_ZONE_PREFIXLEN, .dhcp_hosts_file = dhcp,
                                                      .hosts_file = hosts, .subnet6 = n->ipv6 ? n->subnet6 : NULL },
                                     err, sizeof err);
        if (r == -ENOENT)
                return log_error_errno(r, "dnsmasq not found: install the dnsmasq-base package for --network-zone=.");
        if (r == -EPROTO)
                return log_error_errno(r, "dnsmasq failed to serve %s: %s", bridge, err);
        if (r < 0)
                return log_error_errno(r, "Failed to run dnsmasq: %m");
        return 0;
}

int spawn_zone_setup(SpawnContext *c, Netlink *nl, int *ret_lock) {
        const char *zone = c->config->network_zone;
        _cleanup_close_ int lock = -EBADF;
        char bridge[IFNAMSIZ];
        int r;

        spawn_zone_bridge_name(zone, bridge);
        lock = spawn_network_lock();
        if (lock < 0)
                return log_error_errno(lock, "Failed to take the network lock: %m");
        r = bridge_up(nl, bridge, &c->net);
        if (r < 0)
                return log_error_errno(r, "Failed to create bridge %s for zone '%s': %m", bridge, zone);
        /* Our record (written by spawn_zone_join()) keeps the bridge: no member's leave removes it
         * now, so the veth is made and the guest addressed without the lock, in parallel with the
         * zone's other machines. */
        lock = safe_close(lock);
        r = spawn_network_join_bridge(c, nl, bridge);
        if (r < 0)
                return r;
        r = spawn_network_connect_guest(c);
        if (r < 0)
                return r;
        lock = spawn_network_lock();
        if (lock < 0)
                return log_error_errno(lock, "Failed to take the network lock: %m");
        r = zone_render(zone);
        if (r < 0)
                return log_error_errno(r, "Failed to write the hosts files of zone '%s': %m", zone);
        r = zone_dnsmasq(zone, bridge, &c->net);
        if (r < 0)
                return r;
        *ret_lock = TAKE_FD(lock);
        return 0;
}

int spawn_zone_leave_begin(const char *zone, int *ret_dnsmasq) {
        _cleanup_free_ ZoneMember *members = NULL;
        _cleanup_free_ char *state = strjoin("zones/", zone), *hosts = zone_path(zone, ".hosts"),
                            *dhcp = zone_path(zone, ".dhcp");
        size_t n;
        int r;

        *ret_dnsmasq = -ESRCH;
        if (!state || !hosts || !dhcp || zone_members(zone, &members, &n) < 0)
                return 0;
        if (n > 0) {
                r = zone_render(zone);
                if (r >= 0)
                        r = spawn_dnsmasq_reload(state);
                if (r < 0 && r != -ESRCH)
                        log_warning_errno(r, "Failed to update the dnsmasq of zone '%s': %m", zone);
                return 0;
        }
        /* the last machine of the zone has gone: so does the zone */
        *ret_dnsmasq = spawn_dnsmasq_kill(state, -EBADF);
        (void) unlink(hosts);
        (void) unlink(dhcp);
        return 1;
}

void spawn_zone_remove(Netlink *nl, const char *zone) {
        _cleanup_free_ char *path = zone_path(zone, ".zone");
        char bridge[IFNAMSIZ];
        int r;

        spawn_zone_bridge_name(zone, bridge);
        r = nl ? netlink_link_delete(nl, bridge) : -ENOTCONN;
        if (r < 0 && r != -ENODEV)
                log_warning_errno(r, "Failed to remove bridge %s: %m", bridge);
        if (path)
                (void) unlink(path);
        (void) rmdir(ZONE_DIR); /* when it was the last zone */
}

int spawn_zone_leave(Netlink *nl, const char *zone) {
        _cleanup_close_ int dnsmasq = -EBADF;
        int r = spawn_zone_leave_begin(zone, &dnsmasq);

        if (r > 0) {
                spawn_dnsmasq_wait_gone(dnsmasq);
                spawn_zone_remove(nl, zone);
        }
        return r;
}

int spawn_zone_add_subnets(NftMachines *m) {
        _cleanup_(closedirp) DIR *d = opendir(ZONE_DIR);

        if (!d)
                return errno == ENOENT ? 0 : -errno;
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_free_ char *path = NULL;
                uint32_t subnet;
                int r;

                if (!endswith(de->d_name, ".zone"))
                        continue;
                path = strjoin(ZONE_DIR "/", de->d_name);
                if (!path)
                        return -ENOMEM;
                if (zone_read(path, &subnet) < 0)
                        continue;
                r = spawn_network_machines_add_subnet(m, (Ipv4Prefix) { .addr = subnet, .len = SPAWN_ZONE_PREFIXLEN });
                if (r < 0)
                        return r;
        }
        return 0;
}

int spawn_zone_collect_empty(Netlink **nl) {
        _cleanup_(closedirp) DIR *d = opendir(ZONE_DIR);
        char zone[IFNAMSIZ];
        int removed = 0;

        if (!d)
                return 0;
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_free_ ZoneMember *members = NULL;
                const char *dot = endswith(de->d_name, ".zone");
                size_t l = dot ? (size_t) (dot - de->d_name) : 0, n;

                if (l == 0 || l >= sizeof zone)
                        continue;
                memcpy(zone, de->d_name, l);
                zone[l] = 0;
                if (zone_members(zone, &members, &n) >= 0 && n == 0) {
                        log_debug("Collecting zone '%s', which a killed launcher made and left empty.", zone);
                        if (!*nl)
                                (void) netlink_open(-EBADF, nl);
                        spawn_zone_leave(*nl, zone);
                        removed++;
                }
        }
        return removed;
}

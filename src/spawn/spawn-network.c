/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "fileio.h"
#include "log.h"
#include "netlink-util.h"
#include "parse-util.h"
#include "run-program.h"
#include "siphash24.h"
#include "spawn-context.h"
#include "spawn-dnsmasq.h"
#include "spawn-forward-check.h"
#include "spawn-links.h"
#include "spawn-network.h"
#include "spawn-network-internal.h"
#include "spawn-nfset.h"
#include "spawn-nft.h"
#include "spawn-root.h"
#include "spawn-zone.h"
#include "string-util.h"

const uint8_t spawn_network_host_key[16] = {
        0x1a, 0x37, 0x6f, 0xc7, 0x46, 0xec, 0x45, 0x0b, 0xad, 0xa3, 0xd5, 0x31, 0x06, 0x60, 0x5d, 0xb1 };
const uint8_t spawn_network_guest_key[16] = {
        0xc3, 0xc4, 0xf9, 0x19, 0xb5, 0x57, 0xb2, 0x1c, 0xe6, 0xcf, 0x14, 0x27, 0x03, 0x9c, 0xee, 0xa2 };
/* udev's (MACAddressPolicy=persistent, src/shared/net-condition.c): the MAC a systemd host gives a
 * new bridge named so, which keeps it when ports come and go. */
static const uint8_t udev_persistent_mac_key[16] = {
        0xd3, 0x1e, 0x48, 0xfa, 0x90, 0xfe, 0x4b, 0x4c, 0x9d, 0xaf, 0xd5, 0xd7, 0xa1, 0xb1, 0x2e, 0x8a };
static const uint8_t shorten_ifname_key[16] = {
        0xe1, 0x90, 0xa4, 0x04, 0xa8, 0xef, 0x4b, 0x51, 0x8c, 0xcc, 0xc3, 0x3a, 0x9f, 0x11, 0xfc, 0xa2 };
/* berth's own: where in 10.0.0.0/8 a machine's search for a free /28 starts. */
static const uint8_t subnet_key[16] = {
        0x5e, 0x0d, 0x2b, 0x91, 0x7a, 0x44, 0x4c, 0x19, 0x93, 0x6e, 0x21, 0xd8, 0x0f, 0xb3, 0x57, 0xc6 };

#ifndef ALTIFNAMSIZ
#define ALTIFNAMSIZ 128 /* <linux/if.h>, which clashes with <net/if.h> */
#endif
#define POOL_BASE UINT32_C(0x0a000000) /* 10.0.0.0/8 */

static char urlsafe_base64_char(unsigned v) {
        static const char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        return table[v & 63];
}

int spawn_network_ifname(const char *prefix, const char *name, char ret[static IFNAMSIZ]) {
        char full[256];
        size_t l = (size_t) snprintf(full, sizeof full, "%s%s", prefix, name);
        uint64_t h;

        if (l < IFNAMSIZ) {
                memcpy(ret, full, l + 1);
                return 0;
        }
        h = siphash24(full, strlen(full), shorten_ifname_key);
        memcpy(ret, full, IFNAMSIZ - 5);
        ret[IFNAMSIZ - 5] = urlsafe_base64_char((unsigned) (h >> 18));
        ret[IFNAMSIZ - 4] = urlsafe_base64_char((unsigned) (h >> 12));
        ret[IFNAMSIZ - 3] = urlsafe_base64_char((unsigned) (h >> 6));
        ret[IFNAMSIZ - 2] = urlsafe_base64_char((unsigned) h);
        ret[IFNAMSIZ - 1] = 0;
        return 1;
}

void spawn_network_mac(Id128 machine_id, const char *name, const uint8_t key[static 16], uint64_t idx,
                       uint8_t ret[static 6]) {
        size_t l = strlen(name), n = sizeof machine_id.bytes + l;
        uint8_t buf[16 + 256 + 8];
        uint64_t h;

        if (l > 256)
                l = 256, n = sizeof machine_id.bytes + l;
        memcpy(buf, machine_id.bytes, sizeof machine_id.bytes);
        memcpy(buf + 16, name, l);
        if (idx > 0) {
                uint64_t le = htole64(idx);
                memcpy(buf + n, &le, sizeof le);
                n += sizeof le;
        }
        h = htole64(siphash24(buf, n, key));
        memcpy(ret, &h, 6);
        ret[0] = (uint8_t) ((ret[0] & 0xfe) | 0x02); /* unicast, locally administered */
}

/* A bridge made without an address takes its first port's and changes it as ports come and go
 * (to 00:00:00:00:00:00 with none): the guests' ARP entries for the gateway go stale, and
 * systemd-networkd reconfigures the link (new pool address) on each change. Set at creation, it
 * stays; it is the one udev would give. */
void spawn_network_bridge_mac(const char *bridge, uint8_t ret[static 6]) {
        spawn_network_mac(spawn_network_host_machine_id(), bridge, udev_persistent_mac_key, 0, ret);
}

Id128 spawn_network_host_machine_id(void) {
        static const char *const files[] = { "/etc/machine-id", "/var/lib/dbus/machine-id" };
        Id128 id = {};

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *line = NULL;
                if (read_one_line_file(files[i], &line) >= 0 && id128_from_string(line, &id) >= 0)
                        return id;
        }
        return (Id128) {};
}

/* berth's own: the 36 bits of a host's ULA global ID (fd00::/8) for its machines' /64s. */
static const uint8_t ula_key[16] = {
        0x8b, 0x21, 0x6c, 0x3e, 0xd4, 0x07, 0x4f, 0xa2, 0x95, 0x1b, 0x70, 0xce, 0x36, 0x58, 0xe9, 0x14 };

bool spawn_network_ipv6_supported(void) {
        _cleanup_free_ char *line = NULL;

        if (access("/proc/net/if_inet6", F_OK) < 0)
                return false;
        return read_one_line_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", &line) < 0 || streq(line, "0");
}

/* fd00::/8, 36 bits from the host's machine id, the /28's 20-bit index in 10.0.0.0/8: as stable
 * and as free as the IPv4 subnet. */
void spawn_network_subnet6(uint32_t subnet, uint8_t ret[static 16]) {
        static Id128 host_id;
        static bool have_id;
        uint64_t h, prefix;

        if (!have_id) {
                host_id = spawn_network_host_machine_id();
                have_id = true;
        }
        h = siphash24(host_id.bytes, sizeof host_id.bytes, ula_key);
        prefix = UINT64_C(0xfd) << 56 | (h & ((UINT64_C(1) << 36) - 1)) << 20 |
                 (((subnet - POOL_BASE) >> (32 - SPAWN_NETWORK_PREFIXLEN)) & 0xfffff);
        memset(ret, 0, 16);
        for (unsigned i = 0; i < 8; i++)
                ret[i] = (uint8_t) (prefix >> (56 - 8 * i));
}

int spawn_network_lock(void) {
        int fd;

        if (mkdir("/run/berth", 0755) < 0 && errno != EEXIST)
                return -errno;
        if (mkdir(SPAWN_NETWORK_DIR, 0755) < 0 && errno != EEXIST)
                return -errno;
        fd = open(NETWORK_LOCK, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX) < 0) {
                safe_close(fd);
                return -errno;
        }
        return fd;
}

char *spawn_network_record_path(const char *machine_name) {
        return strjoin(SPAWN_NETWORK_DIR "/", machine_name, ".net");
}

/* PORT to port->guest_addr, and on IPv6 to the address the machine has in SUBNET's /64: the same
 * last byte (::2 of a veth's, ::N of a zone's). */
static int machines_add_port(NftMachines *m, const NftPort *port, uint32_t subnet) {
        NftPort *p = realloc(m->ports, (m->n_ports + 1) * sizeof *p);

        if (!p)
                return -ENOMEM;
        m->ports = p;
        m->ports[m->n_ports] = *port;
        spawn_network_subnet6(subnet, m->ports[m->n_ports].guest_addr6);
        m->ports[m->n_ports++].guest_addr6[15] = (uint8_t) (port->guest_addr - subnet);
        return 0;
}

/* The "PROTOCOL HOSTPORT GUESTPORT" lines after a record's first, forwarded to ADDRESS in SUBNET. */
static int read_ports(FILE *f, NftMachines *m, uint32_t address, uint32_t subnet) {
        char proto[4], line[128];
        unsigned hp, gp;
        int r = 0;

        while (r >= 0 && fgets(line, sizeof line, f))
                if (sscanf(line, "%3s %u %u", proto, &hp, &gp) == 3 && hp > 0 && hp < 65536 && gp > 0 && gp < 65536)
                        r = machines_add_port(m, &(NftPort) {
                                .protocol = streq(proto, "udp") ? IPPROTO_UDP : IPPROTO_TCP,
                                .host_port = (uint16_t) hp, .guest_port = (uint16_t) gp,
                                .guest_addr = address }, subnet);
        return r;
}

void spawn_network_write_ports(FILE *f, const ExposePorts *ports) {
        for (size_t i = 0; i < ports->n; i++)
                fprintf(f, "%s %u %u\n", expose_port_protocol_to_string(ports->items[i].protocol),
                        ports->items[i].host_port, ports->items[i].guest_port);
}

int spawn_network_machines_add_subnet(NftMachines *m, Ipv4Prefix subnet) {
        Ipv4Prefix *p = realloc(m->subnets, (m->n_subnets + 1) * sizeof *p);

        if (!p)
                return -ENOMEM;
        m->subnets = p;
        if (spawn_network_ipv6_supported()) {
                uint8_t (*p6)[16] = realloc(m->subnets6, (m->n_subnets + 1) * sizeof *p6);
                if (!p6)
                        return -ENOMEM;
                m->subnets6 = p6;
                spawn_network_subnet6(subnet.addr, m->subnets6[m->n_subnets]);
        }
        m->subnets[m->n_subnets++] = subnet;
        return 0;
}

/* NAME.net: "SUBNET/LEN IFNAME", then a line "PROTOCOL HOSTPORT GUESTPORT" per published port;
 * the subnet and the ports are added to m (when given). Or, for a member of a zone (whose subnet is
 * the zone's), "zone ZONE IFNAME ...": its zone goes to ret_zone (when given). */
int spawn_network_record_read(const char *path, char ret_ifname[static IFNAMSIZ], char *ret_zone, NftMachines *m) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        unsigned a, b, c, d, len;
        char ifname[IFNAMSIZ], line[128];
        Ipv4Prefix subnet;
        int r;

        if (!f)
                return -errno;
        if (!fgets(line, sizeof line, f))
                return -EBADMSG;
        if (startswith(line, "zone ")) {
                char zone[IFNAMSIZ];
                if (sscanf(line, "zone %15s %15s %u.%u.%u.%u", zone, ifname, &a, &b, &c, &d) != 6 ||
                    (a | b | c | d) > 255)
                        return -EBADMSG;
                memcpy(ret_ifname, ifname, IFNAMSIZ);
                if (ret_zone)
                        memcpy(ret_zone, zone, IFNAMSIZ);
                if (!m)
                        return 0;
                /* a member's ports (its zone's subnet is the zone's: spawn_zone_add_subnets()) */
                uint32_t address = a << 24 | b << 16 | c << 8 | d;
                return read_ports(f, m, address, address & ~UINT32_C(0xff));
        }
        if (
            sscanf(line, "%u.%u.%u.%u/%u %15s", &a, &b, &c, &d, &len, ifname) != 6 || (a | b | c | d) > 255 ||
            len > 32)
                return -EBADMSG;
        memcpy(ret_ifname, ifname, IFNAMSIZ);
        if (!m)
                return 0;
        subnet = (Ipv4Prefix) { .addr = a << 24 | b << 16 | c << 8 | d, .len = len };
        r = spawn_network_machines_add_subnet(m, subnet);
        return r < 0 ? r : read_ports(f, m, subnet.addr + 2, subnet.addr);
}

/* Every machine's subnet and ports, from the records (under the network lock). */
static int records_list(NftMachines *ret) {
        _cleanup_(closedirp) DIR *d = opendir(SPAWN_NETWORK_DIR);
        NftMachines m = { .ipv6 = spawn_network_ipv6_supported() };
        struct dirent *de;
        int r;

        if (!d)
                return errno == ENOENT ? (*ret = m, 0) : -errno;
        while ((de = readdir(d))) {
                _cleanup_free_ char *p = NULL;
                char ifname[IFNAMSIZ];

                if (!endswith(de->d_name, ".net") || !(p = strjoin(SPAWN_NETWORK_DIR "/", de->d_name)))
                        continue;
                r = spawn_network_record_read(p, ifname, NULL, &m);
                if (r == -ENOMEM) {
                        nft_machines_done(&m);
                        return r;
                }
        }
        r = spawn_zone_add_subnets(&m);
        if (r < 0) {
                nft_machines_done(&m);
                return r;
        }
        *ret = m;
        return 0;
}

static int nft_log(int r, const char *err) {
        if (r == -ENOENT)
                return log_error_errno(r, "nft not found: install the nftables package for -n/--network-veth.");
        if (r == -EPROTO)
                return log_error_errno(r, "nft refused berth's table: %s", err);
        if (r < 0)
                return log_error_errno(r, "Failed to run nft: %m");
        return 0;
}

/* Starts re-rendering berth's table from the records (under the network lock); logs. */
static int nft_sync_start(RunningProgram *ret) {
        NftMachines m;
        int r;

        r = records_list(&m);
        if (r < 0)
                return log_error_errno(r, "Failed to read the machines' network records: %m");
        r = spawn_nft_apply_start(&m, ret);
        nft_machines_done(&m);
        return nft_log(r, "");
}

static int nft_sync_finish(RunningProgram *p) {
        char err[512];

        return nft_log(spawn_nft_apply_finish(p, err, sizeof err), err);
}

/* Re-renders berth's table from the records; logs (the caller has nothing to add). */
int spawn_network_nft_sync(void) {
        RunningProgram p;
        int r = nft_sync_start(&p);

        return r < 0 ? r : nft_sync_finish(&p);
}

/* Adds machines' elements to berth's tables, or deletes them; when the tables are not there (the
 * first machine after boot, `nft flush ruleset`) or do not hold what the records say, they are
 * rendered whole from the records instead. Under the network lock; logs. */
/* ret_socket: see nfset_apply() */
int spawn_network_nft_update(bool add, const NftMachines *m, int *ret_socket) {
        int r = nfset_apply(add, m, ret_socket);

        if (r >= 0)
                return 0;
        log_debug_errno(r, "Failed to %s elements of berth's nftables tables, rendering them whole: %m",
                        add ? "add" : "delete");
        return spawn_network_nft_sync();
}

/* A zone member's elements: its zone's subnet. */
int spawn_network_zone_elements(const SpawnContext *c, NftMachines *ret) {
        *ret = (NftMachines) {};
        return spawn_network_machines_add_subnet(ret, (Ipv4Prefix) { .addr = c->net.subnet, .len = SPAWN_ZONE_PREFIXLEN });
}

/* A zone member's published ports, from its record (into m). */
static int zone_member_ports(const SpawnContext *c, NftMachines *m) {
        _cleanup_free_ char *path = spawn_network_record_path(c->config->machine_name);
        char ifname[IFNAMSIZ];

        if (!path)
                return -ENOMEM;
        m->ipv6 = c->net.ipv6;
        return c->config->ports.n > 0 ? spawn_network_record_read(path, ifname, NULL, m) : 0;
}

/* One machine's subnet and ports, from its record. */
int spawn_network_record_elements(const char *machine_name, NftMachines *ret) {
        _cleanup_free_ char *path = spawn_network_record_path(machine_name);
        char ifname[IFNAMSIZ];
        NftMachines m = { .ipv6 = spawn_network_ipv6_supported() }; /* a zone member's: ports only */
        int r;

        if (!path)
                return -ENOMEM;
        r = spawn_network_record_read(path, ifname, NULL, &m);
        if (r < 0) {
                nft_machines_done(&m);
                return r;
        }
        *ret = m;
        return 0;
}

static int resolvers_add(Ipv4Prefix **used, size_t *n_used);

static bool subnet_taken(uint32_t subnet, unsigned prefixlen, const Ipv4Prefix *used, size_t n_used) {
        Ipv4Prefix p = { .addr = subnet, .len = prefixlen };

        for (size_t i = 0; i < n_used; i++)
                if (ipv4_prefix_overlaps(p, used[i]))
                        return true;
        return false;
}

/* A /prefixlen in 10.0.0.0/8 that overlaps no route, no address, no other machine and no zone: the
 * search starts at a place derived from the host and the name, so a machine (or zone) usually keeps
 * its subnet. */
int spawn_network_subnet_pick(const char *machine_name, Id128 host_id, unsigned prefixlen, uint32_t *ret) {
        _cleanup_(netlink_freep) Netlink *nl = NULL;
        _cleanup_free_ Ipv4Prefix *used = NULL;
        uint8_t buf[16 + 256];
        size_t n_used, l = strnlen(machine_name, 256);
        NftMachines records;
        uint32_t start;
        int r;

        r = netlink_open(-EBADF, &nl);
        if (r < 0)
                return r;
        r = netlink_ipv4_prefixes(nl, &used, &n_used);
        if (r >= 0)
                r = resolvers_add(&used, &n_used);
        if (r < 0)
                return r;
        r = records_list(&records);
        if (r < 0)
                return r;
        memcpy(buf, host_id.bytes, 16);
        memcpy(buf + 16, machine_name, l);
        const uint32_t count = UINT32_C(1) << (prefixlen - 8);
        start = (uint32_t) (siphash24(buf, 16 + l, subnet_key) % count);
        for (uint32_t i = 0; i < count; i++) {
                uint32_t s = POOL_BASE + ((start + i) % count << (32 - prefixlen));
                if (!subnet_taken(s, prefixlen, used, n_used) &&
                    !subnet_taken(s, prefixlen, records.subnets, records.n_subnets)) {
                        nft_machines_done(&records);
                        *ret = s;
                        return 0;
                }
        }
        nft_machines_done(&records);
        return -EADDRNOTAVAIL;
}

/* The host's name servers: a subnet that hid one would cut the machine (and dnsmasq) off from DNS. */
static int resolvers_add(Ipv4Prefix **used, size_t *n_used) {
        _cleanup_fclose_ FILE *f = fopen("/etc/resolv.conf", "re");
        char line[256];

        if (!f)
                return 0;
        while (fgets(line, sizeof line, f)) {
                unsigned a, b, c, d;
                Ipv4Prefix *p;

                if (sscanf(line, " nameserver %u.%u.%u.%u", &a, &b, &c, &d) != 4 || (a | b | c | d) > 255)
                        continue;
                p = realloc(*used, (*n_used + 1) * sizeof *p);
                if (!p)
                        return -ENOMEM;
                *used = p;
                p[(*n_used)++] = (Ipv4Prefix) { .addr = a << 24 | b << 16 | c << 8 | d, .len = 32 };
        }
        return 0;
}

static int record_write(const char *machine_name, uint32_t subnet, const char *ifname, const ExposePorts *ports) {
        _cleanup_free_ char *path = spawn_network_record_path(machine_name);
        _cleanup_fclose_ FILE *f = NULL;
        char a[16];

        if (!path)
                return -ENOMEM;
        f = fopen(path, "we");
        if (!f)
                return -errno;
        ipv4_to_string(subnet, a);
        fprintf(f, "%s/%u %s\n", a, SPAWN_NETWORK_PREFIXLEN, ifname);
        spawn_network_write_ports(f, ports);
        return fflush(f) != 0 || ferror(f) ? -EIO : 0;
}

/* A host port that another machine publishes already (under the network lock). */
int spawn_network_ports_check_free(const ExposePorts *ports) {
        NftMachines m;
        int r = records_list(&m);

        if (r < 0)
                return log_error_errno(r, "Failed to read the machines' network records: %m");
        for (size_t i = 0; i < ports->n; i++)
                for (size_t j = 0; j < m.n_ports; j++)
                        if (ports->items[i].protocol == m.ports[j].protocol &&
                            ports->items[i].host_port == m.ports[j].host_port) {
                                r = log_error_errno(-EADDRINUSE, "Port %s:%u is already published by another machine.",
                                                    expose_port_protocol_to_string(ports->items[i].protocol),
                                                    ports->items[i].host_port);
                                nft_machines_done(&m);
                                return r;
                        }
        nft_machines_done(&m);
        return 0;
}

/* A veth (or another link with a peer): its iflink is the peer's index, not its own. */
static bool link_has_peer(const char *name, unsigned index) {
        _cleanup_free_ char *path = strjoin("/sys/class/net/", name, "/iflink"), *v = NULL;
        unsigned iflink;

        return path && read_one_line_file(path, &v) >= 0 && safe_atou(v, &iflink) >= 0 && iflink != index;
}

/* The host links the options name must exist before anything is made. */
static int links_verify(const SpawnConfig *config) {
        const NetworkLinks *lists[] = { &config->network_interfaces, &config->network_macvlan, &config->network_ipvlan };

        if (!isempty(config->network_bridge) && if_nametoindex(config->network_bridge) == 0)
                return log_error_errno(-ENODEV, "Bridge '%s' does not exist: create it first, or use "
                                                "--network-zone= for one berth makes.", config->network_bridge);
        for (size_t j = 0; j < config->network_veth_extra.n; j++) {
                /* a pair of the same machine's, a moment ago: it goes with that machine's namespace */
                unsigned index = if_nametoindex(config->network_veth_extra.items[j].host);
                if (index > 0 && (!link_has_peer(config->network_veth_extra.items[j].host, index) ||
                                  netlink_link_wait_gone((int) index, 1000) < 0))
                        return log_error_errno(-EEXIST, "Network interface '%s' already exists.",
                                               config->network_veth_extra.items[j].host);
        }
        for (size_t i = 0; i < ELEMENTSOF(lists); i++)
                for (size_t j = 0; j < lists[i]->n; j++)
                        if (if_nametoindex(lists[i]->items[j].host) == 0)
                                return log_error_errno(-ENODEV, "Network interface '%s' does not exist.",
                                                       lists[i]->items[j].host);
        return 0;
}

int spawn_network_verify(const SpawnConfig *config) {
        _cleanup_close_ int lock = -EBADF;
        const char *prefix;
        int r;

        if (!isempty(config->network_namespace_path) &&
            (config->private_network || config->network_interfaces.n > 0 || config->network_macvlan.n > 0 ||
             config->network_ipvlan.n > 0 || config->network_veth_extra.n > 0))
                return log_error_errno(-EINVAL, "--network-namespace-path= cannot be combined with other network "
                                                "options.");
        r = spawn_network_namespace_verify(config);
        if (r < 0)
                return r;
        r = links_verify(config);
        if (r < 0)
                return r;
        if (!isempty(config->network_zone) && !isempty(config->network_bridge))
                return log_error_errno(-EINVAL, "--network-zone= and --network-bridge= may not be combined.");
        if (config->ports.n == 0)
                return 0;
        if (!config->network_veth || !isempty(config->network_bridge))
                return log_error_errno(-EINVAL, "Cannot use --port= without --network-veth (-n): the machine has "
                                                "no address to forward to.");
        prefix = isempty(config->network_zone) ? "ve-" : "vz-";
        if (config->network_setup != NETWORK_SETUP_BERTH &&
            spawn_network_setup_resolve(config->network_setup, prefix) == NETWORK_SETUP_NETWORKD)
                return log_error_errno(-EOPNOTSUPP, "Cannot use --port= while systemd-networkd addresses the "
                                                    "machine's link: use --network-setup=berth (and mask "
                                                    "%s for it).", spawn_networkd_file_for(prefix));
        lock = spawn_network_lock();
        if (lock < 0)
                return log_error_errno(lock, "Failed to take the network lock " NETWORK_LOCK ": %m");
        return spawn_network_ports_check_free(&config->ports);
}

int spawn_network_allocate(SpawnContext *c) {
        bool zone = !isempty(c->config->network_zone), bridged = zone || !isempty(c->config->network_bridge);
        const char *source = resolv_conf_mode_source(c->config->resolv_conf);
        SpawnNetwork *n = &c->net;
        const char *name = c->config->machine_name;
        _cleanup_close_ int lock = -EBADF;
        Id128 host_id;
        int r;

        if (source) {
                size_t size;
                r = read_full_file_at(AT_FDCWD, source, 1024 * 1024, &n->resolv_text, &size);
                if (r < 0 && r != -ENOENT)
                        log_warning_errno(r, "Failed to read %s for --resolv-conf=%s, going on without: %m", source,
                                          resolv_conf_mode_to_string(c->config->resolv_conf));
        }
        if (!c->config->network_veth)
                return 0;
        if (!bridged || zone)
                n->external = spawn_network_setup_resolve(c->config->network_setup, zone ? "vz-" : "ve-") ==
                              NETWORK_SETUP_NETWORKD;
        if (n->external)
                log_debug("systemd-networkd addresses the machine's link: berth only makes it.");
        else if ((!bridged || zone) && !program_exists("dnsmasq"))
                return log_error_errno(-ENOENT, "dnsmasq not found: install the dnsmasq-base package for "
                                                "-n/--network-veth.");
        else if ((!bridged || zone) && !program_exists("nft"))
                return log_error_errno(-ENOENT, "nft not found: install the nftables package for "
                                                "-n/--network-veth.");
        if (spawn_network_ifname(bridged ? "vb-" : "ve-", name, n->ifname) > 0)
                log_warning("Network interface name '%s%s' has been changed to '%s' to fit length constraints.",
                            bridged ? "vb-" : "ve-", name, n->ifname);
        host_id = spawn_network_host_machine_id();
        spawn_network_mac(host_id, name, spawn_network_host_key, 0, n->mac_host);
        spawn_network_mac(host_id, name, spawn_network_guest_key, 0, n->mac_guest);
        if (n->external)
                return 0;
        if (zone)
                return spawn_zone_join(c, host_id);
        if (bridged)
                return 0; /* the bridge's owner addresses it; the link goes with the machine */

        lock = spawn_network_lock();
        if (lock < 0)
                return log_error_errno(lock, "Failed to take the network lock " NETWORK_LOCK ": %m");
        r = spawn_network_ports_check_free(&c->config->ports); /* again: another machine may have started meanwhile */
        if (r < 0)
                return r;
        r = spawn_network_subnet_pick(name, host_id, SPAWN_NETWORK_PREFIXLEN, &n->subnet);
        if (r == -EADDRNOTAVAIL)
                return log_error_errno(r, "No free /28 subnet left in 10.0.0.0/8 for machine '%s'.", name);
        if (r < 0)
                return log_error_errno(r, "Failed to read the host's routes and addresses: %m");
        n->address = n->subnet + 2;
        n->prefixlen = SPAWN_NETWORK_PREFIXLEN;
        n->ipv6 = spawn_network_ipv6_supported();
        if (n->ipv6)
                spawn_network_subnet6(n->subnet, n->subnet6);
        n->recorded = true; /* even half-written, teardown removes it */
        r = record_write(name, n->subnet, n->ifname, &c->config->ports);
        if (r < 0)
                return log_error_errno(r, "Failed to write " SPAWN_NETWORK_DIR "/%s.net: %m", name);
        return 0;
}

/* A shortened host-side name gets the full one as an alternative name, as nspawn does, so
 * `ip link show ve-FULL-NAME` finds it. Best effort: older kernels have no altnames. */
static void add_full_name(Netlink *nl, const SpawnNetwork *n, const char *prefix, const char *name) {
        _cleanup_free_ char *full = strjoin(prefix, name);
        int r;

        if (!full || strlen(full) < IFNAMSIZ || strlen(full) >= ALTIFNAMSIZ)
                return;
        r = netlink_link_add_altname(nl, n->host_ifindex, full);
        if (r < 0)
                log_warning_errno(r, "Failed to add alternative name '%s' to interface %s, ignoring: %m", full,
                                  n->ifname);
}

/* ve-NAME and host0 (moved into the machine), as nspawn makes them. */
static int veth_create(SpawnContext *c, Netlink *nl) {
        SpawnNetwork *n = &c->net;
        int r;

        r = netlink_veth_add(nl, n->ifname, n->mac_host, "host0", n->mac_guest, c->pid);
        if (r == -EEXIST)
                return log_error_errno(r, "Network interface %s already exists: is another machine named '%s' "
                                          "running (under systemd-nspawn)?", n->ifname, c->config->machine_name);
        if (r < 0)
                return log_error_errno(r, "Failed to add new veth interfaces (%s:host0): %m", n->ifname);
        n->host_ifindex = netlink_link_index(nl, n->ifname);
        if (n->host_ifindex < 0)
                return log_error_errno(n->host_ifindex, "Failed to find interface %s: %m", n->ifname);
        add_full_name(nl, n, "ve-", c->config->machine_name);
        return 0;
}

static int setup_host_side(SpawnContext *c, Netlink *nl) {
        SpawnNetwork *n = &c->net;
        uint32_t gw = htonl(n->subnet + 1);
        int r;

        r = veth_create(c, nl);
        if (r < 0)
                return r;
        r = netlink_addr_add(nl, n->host_ifindex, AF_INET, &gw, SPAWN_NETWORK_PREFIXLEN);
        if (r >= 0 && n->ipv6) {
                uint8_t gw6[16];
                memcpy(gw6, n->subnet6, 16);
                gw6[15] = 1;
                r = netlink_addr_add(nl, n->host_ifindex, AF_INET6, gw6, 64);
        }
        if (r >= 0)
                r = netlink_link_set_up(nl, n->host_ifindex);
        if (r < 0)
                return log_error_errno(r, "Failed to configure %s: %m", n->ifname);
        return 0;
}

/* --network-bridge= (and a zone's bridge): nspawn's vb-NAME, up and in the bridge. */
int spawn_network_join_bridge(SpawnContext *c, Netlink *nl, const char *bridge) {
        SpawnNetwork *n = &c->net;
        int r, master;

        master = netlink_link_index(nl, bridge);
        if (master < 0)
                return log_error_errno(master, "Failed to find bridge %s: %m", bridge);
        r = netlink_veth_add(nl, n->ifname, n->mac_host, "host0", n->mac_guest, c->pid);
        if (r < 0)
                return log_error_errno(r, "Failed to add new veth interfaces (%s:host0): %m", n->ifname);
        n->host_ifindex = netlink_link_index(nl, n->ifname);
        if (n->host_ifindex >= 0)
                add_full_name(nl, n, "vb-", c->config->machine_name);
        r = n->host_ifindex < 0 ? n->host_ifindex : netlink_link_set_master_up(nl, n->host_ifindex, master);
        if (r < 0)
                return log_error_errno(r, "Failed to add interface %s to bridge %s: %m", n->ifname, bridge);
        return 0;
}

/* IPv6 forwarding makes a link with accept_ra=1 ignore router advertisements: the host's own
 * links that take them are switched to 2 (take them even when forwarding) first. */
static int ipv6_forwarding(void) {
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_free_ char *line = NULL;
        struct dirent *de;

        if (read_one_line_file("/proc/sys/net/ipv6/conf/all/forwarding", &line) >= 0 && streq(line, "1"))
                return 0;
        d = opendir("/proc/sys/net/ipv6/conf");
        while (d && (de = readdir(d))) {
                _cleanup_free_ char *v = NULL;
                char p[PATH_MAX];

                if (de->d_name[0] == '.' || streq(de->d_name, "all"))
                        continue;
                (void) snprintf(p, sizeof p, "/proc/sys/net/ipv6/conf/%s/accept_ra", de->d_name);
                if (read_one_line_file(p, &v) >= 0 && streq(v, "1"))
                        (void) write_string_file(p, "2\n");
        }
        return write_string_file("/proc/sys/net/ipv6/conf/all/forwarding", "1\n");
}

/* A zone bridge berth made for networkd to address is marked (SPAWN_NETWORK_DIR/external/ZONE):
 * when its last member's launcher is killed, the next start or berthd collects it by the mark. */
#define EXTERNAL_ZONE_DIR SPAWN_NETWORK_DIR "/external"

static void external_zone_mark(const char *zone, bool on) {
        _cleanup_free_ char *p = strjoin(EXTERNAL_ZONE_DIR "/", zone);
        int fd;

        if (!p)
                return;
        if (!on) {
                (void) unlink(p);
                (void) rmdir(EXTERNAL_ZONE_DIR); /* when it was the last one */
                return;
        }
        if (mkdir(EXTERNAL_ZONE_DIR, 0755) < 0 && errno != EEXIST)
                return (void) log_debug_errno(errno, "Failed to create " EXTERNAL_ZONE_DIR ": %m");
        fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return (void) log_debug_errno(errno, "Failed to mark zone '%s': %m", zone);
        close(fd);
}

/* systemd-networkd addresses the links (its 80-container-*.network files): berth makes them as
 * nspawn does, a zone's bridge too (under the network lock, as its last member removes it). */
static int setup_external(SpawnContext *c, Netlink *nl) {
        _cleanup_close_ int lock = -EBADF;
        char bridge[IFNAMSIZ];
        int index, r;

        if (isempty(c->config->network_zone))
                return veth_create(c, nl);
        spawn_zone_bridge_name(c->config->network_zone, bridge);
        lock = spawn_network_lock();
        if (lock < 0)
                return log_error_errno(lock, "Failed to take the network lock " NETWORK_LOCK ": %m");
        index = netlink_link_index(nl, bridge);
        if (index < 0) {
                uint8_t mac[6];
                spawn_network_bridge_mac(bridge, mac);
                r = netlink_bridge_add(nl, bridge, mac);
                index = r < 0 ? r : netlink_link_index(nl, bridge);
                r = index < 0 ? index : netlink_link_set_up(nl, index);
                if (r < 0)
                        return log_error_errno(r, "Failed to create bridge %s for zone '%s': %m", bridge,
                                               c->config->network_zone);
                external_zone_mark(c->config->network_zone, true);
        }
        return spawn_network_join_bridge(c, nl, bridge);
}

/* A zone's bridge that networkd addresses goes with its last member, as nspawn removes it. */
void spawn_network_external_zone_teardown(Netlink *nl, const char *zone) {
        char bridge[IFNAMSIZ];
        int index, r;

        spawn_zone_bridge_name(zone, bridge);
        index = netlink_link_index(nl, bridge);
        if (index >= 0 && netlink_link_count_ports(nl, index) != 0)
                return; /* another machine is in it */
        r = index < 0 ? -ENODEV : netlink_link_delete(nl, bridge);
        if (r < 0 && r != -ENODEV)
                return (void) log_warning_errno(r, "Failed to remove bridge %s: %m", bridge);
        external_zone_mark(zone, false);
}

/* The marked zone bridges with no port left: their last member's launcher was killed. Under the
 * network lock, so no launcher is between making a bridge and joining it. */
void spawn_network_external_zones_collect(Netlink **nl) {
        _cleanup_(closedirp) DIR *d = opendir(EXTERNAL_ZONE_DIR);

        if (!d)
                return;
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_name[0] == '.' || spawn_network_zone_name_check(de->d_name) < 0)
                        continue;
                if (!*nl)
                        (void) netlink_open(-EBADF, nl);
                if (*nl) {
                        log_debug("Collecting zone bridge of '%s' if its last machine is gone.", de->d_name);
                        spawn_network_external_zone_teardown(*nl, de->d_name);
                }
        }
}

static int network_sysctls(SpawnContext *c) {
        int r;

        r = write_string_file("/proc/sys/net/ipv4/ip_forward", "1\n");
        if (r < 0)
                return log_error_errno(r, "Failed to enable IPv4 forwarding: %m");
        r = c->net.ipv6 ? ipv6_forwarding() : 0;
        if (r < 0)
                return log_error_errno(r, "Failed to enable IPv6 forwarding: %m");
        if (c->config->ports.n > 0) {
                /* Connections to localhost DNATed to the machine leave through this link with a
                 * loopback source (masqueraded on the way out): the link must route them. */
                char p[128];
                (void) snprintf(p, sizeof p, "/proc/sys/net/ipv4/conf/%s/route_localnet", c->net.ifname);
                r = write_string_file(p, "1\n");
                if (r < 0)
                        return log_error_errno(r, "Failed to set %s: %m", p);
        }
        return 0;
}

/* Connections to localhost DNATed to a zone's machine leave through the zone's bridge with a
 * loopback source (masqueraded on the way out): the bridge must route them. */
static int zone_port_sysctl(SpawnContext *c) {
        char bridge[IFNAMSIZ], p[128];
        int r;

        if (c->config->ports.n == 0)
                return 0;
        spawn_zone_bridge_name(c->config->network_zone, bridge);
        (void) snprintf(p, sizeof p, "/proc/sys/net/ipv4/conf/%s/route_localnet", bridge);
        r = write_string_file(p, "1\n");
        return r < 0 ? log_error_errno(r, "Failed to set %s: %m", p) : 0;
}

/* The machine's side, through a netlink socket in its namespace: it has a network before its
 * first instruction, DHCP client or not. */
static int setup_guest_side(SpawnContext *c) {
        SpawnNetwork *n = &c->net;
        _cleanup_(netlink_freep) Netlink *nl = NULL;
        _cleanup_close_ int netns = -EBADF;
        uint32_t gw = htonl(n->subnet + 1), addr = htonl(n->address);
        char path[64];
        int index, r;

        (void) snprintf(path, sizeof path, "/proc/%d/ns/net", (int) c->pid);
        netns = open(path, O_RDONLY | O_CLOEXEC);
        if (netns < 0)
                return log_error_errno(errno, "Failed to open the machine's network namespace: %m");
        r = netlink_open(netns, &nl);
        if (r < 0)
                return log_error_errno(r, "Failed to talk netlink in the machine's network namespace: %m");
        index = netlink_link_index(nl, "host0");
        if (index < 0)
                return log_error_errno(index, "Failed to find host0 in the machine: %m");
        r = netlink_addr_add(nl, index, AF_INET, &addr, n->prefixlen);
        if (r >= 0)
                r = netlink_link_set_up(nl, index);
        if (r >= 0)
                r = netlink_route_add_default(nl, index, AF_INET, &gw);
        if (r >= 0 && n->ipv6) {
                uint8_t gw6[16], addr6[16];
                memcpy(gw6, n->subnet6, 16);
                memcpy(addr6, n->subnet6, 16);
                gw6[15] = 1;
                addr6[15] = (uint8_t) (n->address - n->subnet); /* ::2, or in a zone the IPv4 address's last byte */
                r = netlink_addr_add(nl, index, AF_INET6, addr6, 64);
                if (r >= 0)
                        r = netlink_route_add_default(nl, index, AF_INET6, gw6);
        }
        if (r < 0)
                return log_error_errno(r, "Failed to configure host0 in the machine: %m");
        return 0;
}

/* The machine's own dnsmasq starts as soon as its side of the link has its addresses (right after
 * the clone); its start-up (some 10 ms, mostly loading its libraries) runs while the rest is set
 * up, and "go" waits until it answers: resolv.conf names it, and a guest's first instruction may
 * be a lookup. */
static int start_dnsmasq(SpawnContext *c) {
        SpawnNetwork *n = &c->net;
        int r = spawn_dnsmasq_start(&(DnsmasqConfig) { .machine_name = c->config->machine_name,
                                                       .ifname = n->ifname, .subnet = n->subnet,
                                                       .prefixlen = SPAWN_NETWORK_PREFIXLEN,
                                                       .guest_mac = n->mac_guest,
                                                       .subnet6 = n->ipv6 ? n->subnet6 : NULL },
                                    &n->dnsmasq);
        if (r == -ENOENT)
                return log_error_errno(r, "dnsmasq not found: install the dnsmasq-base package for "
                                          "-n/--network-veth.");
        if (r < 0)
                return log_error_errno(r, "Failed to run dnsmasq: %m");
        return 0;
}

int spawn_network_connect_guest(SpawnContext *c) {
        int r = setup_guest_side(c);

        return r < 0 ? r : network_sysctls(c);
}

/* A machine's own veth: berth's table, the link, its dnsmasq and the machine's side. */
static int veth_setup(SpawnContext *c, Netlink *nl) {
        _cleanup_close_ int lock = spawn_network_lock();
        NftMachines own;
        int r;

        if (lock < 0)
                return log_error_errno(lock, "Failed to take the network lock " NETWORK_LOCK ": %m");
        r = spawn_network_record_elements(c->config->machine_name, &own);
        if (r < 0)
                return log_error_errno(r, "Failed to read " SPAWN_NETWORK_DIR "/%s.net: %m", c->config->machine_name);
        r = spawn_network_nft_update(true, &own, NULL);
        nft_machines_done(&own);
        if (r < 0)
                return r;
        r = setup_host_side(c, nl);
        if (r >= 0)
                r = start_dnsmasq(c);
        if (r >= 0)
                r = setup_guest_side(c);
        if (r >= 0)
                r = network_sysctls(c);
        if (r >= 0)
                spawn_forward_check();
        return r;
}

int spawn_network_setup(SpawnContext *c) {
        SpawnNetwork *n = &c->net;
        _cleanup_(netlink_freep) Netlink *nl = NULL;
        _cleanup_close_ int lock = -EBADF;
        NftMachines own;
        int r;

        if (!c->config->network_veth)
                return 0;
        r = netlink_open(-EBADF, &nl);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to netlink: %m");
        if (n->external)
                return setup_external(c, nl);
        if (!isempty(c->config->network_bridge))
                return spawn_network_join_bridge(c, nl, c->config->network_bridge);
        if (!isempty(c->config->network_zone)) {
                /* returns with the network lock held, for the zone's elements below */
                r = spawn_zone_setup(c, nl, &lock);
                if (r < 0)
                        return r;
                /* the zone's subnet: added by its first machine, there already for the others */
                r = spawn_network_zone_elements(c, &own);
                if (r >= 0)
                        r = zone_member_ports(c, &own);
                if (r < 0) {
                        nft_machines_done(&own);
                        return log_error_errno(r, "Failed to read " SPAWN_NETWORK_DIR "/%s.net: %m",
                                               c->config->machine_name);
                }
                r = spawn_network_nft_update(true, &own, NULL);
                nft_machines_done(&own);
                if (r >= 0)
                        r = zone_port_sysctl(c);
                if (r >= 0)
                        spawn_forward_check();
                return r;
        }
        return veth_setup(c, nl);
}

#define DNSMASQ_READY_TIMEOUT_MS 10000

int spawn_network_dnsmasq_ready(SpawnContext *c) {
        char err[512];
        int r;

        if (c->net.dnsmasq.ready_fd < 0)
                return 0;
        if (c->config->resolv_conf != RESOLV_CONF_AUTO) {
                /* its resolver is another: DHCP clients ask again, nothing needs it answering yet */
                spawn_dnsmasq_unwatch(&c->net.dnsmasq);
                c->net.dnsmasq.err_fd = safe_close(c->net.dnsmasq.err_fd);
                return 0;
        }
        for (int attempt = 1;; attempt++) {
                r = spawn_dnsmasq_wait_ready(c->config->machine_name, &c->net.dnsmasq, DNSMASQ_READY_TIMEOUT_MS, err,
                                             sizeof err);
                if (r != -ESRCH || attempt == DNSMASQ_START_ATTEMPTS || !spawn_dnsmasq_lost_a_link(err))
                        break;
                log_debug("dnsmasq for machine '%s' lost a link at its start (%s), starting it again.",
                          c->config->machine_name, err);
                spawn_dnsmasq_reap(&c->net.dnsmasq);
                r = start_dnsmasq(c);
                if (r < 0)
                        return r;
        }
        if (r == -ESRCH)
                return log_error_errno(r, "dnsmasq for machine '%s' exited at its start%s%s", c->config->machine_name,
                                       *err ? ": " : ".", err);
        if (r < 0)
                return log_error_errno(r, "dnsmasq for machine '%s' did not start answering on %s: %m",
                                       c->config->machine_name, c->net.ifname);
        return 0;
}

/* Child, after pivot_root: /etc/resolv.conf names the gateway. An existing file gets a bind
 * mount (the tree is not changed); a missing one is written when the tree is writable. */
int spawn_network_setup_guest_files(SpawnContext *c) {
        char gw[16], text[64];
        struct stat st;
        int fd;

        if (c->config->resolv_conf != RESOLV_CONF_AUTO)
                return resolv_conf_apply(c->config->resolv_conf, c->net.resolv_text);
        if (!c->config->network_veth || !isempty(c->config->network_bridge) || c->net.external)
                return 0; /* a zone's gateway runs its dnsmasq: it is the machine's resolver too; with
                           * networkd, nspawn's auto: private networking leaves the file alone */
        ipv4_to_string(c->net.subnet + 1, gw);
        (void) snprintf(text, sizeof text, "nameserver %s\n", gw);
        fd = open("/run/host/resolv.conf", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        if (write(fd, text, strlen(text)) != (ssize_t) strlen(text)) {
                safe_close(fd);
                return -EIO;
        }
        safe_close(fd);
        if (stat("/etc/resolv.conf", &st) >= 0 && S_ISREG(st.st_mode)) {
                if (mount("/run/host/resolv.conf", "/etc/resolv.conf", NULL, MS_BIND, NULL) < 0)
                        return -errno;
                return 0;
        }
        if (lstat("/etc/resolv.conf", &st) < 0 && errno == ENOENT) {
                fd = open("/etc/resolv.conf", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (fd >= 0) {
                        (void) write(fd, text, strlen(text));
                        safe_close(fd);
                }
        }
        /* A dangling link (a resolver's stub in /run): the guest's own resolver owns it. */
        return 0;
}

int spawn_network_nft_watch_fd(SpawnContext *c) {
        if (!c->net.recorded || c->net.external)
                return -1;
        if (c->net.nft_watch_fd < 0) {
                c->net.nft_watch_fd = nfset_watch_open();
                if (c->net.nft_watch_fd < 0)
                        log_debug_errno(c->net.nft_watch_fd, "Failed to watch nftables, not watched: %m");
        }
        return c->net.nft_watch_fd;
}

/* 1 both of berth's tables are there, 0 one has gone, <0 cannot tell. */
static int tables_exist(void) {
        int r = nfset_table_exists(AF_INET); /* NFPROTO_IPV4's value */

        if (r > 0 && spawn_network_ipv6_supported())
                r = nfset_table_exists(AF_INET6);
        return r;
}

void spawn_network_nft_check(SpawnContext *c) {
        _cleanup_close_ int lock = -EBADF;

        if (c->net.nft_watch_fd < 0 || tables_exist() != 0)
                return;
        lock = spawn_network_lock();
        if (lock < 0)
                return (void) log_warning_errno(lock, "Failed to take the network lock " NETWORK_LOCK ": %m");
        /* every launcher hears it: the first to take the lock makes the tables, the others find them */
        if (tables_exist() != 0)
                return;
        log_debug("berth's nftables tables have gone: making them again.");
        (void) spawn_network_nft_sync();
}

void spawn_network_nft_watch_event(SpawnContext *c) {
        if (nfset_watch_read(c->net.nft_watch_fd) > 0)
                spawn_network_nft_check(c);
}

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
#include <time.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
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

/* ZONE of a ZONE_DIR entry "ZONE" + suffix; false for any other entry. */
static bool zone_of_entry(const char *entry, const char *suffix, char ret[static IFNAMSIZ]) {
        const char *dot = endswith(entry, suffix);
        size_t l = dot ? (size_t) (dot - entry) : 0;

        if (l == 0 || l >= IFNAMSIZ)
                return false;
        memcpy(ret, entry, l);
        ret[l] = 0;
        return true;
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

/* The zone's dnsmasq reads a file per member from two directories (--hostsdir, --dhcp-hostsdir):
 * a member's are written as it joins, which dnsmasq sees through inotify, with no reload and no
 * other member's files touched. */
static const char *const zone_dirs[] = { ".hosts", ".dhcp" };

static char *member_path(const char *zone, const char *dir, const char *name) {
        return strjoin(ZONE_DIR "/", zone, dir, "/", name);
}

static int zone_dirs_create(const char *zone) {
        for (size_t i = 0; i < ELEMENTSOF(zone_dirs); i++) {
                _cleanup_free_ char *p = zone_path(zone, zone_dirs[i]);
                if (!p)
                        return -ENOMEM;
                struct stat st;
                if (mkdir(p, 0755) >= 0 || (errno == EEXIST && lstat(p, &st) >= 0 && S_ISDIR(st.st_mode)))
                        continue;
                /* a zone an older launcher made: one file rendered from all members' records */
                if (errno != EEXIST || unlink(p) < 0 || mkdir(p, 0755) < 0)
                        return -errno;
        }
        return 0;
}

/* Removes name's files from the zone's directories; without a name, the directories themselves. */
static void member_files_remove(const char *zone, const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(zone_dirs); i++) {
                _cleanup_free_ char *p = name ? member_path(zone, zone_dirs[i], name) : zone_path(zone, zone_dirs[i]);
                _cleanup_(closedirp) DIR *d = NULL;

                if (!p)
                        continue;
                if (name) {
                        (void) unlink(p);
                        continue;
                }
                d = opendir(p);
                for (struct dirent *de; d && (de = readdir(d));)
                        if (de->d_name[0] != '.')
                                (void) unlinkat(dirfd(d), de->d_name, 0);
                (void) rmdir(p);
        }
}

/* 1 if it replaced a file that was there (whose DHCP host entry dnsmasq keeps until it reloads). */
static int member_file_write(const char *zone, const char *dir, const char *name, const char *text) {
        _cleanup_free_ char *p = member_path(zone, dir, name);
        _cleanup_close_ int fd = -EBADF;
        size_t l = strlen(text);
        bool replaced;

        if (!p)
                return -ENOMEM;
        replaced = unlink(p) >= 0; /* a new file in one write: dnsmasq never reads half of it */
        fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        if (write(fd, text, l) != (ssize_t) l)
                return -EIO;
        return replaced;
}

/* The member's "ADDRESS NAME" lines (its IPv4 and IPv6 addresses) and its "MAC,ADDRESS,[ADDRESS6],NAME".
 * 1 if the latter replaced one (a launcher killed before it removed it), which dnsmasq drops only
 * when it reloads. */
static int member_files_write(const char *zone, const char *name, uint32_t address, const uint8_t m[static 6]) {
        char a[16], a6[INET6_ADDRSTRLEN + 3] = "", hosts[512], dhcp[512];
        int r;

        r = zone_dirs_create(zone); /* made with the zone: again for one an older launcher made */
        if (r < 0)
                return r;
        ipv4_to_string(address, a);
        (void) snprintf(hosts, sizeof hosts, "%s %s\n", a, name);
        if (spawn_network_ipv6_supported()) {
                uint8_t addr6[16];
                /* the zone's /64 and the IPv4 address's last byte, as host0 gets them */
                spawn_network_subnet6(address & ~UINT32_C(0xff), addr6);
                addr6[15] = (uint8_t) address;
                a6[0] = '[';
                (void) inet_ntop(AF_INET6, addr6, a6 + 1, INET6_ADDRSTRLEN);
                (void) snprintf(hosts + strlen(hosts), sizeof hosts - strlen(hosts), "%s %s\n", a6 + 1, name);
                strcat(a6, "],");
        }
        (void) snprintf(dhcp, sizeof dhcp, "%02x:%02x:%02x:%02x:%02x:%02x,%s,%s%s\n", m[0], m[1], m[2], m[3], m[4],
                        m[5], a, a6, name);
        r = member_file_write(zone, ".hosts", name, hosts);
        return r < 0 ? r : member_file_write(zone, ".dhcp", name, dhcp);
}

/* X of ::X in the zone's /64 (0, which no machine has, for any other address). */
static uint8_t zone_host6(uint32_t subnet, const uint8_t addr6[static 16]) {
        uint8_t prefix[16];

        spawn_network_subnet6(subnet, prefix);
        for (size_t i = 0; i < 15; i++)
                if (addr6[i] != (i < 8 ? prefix[i] : 0))
                        return 0;
        return addr6[15];
}

#define LEASES_MAX (1024 * 1024)

static bool same_version(const struct stat *a, const struct stat *b) {
        return a->st_ino == b->st_ino && a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
               a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* The lease file whole (NULL: none). dnsmasq rewrites it in place (truncates, then writes): a read
 * that saw it change meanwhile (its size or mtime before and after differ), or that found it
 * written in part (its last line unfinished), is done again, a moment later. */
static char *leases_read(const char *path) {
        for (int attempt = 0; attempt < 3; attempt++) {
                _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
                struct stat before, after;
                char *text = NULL;

                if (fd < 0 || fstat(fd, &before) < 0 || !S_ISREG(before.st_mode) ||
                    read_full_fd(fd, LEASES_MAX, &text, NULL) < 0)
                        return NULL;
                size_t n = strlen(text);
                if (fstat(fd, &after) >= 0 && same_version(&before, &after) && (n == 0 || text[n - 1] == '\n'))
                        return text;
                free(text);
                (void) usleep(2000);
        }
        log_debug("%s kept changing while it was read; going on without its leases.", path);
        return NULL;
}

/* The zone dnsmasq's unexpired leases: IPv4 ("EXPIRY MAC ADDRESS ..." lines; 0: no expiry) and
 * DHCPv6 ("EXPIRY IAID ADDRESS ..."): the machine's own IPv4 lease's address in *ret_own (0: none),
 * the others' in a bitmap of the /24's hosts (an IPv6 lease, which names no MAC, by the last byte of
 * ::X in the zone's /64, as berth gives them). */
static void zone_leases(const char *zone, const uint8_t mac[static 6], uint32_t subnet, uint32_t *ret_own,
                        bool taken[static 256]) {
        _cleanup_free_ char *path = zone_path(zone, ".leases");
        _cleanup_free_ char *text = path ? leases_read(path) : NULL;
        time_t now = time(NULL);
        char *save = NULL;

        *ret_own = 0;
        for (char *line = text ? strtok_r(text, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
                unsigned long long expiry;
                unsigned m[6], a, b, c, d, iaid;
                char a6[INET6_ADDRSTRLEN];
                uint8_t addr6[16];
                bool own = true;

                if (sscanf(line, "%llu %u %45s", &expiry, &iaid, a6) == 3 && inet_pton(AF_INET6, a6, addr6) == 1) {
                        if (expiry == 0 || expiry > (unsigned long long) now)
                                taken[zone_host6(subnet, addr6)] = true;
                        continue;
                }
                if (sscanf(line, "%llu %x:%x:%x:%x:%x:%x %u.%u.%u.%u", &expiry, &m[0], &m[1], &m[2], &m[3], &m[4],
                           &m[5], &a, &b, &c, &d) != 11 || (a | b | c | d) > 255 ||
                    (expiry != 0 && expiry <= (unsigned long long) now))
                        continue; /* the DUID line, expired leases */
                uint32_t address = a << 24 | b << 16 | c << 8 | d;
                if ((address & ~UINT32_C(0xff)) != subnet)
                        continue;
                for (size_t i = 0; i < 6; i++)
                        own = own && m[i] == mac[i];
                if (own)
                        *ret_own = address;
                else
                        taken[address & 0xff] = true;
        }
}

/* A free address of the zone: the one its dnsmasq still leases to this machine (it comes back with
 * the address it had), else the lowest that neither a member nor another machine's unexpired lease
 * holds (dnsmasq would not give a leased address to another machine over DHCP), else the lowest that
 * no member holds. */
static int pick_address(const char *zone, uint32_t subnet, const uint8_t mac[static 6], uint32_t *ret) {
        _cleanup_free_ ZoneMember *members = NULL;
        bool used[256] = {}, leased[256] = {};
        uint32_t own;
        size_t n;
        int r = zone_members(zone, &members, &n);

        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if ((members[i].address & ~UINT32_C(0xff)) == subnet)
                        used[members[i].address & 0xff] = true;
        zone_leases(zone, mac, subnet, &own, leased);
        if (own != 0 && (own & 0xff) >= 2 && !used[own & 0xff]) {
                *ret = own;
                return 0;
        }
        for (int pass = 0; pass < 2; pass++)
                for (uint32_t a = 2; a < 2 + ZONE_ADDRESSES; a++)
                        if (!used[a] && (pass == 1 || !leased[a])) {
                                *ret = subnet + a;
                                return 0;
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
        r = zone_dirs_create(zone);
        if (r < 0)
                return r;
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
        r = pick_address(zone, n->subnet, n->mac_guest, &n->address);
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

/* The zone's dnsmasq: started by the zone's first machine (or the first after it ended, or one an
 * older launcher started, which reads no hosts directories); a running one finds a new member's
 * files itself, and reloads when a member's file replaced an old one. */
static int zone_dnsmasq(const char *zone, const char *bridge, const SpawnNetwork *n, bool reload) {
        _cleanup_free_ char *state = strjoin("zones/", zone), *hosts = zone_path(zone, ".hosts"),
                            *dhcp = zone_path(zone, ".dhcp");
        char err[512];
        int r;

        if (!state || !hosts || !dhcp)
                return log_oom();
        r = spawn_dnsmasq_running(state, "--hostsdir=");
        if (r > 0) {
                r = reload ? spawn_dnsmasq_reload(state) : 0;
                return r < 0 && r != -ESRCH ? log_error_errno(r, "Failed to reload the dnsmasq of zone '%s': %m", zone) : 0;
        }
        if (r == 0) {
                _cleanup_close_ int old = spawn_dnsmasq_kill(state, -EBADF);
                spawn_dnsmasq_wait_gone(old);
        }
        r = spawn_dnsmasq_start_zone(&(DnsmasqZone) { .state_name = state, .ifname = bridge, .subnet = n->subnet,
                                                      .prefixlen = SPAWN_ZONE_PREFIXLEN, .dhcp_hosts_dir = dhcp,
                                                      .hosts_dir = hosts, .subnet6 = n->ipv6 ? n->subnet6 : NULL },
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
        bool replaced;
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
        r = member_files_write(zone, c->config->machine_name, c->net.address, c->net.mac_guest);
        if (r < 0)
                return log_error_errno(r, "Failed to write the hosts files of machine '%s' in zone '%s': %m",
                                       c->config->machine_name, zone);
        replaced = r > 0;
        lock = spawn_network_lock();
        if (lock < 0)
                return log_error_errno(lock, "Failed to take the network lock: %m");
        r = zone_dnsmasq(zone, bridge, &c->net, replaced);
        if (r < 0)
                return r;
        *ret_lock = TAKE_FD(lock);
        return 0;
}

void spawn_zone_member_remove(const char *zone, const char *machine_name) {
        _cleanup_(closedirp) DIR *d = NULL;
        char z[IFNAMSIZ];

        if (zone) {
                member_files_remove(zone, machine_name);
                return;
        }
        /* a record that could not be read: from every zone */
        d = opendir(ZONE_DIR);
        for (struct dirent *de; d && (de = readdir(d));)
                if (zone_of_entry(de->d_name, ".hosts", z))
                        member_files_remove(z, machine_name);
}

int spawn_zone_leave_begin(const char *zone, int *ret_dnsmasq) {
        _cleanup_free_ ZoneMember *members = NULL;
        _cleanup_free_ char *state = strjoin("zones/", zone);
        size_t n;
        int r;

        *ret_dnsmasq = -ESRCH;
        if (!state || zone_members(zone, &members, &n) < 0)
                return 0;
        if (n > 0) {
                /* the member's name went with its hosts file (inotify; its DHCP lease keeps it until
                 * it expires); its DHCP host entry goes when dnsmasq reloads */
                r = spawn_dnsmasq_reload(state);
                if (r < 0 && r != -ESRCH)
                        log_warning_errno(r, "Failed to update the dnsmasq of zone '%s': %m", zone);
                return 0;
        }
        /* the last machine of the zone has gone: so does the zone */
        *ret_dnsmasq = spawn_dnsmasq_kill(state, -EBADF);
        member_files_remove(zone, NULL);
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

/* Hosts directories whose zone has no record (an older launcher, which knew them as files, was the
 * zone's last), and then ZONE_DIR when it is empty. */
static void collect_orphan_dirs(void) {
        _cleanup_(closedirp) DIR *d = opendir(ZONE_DIR);
        char zone[IFNAMSIZ];

        for (struct dirent *de; d && (de = readdir(d));) {
                _cleanup_free_ char *record = NULL;

                if (!zone_of_entry(de->d_name, ".hosts", zone) && !zone_of_entry(de->d_name, ".dhcp", zone))
                        continue;
                record = zone_path(zone, ".zone");
                if (record && access(record, F_OK) < 0 && errno == ENOENT)
                        member_files_remove(zone, NULL);
        }
        (void) rmdir(ZONE_DIR);
}

int spawn_zone_collect_empty(Netlink **nl) {
        _cleanup_(closedirp) DIR *d = opendir(ZONE_DIR);
        char zone[IFNAMSIZ];
        int removed = 0;

        if (!d)
                return 0;
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_free_ ZoneMember *members = NULL;
                size_t n;

                if (!zone_of_entry(de->d_name, ".zone", zone))
                        continue;
                if (zone_members(zone, &members, &n) >= 0 && n == 0) {
                        log_debug("Collecting zone '%s', which a killed launcher made and left empty.", zone);
                        if (!*nl)
                                (void) netlink_open(-EBADF, nl);
                        spawn_zone_leave(*nl, zone);
                        removed++;
                }
        }
        collect_orphan_dirs();
        return removed;
}

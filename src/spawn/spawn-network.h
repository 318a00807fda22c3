/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "id128.h"
#include "netlink-util.h"
#include "spawn-dnsmasq.h"
#include "spawn-nft.h"
#include "spawn-port.h"

/* A machine's own network (-n/--network-veth) without systemd-networkd: nspawn's veth (ve-NAME
 * here, host0 in the machine, nspawn's MACs) plus what networkd would add: a free /28, the host
 * side up and addressed, the machine's side configured from outside before its init runs, a
 * dnsmasq for DHCP and DNS, masquerade in berth's nftables table. What a launcher made is
 * written down under SPAWN_NETWORK_DIR (NAME.net), so that a later launcher collects it when
 * this one was killed. */

#define SPAWN_NETWORK_DIR "/run/berth/network"
#define SPAWN_NETWORK_PREFIXLEN 28

typedef struct SpawnNetwork {
        char ifname[IFNAMSIZ]; /* host side: ve-NAME (shortened as nspawn does) */
        uint8_t mac_host[6], mac_guest[6];
        uint32_t subnet;       /* host byte order; the gateway is .1 */
        uint32_t address;      /* the machine's: .2, or in a zone the one it was given */
        unsigned prefixlen;    /* SPAWN_NETWORK_PREFIXLEN, or a zone's 24 */
        uint8_t subnet6[16];   /* a veth's /64 (spawn_network_subnet6()), when ipv6 */
        bool ipv6;
        bool recorded;         /* NAME.net written: teardown removes what it lists */
        bool external;         /* systemd-networkd addresses it (--network-setup=): berth makes links only */
        int host_ifindex;
        int netns_fd;          /* the machine's, held until interfaces moved in are back */
        DnsmasqRun dnsmasq;    /* the link's dnsmasq, the launcher's child */
        int nft_watch_fd;      /* hears nftables' changes: berth's tables made again when they go */
        size_t n_moved;        /* --network-interface= links moved in so far */
        size_t n_extra;        /* --network-veth-extra= pairs made so far */
        char *resolv_text;     /* --resolv-conf='s source, read on the host before the clone */
} SpawnNetwork;

/* nspawn's keys (src/nspawn/nspawn-network.c): the same names and MACs as systemd-nspawn on the
 * same host, so leases survive moving a machine between the two. */
extern const uint8_t spawn_network_host_key[16], spawn_network_guest_key[16];

/* PREFIX + NAME, shortened to fit IFNAMSIZ as nspawn (v245+) does: the first 11 characters and 4
 * characters of a hash. Returns 1 when shortened. */
int spawn_network_ifname(const char *prefix, const char *name, char ret[static IFNAMSIZ]);
/* siphash24(machine_id || name [|| le64 idx], key) → a locally administered unicast MAC. */
void spawn_network_mac(Id128 machine_id, const char *name, const uint8_t key[static 16], uint64_t idx,
                       uint8_t ret[static 6]);
/* The machine's IPv6 /64 for its IPv4 /28 SUBNET (host byte order): a ULA prefix (fd00::/8)
 * whose global ID comes from the host's machine id. The gateway is ::1, the machine ::2. */
void spawn_network_subnet6(uint32_t subnet, uint8_t ret[static 16]);
/* Does the host do IPv6 (and new links get it)? Without, -n is IPv4 only. */
bool spawn_network_ipv6_supported(void);
/* A bridge's own MAC, udev's persistent one for its name on this host. */
void spawn_network_bridge_mac(const char *bridge, uint8_t ret[static 6]);
/* The host's machine id (/etc/machine-id, else D-Bus's), null when it has none. */
Id128 spawn_network_host_machine_id(void);

typedef struct SpawnContext SpawnContext;
typedef struct SpawnConfig SpawnConfig;

/* Before anything is made: --port= needs -n, and no other machine may publish the same port. */
int spawn_network_verify(const SpawnConfig *config);

/* Parent steps: before the clone (names, subnet, the record), and once the machine's network
 * namespace exists (links, addresses, dnsmasq, nftables). */
int spawn_network_allocate(SpawnContext *c);
int spawn_network_setup(SpawnContext *c);
/* Parent step before "go": the machine's own dnsmasq (a -n machine outside a zone), started in
 * network-setup, answers. */
int spawn_network_dnsmasq_ready(SpawnContext *c);
/* Child step: resolv.conf pointing at the gateway's dnsmasq. */
int spawn_network_setup_guest_files(SpawnContext *c);
/* The machine has ended: its own dnsmasq is killed before its network namespace goes (first in the
 * teardown), whose end holds the RTNL that a dying dnsmasq needs to leave its multicast groups. */
void spawn_network_teardown_begin(SpawnContext *c);
/* Removes what this launcher made (every exit path); logs what fails. */
void spawn_network_teardown(SpawnContext *c);
/* For spawn-zone.c, under the network lock where it says so. */
int spawn_network_lock(void);
int spawn_network_subnet_pick(const char *name, Id128 host_id, unsigned prefixlen, uint32_t *ret);
int spawn_network_machines_add_subnet(NftMachines *m, Ipv4Prefix subnet);
int spawn_network_join_bridge(SpawnContext *c, Netlink *nl, const char *bridge);
/* Refuses (logs) a host port another machine publishes already; under the network lock. */
int spawn_network_ports_check_free(const ExposePorts *ports);
/* A record's port lines: "PROTOCOL HOSTPORT GUESTPORT". */
void spawn_network_write_ports(FILE *f, const ExposePorts *ports);
/* host0 addressed and routed through the gateway (from outside), IPv4 (and IPv6) forwarding on. */
int spawn_network_connect_guest(SpawnContext *c);

/* The launcher's watch on berth's nftables tables: when they go while the machine runs (`nft flush
 * ruleset`, a firewall restart), they are made again from the records at once, instead of at the
 * next start or stop of a machine. The fd to watch (c->net.nft_watch_fd), -1 when the machine has
 * nothing in the tables; the event's handler; logs. */
int spawn_network_nft_watch_fd(SpawnContext *c);
void spawn_network_nft_watch_event(SpawnContext *c);
/* Makes berth's tables again if they have gone (checked once the watch is on: a flush between the
 * machine's start and the watch is not missed). */
void spawn_network_nft_check(SpawnContext *c);

/* Collects what dead launchers left (any machine's record whose launcher is gone). */
void spawn_network_collect_stale(const char *own_machine_name);

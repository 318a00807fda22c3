/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netlink-util.h"
#include "run-program.h"

/* berth's own nftables tables ("ip berth", and "ip6 berth" when ipv6), rendered whole from every
 * machine's subnet and ports and handed to `nft -f -` as one transaction that replaces the old
 * tables: masquerade for traffic from a machine's subnet to anywhere else, DNAT for the ports. This
 * makes the tables when they are missing (the first machine after boot, `nft flush ruleset`); a
 * machine that starts or stops while they are there adds or deletes its own elements
 * (spawn-nfset.h). With no machine the tables stay, empty. Returns 0, -ENOENT when nft is not
 * installed, or -EPROTO with nft's complaint in err. */
typedef struct NftPort {
        uint8_t protocol; /* IPPROTO_TCP, IPPROTO_UDP */
        uint16_t host_port, guest_port;
        uint32_t guest_addr; /* host byte order */
        uint8_t guest_addr6[16];
} NftPort;

typedef struct NftMachines {
        Ipv4Prefix *subnets;
        uint8_t (*subnets6)[16]; /* each subnet's IPv6 /64, in the same order */
        size_t n_subnets;
        NftPort *ports;
        size_t n_ports;
        bool ipv6;               /* the host does IPv6: "ip6 berth" too */
} NftMachines;

void nft_machines_done(NftMachines *m);

/* Ports (-p) are DNAT from every local address (localhost too) to the machine; connections
 * that come from localhost or from a machine (hairpin) are masqueraded as well. The same in
 * "ip6 berth" for the machines' /64s, except from ::1 (IPv6 has no route_localnet: a packet from
 * ::1 never leaves the host). */
int spawn_nft_apply(const NftMachines *m, char *err, size_t err_size);
/* The same in two halves: nft runs while the caller goes on. */
int spawn_nft_apply_start(const NftMachines *m, RunningProgram *ret);
int spawn_nft_apply_finish(RunningProgram *p, char *err, size_t err_size);

/* The script spawn_nft_apply() would run (for the unit tests); NULL on OOM. */
char *spawn_nft_render(const NftMachines *m);

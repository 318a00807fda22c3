/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What spawn-network.c (set-up, records, berth's tables) and spawn-network-teardown.c (a machine's
 * network going, and what killed launchers left) share. */

#include <net/if.h>
#include <stdbool.h>

#include "netlink-util.h"
#include "spawn-nft.h"

typedef struct SpawnContext SpawnContext;

#define NETWORK_LOCK SPAWN_NETWORK_DIR "/.lock"

/* SPAWN_NETWORK_DIR/NAME.net, a machine's record. */
char *spawn_network_record_path(const char *machine_name);
/* Its link's name, its zone (ret_zone: IFNAMSIZ bytes, or NULL), its subnet and ports (into m). */
int spawn_network_record_read(const char *path, char ret_ifname[static IFNAMSIZ], char *ret_zone, NftMachines *m);
/* One machine's subnet and ports, from its record. */
int spawn_network_record_elements(const char *machine_name, NftMachines *ret);
/* A zone member's elements: its zone's subnet. */
int spawn_network_zone_elements(const SpawnContext *c, NftMachines *ret);
/* Re-renders berth's tables from the records; logs. */
int spawn_network_nft_sync(void);
/* Adds (add) or deletes machines' elements; renders the tables whole when that fails. Under the
 * network lock; logs. ret_socket: see nfset_apply(). */
int spawn_network_nft_update(bool add, const NftMachines *m, int *ret_socket);
/* networkd addresses the zone's links: its bridge goes with its last member (under the lock). */
void spawn_network_external_zone_teardown(Netlink *nl, const char *zone);
/* The marked zone bridges with no port left (under the lock); opens *nl if it has to. */
void spawn_network_external_zones_collect(Netlink **nl);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* --network-zone=ZONE: nspawn's vz-ZONE bridge, made by the zone's first machine and removed with its
 * last, each machine's vb-NAME in it. Without networkd, berth adds what networkd would: a /24 for the
 * zone (the gateway .1 on the bridge), a fixed address per machine, set from outside as for -n, one
 * dnsmasq per zone (DHCP, and DNS in which every machine of the zone resolves by name), masquerade
 * out. What exists is written down under SPAWN_NETWORK_DIR, changed under the network lock:
 *   zones/ZONE.zone                   "SUBNET/24 vz-ZONE"
 *   NAME.net                          "zone ZONE vb-NAME ADDRESS MAC" for each machine of the zone
 *   zones/ZONE.hosts/NAME             "ADDRESS NAME" lines, read by the zone's dnsmasq (--hostsdir)
 *   zones/ZONE.dhcp/NAME              "MAC,ADDRESS,[ADDRESS6],NAME" (--dhcp-hostsdir)
 * A launcher that was killed leaves its record; the next launcher collects it like any other and
 * the zone goes when no record names it. */

#include "id128.h"
#include "netlink-util.h"
#include "spawn-nft.h"

typedef struct SpawnContext SpawnContext;

#define SPAWN_ZONE_PREFIXLEN 24

/* vz-ZONE: the zone's name is checked to fit (spawn_network_zone_name_check()). */
void spawn_zone_bridge_name(const char *zone, char ret[static IFNAMSIZ]);
/* 0 if NAME makes a valid vz-NAME link name (1 to 12 of [A-Za-z0-9_.-]), else -EINVAL. */
int spawn_network_zone_name_check(const char *name);
/* Allocation (before the clone): the zone's subnet (picked if the zone is new), this machine's
 * address in it, its record. Takes the network lock. */
int spawn_zone_join(SpawnContext *c, Id128 host_id);
/* Once the machine's network namespace exists: the bridge (made if missing), vb-NAME in it, host0
 * addressed and the machine's hosts files written (without the network lock), the zone's dnsmasq
 * started if it is the first (under it). Returns with
 * the lock held in *ret_lock, for the zone's nftables elements. */
int spawn_zone_setup(SpawnContext *c, Netlink *nl, int *ret_lock);
/* A member that goes: its hosts files first (under the network lock), before its record, so that
 * none stays without a record that leads to it. zone NULL (a collected record that names no zone,
 * or could not be read): from every zone. */
void spawn_zone_member_remove(const char *zone, const char *machine_name);
/* After a member's record is gone (under the network lock): the zone's dnsmasq reloads, or, with no
 * member left, its dnsmasq, bridge and files are removed. 1 if the zone went, else 0. */
int spawn_zone_leave(Netlink *nl, const char *zone);
/* The same in two parts, for a launcher that leaves the slow one behind (the bridge's deletion
 * waits for RCU grace periods, the killed dnsmasq's end for the RTNL): with no member left, the
 * first kills the zone's dnsmasq (*ret_dnsmasq: a pidfd of it, see spawn_dnsmasq_kill()) and
 * removes its files but the zone's own record, which keeps the zone known (and collected if the
 * second part never runs) until spawn_zone_remove() has removed the bridge. Both under the lock. */
int spawn_zone_leave_begin(const char *zone, int *ret_dnsmasq);
void spawn_zone_remove(Netlink *nl, const char *zone);
/* Removes zones no record names (a launcher killed between making a zone and joining it; under the
 * network lock); opens *nl if it has to. Returns how many. */
int spawn_zone_collect_empty(Netlink **nl);
/* Adds every zone's /24 (records_list, under the network lock). */
int spawn_zone_add_subnets(NftMachines *m);

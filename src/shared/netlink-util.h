/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* rtnetlink through libmnl: the few link, address and route operations machines need. Every
 * function returns 0 or a negative errno (the kernel's answer) and does not log. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

typedef struct Netlink Netlink;

/* A socket in the network namespace netns_fd refers to (-EBADF: ours). The socket stays in that
 * namespace for its whole life. */
int netlink_open(int netns_fd, Netlink **ret);
Netlink *netlink_free(Netlink *nl);
/* A non-blocking socket in that namespace that becomes readable whenever an IPv4 or IPv6 address
 * there comes or goes (its messages only say that something changed; read them away). */
int netlink_open_address_watch(int netns_fd);
DEFINE_POINTER_CLEANUP(Netlink *, netlink_free);

#define ETHER_ADDR_LEN_BERTH 6

/* A veth pair: NAME here (with MAC), PEER (with PEER_MAC) created directly in the network
 * namespace of PEER_PID. -EEXIST if NAME is taken. */
int netlink_veth_add(Netlink *nl, const char *name, const uint8_t mac[static 6], const char *peer,
                     const uint8_t peer_mac[static 6], pid_t peer_pid);
/* A bridge NAME with the MAC it keeps (down, no address). */
int netlink_bridge_add(Netlink *nl, const char *name, const uint8_t mac[static 6]);
/* A macvlan (bridge mode) or ipvlan (L2) link on the host's LINK_INDEX, created directly in the
 * network namespace of PID (mac NULL: the kernel's). */
int netlink_macvlan_add(Netlink *nl, const char *name, int link_index, const uint8_t *mac, pid_t pid);
int netlink_ipvlan_add(Netlink *nl, const char *name, int link_index, pid_t pid);
/* Moves link INDEX into the network namespace NETNS_FD, renamed to NEW_NAME (NULL: keeps its name). */
int netlink_link_move(Netlink *nl, int index, int netns_fd, const char *new_name);
/* Makes MASTER (a bridge) the master of link INDEX and brings INDEX up, without an IPv6 address of its own. */
int netlink_link_set_master_up(Netlink *nl, int index, int master);
/* Renames link INDEX; -EBUSY while it is up, on older kernels that rename no running link. */
int netlink_link_rename(Netlink *nl, int index, const char *new_name);
/* 0 when deleted, -ENODEV when there was no such link. */
int netlink_link_delete(Netlink *nl, const char *name);
int netlink_link_delete_index(Netlink *nl, int index);
/* Waits until link INDEX (in our namespace) is gone: 0, or -ETIMEDOUT after timeout_ms. A veth
 * goes with the network namespace its peer is in, a few milliseconds after the namespace's last
 * process; deleting it costs some 30 ms (RCU grace periods). */
int netlink_link_wait_gone(int index, int timeout_ms);
/* The ifindex (> 0) of NAME in the socket's namespace, -ENODEV if there is none. */
int netlink_link_add_altname(Netlink *nl, int index, const char *altname);
int netlink_link_index(Netlink *nl, const char *name);
/* How many links have MASTER (a bridge's index) as their master. */
int netlink_link_count_ports(Netlink *nl, int master);
int netlink_link_set_up(Netlink *nl, int ifindex);
int netlink_addr_add(Netlink *nl, int ifindex, int family, const void *addr, unsigned prefixlen);
int netlink_addr_del(Netlink *nl, int ifindex, int family, const void *addr, unsigned prefixlen);
/* A default route through GATEWAY on IFINDEX. */
int netlink_route_add_default(Netlink *nl, int ifindex, int family, const void *gateway);

typedef struct Ipv4Prefix {
        uint32_t addr; /* host byte order */
        unsigned len;
} Ipv4Prefix;

/* "a.b.c.d" of an address in host byte order. */
void ipv4_to_string(uint32_t a, char buf[static 16]);

/* Every IPv4 route (all tables, except default routes) and every IPv4 address with its prefix in
 * the socket's namespace: what a new subnet must not overlap. */
int netlink_ipv4_prefixes(Netlink *nl, Ipv4Prefix **ret, size_t *ret_n);
bool ipv4_prefix_overlaps(Ipv4Prefix a, Ipv4Prefix b) _pure_;

typedef struct NetlinkAddress {
        int family;        /* AF_INET or AF_INET6 */
        int ifindex;
        uint8_t bytes[16]; /* 4 used for AF_INET */
} NetlinkAddress;

/* Every address in the socket's namespace except those on loopback links, as getifaddrs() would
 * give them (the local address, not the peer's), in the kernel's order. */
int netlink_addresses(Netlink *nl, NetlinkAddress **ret, size_t *ret_n);

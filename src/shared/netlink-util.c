/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "netlink-util.h"

struct Netlink {
        struct mnl_socket *sock;
        unsigned portid;
        unsigned seq;
};

static int open_here(Netlink *nl) {
        nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        if (!nl->sock)
                return -errno;
        if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0)
                return -errno;
        nl->portid = mnl_socket_get_portid(nl->sock);
        return 0;
}

/* Runs fn in the network namespace netns_fd refers to (-EBADF: ours). Sockets belong to the
 * namespace they are made in: step in, make it, step back. */
static int in_netns(int netns_fd, int (*fn)(void *userdata), void *userdata) {
        _cleanup_close_ int ours = -EBADF;
        int r;

        if (netns_fd < 0)
                return fn(userdata);
        ours = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (ours < 0)
                return -errno;
        if (setns(netns_fd, CLONE_NEWNET) < 0)
                return -errno;
        r = fn(userdata);
        if (setns(ours, CLONE_NEWNET) < 0)
                abort(); /* we cannot go on in the machine's namespace */
        return r;
}

static int open_here_cb(void *userdata) {
        return open_here(userdata);
}

int netlink_open(int netns_fd, Netlink **ret) {
        _cleanup_(netlink_freep) Netlink *nl = new0(Netlink, 1);
        int r;

        if (!nl)
                return -ENOMEM;
        nl->seq = (unsigned) time(NULL);
        r = in_netns(netns_fd, open_here_cb, nl);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(nl);
        return 0;
}

static int open_address_watch_here(void *userdata) {
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR };
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);

        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        *(int *) userdata = fd;
        return 0;
}

int netlink_open_address_watch(int netns_fd) {
        int fd = -EBADF, r;

        r = in_netns(netns_fd, open_address_watch_here, &fd);
        return r < 0 ? r : fd;
}

Netlink *netlink_free(Netlink *nl) {
        if (!nl)
                return NULL;
        if (nl->sock)
                (void) mnl_socket_close(nl->sock);
        free(nl);
        return NULL;
}

static struct nlmsghdr *request(Netlink *nl, char *buf, uint16_t type, uint16_t flags, size_t hdr_size) {
        struct nlmsghdr *h = mnl_nlmsg_put_header(buf);

        h->nlmsg_type = type;
        h->nlmsg_flags = NLM_F_REQUEST | flags;
        h->nlmsg_seq = ++nl->seq;
        (void) mnl_nlmsg_put_extra_header(h, hdr_size);
        return h;
}

/* Sends h and runs cb on every answer until the ack (or the end of a dump). */
static int call(Netlink *nl, struct nlmsghdr *h, mnl_cb_t cb, void *data) {
        char buf[32768];
        unsigned seq = h->nlmsg_seq;
        int r;

        /* NLM_F_DUMP's bits mean NLM_F_EXCL|NLM_F_APPEND on a "new" request: only a get dumps. */
        bool dump = (h->nlmsg_type & 3) == 2 && (h->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;

        if (!dump)
                h->nlmsg_flags |= NLM_F_ACK;
        if (mnl_socket_sendto(nl->sock, h, h->nlmsg_len) < 0)
                return -errno;
        for (;;) {
                ssize_t n = mnl_socket_recvfrom(nl->sock, buf, sizeof buf);
                if (n < 0)
                        return -errno;
                r = mnl_cb_run(buf, (size_t) n, seq, nl->portid, cb, data);
                if (r < 0)
                        return -errno;
                if (r == MNL_CB_STOP)
                        return 0;
        }
}

int netlink_veth_add(Netlink *nl, const char *name, const uint8_t mac[static 6], const char *peer,
                     const uint8_t peer_mac[static 6], pid_t peer_pid) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *h = request(nl, buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifinfomsg));
        struct nlattr *info, *data, *p;

        mnl_attr_put_strz(h, IFLA_IFNAME, name);
        mnl_attr_put(h, IFLA_ADDRESS, 6, mac);
        info = mnl_attr_nest_start(h, IFLA_LINKINFO);
        mnl_attr_put_strz(h, IFLA_INFO_KIND, "veth");
        data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
        p = mnl_attr_nest_start(h, VETH_INFO_PEER);
        (void) mnl_nlmsg_put_extra_header(h, sizeof(struct ifinfomsg)); /* the peer's own ifinfomsg */
        mnl_attr_put_strz(h, IFLA_IFNAME, peer);
        mnl_attr_put(h, IFLA_ADDRESS, 6, peer_mac);
        mnl_attr_put_u32(h, IFLA_NET_NS_PID, (uint32_t) peer_pid);
        mnl_attr_nest_end(h, p);
        mnl_attr_nest_end(h, data);
        mnl_attr_nest_end(h, info);
        return call(nl, h, NULL, NULL);
}

int netlink_bridge_add(Netlink *nl, const char *name, const uint8_t mac[static 6]) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *h = request(nl, buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifinfomsg));
        struct nlattr *info;

        mnl_attr_put_strz(h, IFLA_IFNAME, name);
        mnl_attr_put(h, IFLA_ADDRESS, 6, mac);
        info = mnl_attr_nest_start(h, IFLA_LINKINFO);
        mnl_attr_put_strz(h, IFLA_INFO_KIND, "bridge");
        mnl_attr_nest_end(h, info);
        return call(nl, h, NULL, NULL);
}

static int add_on_link(Netlink *nl, const char *kind, const char *name, int link_index, const uint8_t *mac,
                       pid_t pid, uint16_t mode_attr, uint32_t mode_size, uint32_t mode) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *h = request(nl, buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifinfomsg));
        struct nlattr *info, *data;

        mnl_attr_put_strz(h, IFLA_IFNAME, name);
        mnl_attr_put_u32(h, IFLA_LINK, (uint32_t) link_index);
        mnl_attr_put_u32(h, IFLA_NET_NS_PID, (uint32_t) pid);
        if (mac)
                mnl_attr_put(h, IFLA_ADDRESS, 6, mac);
        info = mnl_attr_nest_start(h, IFLA_LINKINFO);
        mnl_attr_put_strz(h, IFLA_INFO_KIND, kind);
        data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
        if (mode_size == 2)
                mnl_attr_put_u16(h, mode_attr, (uint16_t) mode);
        else
                mnl_attr_put_u32(h, mode_attr, mode);
        mnl_attr_nest_end(h, data);
        mnl_attr_nest_end(h, info);
        return call(nl, h, NULL, NULL);
}

int netlink_macvlan_add(Netlink *nl, const char *name, int link_index, const uint8_t *mac, pid_t pid) {
        return add_on_link(nl, "macvlan", name, link_index, mac, pid, IFLA_MACVLAN_MODE, 4, MACVLAN_MODE_BRIDGE);
}

int netlink_ipvlan_add(Netlink *nl, const char *name, int link_index, pid_t pid) {
        return add_on_link(nl, "ipvlan", name, link_index, NULL, pid, IFLA_IPVLAN_MODE, 2, IPVLAN_MODE_L2);
}

int netlink_link_move(Netlink *nl, int index, int netns_fd, const char *new_name) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *h = request(nl, buf, RTM_NEWLINK, 0, 0);
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof *ifi);

        ifi->ifi_index = index;
        mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t) netns_fd);
        if (new_name)
                mnl_attr_put_strz(h, IFLA_IFNAME, new_name);
        return call(nl, h, NULL, NULL);
}

int netlink_link_rename(Netlink *nl, int index, const char *new_name) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *h = request(nl, buf, RTM_NEWLINK, 0, 0);
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof *ifi);

        ifi->ifi_index = index;
        mnl_attr_put_strz(h, IFLA_IFNAME, new_name);
        return call(nl, h, NULL, NULL);
}

int netlink_link_delete(Netlink *nl, const char *name) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *h = request(nl, buf, RTM_DELLINK, 0, sizeof(struct ifinfomsg));

        mnl_attr_put_strz(h, IFLA_IFNAME, name);
        return call(nl, h, NULL, NULL);
}

int netlink_link_delete_index(Netlink *nl, int index) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *h = request(nl, buf, RTM_DELLINK, 0, 0);
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof *ifi);

        ifi->ifi_index = index;
        return call(nl, h, NULL, NULL);
}

int netlink_link_wait_gone(int index, int timeout_ms) {
        _cleanup_(netlink_freep) Netlink *nl = new0(Netlink, 1);
        char buf[MNL_SOCKET_BUFFER_SIZE], name[IF_NAMESIZE];
        struct timespec start, now;
        int r;

        if (!nl)
                return -ENOMEM;
        nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (!nl->sock)
                return -errno;
        /* subscribed before the look: a link that goes in between is announced */
        if (mnl_socket_bind(nl->sock, RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0)
                return -errno;
        (void) clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
                struct pollfd p = { .fd = mnl_socket_get_fd(nl->sock), .events = POLLIN };
                long left;
                ssize_t n;

                if (!if_indextoname((unsigned) index, name))
                        return errno == ENXIO || errno == ENODEV ? 0 : -errno;
                (void) clock_gettime(CLOCK_MONOTONIC, &now);
                left = timeout_ms - ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
                if (left <= 0)
                        return -ETIMEDOUT;
                r = poll(&p, 1, (int) left);
                if (r < 0 && errno != EINTR)
                        return -errno;
                /* drain: whatever was announced, the look above tells */
                while ((n = mnl_socket_recvfrom(nl->sock, buf, sizeof buf)) > 0)
                        ;
        }
}

/* An alternative name (ip link property add altname): nspawn gives a shortened link its full name. */
int netlink_link_add_altname(Netlink *nl, int index, const char *altname) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *h = request(nl, buf, RTM_NEWLINKPROP, NLM_F_CREATE | NLM_F_EXCL | NLM_F_APPEND, 0);
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof *ifi);
        struct nlattr *list;

        ifi->ifi_index = index;
        list = mnl_attr_nest_start(h, IFLA_PROP_LIST);
        mnl_attr_put_strz(h, IFLA_ALT_IFNAME, altname);
        mnl_attr_nest_end(h, list);
        return call(nl, h, NULL, NULL);
}

static int link_index_cb(const struct nlmsghdr *h, void *data) {
        const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);
        *(int *) data = ifi->ifi_index;
        return MNL_CB_OK;
}

int netlink_link_index(Netlink *nl, const char *name) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *h = request(nl, buf, RTM_GETLINK, 0, sizeof(struct ifinfomsg));
        int index = 0, r;

        mnl_attr_put_strz(h, IFLA_IFNAME, name);
        r = call(nl, h, link_index_cb, &index);
        if (r < 0)
                return r;
        return index > 0 ? index : -ENODEV;
}

typedef struct PortCount {
        uint32_t master;
        int n;
} PortCount;

static int port_cb(const struct nlmsghdr *h, void *data) {
        const struct nlattr *a;
        PortCount *c = data;

        mnl_attr_for_each(a, h, sizeof(struct ifinfomsg))
                if (mnl_attr_get_type(a) == IFLA_MASTER && mnl_attr_get_payload_len(a) == 4 &&
                    mnl_attr_get_u32(a) == c->master)
                        c->n++;
        return MNL_CB_OK;
}

int netlink_link_count_ports(Netlink *nl, int master) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *h = request(nl, buf, RTM_GETLINK, NLM_F_DUMP, sizeof(struct ifinfomsg));
        PortCount c = { .master = (uint32_t) master };
        int r = call(nl, h, port_cb, &c);

        return r < 0 ? r : c.n;
}

/* Brings link INDEX up, and puts it in MASTER when > 0. A port of a bridge gets no IPv6 link-local
 * address (the bridge holds the addresses; as Incus does for its bridged NICs): no DAD, router
 * solicitation or MLD from each port as it comes up. Set in the same message as IFF_UP, so no carrier
 * can come between (a veth's carrier comes with its peer, under the same RTNL). */
static int link_up(Netlink *nl, int index, int master, bool no_ipv6_address) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *h = request(nl, buf, RTM_NEWLINK, 0, 0);
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof *ifi);

        ifi->ifi_index = index;
        ifi->ifi_flags = IFF_UP;
        ifi->ifi_change = IFF_UP;
        if (master > 0)
                mnl_attr_put_u32(h, IFLA_MASTER, (uint32_t) master);
        if (no_ipv6_address) {
                struct nlattr *spec = mnl_attr_nest_start(h, IFLA_AF_SPEC), *inet6 = mnl_attr_nest_start(h, AF_INET6);
                mnl_attr_put_u8(h, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
                mnl_attr_nest_end(h, inet6);
                mnl_attr_nest_end(h, spec);
        }
        return call(nl, h, NULL, NULL);
}

int netlink_link_set_up(Netlink *nl, int ifindex) {
        return link_up(nl, ifindex, 0, false);
}

int netlink_link_set_master_up(Netlink *nl, int index, int master) {
        int r = link_up(nl, index, master, true);
        /* a host without IPv6 (ipv6.disable=1) has no AF_INET6 part to set */
        return r == -EAFNOSUPPORT ? link_up(nl, index, master, false) : r;
}

static size_t family_size(int family) {
        return family == AF_INET6 ? 16 : 4;
}

static int addr_request(Netlink *nl, uint16_t type, uint16_t flags, int ifindex, int family, const void *addr,
                        unsigned prefixlen) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *h = request(nl, buf, type, flags, 0);
        struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof *ifa);

        ifa->ifa_family = (uint8_t) family;
        ifa->ifa_prefixlen = (uint8_t) prefixlen;
        ifa->ifa_scope = RT_SCOPE_UNIVERSE;
        ifa->ifa_index = (unsigned) ifindex;
        if (family == AF_INET6)
                ifa->ifa_flags = IFA_F_NODAD; /* usable at once (a link of two ends berth made) */
        mnl_attr_put(h, IFA_LOCAL, family_size(family), addr);
        mnl_attr_put(h, IFA_ADDRESS, family_size(family), addr);
        if (family == AF_INET && type == RTM_NEWADDR) {
                uint32_t a, bcast;
                memcpy(&a, addr, 4);
                bcast = a | htonl(prefixlen >= 32 ? 0 : UINT32_MAX >> prefixlen);
                mnl_attr_put_u32(h, IFA_BROADCAST, bcast);
        }
        return call(nl, h, NULL, NULL);
}

int netlink_addr_add(Netlink *nl, int ifindex, int family, const void *addr, unsigned prefixlen) {
        return addr_request(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, ifindex, family, addr, prefixlen);
}

int netlink_addr_del(Netlink *nl, int ifindex, int family, const void *addr, unsigned prefixlen) {
        return addr_request(nl, RTM_DELADDR, 0, ifindex, family, addr, prefixlen);
}

int netlink_route_add_default(Netlink *nl, int ifindex, int family, const void *gateway) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *h = request(nl, buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, 0);
        struct rtmsg *rt = mnl_nlmsg_put_extra_header(h, sizeof *rt);

        rt->rtm_family = (uint8_t) family;
        rt->rtm_table = RT_TABLE_MAIN;
        rt->rtm_protocol = RTPROT_STATIC;
        rt->rtm_scope = RT_SCOPE_UNIVERSE;
        rt->rtm_type = RTN_UNICAST;
        mnl_attr_put(h, RTA_GATEWAY, family_size(family), gateway);
        mnl_attr_put_u32(h, RTA_OIF, (uint32_t) ifindex);
        return call(nl, h, NULL, NULL);
}

bool ipv4_prefix_overlaps(Ipv4Prefix a, Ipv4Prefix b) {
        unsigned len = a.len < b.len ? a.len : b.len;
        uint32_t mask = len == 0 ? 0 : UINT32_MAX << (32 - len);
        return (a.addr & mask) == (b.addr & mask);
}

typedef struct PrefixList {
        Ipv4Prefix *items;
        size_t n;
        bool oom;
} PrefixList;

static void prefix_list_add(PrefixList *l, const void *addr, unsigned len) {
        Ipv4Prefix *p;
        uint32_t a;

        if (len == 0 || l->oom)
                return;
        p = realloc(l->items, (l->n + 1) * sizeof *p);
        if (!p) {
                l->oom = true;
                return;
        }
        memcpy(&a, addr, 4);
        l->items = p;
        l->items[l->n++] = (Ipv4Prefix) { .addr = ntohl(a), .len = len };
}

static int route_cb(const struct nlmsghdr *h, void *data) {
        const struct rtmsg *rt = mnl_nlmsg_get_payload(h);
        const struct nlattr *a;

        mnl_attr_for_each(a, h, sizeof *rt)
                if (mnl_attr_get_type(a) == RTA_DST && mnl_attr_get_payload_len(a) == 4)
                        prefix_list_add(data, mnl_attr_get_payload(a), rt->rtm_dst_len);
        return MNL_CB_OK;
}

static int addr_cb(const struct nlmsghdr *h, void *data) {
        const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(h);
        const struct nlattr *a;

        mnl_attr_for_each(a, h, sizeof *ifa)
                if (mnl_attr_get_type(a) == IFA_LOCAL && mnl_attr_get_payload_len(a) == 4)
                        prefix_list_add(data, mnl_attr_get_payload(a), ifa->ifa_prefixlen ?: 32);
        return MNL_CB_OK;
}

int netlink_ipv4_prefixes(Netlink *nl, Ipv4Prefix **ret, size_t *ret_n) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        PrefixList l = {};
        struct nlmsghdr *h;
        struct rtmsg *rt;
        struct ifaddrmsg *ifa;
        int r;

        h = request(nl, buf, RTM_GETROUTE, NLM_F_DUMP, 0);
        rt = mnl_nlmsg_put_extra_header(h, sizeof *rt);
        rt->rtm_family = AF_INET;
        rt->rtm_table = RT_TABLE_UNSPEC;
        r = call(nl, h, route_cb, &l);
        if (r >= 0) {
                h = request(nl, buf, RTM_GETADDR, NLM_F_DUMP, 0);
                ifa = mnl_nlmsg_put_extra_header(h, sizeof *ifa);
                ifa->ifa_family = AF_INET;
                r = call(nl, h, addr_cb, &l);
        }
        if (r >= 0 && l.oom)
                r = -ENOMEM;
        if (r < 0) {
                free(l.items);
                return r;
        }
        *ret = l.items;
        *ret_n = l.n;
        return 0;
}

typedef struct AddressList {
        NetlinkAddress *items;
        size_t n;
        int *loopbacks;
        size_t n_loopbacks;
        bool oom;
} AddressList;

static int loopback_cb(const struct nlmsghdr *h, void *data) {
        const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);
        AddressList *l = data;
        int *p;

        if (!(ifi->ifi_flags & IFF_LOOPBACK) || l->oom)
                return MNL_CB_OK;
        p = realloc(l->loopbacks, (l->n_loopbacks + 1) * sizeof *p);
        if (!p)
                l->oom = true;
        else {
                l->loopbacks = p;
                l->loopbacks[l->n_loopbacks++] = ifi->ifi_index;
        }
        return MNL_CB_OK;
}

/* Like getifaddrs(): IFA_LOCAL when there is one (the peer is IFA_ADDRESS then), else IFA_ADDRESS. */
static int address_cb(const struct nlmsghdr *h, void *data) {
        const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(h);
        const struct nlattr *a, *local = NULL, *address = NULL;
        size_t size = family_size(ifa->ifa_family);
        AddressList *l = data;
        NetlinkAddress *p;

        if (!IN_SET(ifa->ifa_family, AF_INET, AF_INET6) || l->oom)
                return MNL_CB_OK;
        for (size_t i = 0; i < l->n_loopbacks; i++)
                if (l->loopbacks[i] == (int) ifa->ifa_index)
                        return MNL_CB_OK;
        mnl_attr_for_each(a, h, sizeof *ifa) {
                if (mnl_attr_get_payload_len(a) != size)
                        continue;
                if (mnl_attr_get_type(a) == IFA_LOCAL)
                        local = a;
                else if (mnl_attr_get_type(a) == IFA_ADDRESS)
                        address = a;
        }
        if (!(a = local ?: address))
                return MNL_CB_OK;
        p = realloc(l->items, (l->n + 1) * sizeof *p);
        if (!p) {
                l->oom = true;
                return MNL_CB_OK;
        }
        l->items = p;
        l->items[l->n] = (NetlinkAddress) { .family = ifa->ifa_family, .ifindex = (int) ifa->ifa_index };
        memcpy(l->items[l->n++].bytes, mnl_attr_get_payload(a), size);
        return MNL_CB_OK;
}

int netlink_addresses(Netlink *nl, NetlinkAddress **ret, size_t *ret_n) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        AddressList l = {};
        struct nlmsghdr *h;
        int r;

        h = request(nl, buf, RTM_GETLINK, NLM_F_DUMP, sizeof(struct ifinfomsg));
        r = call(nl, h, loopback_cb, &l);
        if (r >= 0) {
                h = request(nl, buf, RTM_GETADDR, NLM_F_DUMP, sizeof(struct ifaddrmsg));
                r = call(nl, h, address_cb, &l);
        }
        free(l.loopbacks);
        if (r >= 0 && l.oom)
                r = -ENOMEM;
        if (r < 0) {
                free(l.items);
                return r;
        }
        *ret = l.items;
        *ret_n = l.n;
        return 0;
}

void ipv4_to_string(uint32_t a, char buf[static 16]) {
        (void) snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "spawn-nfset.h"
#include "string-util.h"

#define NFSET_TABLE "berth"

typedef struct Batch {
        char *buf;
        size_t size, len;
        uint32_t seq;
        bool overflow;
} Batch;

static struct nlmsghdr *batch_put(Batch *b, uint16_t type, uint16_t flags, uint8_t family, uint16_t res_id) {
        struct nlmsghdr *h;
        struct nfgenmsg *g;

        /* room for the header; mnl_attr_put_check() guards the attributes */
        if (b->overflow || b->size - b->len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof *g)) {
                b->overflow = true;
                return NULL;
        }
        h = mnl_nlmsg_put_header(b->buf + b->len);
        h->nlmsg_type = type;
        h->nlmsg_flags = NLM_F_REQUEST | flags;
        h->nlmsg_seq = b->seq++;
        g = mnl_nlmsg_put_extra_header(h, sizeof *g);
        g->nfgen_family = family;
        g->version = NFNETLINK_V0;
        g->res_id = htons(res_id);
        return h;
}

static void batch_close(Batch *b, struct nlmsghdr *h) {
        if (h)
                b->len += h->nlmsg_len;
}

/* What mnl_attr_put_check() may fill: the buffer from the message being built on. */
static size_t room(const Batch *b) {
        return b->size - b->len;
}

/* One element: KEY (and DATA, for a map), FLAGS when it ends an interval. */
static void put_elem(Batch *b, struct nlmsghdr *h, const void *key, size_t key_len, const void *data,
                     size_t data_len, bool interval_end) {
        struct nlattr *e, *k, *d;

        e = mnl_attr_nest_start_check(h, room(b), NFTA_LIST_ELEM);
        if (!e)
                goto overflow;
        if (interval_end && !mnl_attr_put_u32_check(h, room(b), NFTA_SET_ELEM_FLAGS, htonl(NFT_SET_ELEM_INTERVAL_END)))
                goto overflow;
        k = mnl_attr_nest_start_check(h, room(b), NFTA_SET_ELEM_KEY);
        if (!k || !mnl_attr_put_check(h, room(b), NFTA_DATA_VALUE, key_len, key))
                goto overflow;
        mnl_attr_nest_end(h, k);
        if (data) {
                d = mnl_attr_nest_start_check(h, room(b), NFTA_SET_ELEM_DATA);
                if (!d || !mnl_attr_put_check(h, room(b), NFTA_DATA_VALUE, data_len, data))
                        goto overflow;
                mnl_attr_nest_end(h, d);
        }
        mnl_attr_nest_end(h, e);
        return;
overflow:
        b->overflow = true;
}

/* NEWSETELEM/DELSETELEM for one set of berth's table in family; the elements follow, then
 * elems_end(). */
static struct nlmsghdr *elems_start(Batch *b, bool add, uint8_t family, const char *set, struct nlattr **ret_list) {
        struct nlmsghdr *h = batch_put(b, NFNL_SUBSYS_NFTABLES << 8 | (add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM),
                                       NLM_F_ACK | (add ? NLM_F_CREATE : 0), family, 0);

        if (!h)
                return NULL;
        if (!mnl_attr_put_strz_check(h, room(b), NFTA_SET_ELEM_LIST_TABLE, NFSET_TABLE) ||
            !mnl_attr_put_strz_check(h, room(b), NFTA_SET_ELEM_LIST_SET, set) ||
            !(*ret_list = mnl_attr_nest_start_check(h, room(b), NFTA_SET_ELEM_LIST_ELEMENTS))) {
                b->overflow = true;
                return NULL;
        }
        return h;
}

static void elems_end(Batch *b, struct nlmsghdr *h, struct nlattr *list) {
        if (!h || b->overflow)
                return;
        mnl_attr_nest_end(h, list);
        batch_close(b, h);
}

/* The first address past the prefix start/len (big-endian, n bytes): start plus one at bit len,
 * carried up. (The top prefix of the address space would wrap to 0; berth's are in 10.0.0.0/8 and
 * fd00::/8.) */
static void interval_end(const uint8_t *start, size_t n, unsigned len, uint8_t *ret) {
        unsigned carry = 1u << (7 - (len - 1) % 8);

        memcpy(ret, start, n);
        for (size_t i = (len - 1) / 8 + 1; i-- > 0 && carry;) {
                unsigned v = ret[i] + carry;
                ret[i] = (uint8_t) v;
                carry = v >> 8;
        }
}

static void add_subnets(Batch *b, bool add, bool ipv6, const NftMachines *m) {
        struct nlattr *list = NULL;
        struct nlmsghdr *h = elems_start(b, add, ipv6 ? NFPROTO_IPV6 : NFPROTO_IPV4, "machines", &list);

        for (size_t i = 0; h && i < m->n_subnets; i++) {
                uint8_t start[16], end[16];
                size_t n = ipv6 ? 16 : 4;
                unsigned len = ipv6 ? 64 : m->subnets[i].len;

                if (ipv6)
                        memcpy(start, m->subnets6[i], 16);
                else {
                        uint32_t a = htonl(m->subnets[i].addr);
                        memcpy(start, &a, 4);
                }
                interval_end(start, n, len, end);
                put_elem(b, h, start, n, NULL, 0, false);
                put_elem(b, h, end, n, NULL, 0, true);
        }
        elems_end(b, h, list);
}

/* Concatenations put each field in its own 32-bit register: protocol . port : address . port. */
static void add_ports(Batch *b, bool add, bool ipv6, const NftMachines *m) {
        struct nlattr *list = NULL;
        struct nlmsghdr *h = elems_start(b, add, ipv6 ? NFPROTO_IPV6 : NFPROTO_IPV4, "ports", &list);

        for (size_t i = 0; h && i < m->n_ports; i++) {
                const NftPort *p = &m->ports[i];
                uint8_t key[8] = { p->protocol }, data[20] = {};
                uint16_t hp = htons(p->host_port), gp = htons(p->guest_port);
                uint32_t a = htonl(p->guest_addr);
                size_t n = ipv6 ? 16 : 4;

                memcpy(key + 4, &hp, 2);
                memcpy(data, ipv6 ? (const void *) p->guest_addr6 : (const void *) &a, n);
                memcpy(data + n, &gp, 2);
                put_elem(b, h, key, sizeof key, add ? data : NULL, n + 4, false); /* a key deletes */
        }
        elems_end(b, h, list);
}

ssize_t nfset_build(void *buf, size_t size, uint32_t seq, bool add, const NftMachines *m, uint32_t *ret_last_seq) {
        Batch b = { .buf = buf, .size = size, .seq = seq };

        batch_close(&b, batch_put(&b, NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES));
        for (int ipv6 = 0; ipv6 <= (m->subnets6 || m->ipv6 ? 1 : 0); ipv6++) {
                if (m->n_subnets > 0)
                        add_subnets(&b, add, ipv6, m);
                if (m->n_ports > 0)
                        add_ports(&b, add, ipv6, m);
        }
        if (ret_last_seq)
                *ret_last_seq = b.seq - 1;
        batch_close(&b, batch_put(&b, NFNL_MSG_BATCH_END, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES));
        return b.overflow ? -ENOBUFS : (ssize_t) b.len;
}

static void mnl_socket_closep(struct mnl_socket **s) {
        if (*s)
                (void) mnl_socket_close(*s);
}

/* Every element message carries NLM_F_ACK: one answer each, in order; an error on the batch's
 * first message (no CAP_NET_ADMIN) means the kernel took none of it. */
static int read_answers(struct mnl_socket *s, uint32_t first_seq, uint32_t last_seq) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        int err = 0;

        for (;;) {
                ssize_t got = mnl_socket_recvfrom(s, buf, sizeof buf);
                int n = (int) got;

                if (got < 0)
                        return errno == EAGAIN ? -ETIMEDOUT : -errno;
                for (struct nlmsghdr *h = (struct nlmsghdr *) buf; mnl_nlmsg_ok(h, n); h = mnl_nlmsg_next(h, &n)) {
                        const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
                        if (h->nlmsg_type != NLMSG_ERROR)
                                continue;
                        if (h->nlmsg_len < mnl_nlmsg_size(sizeof *e))
                                return -EBADMSG;
                        if (e->error < 0 && err == 0)
                                err = e->error;
                        if (h->nlmsg_seq == last_seq || (h->nlmsg_seq == first_seq && e->error < 0))
                                return err;
                }
        }
}

int nfset_apply(bool add, const NftMachines *m, int *ret_socket) {
        __attribute__((cleanup(mnl_socket_closep))) struct mnl_socket *s = NULL;
        struct timeval tv = { .tv_sec = 5 };
        _cleanup_free_ char *buf = NULL;
        size_t size = 4096 + (m->n_subnets * 2 + m->n_ports) * 2 * 128;
        uint32_t seq = 1, last;
        ssize_t len;
        int r;

        if (ret_socket)
                *ret_socket = -EBADF;
        if (m->n_subnets == 0 && m->n_ports == 0)
                return 0;
        buf = malloc(size);
        if (!buf)
                return -ENOMEM;
        len = nfset_build(buf, size, seq, add, m, &last);
        if (len < 0)
                return (int) len;
        s = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
        if (!s)
                return -errno;
        if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0 ||
            setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
                return -errno;
        if (mnl_socket_sendto(s, buf, (size_t) len) < 0)
                return -errno;
        r = read_answers(s, seq, last);
        if (ret_socket) /* a copy: closing the original below is not the socket's end */
                *ret_socket = fcntl(mnl_socket_get_fd(s), F_DUPFD_CLOEXEC, 3);
        return r;
}

int nfset_watch_open(void) {
        struct mnl_socket *s = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
        unsigned group = NFNLGRP_NFTABLES;
        int fd;

        if (!s)
                return -errno;
        if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0 ||
            mnl_socket_setsockopt(s, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0) {
                int r = -errno;
                (void) mnl_socket_close(s);
                return r;
        }
        /* the fd alone is kept: libmnl's wrapper only holds it and the address */
        fd = fcntl(mnl_socket_get_fd(s), F_DUPFD_CLOEXEC, 3);
        (void) mnl_socket_close(s);
        return fd < 0 ? -errno : fd;
}

static int table_name_cb(const struct nlattr *a, void *data) {
        if (mnl_attr_get_type(a) == NFTA_TABLE_NAME && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
                *(bool *) data = streq(mnl_attr_get_str(a), NFSET_TABLE);
        return MNL_CB_OK;
}

int nfset_watch_read(int fd) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        bool gone[2] = {};

        for (;;) {
                ssize_t got = recv(fd, buf, sizeof buf, 0);
                int n = (int) got;

                if (got < 0 && errno == ENOBUFS)
                        return 1; /* it lost some: have a look */
                if (got < 0)
                        return errno == EAGAIN || errno == EINTR ? gone[0] || gone[1] : -errno;
                for (struct nlmsghdr *h = (struct nlmsghdr *) buf; mnl_nlmsg_ok(h, n); h = mnl_nlmsg_next(h, &n)) {
                        const struct nfgenmsg *g = mnl_nlmsg_get_payload(h);
                        uint16_t type = h->nlmsg_type & 0xff;
                        bool ours = false;

                        if (h->nlmsg_type >> 8 != NFNL_SUBSYS_NFTABLES ||
                            (type != NFT_MSG_DELTABLE && type != NFT_MSG_NEWTABLE) ||
                            (g->nfgen_family != NFPROTO_IPV4 && g->nfgen_family != NFPROTO_IPV6))
                                continue;
                        (void) mnl_attr_parse(h, sizeof *g, table_name_cb, &ours);
                        if (ours)
                                gone[g->nfgen_family == NFPROTO_IPV6] = type == NFT_MSG_DELTABLE;
                }
        }
}

int nfset_table_exists(uint8_t family) {
        __attribute__((cleanup(mnl_socket_closep))) struct mnl_socket *s = NULL;
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct timeval tv = { .tv_sec = 5 };
        Batch b = { .buf = buf, .size = sizeof buf, .seq = 1 };
        struct nlmsghdr *h = batch_put(&b, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETTABLE, NLM_F_ACK, family, 0);

        if (!h || !mnl_attr_put_strz_check(h, room(&b), NFTA_TABLE_NAME, NFSET_TABLE))
                return -ENOBUFS;
        s = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
        if (!s)
                return -errno;
        if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0 ||
            setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
            mnl_socket_sendto(s, h, h->nlmsg_len) < 0)
                return -errno;
        for (;;) {
                ssize_t got = mnl_socket_recvfrom(s, buf, sizeof buf);
                int n = (int) got;

                if (got < 0)
                        return -errno;
                for (h = (struct nlmsghdr *) buf; mnl_nlmsg_ok(h, n); h = mnl_nlmsg_next(h, &n))
                        if (h->nlmsg_type == NLMSG_ERROR) {
                                const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
                                return e->error == -ENOENT ? 0 : e->error < 0 ? e->error : 1;
                        }
        }
}

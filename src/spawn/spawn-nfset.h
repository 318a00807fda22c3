/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "spawn-nft.h"

/* Machines' elements in berth's tables, added or deleted in one nfnetlink transaction (libmnl; LGPL:
 * no libnftnl): each subnet in the "machines" interval sets (IPv4 /LEN, IPv6 /64: a start element
 * and an interval-end element, as nft sends them), each port in the "ports" maps. The tables
 * themselves (chains, sets, maps) are spawn_nft_apply()'s, made when they are missing: this costs
 * a fraction of a millisecond where running nft costs ten. */

/* Builds the batch into buf, its messages numbered from seq (the last gets *ret_last_seq): its
 * length, or -ENOBUFS. The IPv6 elements are there when m->subnets6 is. */
ssize_t nfset_build(void *buf, size_t size, uint32_t seq, bool add, const NftMachines *m, uint32_t *ret_last_seq);

/* Sends the batch and reads every answer: 0, or the first error (-ENOENT: a table, set or element
 * that is not there; -EEXIST: an element that is there already; the transaction then changed
 * nothing). Nothing to do is 0. With ret_socket, the socket is handed over instead of closed (or
 * -EBADF): after a deletion its end waits for nf_tables' deferred destruction of what was deleted
 * (an RCU grace period, some 5 to 20 ms), which a caller may leave to a process nobody waits for. */
int nfset_apply(bool add, const NftMachines *m, int *ret_socket);

/* A socket that hears nftables' changes (NFNLGRP_NFTABLES, non-blocking): its fd, or -errno. */
int nfset_watch_open(void);
/* Reads all that the socket heard: 1 when one of berth's tables was deleted (and not made again
 * later in what was read, as a render from the records does), or the socket lost messages; else 0. */
int nfset_watch_read(int fd);
/* Is berth's table of family (NFPROTO_IPV4, NFPROTO_IPV6) there? 1, 0, or -errno. */
int nfset_table_exists(uint8_t family);

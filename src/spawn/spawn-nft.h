/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "netlink-util.h"

/* berth's own nftables table ("ip berth"), rendered whole from every machine's subnet and handed
 * to `nft -f -` as one transaction that replaces the old table: masquerade for traffic from a
 * machine's subnet to anywhere else. With n == 0 the table goes. Returns 0, -ENOENT when nft is not
 * installed, or -EPROTO with nft's complaint in err. */
int spawn_nft_apply(const Ipv4Prefix *subnets, size_t n, char *err, size_t err_size);

/* The script spawn_nft_apply() would run (for the unit tests); NULL on OOM. */
char *spawn_nft_render(const Ipv4Prefix *subnets, size_t n);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* Once per boot (a marker in /run/berth/network): warns when another tool's forward chain drops
 * forwarded traffic (policy drop in nftables, which covers iptables-nft, or iptables-legacy's
 * FORWARD DROP), since an accept in berth's table cannot override it. */
void spawn_forward_check(void);

/* nft list chains / iptables -S FORWARD output: a forward hook with policy drop outside berth's
 * table? On a match, *ret_table names it (a static buffer). */
bool spawn_forward_drop_in_nft(const char *text, const char **ret_table);
bool spawn_forward_drop_in_iptables(const char *text);

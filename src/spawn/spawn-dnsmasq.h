/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* One dnsmasq per machine link: DHCPv4 (the machine's MAC always gets the same address) and DNS
 * (forwarding to the host's resolvers; the machine's name resolves to its address), bound to
 * that link only, with a lease and pid file of its own under SPAWN_NETWORK_DIR. */
typedef struct DnsmasqConfig {
        const char *machine_name;
        const char *ifname;
        uint32_t subnet; /* host byte order, a /28 */
        unsigned prefixlen;
        const uint8_t *guest_mac;
} DnsmasqConfig;

/* Starts it and returns once it serves (dnsmasq daemonizes after binding). -ENOENT: not
 * installed; -EPROTO: it refused, its message in err. */
int spawn_dnsmasq_start(const DnsmasqConfig *d, char *err, size_t err_size);
/* Stops the machine's dnsmasq (if its pid file names a dnsmasq of this machine) and removes its
 * pid and lease files. */
void spawn_dnsmasq_stop(const char *machine_name);

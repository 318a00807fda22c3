/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* -p/--port=[tcp|udp:]HOST[:GUEST] (nspawn's syntax): the host's port HOST (on every address of the
 * host, localhost included) forwards to the machine's port GUEST (default: HOST). */
typedef struct ExposePort {
        uint8_t protocol; /* IPPROTO_TCP or IPPROTO_UDP */
        uint16_t host_port, guest_port;
} ExposePort;

#define EXPOSE_PORTS_MAX 64

typedef struct ExposePorts {
        ExposePort items[EXPOSE_PORTS_MAX];
        size_t n;
} ExposePorts;

/* -EINVAL: malformed or a port of 0. */
int expose_port_parse(const char *s, ExposePort *ret);
/* Parses and adds; -EEXIST when that protocol and host port are already there, -E2BIG when full. */
int expose_ports_add(ExposePorts *ports, const char *s);
const char *expose_port_protocol_to_string(uint8_t protocol);

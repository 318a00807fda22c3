/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "parse-util.h"
#include "spawn-port.h"
#include "string-util.h"

static int port_parse(const char *s, size_t len, uint16_t *ret) {
        char buf[8];
        unsigned v;

        if (len == 0 || len >= sizeof buf)
                return -EINVAL;
        memcpy(buf, s, len);
        buf[len] = 0;
        if (safe_atou(buf, &v) < 0 || v == 0 || v > 65535 || buf[0] < '0' || buf[0] > '9')
                return -EINVAL;
        *ret = (uint16_t) v;
        return 0;
}

int expose_port_parse(const char *s, ExposePort *ret) {
        ExposePort p = { .protocol = IPPROTO_TCP };
        const char *colon, *rest;

        if ((rest = startswith(s, "tcp:")))
                s = rest;
        else if ((rest = startswith(s, "udp:"))) {
                s = rest;
                p.protocol = IPPROTO_UDP;
        }
        colon = strchr(s, ':');
        if (port_parse(s, colon ? (size_t) (colon - s) : strlen(s), &p.host_port) < 0)
                return -EINVAL;
        p.guest_port = p.host_port;
        if (colon && port_parse(colon + 1, strlen(colon + 1), &p.guest_port) < 0)
                return -EINVAL;
        *ret = p;
        return 0;
}

int expose_ports_add(ExposePorts *ports, const char *s) {
        ExposePort p;
        int r = expose_port_parse(s, &p);

        if (r < 0)
                return r;
        for (size_t i = 0; i < ports->n; i++)
                if (ports->items[i].protocol == p.protocol && ports->items[i].host_port == p.host_port)
                        return -EEXIST;
        if (ports->n >= EXPOSE_PORTS_MAX)
                return -E2BIG;
        ports->items[ports->n++] = p;
        return 0;
}

const char *expose_port_protocol_to_string(uint8_t protocol) {
        return protocol == IPPROTO_UDP ? "udp" : "tcp";
}

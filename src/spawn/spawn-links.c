/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"
#include "netlink-util.h"
#include "spawn-context.h"
#include "spawn-links.h"
#include "spawn-network.h"
#include "string-util.h"

/* nspawn's key for macvlan MACs (src/nspawn/nspawn-network.c). */
static const uint8_t macvlan_key[16] = {
        0x00, 0x13, 0x6d, 0xbc, 0x66, 0x83, 0x44, 0x81, 0xbb, 0x0c, 0xf9, 0x51, 0x1f, 0x24, 0xa6, 0x6f };

static bool ifname_valid(const char *s, size_t len) {
        if (len == 0 || len >= IFNAMSIZ)
                return false;
        for (size_t i = 0; i < len; i++)
                if (s[i] <= ' ' || s[i] == '/' || s[i] == ':' || s[i] == 0x7f)
                        return false;
        return !(len == 1 && s[0] == '.') && !(len == 2 && s[0] == '.' && s[1] == '.');
}

int network_links_add(NetworkLinks *l, const char *spec, const char *prefix) {
        const char *colon = strchr(spec, ':');
        size_t hl = colon ? (size_t) (colon - spec) : strlen(spec);
        NetworkLink k = {};

        if (!ifname_valid(spec, hl) || (colon && !ifname_valid(colon + 1, strlen(colon + 1))))
                return -EINVAL;
        memcpy(k.host, spec, hl);
        if (colon)
                strcpy(k.guest, colon + 1);
        else if (prefix)
                (void) spawn_network_ifname(prefix, k.host, k.guest);
        else
                strcpy(k.guest, k.host);
        for (size_t i = 0; i < l->n; i++)
                if (streq(l->items[i].host, k.host) || streq(l->items[i].guest, k.guest))
                        return -EEXIST;
        if (l->n >= NETWORK_LINKS_MAX)
                return -E2BIG;
        l->items[l->n++] = k;
        return 0;
}

static int host_index(Netlink *nl, const char *name) {
        int r = netlink_link_index(nl, name);
        if (r == -ENODEV)
                return log_error_errno(r, "Network interface '%s' does not exist.", name);
        if (r < 0)
                return log_error_errno(r, "Failed to look up network interface '%s': %m", name);
        return r;
}

static int move_in(SpawnContext *c, Netlink *nl) {
        const NetworkLinks *l = &c->config->network_interfaces;

        for (size_t i = 0; i < l->n; i++) {
                int index = host_index(nl, l->items[i].host), r;
                if (index < 0)
                        return index;
                r = netlink_link_move(nl, index, c->net.netns_fd, l->items[i].guest);
                if (r < 0)
                        return log_error_errno(r, "Failed to move interface %s into the machine: %m", l->items[i].host);
                c->net.n_moved = i + 1;
        }
        return 0;
}

static int make_vlans(SpawnContext *c, Netlink *nl, bool macvlan) {
        const NetworkLinks *l = macvlan ? &c->config->network_macvlan : &c->config->network_ipvlan;
        Id128 host_id = spawn_network_host_machine_id();

        for (size_t i = 0; i < l->n; i++) {
                int index = host_index(nl, l->items[i].host), r;
                uint8_t mac[6];

                if (index < 0)
                        return index;
                if (macvlan) {
                        spawn_network_mac(host_id, c->config->machine_name, macvlan_key, i, mac);
                        r = netlink_macvlan_add(nl, l->items[i].guest, index, mac, c->pid);
                } else
                        r = netlink_ipvlan_add(nl, l->items[i].guest, index, c->pid);
                if (IN_SET(r, -EOPNOTSUPP, -EAFNOSUPPORT))
                        return log_error_errno(r, "Failed to add %s interface %s on %s: this kernel has no %s support "
                                                  "(CONFIG_%s).", macvlan ? "macvlan" : "ipvlan", l->items[i].guest,
                                               l->items[i].host, macvlan ? "macvlan" : "ipvlan",
                                               macvlan ? "MACVLAN" : "IPVLAN");
                if (r < 0)
                        return log_error_errno(r, "Failed to add %s interface %s on %s: %m", macvlan ? "macvlan" : "ipvlan",
                                               l->items[i].guest, l->items[i].host);
        }
        return 0;
}

int spawn_network_links_setup(SpawnContext *c) {
        _cleanup_(netlink_freep) Netlink *nl = NULL;
        char path[64];
        int r;

        if (!c->config->private_network)
                return 0;
        /* Held until teardown: the namespace outlives the machine's PID 1 until the interfaces are
         * back (a virtual link left in a dying namespace would be destroyed). */
        (void) snprintf(path, sizeof path, "/proc/%d/ns/net", (int) c->pid);
        c->net.netns_fd = open(path, O_RDONLY | O_CLOEXEC);
        if (c->net.netns_fd < 0)
                return log_error_errno(errno, "Failed to open the machine's network namespace: %m");
        if (c->config->network_interfaces.n + c->config->network_macvlan.n + c->config->network_ipvlan.n == 0)
                return 0;
        r = netlink_open(-EBADF, &nl);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to netlink: %m");
        r = move_in(c, nl);
        if (r >= 0)
                r = make_vlans(c, nl, true);
        if (r >= 0)
                r = make_vlans(c, nl, false);
        return r;
}

void spawn_network_links_teardown(SpawnContext *c) {
        const NetworkLinks *l = &c->config->network_interfaces;
        _cleanup_(netlink_freep) Netlink *nl = NULL;
        _cleanup_close_ int host = -EBADF;
        int r;

        if (c->net.netns_fd < 0)
                return;
        if (c->net.n_moved > 0) {
                host = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
                r = host < 0 ? -errno : netlink_open(c->net.netns_fd, &nl);
                if (r < 0)
                        log_warning_errno(r, "Failed to reach the machine's network namespace to move interfaces back: %m");
                /* in reverse, so that names swapped around come back as they were */
                for (size_t i = c->net.n_moved; r >= 0 && i > 0; i--) {
                        const NetworkLink *k = &l->items[i - 1];
                        int index = netlink_link_index(nl, k->guest);
                        int q = index < 0 ? index : netlink_link_move(nl, index, host, k->host);
                        if (q < 0)
                                log_warning_errno(q, "Failed to move interface %s back to the host as %s: %m", k->guest,
                                                  k->host);
                }
                c->net.n_moved = 0;
        }
        c->net.netns_fd = safe_close(c->net.netns_fd);
}

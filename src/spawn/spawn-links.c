/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/nsfs.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "fork-util.h"
#include "log.h"
#include "netlink-util.h"
#include "spawn-context.h"
#include "spawn-links.h"
#include "spawn-network.h"
#include "string-util.h"

/* nspawn's keys for macvlan and extra veth MACs (src/nspawn/nspawn-network.c). */
static const uint8_t macvlan_key[16] = {
        0x00, 0x13, 0x6d, 0xbc, 0x66, 0x83, 0x44, 0x81, 0xbb, 0x0c, 0xf9, 0x51, 0x1f, 0x24, 0xa6, 0x6f };
static const uint8_t veth_extra_host_key[16] = {
        0x48, 0xc7, 0xf6, 0xb7, 0xea, 0x9d, 0x4c, 0x9e, 0xb7, 0x28, 0xd4, 0xde, 0x91, 0xd5, 0xbf, 0x66 };
static const uint8_t veth_extra_guest_key[16] = {
        0xaf, 0x50, 0x17, 0x61, 0xce, 0xf9, 0x4d, 0x35, 0x84, 0x0d, 0x2b, 0x20, 0x54, 0xbe, 0xce, 0x59 };

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

/* --network-veth-extra=: more veth pairs, host sides left down (as nspawn). */
static int make_veth_extra(SpawnContext *c, Netlink *nl) {
        const NetworkLinks *l = &c->config->network_veth_extra;
        Id128 host_id = spawn_network_host_machine_id();

        for (size_t i = 0; i < l->n; i++) {
                uint8_t mac_host[6], mac_guest[6];
                int r;

                spawn_network_mac(host_id, c->config->machine_name, veth_extra_host_key, i, mac_host);
                spawn_network_mac(host_id, c->config->machine_name, veth_extra_guest_key, i, mac_guest);
                r = netlink_veth_add(nl, l->items[i].host, mac_host, l->items[i].guest, mac_guest, c->pid);
                if (r == -EEXIST)
                        return log_error_errno(r, "Network interface %s already exists.", l->items[i].host);
                if (r < 0)
                        return log_error_errno(r, "Failed to add new veth interfaces (%s:%s): %m", l->items[i].host,
                                               l->items[i].guest);
                c->net.n_extra = i + 1;
        }
        return 0;
}

int spawn_network_namespace_verify(const SpawnConfig *config) {
        _cleanup_close_ int fd = -EBADF;

        if (isempty(config->network_namespace_path))
                return 0;
        fd = open(config->network_namespace_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return log_error_errno(errno, "Failed to open network namespace %s: %m", config->network_namespace_path);
        if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET)
                return log_error_errno(-EINVAL, "%s is not a network namespace.", config->network_namespace_path);
        return 0;
}

int spawn_network_namespace_enter(const SpawnConfig *config) {
        _cleanup_close_ int ours = -EBADF, target = -EBADF;

        if (isempty(config->network_namespace_path))
                return -EBADF;
        ours = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        target = open(config->network_namespace_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (ours < 0 || target < 0)
                return log_error_errno(errno, "Failed to open network namespace %s: %m", config->network_namespace_path);
        if (setns(target, CLONE_NEWNET) < 0)
                return log_error_errno(errno, "Failed to enter network namespace %s: %m", config->network_namespace_path);
        return TAKE_FD(ours);
}

void spawn_network_namespace_leave(int saved_fd) {
        if (saved_fd < 0)
                return;
        if (setns(saved_fd, CLONE_NEWNET) < 0)
                abort(); /* the launcher must not go on in the machine's namespace */
        safe_close(saved_fd);
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
        if (c->config->network_interfaces.n + c->config->network_macvlan.n + c->config->network_ipvlan.n +
            c->config->network_veth_extra.n == 0)
                return 0;
        r = netlink_open(-EBADF, &nl);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to netlink: %m");
        r = move_in(c, nl);
        if (r >= 0)
                r = make_vlans(c, nl, true);
        if (r >= 0)
                r = make_vlans(c, nl, false);
        if (r >= 0)
                r = make_veth_extra(c, nl);
        return r;
}

/* The host side of a --network-veth-extra= pair goes with the machine's network namespace (its peer
 * is there), a moment after the machine's end; deleting it would cost the launcher some 30 ms each.
 * A child the launcher does not wait for waits for them, and deletes those that stay (something
 * still holds the namespace). A start of the same machine meanwhile waits for the names
 * (links_verify()). */
static void veth_extra_remove_behind(SpawnContext *c) {
        int index[64];
        size_t n = MIN(c->net.n_extra, ELEMENTSOF(index));
        pid_t pid;

        for (size_t i = 0; i < n; i++)
                index[i] = (int) if_nametoindex(c->config->network_veth_extra.items[i].host);
        c->net.n_extra = 0;
        /* nothing of the launcher's, above all not the machine's network namespace */
        pid = fork_behind(NULL, 0);
        if (pid != 0) {
                if (pid < 0)
                        log_warning_errno(pid, "Failed to fork to remove the extra veth links: %m");
                return;
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_(netlink_freep) Netlink *nl = NULL;
                if (index[i] <= 0 || netlink_link_wait_gone(index[i], 1000) >= 0)
                        continue;
                if (netlink_open(-EBADF, &nl) >= 0)
                        (void) netlink_link_delete(nl, c->config->network_veth_extra.items[i].host);
        }
        _exit(EXIT_SUCCESS);
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
        if (c->net.n_extra > 0)
                veth_extra_remove_behind(c);
}

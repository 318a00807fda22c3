/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A machine's network going: its links, dnsmasq, record and elements of berth's tables, and its
 * zone's with the zone's last machine, the slow parts left to a child (teardown_behind()); and the
 * same for what killed launchers left (spawn_network_collect_stale()). */
#include <dirent.h>
#include <errno.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "fork-util.h"
#include "log.h"
#include "macro.h"
#include "netlink-util.h"
#include "pidfd-util.h"
#include "spawn-context.h"
#include "spawn-dnsmasq.h"
#include "spawn-network.h"
#include "spawn-network-internal.h"
#include "spawn-nft.h"
#include "spawn-root.h"
#include "spawn-zone.h"
#include "string-util.h"

/* Removes a machine's links, dnsmasq, leases and record (under the network lock); a zone's member
 * leaves its zone, the last one takes the zone's bridge and dnsmasq along. */
static void remove_machine(Netlink *nl, const char *machine_name, const char *ifname, int dnsmasq_pidfd,
                           const char *zone) {
        _cleanup_free_ char *path = spawn_network_record_path(machine_name);
        int r;

        if (!isempty(ifname)) {
                r = nl ? netlink_link_delete(nl, ifname) : -ENOTCONN;
                if (r < 0 && r != -ENODEV)
                        log_warning_errno(r, "Failed to remove interface %s: %m", ifname);
        }
        spawn_dnsmasq_stop(machine_name, dnsmasq_pidfd);
        spawn_zone_member_remove(isempty(zone) ? NULL : zone, machine_name);
        if (path)
                (void) unlink(path);
        if (!isempty(zone))
                spawn_zone_leave(nl, zone);
}

/* The host side of the machine's veth goes with the machine's network namespace (its peer is
 * there), a few milliseconds after the machine's last process and whatever holds the namespace:
 * waited for, not deleted, which would cost some 30 ms (RCU grace periods); deleted when it stays
 * (a process that entered only the machine's network namespace, a bind mount of it). */
#define LINK_GONE_TIMEOUT_MS 1000

static int host_link_remove(Netlink *nl, const SpawnNetwork *n) {
        int r = n->host_ifindex > 0 ? netlink_link_wait_gone(n->host_ifindex, LINK_GONE_TIMEOUT_MS) : -ETIMEDOUT;

        if (r >= 0)
                return 0;
        /* by index: the name may be another's by now (the link was released, below) */
        r = !nl ? -ENOTCONN : n->host_ifindex > 0 ? netlink_link_delete_index(nl, n->host_ifindex) :
                                                     netlink_link_delete(nl, n->ifname);
        return r == -ENODEV ? 0 : r;
}

/* Frees the link's name and the machine's subnet for a start that comes at once: the link is
 * renamed and loses its addresses (cheap), instead of being waited for. false where the kernel
 * renames no running link, or something failed: the caller waits under the lock then. */
static bool host_link_release(Netlink *nl, const SpawnNetwork *n, bool zone) {
        char name[IF_NAMESIZE];
        uint32_t gw = htonl(n->subnet + 1);
        uint8_t gw6[16];

        if (!nl || n->host_ifindex <= 0)
                return false;
        (void) snprintf(name, sizeof name, "vx-%x", (unsigned) n->host_ifindex);
        if (netlink_link_rename(nl, n->host_ifindex, name) < 0)
                return false;
        if (zone)
                return true; /* a port of the zone's bridge: no address of its own */
        if (netlink_addr_del(nl, n->host_ifindex, AF_INET, &gw, SPAWN_NETWORK_PREFIXLEN) < 0)
                return false;
        if (n->ipv6) {
                memcpy(gw6, n->subnet6, 16);
                gw6[15] = 1;
                (void) netlink_addr_del(nl, n->host_ifindex, AF_INET6, gw6, 64);
        }
        return true;
}

/* What a launcher's network teardown leaves to a child it does not wait for: the parts that wait for
 * the kernel, the machine being gone already. A namespace's end queues behind other namespaces'
 * ends on a busy host; a bridge's deletion waits for RCU grace periods, a killed dnsmasq's end for
 * the RTNL; and the last close of some fds waits for a grace period too (an inotify instance; an
 * nfnetlink socket that deleted elements): the child holds those until the launcher has ended, so
 * that its close is the last. */
typedef struct Behind {
        bool link;        /* the host side: waited for, deleted if it stays */
        bool released;    /* ... and renamed, without addresses: it no longer needs the lock */
        int dnsmasq;      /* the machine's killed dnsmasq, until it has ended */
        int zone_dnsmasq; /* the zone's, when its last machine left */
        const char *zone; /* the zone whose bridge goes (its last machine left) */
        int slow[3];      /* fds whose last close is slow */
} Behind;

#define BEHIND_NULL ((Behind) { .dnsmasq = -EBADF, .zone_dnsmasq = -EBADF, .slow = { -EBADF, -EBADF, -EBADF } })

static void behind_done(Behind *b) {
        b->dnsmasq = safe_close(b->dnsmasq);
        b->zone_dnsmasq = safe_close(b->zone_dnsmasq);
        for (size_t i = 0; i < ELEMENTSOF(b->slow); i++)
                b->slow[i] = safe_close(b->slow[i]);
}

static int behind_run(Netlink *nl, const SpawnNetwork *n, const Behind *b, int *lock) {
        /* the dnsmasqs have let go of the addresses, and the zone is gone, before the lock is */
        spawn_dnsmasq_wait_gone(b->dnsmasq);
        spawn_dnsmasq_wait_gone(b->zone_dnsmasq);
        if (b->zone)
                spawn_zone_remove(nl, b->zone);
        if (b->released)
                *lock = safe_close(*lock);
        return b->link ? host_link_remove(nl, n) : 0;
}

/* The child: fds 3 (the lock), 4 and 5 (the dnsmasqs), 6 (the launcher's pidfd), 7... (b->slow). */
_noreturn_ static void behind_child(const SpawnNetwork *n, Behind *b) {
        struct pollfd p = { .fd = 6, .events = POLLIN };
        Netlink *nl = NULL;
        int lock = 3, r;

        b->dnsmasq = b->dnsmasq >= 0 ? 4 : -EBADF;
        b->zone_dnsmasq = b->zone_dnsmasq >= 0 ? 5 : -EBADF;
        if (netlink_open(-EBADF, &nl) < 0)
                nl = NULL; /* the waits still run; what needs netlink is collected later */
        r = behind_run(nl, n, b, &lock);
        safe_close(lock);
        (void) poll(&p, 1, 10 * 1000); /* the launcher has ended: the slow fds' closes below are the last */
        _exit(r < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
}

/* Runs behind_run() in a child that holds the network lock (it shares the open file that holds it)
 * until the next launcher that takes it finds the name, the subnet and the zone free. In place when
 * there is no lock or no child. Takes b's fds. */
static void teardown_behind(Netlink *nl, const SpawnNetwork *n, Behind *b, int lock) {
        _cleanup_close_ int launcher = -EBADF;
        pid_t pid = -1;
        int r;

        if (lock >= 0) {
                launcher = pidfd_open_pid(getpid());
                if (launcher >= 0) {
                        int keep[4 + ELEMENTSOF(b->slow)] = { lock, b->dnsmasq, b->zone_dnsmasq, launcher };
                        memcpy(keep + 4, b->slow, sizeof b->slow);
                        pid = fork_behind(keep, ELEMENTSOF(keep));
                }
        }
        if (pid == 0)
                behind_child(n, b);
        if (pid < 0) {
                int none = -EBADF;
                r = behind_run(nl, n, b, &none);
                if (r < 0)
                        log_warning_errno(r, "Failed to remove interface %s: %m", n->ifname);
        }
        behind_done(b);
}

void spawn_network_teardown_begin(SpawnContext *c) {
        if (c->net.dnsmasq.pidfd >= 0)
                (void) pidfd_signal(c->net.dnsmasq.pidfd, SIGKILL);
}

void spawn_network_teardown(SpawnContext *c) {
        _cleanup_(netlink_freep) Netlink *nl = NULL;
        _cleanup_close_ int lock = -EBADF;
        _cleanup_free_ char *path = NULL;
        Behind behind = BEHIND_NULL;
        char name[IF_NAMESIZE];
        NftMachines own = {};
        int r;

        c->net.resolv_text = mfree(c->net.resolv_text);
        c->net.nft_watch_fd = safe_close(c->net.nft_watch_fd);

        if (!c->net.recorded) {
                /* bridged: the veth goes with the namespace */
                if (!isempty(c->net.ifname) && c->net.host_ifindex > 0 && netlink_open(-EBADF, &nl) >= 0)
                        (void) host_link_remove(nl, &c->net); /* before the bridge's ports are counted */
                if (c->net.external && !isempty(c->config->network_zone) && nl) {
                        lock = spawn_network_lock();
                        spawn_network_external_zone_teardown(nl, c->config->network_zone);
                }
                return;
        }
        lock = spawn_network_lock();
        if (lock < 0)
                log_warning_errno(lock, "Failed to take the network lock " NETWORK_LOCK ", going on: %m");
        /* The record goes first (after what only it leads to: a zone member's hosts files): a table
         * rendered whole from now on is without it. */
        if (!isempty(c->config->network_zone))
                spawn_zone_member_remove(c->config->network_zone, c->config->machine_name);
        r = spawn_network_record_elements(c->config->machine_name, &own);
        path = spawn_network_record_path(c->config->machine_name);
        if (path)
                (void) unlink(path);
        (void) netlink_open(-EBADF, &nl);
        if (!isempty(c->config->network_zone)) {
                NftMachines subnet = {};
                /* its ports go now (own, from the record), the zone's subnet with its last machine */
                bool last = spawn_zone_leave_begin(c->config->network_zone, &behind.zone_dnsmasq) > 0;
                if (last)
                        behind.zone = c->config->network_zone;
                if (r < 0 || (last && spawn_network_zone_elements(c, &subnet) < 0))
                        (void) spawn_network_nft_sync();
                else {
                        if (own.n_ports > 0)
                                (void) spawn_network_nft_update(false, &own, &behind.slow[0]);
                        if (last)
                                (void) spawn_network_nft_update(false, &subnet, &behind.slow[1]);
                }
                nft_machines_done(&subnet);
        } else if (r >= 0)
                (void) spawn_network_nft_update(false, &own, &behind.slow[0]);
        else
                (void) spawn_network_nft_sync();
        nft_machines_done(&own);
        behind.slow[2] = TAKE_FD(c->net.dnsmasq.ready_fd);
        behind.dnsmasq = spawn_dnsmasq_kill(c->config->machine_name, c->net.dnsmasq.pidfd);
        c->net.dnsmasq.pidfd = safe_close(c->net.dnsmasq.pidfd); /* not reaped: its parent ends first */
        c->net.dnsmasq.err_fd = safe_close(c->net.dnsmasq.err_fd);
        if (!isempty(c->net.ifname) && !(c->net.host_ifindex > 0 && !if_indextoname((unsigned) c->net.host_ifindex, name))) {
                behind.link = true; /* not gone already */
                behind.released = host_link_release(nl, &c->net, !isempty(c->config->network_zone));
        }
        teardown_behind(nl, &c->net, &behind, lock);
        c->net.recorded = false;
}

/* Is there a record (NAME.net) or a zone at all? Looked at without the network lock: a launcher
 * that holds it writes only live records, and one that is stopping holds it until its link has
 * gone (teardown_behind()), which a start with nothing to collect need not wait for. */
static bool anything_recorded(void) {
        _cleanup_(closedirp) DIR *d = opendir(SPAWN_NETWORK_DIR);

        if (!d)
                return false;
        for (struct dirent *de; (de = readdir(d));)
                if (endswith(de->d_name, ".net") || streq(de->d_name, "zones") || streq(de->d_name, "external"))
                        return true;
        return false;
}

void spawn_network_collect_stale(const char *own_machine_name) {
        _cleanup_(netlink_freep) Netlink *nl = NULL;
        _cleanup_close_ int lock = -EBADF;
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        NftMachines dead = {};
        bool zones_changed = false;

        if (!anything_recorded())
                return;
        lock = spawn_network_lock();
        if (lock < 0)
                return (void) log_debug_errno(lock, "Failed to take the network lock: %m");
        d = opendir(SPAWN_NETWORK_DIR);
        if (!d)
                return;
        while ((de = readdir(d))) {
                _cleanup_free_ char *name = NULL, *p = NULL;
                char ifname[IFNAMSIZ], zone[IFNAMSIZ];
                char *dot;

                if (!endswith(de->d_name, ".net") || !(name = strdup(de->d_name)))
                        continue;
                dot = strrchr(name, '.');
                *dot = 0;
                if (!streq(name, own_machine_name) && spawn_name_is_live(name))
                        continue;
                zone[0] = 0;
                if (!(p = spawn_network_record_path(name)) || spawn_network_record_read(p, ifname, zone, &dead) < 0)
                        ifname[0] = 0;
                log_debug("Collecting the network that a dead launcher of '%s' left.", name);
                if (!nl)
                        (void) netlink_open(-EBADF, &nl);
                remove_machine(nl, name, ifname, -EBADF, zone);
                zones_changed = zones_changed || zone[0] != 0;
        }
        if (spawn_zone_collect_empty(&nl) > 0)
                zones_changed = true;
        spawn_network_external_zones_collect(&nl);
        /* a zone's subnet is in the tables while a record names the zone: rendered whole */
        if (zones_changed)
                (void) spawn_network_nft_sync();
        else if (dead.n_subnets > 0)
                (void) spawn_network_nft_update(false, &dead, NULL);
        nft_machines_done(&dead);
}

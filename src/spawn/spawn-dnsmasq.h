/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One dnsmasq per machine link: DHCPv4 (the machine's MAC always gets the same address) and DNS
 * (forwarding to the host's resolvers; the machine's name resolves to its address), bound to
 * that link only, with a lease and pid file of its own under SPAWN_NETWORK_DIR. */
typedef struct DnsmasqConfig {
        const char *machine_name;
        const char *ifname;
        uint32_t subnet; /* host byte order, a /28 */
        unsigned prefixlen;
        const uint8_t *guest_mac;
        const uint8_t *subnet6; /* the link's /64 (NULL: IPv4 only): RA and DHCPv6 of ::2 */
} DnsmasqConfig;

/* A machine's dnsmasq while it starts. */
typedef struct DnsmasqRun {
        int pidfd;    /* the launcher's child, until teardown */
        int ready_fd; /* inotify on SPAWN_NETWORK_DIR: dnsmasq writes NAME.ready once its sockets are bound.
                       * Its watch goes once that is known; the instance is closed a second later
                       * (spawn-supervise.c), or by the teardown's child if the machine ended sooner:
                       * closing an inotify instance right after its watch went waits for an SRCU
                       * grace period (some 20 ms in a 2-CPU VM). */
        int ready_wd; /* its watch, until then */
        int err_fd;   /* its stderr until then: why it could not start */
} DnsmasqRun;
#define DNSMASQ_RUN_NULL ((DnsmasqRun) { .pidfd = -EBADF, .ready_fd = -EBADF, .ready_wd = -1, .err_fd = -EBADF })

/* Starts it in the foreground of a session of its own and does not wait for it: the caller goes on
 * with its work and calls spawn_dnsmasq_wait_ready() before the guest runs. Its pid is written to
 * the pid file before this returns: the launcher is its parent. -ENOENT: not installed. */
int spawn_dnsmasq_start(const DnsmasqConfig *d, DnsmasqRun *ret);
/* Waits until it answers (its DNS and DHCP sockets are bound: a guest's first instruction may ask
 * it), at most timeout_ms. -ESRCH if it exited (err: what it said), -ETIMEDOUT. Closes its stderr and
 * removes the watch (spawn_dnsmasq_unwatch()) on every path. */
int spawn_dnsmasq_wait_ready(const char *machine_name, DnsmasqRun *run, int timeout_ms, char *err, size_t err_size);
/* Removes the ready watch; ready_fd stays open (see DnsmasqRun). */
void spawn_dnsmasq_unwatch(DnsmasqRun *run);
/* dnsmasq ends its start when a link goes away while it lists the host's links (another machine's
 * going, for one): "failed to find list of interfaces: No such device". Such a start is tried again,
 * up to DNSMASQ_START_ATTEMPTS times in all. */
#define DNSMASQ_START_ATTEMPTS 3
bool spawn_dnsmasq_lost_a_link(const char *err);
/* Waits for a dnsmasq that exited at its start and closes what its run held. */
void spawn_dnsmasq_reap(DnsmasqRun *run);
/* Kills the machine's dnsmasq: the one own_pidfd names (the launcher's own child), else the one its
 * pid file names if that is a dnsmasq of this machine; removes its pid, lease and ready files. Does
 * not wait: returns a new pidfd of it (readable once it has ended and let go of its sockets and the
 * link's address), -ESRCH when none ran. */
int spawn_dnsmasq_kill(const char *machine_name, int own_pidfd);
/* Waits (at most a second) until the dnsmasq of pidfd (from spawn_dnsmasq_kill()) has ended. */
void spawn_dnsmasq_wait_gone(int pidfd);
/* Both: kills the machine's dnsmasq and waits for it (reaps it when it is the launcher's child). */
void spawn_dnsmasq_stop(const char *machine_name, int own_pidfd);

/* A zone's dnsmasq (spawn-zone.c): on the zone's bridge, DHCP from the files in dhcp_hosts_dir
 * ("MAC,ADDRESS,NAME", a file per machine) and DNS from those in hosts_dir ("ADDRESS NAME"). It reads
 * new files by itself (inotify), drops a removed file's names, and its DHCP hosts on SIGHUP. It outlives the
 * launcher that starts it (it daemonizes; this waits until it serves), and goes with the zone's last
 * machine. state_name names its pid and lease files under SPAWN_NETWORK_DIR ("zones/ZONE"). -ENOENT:
 * not installed; -EPROTO: it refused, its message in err (a start that lost a link is tried again). */
typedef struct DnsmasqZone {
        const char *state_name;
        const char *ifname;
        uint32_t subnet; /* host byte order, a /24 */
        unsigned prefixlen;
        const char *dhcp_hosts_dir;
        const char *hosts_dir;
        const uint8_t *subnet6; /* the zone's /64 (NULL: IPv4 only): RA, and DHCPv6 from dhcp_hosts_dir */
} DnsmasqZone;
int spawn_dnsmasq_start_zone(const DnsmasqZone *z, char *err, size_t err_size);
/* Makes a running zone dnsmasq re-read its files. -ESRCH: none runs. */
int spawn_dnsmasq_reload(const char *state_name);
/* Whether the zone dnsmasq of state_name runs with an argument that starts with arg: 1 it does, 0 it
 * runs without, -ESRCH none runs. */
int spawn_dnsmasq_running(const char *state_name, const char *arg);

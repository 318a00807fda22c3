/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "fileio.h"
#include "log.h"
#include "netlink-util.h"
#include "parse-util.h"
#include "pidfd-util.h"
#include "run-program.h"
#include "spawn-dnsmasq.h"
#include "spawn-network.h"
#include "string-util.h"

static char *machine_file(const char *machine_name, const char *suffix) {
        return strjoin(SPAWN_NETWORK_DIR "/", machine_name, suffix);
}

/* SUBNET6 (a /64) with HOST as its last byte, as text. */
static void subnet6_address(const uint8_t *subnet6, uint8_t host, char ret[static INET6_ADDRSTRLEN]) {
        uint8_t a[16];

        memcpy(a, subnet6, 16);
        a[15] = host;
        (void) inet_ntop(AF_INET6, a, ret, INET6_ADDRSTRLEN);
}

int spawn_dnsmasq_start(const DnsmasqConfig *d, int *ret_pidfd) {
        _cleanup_free_ char *pid_file = machine_file(d->machine_name, ".pid"),
                            *lease_file = machine_file(d->machine_name, ".leases");
        char gw[16], first[16], last[16], guest[16], mask[16];
        /* without IPv6, its three arguments repeat one that is given anyway */
        char a_listen6[80] = "--no-ping", a_range6[160] = "--no-ping", *a_ra = (char *) "--no-ping";
        char a_iface[64], a_listen[64], a_range[96], a_host[96], a_record[512], a_pid[512], a_lease[512];
        uint32_t m = UINT32_MAX << (32 - d->prefixlen);
        const uint8_t *mac = d->guest_mac;
        char pid_text[16];
        pid_t pid;
        int r, fd, f;

        if (!pid_file || !lease_file)
                return -ENOMEM;
        ipv4_to_string(d->subnet + 1, gw);
        ipv4_to_string(d->subnet + 2, guest);
        ipv4_to_string(d->subnet + 2, first);
        ipv4_to_string((d->subnet | ~m) - 1, last);
        ipv4_to_string(m, mask);
        (void) snprintf(a_iface, sizeof a_iface, "--interface=%s", d->ifname);
        (void) snprintf(a_listen, sizeof a_listen, "--listen-address=%s", gw);
        (void) snprintf(a_range, sizeof a_range, "--dhcp-range=%s,%s,%s,1h", first, last, mask);
        (void) snprintf(a_host, sizeof a_host, "--dhcp-host=%02x:%02x:%02x:%02x:%02x:%02x,%s", mac[0], mac[1],
                        mac[2], mac[3], mac[4], mac[5], guest);
        (void) snprintf(a_record, sizeof a_record, "--host-record=%s,%s", d->machine_name, guest);
        (void) snprintf(a_pid, sizeof a_pid, "--pid-file=%s", pid_file);
        (void) snprintf(a_lease, sizeof a_lease, "--dhcp-leasefile=%s", lease_file);
        if (d->subnet6) {
                char gw6[INET6_ADDRSTRLEN], guest6[INET6_ADDRSTRLEN];
                subnet6_address(d->subnet6, 1, gw6);
                subnet6_address(d->subnet6, 2, guest6);
                a_ra = (char *) "--enable-ra";
                (void) snprintf(a_listen6, sizeof a_listen6, "--listen-address=%s", gw6);
                (void) snprintf(a_range6, sizeof a_range6, "--dhcp-range=%s,%s,64,1h", guest6, guest6);
                (void) snprintf(a_record, sizeof a_record, "--host-record=%s,%s,%s", d->machine_name, guest,
                                guest6);
        }
        char *argv[] = {
                (char *) "dnsmasq",
                (char *) "--keep-in-foreground",
                (char *) "--conf-file=/dev/null", /* never /etc/dnsmasq.conf */
                (char *) "--bind-interfaces", a_iface, (char *) "--except-interface=lo", a_listen,
                (char *) "--strict-order", (char *) "--no-ping", (char *) "--dhcp-rapid-commit",
                (char *) "--dhcp-authoritative", (char *) "--dhcp-no-override", a_range, a_host, a_record,
                a_pid, a_lease, a_listen6, a_range6, a_ra, (char *) "--user=nobody", (char *) "--group=nogroup",
                (char *) "--quiet-dhcp", (char *) "--log-facility=/dev/null",
                NULL,
        };

        r = run_program_detached(argv, &pid);
        if (r < 0)
                return r;
        fd = pidfd_open_pid(pid);
        if (fd < 0) {
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return fd;
        }
        /* dnsmasq writes the same pid there itself; written now, a launcher killed the next
         * instant still leaves what the next one needs to collect it. */
        (void) snprintf(pid_text, sizeof pid_text, "%d\n", (int) pid);
        f = open(pid_file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
        r = f < 0 ? -errno : write(f, pid_text, strlen(pid_text)) < 0 ? -errno : 0;
        safe_close(f);
        if (r < 0) {
                (void) pidfd_signal(fd, SIGKILL);
                (void) waitid(P_PIDFD, (id_t) fd, &(siginfo_t) {}, WEXITED);
                safe_close(fd);
                return r;
        }
        *ret_pidfd = fd;
        return 0;
}

/* Is pid a dnsmasq serving this lease file? (The pid file may be stale and the pid reused.) */
static bool is_our_dnsmasq(pid_t pid, const char *lease_file) {
        _cleanup_free_ char *cmdline = NULL;
        char path[64];
        size_t size;

        (void) snprintf(path, sizeof path, "/proc/%d/cmdline", (int) pid);
        if (read_full_file_at(AT_FDCWD, path, 64 * 1024, &cmdline, &size) < 0)
                return false;
        if (!streq(cmdline, "dnsmasq") && !endswith(cmdline, "/dnsmasq"))
                return false;
        for (size_t i = 0; i < size; i += strlen(cmdline + i) + 1)
                if (startswith(cmdline + i, "--dhcp-leasefile=") && streq(cmdline + i + 17, lease_file))
                        return true;
        return false;
}

/* A pidfd for the dnsmasq its pid file names, if that one serves this lease file; else -ESRCH. */
static int our_dnsmasq_pidfd(const char *pid_file, const char *lease_file) {
        _cleanup_free_ char *line = NULL;
        unsigned pid;
        int fd;

        if (read_one_line_file(pid_file, &line) < 0 || safe_atou(line, &pid) < 0 || pid <= 1)
                return -ESRCH;
        fd = pidfd_open_pid((pid_t) pid);
        if (fd < 0)
                return -ESRCH;
        if (!is_our_dnsmasq((pid_t) pid, lease_file)) {
                safe_close(fd);
                return -ESRCH;
        }
        return fd;
}

void spawn_dnsmasq_stop(const char *machine_name, int own_pidfd) {
        _cleanup_free_ char *pid_file = machine_file(machine_name, ".pid"),
                            *lease_file = machine_file(machine_name, ".leases");
        _cleanup_close_ int pidfd = -EBADF;

        if (!pid_file || !lease_file)
                return;
        if (own_pidfd >= 0) {
                (void) pidfd_signal(own_pidfd, SIGKILL);
                (void) waitid(P_PIDFD, (id_t) own_pidfd, &(siginfo_t) {}, WEXITED);
        } else if ((pidfd = our_dnsmasq_pidfd(pid_file, lease_file)) >= 0) {
                /* It keeps nothing worth a clean shutdown (its lease file goes too), and SIGTERM can
                 * take it seconds: kill it, and wait until it has let go of the link's address. */
                struct pollfd p = { .fd = pidfd, .events = POLLIN };
                (void) pidfd_signal(pidfd, SIGKILL);
                (void) poll(&p, 1, 1000);
        }
        (void) unlink(pid_file);
        (void) unlink(lease_file);
}

int spawn_dnsmasq_start_zone(const DnsmasqZone *z, char *err, size_t err_size) {
        _cleanup_free_ char *pid_file = machine_file(z->state_name, ".pid"),
                            *lease_file = machine_file(z->state_name, ".leases");
        char gw[16], first[16], last[16], mask[16];
        char a_iface[64], a_listen[64], a_range[96], a_pid[512], a_lease[512], a_dhcp[512], a_hosts[512];
        /* without IPv6, its three arguments repeat one that is given anyway */
        char a_listen6[80] = "--no-ping", a_range6[160] = "--no-ping", *a_ra = (char *) "--no-ping";
        uint32_t m = UINT32_MAX << (32 - z->prefixlen);
        int r;

        if (!pid_file || !lease_file)
                return -ENOMEM;
        ipv4_to_string(z->subnet + 1, gw);
        ipv4_to_string(z->subnet + 2, first);
        ipv4_to_string((z->subnet | ~m) - 1, last);
        ipv4_to_string(m, mask);
        (void) snprintf(a_iface, sizeof a_iface, "--interface=%s", z->ifname);
        (void) snprintf(a_listen, sizeof a_listen, "--listen-address=%s", gw);
        (void) snprintf(a_range, sizeof a_range, "--dhcp-range=%s,%s,%s,1h", first, last, mask);
        (void) snprintf(a_pid, sizeof a_pid, "--pid-file=%s", pid_file);
        (void) snprintf(a_lease, sizeof a_lease, "--dhcp-leasefile=%s", lease_file);
        (void) snprintf(a_dhcp, sizeof a_dhcp, "--dhcp-hostsfile=%s", z->dhcp_hosts_file);
        (void) snprintf(a_hosts, sizeof a_hosts, "--addn-hosts=%s", z->hosts_file);
        if (z->subnet6) {
                char gw6[INET6_ADDRSTRLEN], first6[INET6_ADDRSTRLEN], last6[INET6_ADDRSTRLEN];
                subnet6_address(z->subnet6, 1, gw6);
                subnet6_address(z->subnet6, 2, first6);
                subnet6_address(z->subnet6, 254, last6);
                a_ra = (char *) "--enable-ra";
                (void) snprintf(a_listen6, sizeof a_listen6, "--listen-address=%s", gw6);
                (void) snprintf(a_range6, sizeof a_range6, "--dhcp-range=%s,%s,64,1h", first6, last6);
        }
        char *argv[] = {
                (char *) "dnsmasq",
                (char *) "--conf-file=/dev/null", /* never /etc/dnsmasq.conf */
                (char *) "--bind-interfaces", a_iface, (char *) "--except-interface=lo", a_listen,
                (char *) "--strict-order", (char *) "--no-ping", (char *) "--dhcp-rapid-commit",
                (char *) "--dhcp-authoritative", (char *) "--dhcp-no-override", a_range, a_dhcp, a_hosts,
                a_pid, a_lease, a_listen6, a_range6, a_ra, (char *) "--user=nobody", (char *) "--group=nogroup",
                (char *) "--quiet-dhcp", (char *) "--log-facility=/dev/null",
                NULL,
        };

        r = run_program(argv, NULL, err, err_size);
        if (r < 0)
                return r;
        return r == 0 ? 0 : -EPROTO;
}

int spawn_dnsmasq_reload(const char *state_name) {
        _cleanup_free_ char *pid_file = machine_file(state_name, ".pid"),
                            *lease_file = machine_file(state_name, ".leases");
        _cleanup_close_ int pidfd = -EBADF;

        if (!pid_file || !lease_file)
                return -ENOMEM;
        pidfd = our_dnsmasq_pidfd(pid_file, lease_file);
        if (pidfd < 0)
                return pidfd;
        return pidfd_signal(pidfd, SIGHUP);
}

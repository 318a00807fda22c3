/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
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

/* Runs argv (a foreground dnsmasq that writes NAME.ready once it answers) and writes its pid to
 * NAME.pid: a launcher killed the next instant leaves what the next one needs to collect it. */
static int dnsmasq_launch(char *argv[], const char *machine_name, DnsmasqRun *ret) {
        _cleanup_free_ char *pid_file = machine_file(machine_name, ".pid"), *binary = NULL;
        _cleanup_close_pair_ int errp[2] = { -EBADF, -EBADF };
        _cleanup_close_ int watch = -EBADF, fd = -EBADF, f = -EBADF;
        int wd;
        /* no locale: its start-up reads none of the host's locale files */
        char *env[] = { (char *) "PATH=/usr/sbin:/usr/bin:/sbin:/bin", (char *) "LC_ALL=C", NULL };
        char pid_text[16];
        pid_t pid;
        int r;

        if (!pid_file)
                return -ENOMEM;
        /* watched before it starts: its writing of NAME.ready cannot be missed */
        watch = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (watch < 0)
                return -errno;
        wd = inotify_add_watch(watch, SPAWN_NETWORK_DIR, IN_CLOSE_WRITE | IN_MOVED_TO);
        if (wd < 0 || pipe2(errp, O_CLOEXEC) < 0)
                return -errno;
        /* looked up here, not by a child that tries every directory of PATH while we wait for its exec */
        r = program_find(argv[0], &binary);
        if (r < 0)
                return r;
        argv[0] = binary;
        r = run_program_detached(argv, env, errp[1], &pid);
        errp[1] = safe_close(errp[1]);
        if (r < 0)
                return r;
        fd = pidfd_open_pid(pid);
        if (fd < 0) {
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return fd;
        }
        (void) snprintf(pid_text, sizeof pid_text, "%d\n", (int) pid);
        f = open(pid_file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
        r = f < 0 ? -errno : write(f, pid_text, strlen(pid_text)) < 0 ? -errno : 0;
        if (r < 0) {
                (void) pidfd_signal(fd, SIGKILL);
                (void) waitid(P_PIDFD, (id_t) fd, &(siginfo_t) {}, WEXITED);
                return r;
        }
        *ret = (DnsmasqRun) { .pidfd = TAKE_FD(fd), .ready_fd = TAKE_FD(watch), .ready_wd = wd, .err_fd = TAKE_FD(errp[0]) };
        return 0;
}

int spawn_dnsmasq_start(const DnsmasqConfig *d, DnsmasqRun *ret) {
        _cleanup_free_ char *ready_file = machine_file(d->machine_name, ".ready"),
                            *lease_file = machine_file(d->machine_name, ".leases");
        char gw[16], first[16], last[16], guest[16], mask[16];
        /* without IPv6, its three arguments repeat one that is given anyway */
        char a_listen6[80] = "--no-ping", a_range6[160] = "--no-ping", *a_ra = (char *) "--no-ping";
        char a_iface[64], a_listen[64], a_range[96], a_host[96], a_record[512], a_ready[512], a_lease[512];
        uint32_t m = UINT32_MAX << (32 - d->prefixlen);
        const uint8_t *mac = d->guest_mac;

        if (!ready_file || !lease_file)
                return -ENOMEM;
        (void) unlink(ready_file); /* a killed launcher's */
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
        (void) snprintf(a_ready, sizeof a_ready, "--pid-file=%s", ready_file);
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
                a_ready, a_lease, a_listen6, a_range6, a_ra, (char *) "--user=nobody", (char *) "--group=nogroup",
                (char *) "--quiet-dhcp", (char *) "--log-facility=/dev/null",
                NULL,
        };

        return dnsmasq_launch(argv, d->machine_name, ret);
}

/* Did the events on the watch include NAME.ready's writing? */
static bool ready_written(int watch, const char *ready_name) {
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        bool found = false;
        ssize_t n;

        while ((n = read(watch, buf, sizeof buf)) > 0)
                for (char *p = buf; p < buf + n; p += sizeof(struct inotify_event) + ((struct inotify_event *) p)->len) {
                        const struct inotify_event *e = (const struct inotify_event *) p;
                        if (e->len > 0 && streq(e->name, ready_name))
                                found = true;
                }
        return found;
}

static void read_stderr(int fd, char *err, size_t err_size) {
        ssize_t n = err_size > 1 ? read(fd, err, err_size - 1) : -1;

        if (err_size == 0)
                return;
        err[n > 0 ? n : 0] = 0;
        while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
                err[--n] = 0;
}

int spawn_dnsmasq_wait_ready(const char *machine_name, DnsmasqRun *run, int timeout_ms, char *err, size_t err_size) {
        _cleanup_free_ char *ready_name = strjoin(machine_name, ".ready");
        int r = -ETIMEDOUT;

        if (err_size > 0)
                err[0] = 0;
        if (!ready_name)
                r = -ENOMEM;
        else
                for (;;) {
                        struct pollfd p[2] = { { .fd = run->ready_fd, .events = POLLIN },
                                               { .fd = run->pidfd, .events = POLLIN } };
                        int n = poll(p, 2, timeout_ms);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0) {
                                r = n < 0 ? -errno : -ETIMEDOUT;
                                break;
                        }
                        if ((p[0].revents & POLLIN) && ready_written(run->ready_fd, ready_name)) {
                                r = 0;
                                break;
                        }
                        if (p[1].revents & POLLIN) {
                                read_stderr(run->err_fd, err, err_size);
                                r = -ESRCH;
                                break;
                        }
                }
        spawn_dnsmasq_unwatch(run);
        run->err_fd = safe_close(run->err_fd); /* it ignores SIGPIPE: a later message is lost, not fatal */
        return r;
}

void spawn_dnsmasq_unwatch(DnsmasqRun *run) {
        /* the watch goes (what the directory does from now on is not queued), the instance stays: see
         * DnsmasqRun */
        if (run->ready_fd >= 0 && run->ready_wd >= 0)
                (void) inotify_rm_watch(run->ready_fd, run->ready_wd);
        run->ready_wd = -1;
}

bool spawn_dnsmasq_lost_a_link(const char *err) {
        return strstr(err, "failed to find list of interfaces");
}

void spawn_dnsmasq_reap(DnsmasqRun *run) {
        if (run->pidfd >= 0)
                (void) waitid(P_PIDFD, (id_t) run->pidfd, &(siginfo_t) {}, WEXITED);
        run->pidfd = safe_close(run->pidfd);
        run->ready_fd = safe_close(run->ready_fd);
        run->err_fd = safe_close(run->err_fd);
}

static int pid_file_read(const char *pid_file, pid_t *ret) {
        _cleanup_free_ char *line = NULL;
        unsigned pid;

        if (read_one_line_file(pid_file, &line) < 0 || safe_atou(line, &pid) < 0 || pid <= 1)
                return -ESRCH;
        *ret = (pid_t) pid;
        return 0;
}

/* Is pid a dnsmasq serving this lease file? (The pid file may be stale and the pid reused.) -ESRCH
 * if not; else whether it was given an argument that starts with arg (true without arg). */
static int our_dnsmasq(pid_t pid, const char *lease_file, const char *arg) {
        _cleanup_free_ char *cmdline = NULL;
        bool ours = false, has_arg = !arg;
        char path[64];
        size_t size;

        (void) snprintf(path, sizeof path, "/proc/%d/cmdline", (int) pid);
        if (read_full_file_at(AT_FDCWD, path, 64 * 1024, &cmdline, &size) < 0)
                return -ESRCH;
        if (!streq(cmdline, "dnsmasq") && !endswith(cmdline, "/dnsmasq"))
                return -ESRCH;
        for (size_t i = 0; i < size; i += strlen(cmdline + i) + 1) {
                ours = ours || (startswith(cmdline + i, "--dhcp-leasefile=") && streq(cmdline + i + 17, lease_file));
                has_arg = has_arg || startswith(cmdline + i, arg);
        }
        return ours ? has_arg : -ESRCH;
}

/* A pidfd for the dnsmasq its pid file names, if that one serves this lease file; else -ESRCH. */
static int our_dnsmasq_pidfd(const char *pid_file, const char *lease_file) {
        pid_t pid;
        int fd;

        if (pid_file_read(pid_file, &pid) < 0)
                return -ESRCH;
        fd = pidfd_open_pid(pid);
        if (fd < 0)
                return -ESRCH;
        if (our_dnsmasq(pid, lease_file, NULL) < 0) {
                safe_close(fd);
                return -ESRCH;
        }
        return fd;
}

int spawn_dnsmasq_kill(const char *machine_name, int own_pidfd) {
        _cleanup_free_ char *pid_file = machine_file(machine_name, ".pid"),
                            *lease_file = machine_file(machine_name, ".leases"),
                            *ready_file = machine_file(machine_name, ".ready");
        int pidfd = -ESRCH;

        if (!pid_file || !lease_file || !ready_file)
                return -ENOMEM;
        /* It keeps nothing worth a clean shutdown (its lease file goes too), and SIGTERM can take it
         * seconds: SIGKILL. */
        if (own_pidfd >= 0) {
                pidfd = fcntl(own_pidfd, F_DUPFD_CLOEXEC, 3);
                if (pidfd < 0)
                        pidfd = -errno;
        } else
                pidfd = our_dnsmasq_pidfd(pid_file, lease_file);
        if (pidfd >= 0)
                (void) pidfd_signal(pidfd, SIGKILL);
        (void) unlink(pid_file);
        (void) unlink(lease_file);
        (void) unlink(ready_file);
        return pidfd;
}

void spawn_dnsmasq_wait_gone(int pidfd) {
        struct pollfd p = { .fd = pidfd, .events = POLLIN };

        if (pidfd >= 0)
                (void) poll(&p, 1, 1000);
}

void spawn_dnsmasq_stop(const char *machine_name, int own_pidfd) {
        _cleanup_close_ int pidfd = spawn_dnsmasq_kill(machine_name, own_pidfd);

        if (pidfd >= 0 && own_pidfd >= 0)
                (void) waitid(P_PIDFD, (id_t) pidfd, &(siginfo_t) {}, WEXITED); /* ours: reaped */
        else
                spawn_dnsmasq_wait_gone(pidfd); /* until it has let go of the link's address */
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
        (void) snprintf(a_dhcp, sizeof a_dhcp, "--dhcp-hostsdir=%s", z->dhcp_hosts_dir);
        (void) snprintf(a_hosts, sizeof a_hosts, "--hostsdir=%s", z->hosts_dir);
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

        for (int attempt = 1;; attempt++) {
                r = run_program(argv, NULL, err, err_size);
                if (r <= 0)
                        return r;
                if (attempt == DNSMASQ_START_ATTEMPTS || !spawn_dnsmasq_lost_a_link(err))
                        return -EPROTO;
        }
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

int spawn_dnsmasq_running(const char *state_name, const char *arg) {
        _cleanup_free_ char *pid_file = machine_file(state_name, ".pid"),
                            *lease_file = machine_file(state_name, ".leases");
        pid_t pid;

        if (!pid_file || !lease_file)
                return -ENOMEM;
        if (pid_file_read(pid_file, &pid) < 0)
                return -ESRCH;
        return our_dnsmasq(pid, lease_file, arg);
}

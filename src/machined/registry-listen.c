/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berthd's registration socket (registry-socket.h): the adapter berth-spawn uses instead of the bus,
 * with the same beats as RegisterMachine: read → validate → authorize → act → reply. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "id128.h"
#include "log.h"
#include "machine-register.h"
#include "parse-util.h"
#include "registry-listen.h"
#include "registry-socket.h"
#include "string-util.h"

#define REQUEST_FIELDS_MAX 8
#define NETIFS_MAX 64

typedef struct Peer {
        Manager *manager;
        pid_t pid;
        uid_t uid;
} Peer;

static void send_reply(int fd, int r, const char *message) {
        char buf[1024];
        int n;

        if (r >= 0)
                n = snprintf(buf, sizeof buf, "0");
        else
                n = snprintf(buf, sizeof buf, "%d%c%s", r, 0, message ?: strerror(-r));
        if (n >= (int) sizeof buf)
                n = sizeof buf - 1;
        (void) send(fd, buf, (size_t) n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Splits the NUL-separated request; the buffer ends with a NUL we put there. */
static size_t split_fields(char *buf, size_t size, char *fields[static REQUEST_FIELDS_MAX]) {
        size_t n = 0;

        for (char *p = buf; p < buf + size && n < REQUEST_FIELDS_MAX; p += strlen(p) + 1)
                fields[n++] = p;
        return n;
}

/* "3 7": positive interface indices, at most NETIFS_MAX. */
static int parse_netifs(const char *s, int netifs[static NETIFS_MAX], size_t *ret_n) {
        size_t n = 0;

        while (*s) {
                char *end;
                long v;

                if (n >= NETIFS_MAX)
                        return -E2BIG;
                errno = 0;
                v = strtol(s, &end, 10);
                if (errno != 0 || end == s || v <= 0 || v > INT_MAX || (*end && *end != ' '))
                        return -EINVAL;
                netifs[n++] = (int) v;
                s = *end ? end + 1 : end;
        }
        *ret_n = n;
        return 0;
}

static int handle_register(Peer *peer, char **f, size_t n_fields, const char **ret_message) {
        static char message[256];
        int netifs[NETIFS_MAX];
        size_t n_netifs = 0;
        RegisterFailure failure = _REGISTER_FAILURE_MAX;
        MachineClass class = MACHINE_CONTAINER;
        Id128 id = {};
        Machine *machine;
        unsigned leader;
        int r;

        /* f: NAME UUID LEADER ROOT SERVICE CLASS [NETIFS] */
        if (safe_atou(f[2], &leader) < 0 || (!isempty(f[1]) && id128_from_string(f[1], &id) < 0))
                return *ret_message = "Invalid machine ID or leader PID", -EINVAL;
        if (n_fields > 6 && parse_netifs(f[6], netifs, &n_netifs) < 0)
                return *ret_message = "Invalid network interface index", -EINVAL;
        r = machine_registration_check(f[0], f[5], leader, f[3], f[4], &class, ret_message);
        if (r < 0)
                return r;
        r = manager_register_machine(peer->manager, &(MachineRegistration) {
                        .name = f[0], .id = isempty(f[1]) ? NULL : id.bytes, .service = f[4], .class = class,
                        .leader = (pid_t) leader, .root_directory = f[3], .netifs = netifs, .n_netifs = n_netifs,
                }, peer->pid, &machine, &failure);
        if (r >= 0)
                return 0;
        if (failure == REGISTER_NAME_TAKEN)
                (void) snprintf(message, sizeof message, "Machine '%s' already exists", f[0]);
        else if (failure == REGISTER_LEADER_TAKEN)
                (void) snprintf(message, sizeof message, "Leader PID %u already registered", leader);
        else
                (void) snprintf(message, sizeof message, "Failed to register machine '%s': %s", f[0], strerror(-r));
        *ret_message = message;
        return r;
}

static int handle_unregister(Peer *peer, const char *name, const char **ret_message) {
        Machine *machine = manager_find_machine(peer->manager, name);

        if (!machine)
                return 0; /* it went first (its leader died): what the launcher wanted */
        if (machine->class == MACHINE_HOST)
                return *ret_message = "The host cannot be unregistered.", -EOPNOTSUPP;
        machine_finalize(machine);
        return 0;
}

static int on_request(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Peer *peer = userdata;
        char buf[REGISTRY_MESSAGE_MAX + 1], *f[REQUEST_FIELDS_MAX];
        const char *message = NULL;
        ssize_t n;
        size_t k;
        int r;

        n = recv(fd, buf, REGISTRY_MESSAGE_MAX, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0) { /* the launcher closed its end (or exited) */
                sd_event_source_disable_unref(s);
                return 0;
        }
        buf[n] = 0;
        k = split_fields(buf, (size_t) n, f);
        if (peer->uid != 0)
                r = -EPERM, message = "Access denied: only root registers machines";
        else if ((k == 7 || k == 8) && streq(f[0], "register"))
                r = handle_register(peer, f + 1, k - 1, &message);
        else if (k == 2 && streq(f[0], "unregister"))
                r = handle_unregister(peer, f[1], &message);
        else
                r = -EBADMSG, message = "Malformed registration request";
        if (r < 0)
                log_debug("Registration request from PID %d refused: %s", (int) peer->pid, message);
        send_reply(fd, r, message);
        return 0;
}

static int on_connection(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        _cleanup_close_ int cfd = -EBADF;
        sd_event_source *src = NULL;
        struct ucred cred;
        socklen_t len = sizeof cred;
        Peer *peer;
        int r;

        cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (cfd < 0)
                return 0;
        if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return 0;
        peer = new(Peer, 1);
        if (!peer)
                return log_oom(), 0;
        *peer = (Peer) { .manager = m, .pid = cred.pid, .uid = cred.uid };
        r = sd_event_add_io(m->event, &src, cfd, EPOLLIN, on_request, peer);
        if (r < 0) {
                free(peer);
                return log_warning_errno(r, "Failed to watch a registration connection: %m"), 0;
        }
        (void) sd_event_source_set_io_fd_own(src, true);
        (void) sd_event_source_set_destroy_callback(src, free);
        (void) sd_event_source_set_floating(src, true);
        sd_event_source_unref(src);
        TAKE_FD(cfd);
        return 0;
}

int manager_listen_registry(Manager *m) {
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int r;

        r = registry_socket_path(sa.sun_path, sizeof sa.sun_path);
        if (r < 0)
                return r;
        fd = berth_socket_listen(sa.sun_path, SOCK_SEQPACKET, 0700, 0600);
        if (fd < 0)
                return fd;
        m->registry_path = strdup(sa.sun_path);
        if (!m->registry_path) {
                (void) unlink(sa.sun_path);
                return -ENOMEM;
        }
        r = sd_event_add_io(m->event, &m->registry_source, fd, EPOLLIN, on_connection, m);
        if (r < 0)
                return r; /* manager_free() unlinks the path */
        (void) sd_event_source_set_io_fd_own(m->registry_source, true);
        TAKE_FD(fd);
        return 0;
}

void manager_unlisten_registry(Manager *m) {
        m->registry_source = sd_event_source_disable_unref(m->registry_source);
        if (m->registry_path) {
                (void) unlink(m->registry_path);
                m->registry_path = mfree(m->registry_path);
        }
}

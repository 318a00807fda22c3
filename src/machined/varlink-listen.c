/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berthd's Varlink transport (varlink-listen.h): NUL-terminated JSON messages on a stream socket,
 * read → parse → dispatch (varlink-machine.c) → queue the replies → write when the socket takes
 * them. A client's requests are read only while it has no replies waiting, which bounds what one
 * client can make berthd hold. */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "log.h"
#include "registry-socket.h"
#include "string-util.h"
#include "varlink-listen.h"
#include "varlink-machine.h"

typedef struct VarlinkClient VarlinkClient;
struct VarlinkClient {
        Manager *manager;
        sd_event_source *io, *idle;
        pid_t pid;
        uid_t uid;
        char in[VARLINK_MESSAGE_MAX];
        size_t in_used;
        char *out;
        size_t out_used, out_sent, out_size;
        VarlinkClient *next, *prev;
};

static void client_free(VarlinkClient *c) {
        Manager *m = c->manager;

        if (c->prev)
                c->prev->next = c->next;
        else
                m->varlink_clients = c->next;
        if (c->next)
                c->next->prev = c->prev;
        m->n_varlink_clients--;
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->idle);
        free(c->out);
        free(c);
}

static int queue(VarlinkClient *c, json_object *message) {
        size_t len;
        const char *text = json_object_to_json_string_length(message, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

        if (!text)
                return -ENOMEM;
        if (c->out_used + len + 1 > VARLINK_OUTPUT_MAX)
                return -ENOBUFS;
        if (c->out_used + len + 1 > c->out_size) {
                size_t size = MAX(c->out_size * 2, c->out_used + len + 1);
                char *p = realloc(c->out, size);
                if (!p)
                        return -ENOMEM;
                c->out = p, c->out_size = size;
        }
        memcpy(c->out + c->out_used, text, len + 1); /* with its NUL: the message's end */
        c->out_used += len + 1;
        return 0;
}

/* The replies to one call: each of *replies with "continues" but the last, or the error. */
static int queue_replies(VarlinkClient *c, json_object *replies, const char *error, int r) {
        if (r < 0) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "error", json_object_new_string(error));
                json_object_object_add(o, "parameters", replies ?: json_object_new_object());
                r = queue(c, o);
                json_object_put(o);
                return r;
        }
        for (size_t i = 0, n = json_object_array_length(replies); r >= 0 && i < n; i++) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "parameters", json_object_get(json_object_array_get_idx(replies, i)));
                if (i + 1 < n)
                        json_object_object_add(o, "continues", json_object_new_boolean(true));
                r = queue(c, o);
                json_object_put(o);
        }
        json_object_put(replies);
        return r;
}

static bool flag(json_object *o, const char *key) {
        json_object *v;
        return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

/* One request; <0 drops the client (not a Varlink message, or no room for the reply). */
static int handle_message(VarlinkClient *c, const char *text) {
        json_object *o = json_tokener_parse(text), *method, *params = NULL, *replies = NULL, *empty = NULL;
        const char *error = NULL;
        int r;

        if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, "method", &method) ||
            !json_object_is_type(method, json_type_string) ||
            (json_object_object_get_ex(o, "parameters", &params) && !json_object_is_type(params, json_type_object))) {
                json_object_put(o);
                return -EBADMSG;
        }
        if (!params)
                params = empty = json_object_new_object();
        r = varlink_machine_dispatch(c->manager, &(VarlinkCall) {
                        .method = json_object_get_string(method), .parameters = params,
                        .more = flag(o, "more"), .peer_pid = c->pid }, &replies, &error);
        if (flag(o, "oneway")) {
                json_object_put(replies);
                r = 0;
        } else
                r = queue_replies(c, replies, error, r);
        json_object_put(empty);
        json_object_put(o);
        return r;
}

static int flush_out(VarlinkClient *c) {
        while (c->out_sent < c->out_used) {
                ssize_t n = send(sd_event_source_get_io_fd(c->io), c->out + c->out_sent, c->out_used - c->out_sent,
                                 MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return errno == EAGAIN ? 0 : -errno;
                c->out_sent += (size_t) n;
        }
        c->out_sent = c->out_used = 0;
        return 0;
}

/* Handles every complete message in the input; keeps the start of an incomplete one. */
static int handle_input(VarlinkClient *c) {
        size_t start = 0;
        char *nul;
        int r = 0;

        while (r >= 0 && c->out_used == 0 && (nul = memchr(c->in + start, 0, c->in_used - start))) {
                r = handle_message(c, c->in + start);
                start = (size_t) (nul - c->in) + 1;
                if (r >= 0)
                        r = flush_out(c);
        }
        memmove(c->in, c->in + start, c->in_used - start);
        c->in_used -= start;
        if (r >= 0 && c->in_used == sizeof c->in)
                r = -EMSGSIZE; /* a message longer than any request needs */
        return r;
}

static int on_client_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        VarlinkClient *c = userdata;
        int r = 0;

        if (revents & EPOLLOUT)
                r = flush_out(c);
        if (r >= 0 && (revents & (EPOLLIN | EPOLLHUP)) && c->out_used == 0) {
                ssize_t n = recv(fd, c->in + c->in_used, sizeof c->in - c->in_used, MSG_DONTWAIT);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        return 0;
                r = n <= 0 ? -ECONNRESET : 0;
                if (r >= 0) {
                        c->in_used += (size_t) n;
                        r = handle_input(c);
                }
        }
        if (r >= 0 && c->out_used == 0 && c->in_used > 0 && memchr(c->in, 0, c->in_used))
                r = handle_input(c); /* requests that waited for the replies before them */
        if (r < 0) {
                if (r != -ECONNRESET)
                        log_debug_errno(r, "Dropping Varlink client (PID %d): %m", (int) c->pid);
                client_free(c);
                return 0;
        }
        (void) sd_event_source_set_io_events(s, c->out_used > 0 ? EPOLLOUT : EPOLLIN);
        (void) sd_event_source_set_time_relative(c->idle, VARLINK_IDLE_USEC);
        return 0;
}

static int on_client_idle(sd_event_source *s, uint64_t usec, void *userdata) {
        client_free(userdata);
        return 0;
}

static unsigned clients_of(Manager *m, uid_t uid) {
        unsigned n = 0;
        for (VarlinkClient *c = m->varlink_clients; c; c = c->next)
                n += c->uid == uid;
        return n;
}

static int client_new(Manager *m, int fd, pid_t pid, uid_t uid) {
        VarlinkClient *c = new0(VarlinkClient, 1);
        int r;

        if (!c)
                return -ENOMEM;
        *c = (VarlinkClient) { .manager = m, .pid = pid, .uid = uid, .next = m->varlink_clients };
        if (m->varlink_clients)
                m->varlink_clients->prev = c;
        m->varlink_clients = c;
        m->n_varlink_clients++;
        r = sd_event_add_io(m->event, &c->io, fd, EPOLLIN, on_client_io, c);
        if (r < 0) {
                client_free(c);
                return r;
        }
        (void) sd_event_source_set_io_fd_own(c->io, true);
        r = sd_event_add_time_relative(m->event, &c->idle, CLOCK_MONOTONIC, VARLINK_IDLE_USEC, 0, on_client_idle, c);
        if (r < 0) {
                client_free(c); /* closes fd */
                return 0;
        }
        return 0;
}

static int on_connection(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        _cleanup_close_ int cfd = -EBADF;
        struct ucred cred = { .uid = (uid_t) -1 };
        socklen_t len = sizeof cred;
        int r;

        cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (cfd < 0)
                return 0;
        (void) getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
        if (m->n_varlink_clients >= VARLINK_CLIENTS_MAX ||
            (cred.uid != 0 && clients_of(m, cred.uid) >= VARLINK_CLIENTS_PER_UID_MAX)) {
                log_debug("Too many Varlink connections (UID %u), refusing one.", (unsigned) cred.uid);
                return 0;
        }
        r = client_new(m, cfd, cred.pid, cred.uid);
        if (r < 0)
                return log_warning_errno(r, "Failed to take a Varlink connection: %m"), 0;
        TAKE_FD(cfd);
        return 0;
}

int manager_listen_varlink(Manager *m) {
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int r;

        r = machine_varlink_socket_path(sa.sun_path, sizeof sa.sun_path);
        if (r < 0)
                return r;
        fd = berth_socket_listen(sa.sun_path, SOCK_STREAM, 0755, 0666);
        if (fd < 0)
                return fd;
        m->varlink_path = strdup(sa.sun_path);
        if (!m->varlink_path) {
                (void) unlink(sa.sun_path);
                return -ENOMEM;
        }
        r = sd_event_add_io(m->event, &m->varlink_source, fd, EPOLLIN, on_connection, m);
        if (r < 0)
                return r; /* manager_free() unlinks the path */
        (void) sd_event_source_set_io_fd_own(m->varlink_source, true);
        TAKE_FD(fd);
        return 0;
}

void manager_unlisten_varlink(Manager *m) {
        while (m->varlink_clients)
                client_free(m->varlink_clients);
        m->varlink_source = sd_event_source_disable_unref(m->varlink_source);
        if (m->varlink_path) {
                (void) unlink(m->varlink_path);
                m->varlink_path = mfree(m->varlink_path);
        }
}

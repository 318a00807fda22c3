/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The front's quick list: one request on berthd's Varlink socket, without loading libsystemd. */
#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "alloc-util.h"
#include "ctl-varlink.h"
#include "fd-util.h"
#include "registry-socket.h"
#include "string-util.h"
#include "strv.h"

#define REPLIES_MAX (16U * 1024U * 1024U)
#define TIMEOUT_SEC 25 /* sd-bus's default for a method call */

static const char list_request[] =
        "{\"method\":\"io.systemd.Machine.List\",\"parameters\":{\"acquireMetadata\":\"graceful\"},\"more\":true}";

static int connect_berthd(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct timeval tv = { .tv_sec = TIMEOUT_SEC };
        int fd;

        if (machine_varlink_socket_path(sa.sun_path, sizeof sa.sun_path) < 0)
                return -ENAMETOOLONG;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0 ||
            connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

static const char *string_field(json_object *o, const char *key) {
        json_object *v;
        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
                       ? json_object_get_string(v) : NULL;
}

/* "ID=debian" → "debian" for key "ID"; the first one counts, as on the D-Bus path. */
static int read_os_release(json_object *params, MachineRow *row) {
        json_object *a;

        if (!json_object_object_get_ex(params, "OSRelease", &a) || !json_object_is_type(a, json_type_array))
                return 0;
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                const char *kv = json_object_get_string(json_object_array_get_idx(a, i)), *v;
                char **dst = NULL;
                if (!kv)
                        continue;
                if ((v = startswith(kv, "ID=")) && !row->os)
                        dst = &row->os;
                else if ((v = startswith(kv, "VERSION_ID=")) && !row->version)
                        dst = &row->version;
                if (dst && !(*dst = strdup(v)))
                        return -ENOMEM;
        }
        return 0;
}

static int read_addresses(json_object *params, MachineRow *row) {
        json_object *a;

        if (!json_object_object_get_ex(params, "addresses", &a) || !json_object_is_type(a, json_type_array))
                return 0;
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                json_object *e = json_object_array_get_idx(a, i), *fam, *bytes;
                unsigned char buf[16];
                char text[INET6_ADDRSTRLEN];
                size_t n;
                int family;

                if (!json_object_object_get_ex(e, "family", &fam) || !json_object_object_get_ex(e, "address", &bytes) ||
                    !json_object_is_type(bytes, json_type_array))
                        return -EBADMSG;
                family = json_object_get_int(fam);
                n = json_object_array_length(bytes);
                if (!((family == AF_INET && n == 4) || (family == AF_INET6 && n == 16)))
                        continue;
                for (size_t k = 0; k < n; k++)
                        buf[k] = (unsigned char) json_object_get_int(json_object_array_get_idx(bytes, k));
                if (inet_ntop(family, buf, text, sizeof text) && strv_extend(&row->addresses, text) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* One reply: 1 if more follow, 0 if it was the last, <0 for an error reply or a malformed one. */
static int read_reply(ListState *s, const char *text) {
        json_object *o = json_tokener_parse(text), *params, *more;
        const char *name, *class;
        MachineRow *row;
        int r = -EBADMSG;

        if (!o || json_object_object_get_ex(o, "error", NULL) ||
            !json_object_object_get_ex(o, "parameters", &params) ||
            !(name = string_field(params, "name")) || !(class = string_field(params, "class")))
                goto finish;
        r = 0;
        if (ctl_list_wants(s, name)) {
                row = ctl_list_add(s, name, class, string_field(params, "service"));
                r = row ? read_os_release(params, row) : -ENOMEM;
                if (r >= 0)
                        r = read_addresses(params, row);
        }
        if (r >= 0)
                r = json_object_object_get_ex(o, "continues", &more) && json_object_get_boolean(more);
finish:
        json_object_put(o);
        return r;
}

static int read_replies(int fd, ListState *s) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, used = 0, start = 0;

        for (;;) {
                char *nul;
                ssize_t n;

                while (start < used && (nul = memchr(buf + start, 0, used - start))) {
                        int r = read_reply(s, buf + start);
                        if (r <= 0)
                                return r;
                        start = (size_t) (nul - buf) + 1;
                }
                if (used == size) {
                        if (size >= REPLIES_MAX)
                                return -EMSGSIZE;
                        char *p = realloc(buf, size = size ? size * 2 : 64 * 1024);
                        if (!p)
                                return -ENOMEM;
                        buf = p;
                }
                n = read(fd, buf + used, size - used);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? -errno : -ECONNRESET;
                used += (size_t) n;
        }
}

int ctl_varlink_list(ListState *s) {
        _cleanup_close_ int fd = connect_berthd();
        int r;

        if (fd < 0)
                return 0;
        if (send(fd, list_request, sizeof list_request, MSG_NOSIGNAL) != (ssize_t) sizeof list_request)
                return 0;
        r = read_replies(fd, s);
        if (r < 0) {
                ctl_list_done(s);
                return 0;
        }
        return 1;
}

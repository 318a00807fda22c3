/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "log.h"
#include "registry-socket.h"
#include "spawn-registration.h"
#include "string-util.h"
#include "strv.h"

#define EXIT_NO_REGISTRY 3
#define EXIT_REGISTERED_SYSTEMD 4 /* systemd-machined: systemd owns the scope */

extern char **environ;

static bool system_bus_exists(void) {
        const char *a = getenv("DBUS_SYSTEM_BUS_ADDRESS");
        return !isempty(a) || access("/run/dbus/system_bus_socket", F_OK) >= 0;
}

/* Beside our own binary (a build directory), else where it is installed. */
static char *helper_path(void) {
        const char *e = getenv("BERTH_REGISTER_HELPER");
        char self[4096];
        ssize_t n;

        if (e)
                return strdup(e);
        n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n > 0) {
                char *slash, *p;
                self[n] = 0;
                slash = strrchr(self, '/');
                if (slash) {
                        *slash = 0;
                        p = strjoin(self, "/berth-register");
                        if (!p || access(p, X_OK) >= 0)
                                return p;
                        free(p);
                }
        }
        return strdup(LIBEXECDIR "/berth/berth-register");
}

static int run_helper(char *const argv[]) {
        _cleanup_free_ char *path = helper_path();
        pid_t pid;
        int status, r;

        if (!path)
                return -ENOMEM;
        r = posix_spawn(&pid, path, NULL, NULL, argv, environ);
        if (r != 0)
                return -r;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -EIO;
}

/* One request and its reply on berthd's registration socket. Returns 0 done, -errno on failure
 * (with berthd's message in *ret_message when it refused). */
static int registry_call(int fd, const char *request, size_t size, char *reply, size_t reply_size,
                         const char **ret_message) {
        ssize_t n;

        *ret_message = NULL;
        if (send(fd, request, size, MSG_NOSIGNAL) < 0)
                return -errno;
        n = recv(fd, reply, reply_size - 1, 0);
        if (n < 0)
                return -errno;
        if (n == 0)
                return -ECONNRESET;
        reply[n] = 0;
        if (streq(reply, "0"))
                return 0;
        *ret_message = reply + strlen(reply) + 1 <= reply + n ? reply + strlen(reply) + 1 : NULL;
        return atoi(reply) < 0 ? atoi(reply) : -EPROTO;
}

/* berthd's socket for this bus, connected; -EBADF when there is none (no berthd, or a
 * systemd-machined: then the helper registers over the bus). */
static int registry_connect(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct timeval tv = { .tv_sec = 10 };
        int fd;

        if (registry_socket_path(sa.sun_path, sizeof sa.sun_path) < 0)
                return -EBADF;
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -EBADF;
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return safe_close(fd);
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        return fd;
}

/* 1 registered through berthd's socket, 0 no socket (use the bus), -errno failed (logged). */
static int register_by_socket(SpawnContext *c, const char *uuid, const char *leader, const char *netifs) {
        const SpawnConfig *cfg = c->config;
        const char *fields[] = { "register", cfg->machine_name, uuid, leader, cfg->directory ?: "",
                                 cfg->container_service, "container", netifs };
        char request[REGISTRY_MESSAGE_MAX], reply[1024];
        const char *message;
        size_t size = 0;
        int fd, r;

        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                size_t l = strlen(fields[i]) + 1;
                if (size + l > sizeof request)
                        return log_error_errno(-ENAMETOOLONG, "Failed to register machine %s: the request is too long.",
                                               cfg->machine_name);
                memcpy(request + size, fields[i], l);
                size += l;
        }
        fd = registry_connect();
        if (fd < 0)
                return 0;
        r = registry_call(fd, request, size - 1, reply, sizeof reply, &message);
        if (r < 0) {
                (void) safe_close(fd);
                return log_error_errno(r, "Failed to register machine %s: %s", cfg->machine_name,
                                       message ?: strerror(-r));
        }
        c->registry_fd = fd;
        return 1;
}

int spawn_registration_register(SpawnContext *c) {
        const SpawnConfig *cfg = c->config;
        char uuid[ID128_STRING_MAX], leader[16], netifs[16] = "";
        int r;

        if (cfg->register_mode == SPAWN_REGISTER_NO)
                return 0;
        if (!system_bus_exists()) {
                if (cfg->register_mode == SPAWN_REGISTER_AUTO)
                        return 0;
                return log_error_errno(-ENXIO, "Failed to register machine: no system bus is running (start "
                                               "dbus-daemon --system and berthd, or use --register=no).");
        }
        (void) snprintf(leader, sizeof leader, "%d", (int) c->pid);
        if (c->net.host_ifindex > 0) /* the veth's host side, as nspawn's CreateMachineWithNetwork */
                (void) snprintf(netifs, sizeof netifs, "%d", c->net.host_ifindex);
        r = register_by_socket(c, id128_is_null(c->uuid) ? "" : id128_to_string(c->uuid, uuid), leader, netifs);
        if (r != 0) {
                c->registered = r > 0;
                return r < 0 ? r : 0;
        }
        {
                /* the properties follow: systemd-machined hands them to systemd with the scope */
                char *const *props = cfg->limits.cgroup.assignments;
                char *base[] = { (char *) "berth-register", (char *) "register",
                                 (char *) (cfg->register_mode == SPAWN_REGISTER_YES ? "yes" : "auto"), cfg->machine_name,
                                 id128_to_string(c->uuid, uuid), leader,
                                 cfg->directory ?: (char *) "", (char *) cfg->container_service, (char *) "container",
                                 netifs };
                size_t n = strv_length((char **) props);
                _cleanup_free_ char **argv = new0(char *, ELEMENTSOF(base) + n + 1);
                if (!argv)
                        return log_oom();
                memcpy(argv, base, sizeof base);
                if (n > 0)
                        memcpy(argv + ELEMENTSOF(base), props, n * sizeof(char *));
                r = run_helper(argv);
        }
        if (r == EXIT_NO_REGISTRY) /* --register=auto, and nobody to register with */
                return 0;
        if (r < 0)
                return log_error_errno(r, "Failed to run the registration helper: %m");
        if (r != 0 && r != EXIT_REGISTERED_SYSTEMD)
                return -EPROTO; /* the helper said why */
        c->registered = true;
        c->scope_by_systemd = r == EXIT_REGISTERED_SYSTEMD;
        return 0;
}

void spawn_registration_unregister(SpawnContext *c) {
        char *argv[] = { (char *) "berth-register", (char *) "unregister", c->config->machine_name, NULL };

        if (!c->registered)
                return;
        if (c->registry_fd >= 0) {
                const char *message;
                char request[256], reply[1024];
                int n = snprintf(request, sizeof request, "unregister%c%s", 0, c->config->machine_name);
                int r = registry_call(c->registry_fd, request, (size_t) n, reply, sizeof reply, &message);
                if (r < 0)
                        log_debug_errno(r, "Failed to unregister machine %s: %s", c->config->machine_name,
                                        message ?: strerror(-r));
                c->registry_fd = safe_close(c->registry_fd);
        } else
                (void) run_helper(argv);
        c->registered = false;
}

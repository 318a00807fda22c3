/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc-util.h"
#include "log.h"
#include "spawn-registration.h"
#include "string-util.h"

#define EXIT_NO_REGISTRY 3

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

int spawn_registration_register(SpawnContext *c) {
        const SpawnConfig *cfg = c->config;
        char uuid[ID128_STRING_MAX], leader[16];
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
        {
                char *argv[] = { (char *) "berth-register", (char *) "register",
                                 (char *) (cfg->register_mode == SPAWN_REGISTER_YES ? "yes" : "auto"), cfg->machine_name,
                                 id128_to_string(c->uuid, uuid), leader,
                                 cfg->directory ?: (char *) "", (char *) cfg->container_service, (char *) "container", NULL };
                r = run_helper(argv);
        }
        if (r == EXIT_NO_REGISTRY) /* --register=auto, and nobody to register with */
                return 0;
        if (r < 0)
                return log_error_errno(r, "Failed to run the registration helper: %m");
        if (r != 0)
                return -EPROTO; /* the helper said why */
        c->registered = true;
        return 0;
}

void spawn_registration_unregister(SpawnContext *c) {
        char *argv[] = { (char *) "berth-register", (char *) "unregister", c->config->machine_name, NULL };

        if (!c->registered)
                return;
        (void) run_helper(argv);
        c->registered = false;
}

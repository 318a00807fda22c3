/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* copy-to, copy-from, bind, logs. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "alloc-util.h"
#include "ctl-bus.h"
#include "ctl-status.h"
#include "ctl.h"
#include "fd-util.h"
#include "log.h"
#include "path-util.h"
#include "string-util.h"

#define MACHINE_COPY_REPLACE (UINT64_C(1) << 0)

static int absolute_host_path(const char *p, char **ret) {
        int r = path_make_absolute_cwd(p, ret);
        return r < 0 ? log_error_errno(r, "Invalid path '%s': %m", p) : 0;
}

/* copy-to NAME HOST-PATH [MACHINE-PATH], copy-from NAME MACHINE-PATH [HOST-PATH] */
int verb_copy(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_free_ char *host = NULL, *what = NULL;
        bool to = streq(argv[0], "copy-to");
        const char *name = argv[1], *inside;
        int r;

        r = absolute_host_path(to ? argv[2] : (argc > 3 ? argv[3] : argv[2]), &host);
        if (r < 0)
                return r;
        inside = to ? (argc > 3 ? argv[3] : host) : argv[2];
        if (inside[0] != '/')
                return log_error_errno(-EINVAL, "The path in the machine must be absolute: %s", inside);
        r = sd_bus_message_new_method_call(bus, &m, MACHINE1_BUS_NAME, MACHINE1_PATH, MACHINE1_MANAGER_IFACE,
                                           to ? "CopyToMachineWithFlags" : "CopyFromMachineWithFlags");
        if (r >= 0)
                r = sd_bus_message_append(m, "ssst", name, to ? host : inside, to ? inside : host,
                                          args->force ? MACHINE_COPY_REPLACE : 0);
        if (r < 0)
                return log_oom();
        r = sd_bus_call(bus, m, BUS_LONG_TIMEOUT_USEC, &error, &reply);
        if (r < 0) {
                what = strjoin("copy ", to ? "to" : "from", " machine '", name, "'");
                return ctl_log_bus_error(&error, r, what ?: "copy");
        }
        return 0;
}

/* bind NAME HOST-PATH [MACHINE-PATH] */
int verb_bind(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *host = NULL, *what = NULL;
        const char *inside;
        int r;

        r = absolute_host_path(argv[2], &host);
        if (r < 0)
                return r;
        inside = argc > 3 ? argv[3] : host;
        if (inside[0] != '/')
                return log_error_errno(-EINVAL, "The path in the machine must be absolute: %s", inside);
        r = sd_bus_call_method(bus, MACHINE1_BUS_NAME, MACHINE1_PATH, MACHINE1_MANAGER_IFACE, "BindMountMachine", &error,
                               NULL, "sssbb", argv[1], host, inside, (int) args->read_only, (int) args->mkdir);
        if (r < 0) {
                what = strjoin("bind-mount into machine '", argv[1], "'");
                return ctl_log_bus_error(&error, r, what ?: "bind-mount");
        }
        return 0;
}

static int follow(const char *path, int fd) {
        _cleanup_close_ int ino = inotify_init1(IN_CLOEXEC);
        char buf[8192];

        if (ino < 0 || inotify_add_watch(ino, path, IN_MODIFY | IN_MOVE_SELF | IN_DELETE_SELF) < 0)
                return log_error_errno(-errno, "Failed to watch %s: %m", path);
        for (;;) {
                ssize_t n;
                while ((n = read(fd, buf, sizeof buf)) > 0)
                        if (fwrite(buf, 1, (size_t) n, stdout) != (size_t) n)
                                return 0;
                fflush(stdout);
                struct pollfd p = { .fd = ino, .events = POLLIN };
                if (poll(&p, 1, -1) < 0)
                        return errno == EINTR ? 0 : -errno;
                n = read(ino, buf, sizeof buf);
                (void) n;
        }
}

/* logs NAME [-n N] [-f]: the console of a machine berthd started. */
int verb_logs(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]) {
        _cleanup_free_ char *path = ctl_machine_log_path(bus, argv[1]);
        _cleanup_close_ int fd = -EBADF;

        if (!path)
                return log_oom();
        if (isempty(path))
                return log_error_errno(-EOPNOTSUPP, "The machine manager keeps no console logs (it is not berthd); "
                                                    "see 'journalctl -u berth-spawn@%s'.", argv[1]);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                if (errno == ENOENT)
                        return log_error_errno(-ENOENT, "No console log for machine '%s': it was not started with "
                                                        "'berthctl start'.", argv[1]);
                return log_error_errno(-errno, "Failed to open %s: %m", path);
        }
        if (args->lines > 0)
                ctl_show_file_tail(path, args->lines, "");
        else {
                char buf[8192];
                ssize_t n;
                while ((n = read(fd, buf, sizeof buf)) > 0)
                        fwrite(buf, 1, (size_t) n, stdout);
        }
        if (!args->follow)
                return 0;
        fflush(stdout);
        (void) lseek(fd, 0, SEEK_END);
        return follow(path, fd);
}

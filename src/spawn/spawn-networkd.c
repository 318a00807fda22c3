/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "log.h"
#include "spawn-networkd.h"
#include "string-util.h"

static const char *const network_setup_table[_NETWORK_SETUP_MAX] = {
        [NETWORK_SETUP_AUTO] = "auto",
        [NETWORK_SETUP_BERTH] = "berth",
        [NETWORK_SETUP_NETWORKD] = "networkd",
};

const char *network_setup_to_string(NetworkSetup s) {
        return s >= 0 && s < _NETWORK_SETUP_MAX ? network_setup_table[s] : NULL;
}

NetworkSetup network_setup_from_string(const char *s) {
        for (int i = 0; s && i < _NETWORK_SETUP_MAX; i++)
                if (streq(s, network_setup_table[i]))
                        return i;
        return _NETWORK_SETUP_INVALID;
}

const char *spawn_networkd_file_for(const char *prefix) {
        if (streq(prefix, "ve-"))
                return "80-container-ve.network";
        if (streq(prefix, "vz-"))
                return "80-container-vz.network";
        return "";
}

/* networkd's search path, highest priority first (systemd.network(5)). */
static const char *const networkd_dirs[] = {
        "/etc/systemd/network", "/run/systemd/network", "/usr/local/lib/systemd/network",
        "/usr/lib/systemd/network", "/lib/systemd/network",
};

bool spawn_networkd_file_active(const char *root, const char *prefix) {
        const char *file = spawn_networkd_file_for(prefix);

        if (isempty(file))
                return false;
        for (size_t i = 0; i < ELEMENTSOF(networkd_dirs); i++) {
                _cleanup_free_ char *path = strjoin(root, networkd_dirs[i], "/", file);
                char target[16];
                struct stat st;
                ssize_t n;

                if (!path || lstat(path, &st) < 0)
                        continue;
                if (S_ISLNK(st.st_mode)) {
                        n = readlink(path, target, sizeof target - 1);
                        if (n > 0 && (target[n] = 0, streq(target, "/dev/null")))
                                return false;
                        if (stat(path, &st) < 0)
                                return false; /* dangling: networkd skips it */
                }
                return !S_ISCHR(st.st_mode) && st.st_size > 0;
        }
        return false;
}

static bool same_netns(long pid, const struct stat *own) {
        char path[64];
        struct stat st;

        (void) snprintf(path, sizeof path, "/proc/%ld/ns/net", pid);
        return stat(path, &st) >= 0 && st.st_dev == own->st_dev && st.st_ino == own->st_ino;
}

bool spawn_networkd_running_here(void) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        struct stat own;

        /* networkd keeps its state here while it runs: without it, no /proc walk */
        if (access("/run/systemd/netif/state", F_OK) < 0)
                return false;
        if (stat("/proc/self/ns/net", &own) < 0)
                return false;
        d = opendir("/proc");
        if (!d)
                return false;
        while ((de = readdir(d))) {
                char path[64], comm[32] = "";
                _cleanup_close_ int fd = -EBADF;
                char *end;
                long pid = strtol(de->d_name, &end, 10);
                ssize_t n;

                if (pid <= 0 || *end)
                        continue;
                (void) snprintf(path, sizeof path, "/proc/%ld/comm", pid);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                n = read(fd, comm, sizeof comm - 1);
                if (n <= 0)
                        continue;
                comm[n] = 0;
                /* the kernel keeps 15 characters of "systemd-networkd" */
                if (streq(comm, "systemd-network\n") && same_netns(pid, &own))
                        return true;
        }
        return false;
}

NetworkSetup spawn_network_setup_resolve(NetworkSetup mode, const char *prefix) {
        bool networkd;

        if (mode == NETWORK_SETUP_NETWORKD)
                return mode;
        networkd = spawn_networkd_file_active("", prefix) && spawn_networkd_running_here();
        if (mode == NETWORK_SETUP_BERTH) {
                if (networkd)
                        log_warning("systemd-networkd configures %s* links here too (%s): mask it with "
                                    "'ln -s /dev/null /etc/systemd/network/%s' to leave them to berth.",
                                    prefix, spawn_networkd_file_for(prefix), spawn_networkd_file_for(prefix));
                return mode;
        }
        return networkd ? NETWORK_SETUP_NETWORKD : NETWORK_SETUP_BERTH;
}

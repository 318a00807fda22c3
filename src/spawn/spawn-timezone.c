/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "fileio.h"
#include "mount-util.h"
#include "spawn-timezone.h"
#include "string-util.h"

#define LOCALTIME_MAX (256 * 1024)

/* auto: bind with a read-only root, symlink if the host's /etc/localtime is a symlink into the zone
 * database, else copy (nspawn's rule). */
static TimezoneMode effective_mode(const SpawnContext *c, bool host_is_link) {
        const SpawnConfig *cfg = c->config;

        if (cfg->timezone_mode != TIMEZONE_AUTO)
                return cfg->timezone_mode;
        if (cfg->read_only)
                return TIMEZONE_BIND;
        return host_is_link ? TIMEZONE_SYMLINK : TIMEZONE_COPY;
}

static const char *zone_of(const char *link) {
        return startswith(link, "../usr/share/zoneinfo/") ?: startswith(link, "/usr/share/zoneinfo/");
}

int spawn_timezone_read_host(SpawnContext *c) {
        char link[4096];
        ssize_t n = readlink("/etc/localtime", link, sizeof link - 1);
        const char *zone;
        int r;

        if (n > 0) {
                link[n] = 0;
                zone = zone_of(link);
                if (zone && *zone && !strstr(zone, "..") && !(c->host_timezone = strdup(zone)))
                        return -ENOMEM;
        }
        c->timezone_mode = effective_mode(c, c->host_timezone);
        switch (c->timezone_mode) {
        case TIMEZONE_COPY:
                r = read_full_file_at(AT_FDCWD, "/etc/localtime", LOCALTIME_MAX, &c->host_localtime,
                                      &c->host_localtime_size);
                return r < 0 && c->config->timezone_mode == TIMEZONE_COPY ? r : 0;
        case TIMEZONE_BIND:
                r = mount_clone_tree(AT_FDCWD, "/etc/localtime", false, &c->localtime_tree_fd);
                return r < 0 && c->config->timezone_mode == TIMEZONE_BIND ? r : 0;
        case TIMEZONE_SYMLINK:
                return !c->host_timezone && c->config->timezone_mode == TIMEZONE_SYMLINK ? -ENOLINK : 0;
        default:
                return 0;
        }
}

static int setup_symlink(const char *zone) {
        _cleanup_free_ char *target = strjoin("../usr/share/zoneinfo/", zone);
        char cur[4096];
        ssize_t n;

        if (!target)
                return -ENOMEM;
        /* The machine has no such zone: leave its /etc/localtime alone (as nspawn). */
        if (access(target + 2, F_OK) < 0)
                return 0;
        n = readlink("/etc/localtime", cur, sizeof cur - 1);
        if (n > 0) {
                cur[n] = 0;
                if (zone_of(cur) && streq(zone_of(cur), zone))
                        return 0;
        }
        if (unlink("/etc/localtime") < 0 && errno != ENOENT)
                return -errno;
        return symlink(target, "/etc/localtime") < 0 ? -errno : 0;
}

static int setup_copy(const char *data, size_t size) {
        _cleanup_free_ char *cur = NULL;
        char tmp[] = "/etc/.#localtimeXXXXXX";
        size_t cur_size;
        struct stat st;
        int fd;

        if (!data)
                return 0;
        if (lstat("/etc/localtime", &st) >= 0 && S_ISREG(st.st_mode) &&
            read_full_file_at(AT_FDCWD, "/etc/localtime", LOCALTIME_MAX, &cur, &cur_size) >= 0 &&
            cur_size == size && memcmp(cur, data, size) == 0)
                return 0;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, data, size) != (ssize_t) size || fchmod(fd, 0644) < 0 || rename(tmp, "/etc/localtime") < 0) {
                int r = errno ? -errno : -EIO;
                safe_close(fd);
                (void) unlink(tmp);
                return r;
        }
        safe_close(fd);
        return 0;
}

static int setup_bind(int tree_fd) {
        _cleanup_close_ int target = -EBADF;
        struct stat st;
        int r;

        if (tree_fd < 0)
                return 0;
        /* A symlink (or nothing) where the file should be: on a writable tree, an empty file to mount on. */
        if (lstat("/etc/localtime", &st) < 0 || !S_ISREG(st.st_mode)) {
                _cleanup_close_ int f = -EBADF;
                if (unlink("/etc/localtime") < 0 && errno != ENOENT)
                        return -errno;
                f = open("/etc/localtime", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (f < 0)
                        return -errno;
        }
        target = open("/etc/localtime", O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (target < 0)
                return -errno;
        r = mount_set_attr(tree_fd, MOUNT_ATTR_RDONLY, 0, false);
        if (r < 0)
                return r;
        return mount_attach(tree_fd, target);
}

int spawn_timezone_setup(SpawnContext *c) {
        _cleanup_close_ int tree = TAKE_FD(c->localtime_tree_fd);
        struct stat st;
        int r;

        if (c->timezone_mode == TIMEZONE_OFF || stat("/etc", &st) < 0 || !S_ISDIR(st.st_mode))
                return 0;
        switch (c->timezone_mode) {
        case TIMEZONE_DELETE:
                r = unlink("/etc/localtime") < 0 && errno != ENOENT ? -errno : 0;
                break;
        case TIMEZONE_SYMLINK:
                r = c->host_timezone ? setup_symlink(c->host_timezone) : 0;
                break;
        case TIMEZONE_COPY:
                r = setup_copy(c->host_localtime, c->host_localtime_size);
                break;
        case TIMEZONE_BIND:
                r = setup_bind(tree);
                break;
        default:
                r = 0;
        }
        return c->config->timezone_mode == TIMEZONE_AUTO ? 0 : r;
}

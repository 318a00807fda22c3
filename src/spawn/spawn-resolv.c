/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "macro.h"
#include "spawn-resolv.h"
#include "string-util.h"

static const char *const mode_names[_RESOLV_CONF_MAX] = {
        [RESOLV_CONF_AUTO] = "auto", [RESOLV_CONF_OFF] = "off",
        [RESOLV_CONF_COPY_HOST] = "copy-host", [RESOLV_CONF_COPY_STATIC] = "copy-static",
        [RESOLV_CONF_COPY_UPLINK] = "copy-uplink", [RESOLV_CONF_COPY_STUB] = "copy-stub",
        [RESOLV_CONF_REPLACE_HOST] = "replace-host", [RESOLV_CONF_REPLACE_STATIC] = "replace-static",
        [RESOLV_CONF_REPLACE_UPLINK] = "replace-uplink", [RESOLV_CONF_REPLACE_STUB] = "replace-stub",
        [RESOLV_CONF_BIND_HOST] = "bind-host", [RESOLV_CONF_BIND_STATIC] = "bind-static",
        [RESOLV_CONF_BIND_UPLINK] = "bind-uplink", [RESOLV_CONF_BIND_STUB] = "bind-stub",
        [RESOLV_CONF_DELETE] = "delete",
};

/* systemd's files: the host's own, resolved's static stub, its uplink list, its dynamic stub. */
static const char *const sources[] = {
        "/etc/resolv.conf", "/usr/lib/systemd/resolv.conf", "/run/systemd/resolve/resolv.conf",
        "/run/systemd/resolve/stub-resolv.conf",
};

const char *resolv_conf_mode_to_string(ResolvConfMode m) {
        return m >= 0 && m < _RESOLV_CONF_MAX ? mode_names[m] : NULL;
}

ResolvConfMode resolv_conf_mode_from_string(const char *s) {
        for (int i = 0; i < _RESOLV_CONF_MAX; i++)
                if (s && streq(s, mode_names[i]))
                        return (ResolvConfMode) i;
        return _RESOLV_CONF_INVALID;
}

const char *resolv_conf_mode_source(ResolvConfMode m) {
        if (m >= RESOLV_CONF_COPY_HOST && m <= RESOLV_CONF_BIND_STUB)
                return sources[(m - RESOLV_CONF_COPY_HOST) % 4];
        return NULL;
}

static int write_file(const char *path, const char *text, int flags) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | flags, 0644);
        size_t l = strlen(text);

        if (fd < 0)
                return -errno;
        return write(fd, text, l) == (ssize_t) l ? 0 : -EIO;
}

int resolv_conf_apply(ResolvConfMode mode, const char *text) {
        const char *path = "/etc/resolv.conf";
        int r;

        if (mode == RESOLV_CONF_OFF || mode == RESOLV_CONF_AUTO)
                return 0;
        if (mode == RESOLV_CONF_DELETE)
                return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
        if (!text)
                return 0; /* the host has no such file: nothing to give */
        if (mode <= RESOLV_CONF_COPY_STUB) { /* copy: never through a symlink the guest set up (it keeps it) */
                r = write_file(path, text, O_NOFOLLOW);
                return r == -ELOOP ? 0 : r;
        }
        if (mode <= RESOLV_CONF_REPLACE_STUB) {
                if (unlink(path) < 0 && errno != ENOENT)
                        return -errno;
                return write_file(path, text, O_EXCL | O_NOFOLLOW);
        }
        /* bind: a read-only copy in /run/host over the guest's file (made empty if it has none) */
        if (mkdir("/run/host", 0755) < 0 && errno != EEXIST)
                return -errno;
        r = write_file("/run/host/resolv.conf", text, O_NOFOLLOW);
        if (r < 0)
                return r;
        if (access(path, F_OK) < 0 && (r = write_file(path, "", O_NOFOLLOW)) < 0)
                return r;
        if (mount("/run/host/resolv.conf", path, NULL, MS_BIND, NULL) < 0 ||
            mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
                return -errno;
        return 0;
}

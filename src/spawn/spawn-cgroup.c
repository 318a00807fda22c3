/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "log.h"
#include "mount-util.h"
#include "spawn-cgroup.h"
#include "string-util.h"
#include "strv.h"

#define API_ATTRS (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)

/* systemd 256 refuses cgroup v1 (legacy and hybrid) unless forced, and 258 removed it. */
#define SYSTEMD_VERSION_NEEDS_UNIFIED 256U

/* "cpu, cpuacct, memory": the controllers bound to v1 hierarchies, or NULL when there are none. */
static char *v1_controllers(const CgroupSet *s) {
        _cleanup_strv_free_ char **names = NULL;

        for (size_t i = 0; i < s->n; i++)
                if (!s->hierarchies[i].unified && !startswith(s->hierarchies[i].name, "name=") &&
                    strv_extend(&names, s->hierarchies[i].name) < 0)
                        return NULL;
        return names ? strv_join(names, ", ") : NULL;
}

/* A legacy host mounts no cgroup2, but its kernel has the hierarchy all the same. We mount it
 * detached (in no mount table, the host's layout unchanged; gone with the launcher) and reach it
 * through /proc/self/fd: the machine's cgroup2 cgroup is made, entered and removed there as on a
 * hybrid host. The cgroups live in the kernel's one cgroup2 hierarchy until teardown removes them. */
static int add_private_cgroup2(SpawnContext *c) {
        _cleanup_close_ int fd = -EBADF;
        char path[32];
        int r;

        r = mount_new_fs("cgroup2", "cgroup2", NULL, API_ATTRS, &fd);
        if (r < 0)
                return r;
        (void) snprintf(path, sizeof path, "/proc/self/fd/%i", fd);
        r = cgroup_set_add_unified(&c->cgroups, path);
        if (r < 0)
                return r;
        c->cgroup2_fd = TAKE_FD(fd);
        log_debug("No cgroup2 mounted on this host: using a private one at %s.", path);
        return 0;
}

int spawn_cgroup_pick_view(SpawnContext *c) {
        const SpawnConfig *cfg = c->config;
        unsigned version = c->tree->systemd_version;
        _cleanup_free_ char *controllers = NULL, *reason = NULL;

        if (c->cgroups.layout == CGROUP_LAYOUT_UNIFIED)
                return 0; /* a pure cgroup2 host: every guest sees it as it is */
        if (cfg->cgroup_view == CGROUP_VIEW_HOST ||
            (cfg->cgroup_view == CGROUP_VIEW_AUTO && version < SYSTEMD_VERSION_NEEDS_UNIFIED))
                return 0;

        if (cfg->cgroup_view == CGROUP_VIEW_UNIFIED)
                reason = strdup("--unified-cgroup-hierarchy=yes or $SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1");
        else
                (void) asprintf(&reason, "its systemd %u needs cgroup v2", version);
        if (!reason)
                return log_oom();
        if (!cgroup_set_unified(&c->cgroups)) {
                int r = add_private_cgroup2(c);
                if (r < 0)
                        return log_error_errno(r, "Machine '%s' needs a cgroup2-only /sys/fs/cgroup (%s), but this "
                                                  "host mounts no cgroup2 hierarchy and its kernel would not give "
                                                  "one (%m). Pass --unified-cgroup-hierarchy=no.",
                                               cfg->machine_name, reason);
        }
        c->cgroup_unified_view = true;
        controllers = v1_controllers(&c->cgroups);
        if (!cfg->quiet)
                log_info("Machine '%s' gets a cgroup2-only /sys/fs/cgroup (%s).%s%s%s", cfg->machine_name, reason,
                         controllers ? " This host's controllers (" : "", controllers ?: "",
                         controllers ? ") are on cgroup v1: the machine's systemd runs without them, and "
                                       "berth still enforces the machine's limits from the host." : "");
        return 0;
}

/* "cpu,cpuacct" -> "cpu,cpuacct"; "name=systemd" -> "systemd". */
static const char *v1_dir_name(const char *name) {
        return startswith(name, "name=") ?: name;
}

/* In a user namespace v1 hierarchies cannot be mounted: bind the machine's own cgroup instead. */
static int bind_v1_hierarchy(int cg_fd, const CgroupHierarchy *h, const char *cgroup_path) {
        _cleanup_free_ char *src = strjoin(h->mount_point, "/", cgroup_path);
        _cleanup_close_ int tree = -EBADF, target = -EBADF;
        const char *dir = v1_dir_name(h->name);
        int r;

        if (!src)
                return -ENOMEM;
        if (mkdirat(cg_fd, dir, 0755) < 0 && errno != EEXIST)
                return -errno;
        r = mount_clone_tree(AT_FDCWD, src, false, &tree);
        if (r < 0)
                return r;
        if (!startswith(h->name, "name=")) {
                r = mount_set_attr(tree, MOUNT_ATTR_RDONLY, 0, false);
                if (r < 0)
                        return r;
        }
        target = openat(cg_fd, dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (target < 0)
                return -errno;
        return mount_attach(tree, target);
}

static int mount_v1_hierarchy(int cg_fd, const CgroupHierarchy *h) {
        _cleanup_strv_free_ char **opts = NULL;
        _cleanup_free_ char *copy = strdup(h->name);
        _cleanup_close_ int m = -EBADF, target = -EBADF;
        const char *dir = v1_dir_name(h->name);
        bool named = startswith(h->name, "name=");
        char *save = NULL;
        int r;

        if (!copy)
                return -ENOMEM;
        for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
                r = strv_extend(&opts, o);
                if (r < 0)
                        return r;
                /* The host has cpu -> cpu,cpuacct links; so does the guest. */
                if (!named && strchr(h->name, ',') && symlinkat(h->name, cg_fd, o) < 0 && errno != EEXIST)
                        return -errno;
        }
        if (mkdirat(cg_fd, dir, 0755) < 0 && errno != EEXIST)
                return -errno;
        /* Controllers are read-only for the guest; its own name=systemd hierarchy is writable. */
        r = mount_new_fs("cgroup", "cgroup", (const char *const *) opts,
                         API_ATTRS | (named ? 0 : MOUNT_ATTR_RDONLY), &m);
        if (r < 0)
                return r;
        target = openat(cg_fd, dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (target < 0)
                return -errno;
        return mount_attach(m, target);
}

int spawn_mount_cgroup(SpawnContext *c) {
        static const char *const tmpfs_opts[] = { "mode=755", "size=4k", NULL };
        _cleanup_close_ int tmpfs = -EBADF, cg = -EBADF;
        const CgroupSet *s = &c->cgroups;
        int r;

        /* cgroup2 only: the host's own layout, or the view a guest that needs cgroup v2 gets on a hybrid
         * host. Mounted in our cgroup namespace, its root is the machine's own cgroup (writable). */
        if (s->layout == CGROUP_LAYOUT_UNIFIED || c->cgroup_unified_view)
                return mount_fs_in_root(c->root_fd, "/sys/fs/cgroup", "cgroup2", "cgroup", NULL, API_ATTRS);

        /* Hybrid and legacy: a tmpfs with one directory per hierarchy, as on the host. */
        cg = open_in_root(c->root_fd, "/sys/fs/cgroup", O_PATH | O_DIRECTORY, 0);
        if (cg < 0)
                return cg;
        r = mount_new_fs("tmpfs", "tmpfs", tmpfs_opts, API_ATTRS, &tmpfs);
        if (r < 0)
                return r;
        r = mount_attach(tmpfs, cg);
        if (r < 0)
                return r;
        cg = safe_close(cg);
        cg = open_in_root(c->root_fd, "/sys/fs/cgroup", O_RDONLY | O_DIRECTORY, 0);
        if (cg < 0)
                return cg;

        for (size_t i = 0; i < s->n; i++) {
                const CgroupHierarchy *h = &s->hierarchies[i];
                if (h->unified) {
                        _cleanup_close_ int m = -EBADF, t = -EBADF;
                        if (mkdirat(cg, "unified", 0755) < 0 && errno != EEXIST)
                                return -errno;
                        r = mount_new_fs("cgroup2", "cgroup", NULL, API_ATTRS, &m);
                        if (r < 0)
                                return r;
                        t = openat(cg, "unified", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (t < 0)
                                return -errno;
                        r = mount_attach(m, t);
                } else if (c->userns)
                        r = bind_v1_hierarchy(cg, h, c->cgroup_path);
                else
                        r = mount_v1_hierarchy(cg, h);
                if (r < 0)
                        return r;
        }
        return mount_set_attr(tmpfs, MOUNT_ATTR_RDONLY, 0, false);
}

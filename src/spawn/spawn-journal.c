/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "log.h"
#include "mount-util.h"
#include "path-util.h"
#include "spawn-journal.h"
#include "spawn-options.h"
#include "string-util.h"

static bool try_mode(LinkJournal m) {
        return IN_SET(m, LINK_JOURNAL_TRY_HOST, LINK_JOURNAL_TRY_GUEST);
}

/* The machine's journal directory inside the tree, made like its /var/log (owner included; a tree
 * without one, a busybox tree, gets it as nspawn makes it, owned like the tree's root). */
static int make_guest_dir(SpawnContext *c, const char *id_dir) {
        _cleanup_close_ int log_dir = -EBADF, dir = -EBADF;
        struct stat st;

        log_dir = open_in_root(c->tree->root_fd, "/var/log", O_PATH | O_DIRECTORY, 0);
        if (log_dir == -ENOENT)
                log_dir = fcntl(c->tree->root_fd, F_DUPFD_CLOEXEC, 3);
        if (log_dir < 0)
                return log_dir == -1 ? -errno : log_dir;
        if (fstat(log_dir, &st) < 0)
                return -errno;
        dir = mkdir_p_in_root(c->tree->root_fd, id_dir, 0755);
        if (dir < 0)
                return dir;
        {
                _cleanup_close_ int j = open_in_root(c->tree->root_fd, SPAWN_HOST_JOURNAL_DIR, O_PATH | O_DIRECTORY, 0);
                if (j >= 0)
                        (void) fchownat(j, "", st.st_uid, st.st_gid, AT_EMPTY_PATH);
        }
        return fchownat(dir, "", st.st_uid, st.st_gid, AT_EMPTY_PATH) < 0 ? -errno : 0;
}

/* guest, try-guest: the journal stays in the tree; the host gets a symlink to it. */
static int link_guest(SpawnContext *c, const char *host_dir) {
        const SpawnConfig *cfg = c->config;
        _cleanup_free_ char *root = NULL, *target = NULL;
        char cur[4096];
        struct stat st;
        ssize_t n;
        int r;

        if (lstat(host_dir, &st) >= 0 && S_ISDIR(st.st_mode)) {
                if (!try_mode(cfg->link_journal))
                        return log_error_errno(-EEXIST, "%s exists on the host as a directory: the journal is stored "
                                                        "there (use --link-journal=host, or remove it).", host_dir);
                c->journal_bind = strdup(host_dir); /* it was linked host-side before: use it */
                return c->journal_bind ? 0 : log_oom();
        }
        r = make_guest_dir(c, host_dir);
        if (r < 0 && try_mode(cfg->link_journal))
                return log_warning_errno(r, "Failed to make %s in the machine's tree, not linking its journal: %m",
                                         host_dir), 0;
        if (r < 0)
                return log_error_errno(r, "Failed to make %s in the machine's tree: %m", host_dir);
        root = cfg->pivot_root_new ? path_join(c->root_path, cfg->pivot_root_new) : strdup(c->root_path);
        target = root ? path_join(root, host_dir) : NULL;
        if (!target)
                return log_oom();
        n = readlink(host_dir, cur, sizeof cur - 1);
        if (n > 0 && (size_t) n == strlen(target) && memcmp(cur, target, n) == 0)
                return 0;
        if (n > 0 && unlink(host_dir) < 0)
                return log_error_errno(errno, "Failed to replace the symlink %s: %m", host_dir);
        if (symlink(target, host_dir) < 0)
                return log_error_errno(errno, "Failed to link %s to %s: %m", host_dir, target);
        return 0;
}

/* host, try-host: the journal is stored on the host and bound into the machine. */
static int link_host(SpawnContext *c, const char *host_dir) {
        const SpawnConfig *cfg = c->config;
        struct stat st;

        if (lstat(host_dir, &st) >= 0 && S_ISLNK(st.st_mode)) {
                if (try_mode(cfg->link_journal))
                        return 0;
                return log_error_errno(-EEXIST, "%s is a symlink into the machine's tree (linked with "
                                                "--link-journal=guest): remove it to store the journal on the host.",
                                       host_dir);
        }
        if (mkdir(host_dir, 0755) >= 0) {
                /* A machine with its own user namespace: its root must be able to write there. */
                if (c->userns && c->uid_shift != 0 && chown(host_dir, c->uid_shift, c->uid_shift) < 0)
                        return log_error_errno(errno, "Failed to hand %s to the machine's root: %m", host_dir);
        } else if (errno != EEXIST)
                return log_error_errno(errno, "Failed to create %s: %m", host_dir);
        c->journal_bind = strdup(host_dir);
        return c->journal_bind ? 0 : log_oom();
}

int spawn_journal_link(SpawnContext *c) {
        const SpawnConfig *cfg = c->config;
        char id[ID128_STRING_MAX];
        _cleanup_free_ char *host_dir = NULL;
        bool throwaway = cfg->ephemeral || cfg->volatile_mode != VOLATILE_NO || cfg->image;
        struct stat st;

        if (cfg->link_journal == LINK_JOURNAL_NO)
                return 0;
        host_dir = path_join(SPAWN_HOST_JOURNAL_DIR, id128_to_string(c->uuid, id));
        if (!host_dir)
                return log_oom();
        if (cfg->link_journal == LINK_JOURNAL_AUTO) {
                if (lstat(host_dir, &st) >= 0 && S_ISDIR(st.st_mode))
                        c->journal_bind = TAKE_PTR(host_dir);
                return 0;
        }
        if (c->uuid_transient && try_mode(cfg->link_journal)) {
                /* The tree has no machine ID: a link made now would be a new one at every boot. */
                log_debug("--link-journal=%s: the tree has no machine ID, not linking its journal.",
                          link_journal_to_string(cfg->link_journal));
                return 0;
        }
        if (stat(SPAWN_HOST_JOURNAL_DIR, &st) < 0 || !S_ISDIR(st.st_mode)) {
                if (try_mode(cfg->link_journal))
                        return 0;
                return log_error_errno(-ENOENT, "--link-journal=%s: the host has no persistent journal (%s is "
                                                "missing); create it, or use try-host or try-guest.",
                                       link_journal_to_string(cfg->link_journal), SPAWN_HOST_JOURNAL_DIR);
        }
        if (IN_SET(cfg->link_journal, LINK_JOURNAL_HOST, LINK_JOURNAL_TRY_HOST))
                return link_host(c, host_dir);
        if (throwaway)
                return 0; /* try-guest: nothing of the tree persists to link to */
        return link_guest(c, host_dir);
}

int spawn_journal_mount(SpawnContext *c) {
        _cleanup_close_ int tree = TAKE_FD(c->journal_fd), target = -EBADF;

        if (tree < 0)
                return 0;
        target = mkdir_p_in_root(c->root_fd, c->journal_bind, 0755);
        if (target < 0 && c->config->link_journal == LINK_JOURNAL_AUTO)
                return 0; /* a read-only tree without the directory: auto links nothing */
        if (target < 0)
                return target;
        return mount_attach(tree, target);
}

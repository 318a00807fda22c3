/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <glob.h>
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
#include "path-util.h"
#include "rm-rf.h"
#include "spawn-overlay.h"
#include "string-util.h"
#include "strv.h"

#define OVERLAY_TMP_DIR "/var/tmp"

void overlay_mount_done(OverlayMount *o) {
        o->sources = strv_free(o->sources);
        o->destination = mfree(o->destination);
}

void spawn_overlays_free(OverlayMount *l, size_t n) {
        for (size_t i = 0; i < n; i++)
                overlay_mount_done(&l[i]);
        free(l);
}

/* Splits at unescaped colons ("\:" is a colon); empty fields are kept. */
static int split_escaped_colons(const char *spec, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *cur = malloc(strlen(spec) + 1);
        char *w = cur;

        if (!cur)
                return -ENOMEM;
        for (const char *p = spec;; p++) {
                if (*p == '\\' && p[1] == ':') {
                        *w++ = ':';
                        p++;
                        continue;
                }
                if (*p == ':' || *p == 0) {
                        *w = 0;
                        if (strv_extend(&l, cur) < 0)
                                return -ENOMEM;
                        w = cur;
                        if (*p == 0)
                                break;
                        continue;
                }
                *w++ = *p;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

/* A source: "" (the temporary upper layer, where allowed), "+/path/in/image", or a host path
 * (made absolute from the working directory). */
static int overlay_source_normalize(const char *s, bool may_be_empty, char **ret) {
        if (isempty(s))
                return may_be_empty ? ((*ret = strdup("")) ? 0 : -ENOMEM) : -EINVAL;
        if (s[0] == '+') {
                if (!path_is_absolute(s + 1) || !path_is_normalized(s + 1))
                        return -EINVAL;
                return (*ret = strdup(s)) ? 0 : -ENOMEM;
        }
        return path_make_absolute_cwd(s, ret);
}

int overlay_mount_parse(const char *spec, bool read_only, OverlayMount *ret) {
        _cleanup_strv_free_ char **parts = NULL, **sources = NULL;
        _cleanup_free_ char *dest = NULL;
        size_t n;
        int r;

        r = split_escaped_colons(spec, &parts);
        if (r < 0)
                return r;
        n = strv_length(parts);
        if (n < 2 || n > 64)
                return -EINVAL;
        dest = strdup(parts[n - 1]);
        if (!dest)
                return -ENOMEM;
        if (!path_is_absolute(dest) || !path_is_normalized(dest) || streq(dest, "/") || string_has_cc(dest))
                return -EINVAL;
        /* Two paths: the second is the top layer (as a host path) and the destination. */
        for (size_t i = 0; i < (n == 2 ? 2 : n - 1); i++) {
                char *p = NULL;
                bool top = i == (n == 2 ? 1 : n - 2);
                r = overlay_source_normalize(parts[i], top && !read_only, &p);
                if (r < 0)
                        return r;
                r = strv_consume(&sources, p);
                if (r < 0)
                        return r;
        }
        *ret = (OverlayMount) { .sources = TAKE_PTR(sources), .destination = TAKE_PTR(dest), .read_only = read_only };
        return 0;
}

int spawn_config_add_overlay(SpawnConfig *c, const OverlayMount *o) {
        OverlayMount *l = realloc(c->overlays, sizeof(OverlayMount) * (c->n_overlays + 1));

        if (!l)
                return -ENOMEM;
        c->overlays = l;
        l[c->n_overlays] = (OverlayMount) { .sources = strv_copy(o->sources), .destination = strdup(o->destination),
                                            .read_only = o->read_only };
        if (!l[c->n_overlays].sources || !l[c->n_overlays].destination) {
                overlay_mount_done(&l[c->n_overlays]);
                return -ENOMEM;
        }
        c->n_overlays++;
        return 0;
}

int spawn_overlay_add_spec(SpawnConfig *c, const char *spec, bool read_only) {
        OverlayMount o;
        int r = overlay_mount_parse(spec, read_only, &o);

        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(r, "Invalid --overlay%s= '%s': use [+]PATH:[+]PATH[:...]:DEST with an absolute "
                                          "destination other than /, and at least two paths.", read_only ? "-ro" : "",
                                       spec);
        r = spawn_config_add_overlay(c, &o);
        overlay_mount_done(&o);
        return r < 0 ? log_oom() : 0;
}

int spawn_overlay_verify(const SpawnConfig *c) {
        if (c->n_overlays > 64)
                return log_error_errno(-E2BIG, "Too many overlays (%zu): at most 64.", c->n_overlays);
        for (size_t i = 0; i < c->n_overlays; i++)
                STRV_FOREACH(s, c->overlays[i].sources) {
                        struct stat st;
                        if (isempty(*s) || (*s)[0] == '+')
                                continue;
                        if (stat(*s, &st) < 0)
                                return log_error_errno(errno, "Overlay source %s: %m", *s);
                        if (!S_ISDIR(st.st_mode))
                                return log_error_errno(-ENOTDIR, "Overlay source %s is not a directory.", *s);
                }
        return 0;
}

/* Removes dir/prefixNAME@?????? that a launcher of this machine killed with SIGKILL left (we hold the
 * machine's name lock: no other launcher of it runs; '@' is in no machine name). */
static void remove_stale(const char *dir, const char *prefix, const char *name) {
        _cleanup_free_ char *pattern = strjoin(dir, "/", prefix, name, "@??????");
        glob_t g = {};

        if (!pattern || glob(pattern, GLOB_NOSORT, NULL, &g) != 0)
                return;
        for (size_t i = 0; i < g.gl_pathc; i++) {
                log_debug("Removing %s, left by an earlier run of '%s'.", g.gl_pathv[i], name);
                (void) rm_rf(g.gl_pathv[i]);
        }
        globfree(&g);
}

/* A directory made for this machine only (removed at teardown): dir/prefixNAME@XXXXXX. */
static int make_private_dir(SpawnContext *c, const char *dir, const char *prefix, char **ret) {
        _cleanup_free_ char *t = NULL;

        remove_stale(dir, prefix, c->config->machine_name);
        t = strjoin(dir, "/", prefix, c->config->machine_name, "@XXXXXX");
        if (!t)
                return -ENOMEM;
        if (!mkdtemp(t))
                return -errno;
        if (strv_extend(&c->overlay_dirs, t) < 0) {
                (void) rmdir(t);
                return -ENOMEM;
        }
        *ret = TAKE_PTR(t);
        return 0;
}

/* Opens a source as an O_PATH fd: "+" paths inside the image (symlinks resolved inside it). */
static int open_source(SpawnContext *c, const char *s) {
        int fd;

        if (s[0] == '+')
                return open_in_root(c->tree->root_fd, s + 1, O_PATH | O_DIRECTORY, 0);
        fd = open(s, O_PATH | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

static char *fd_path(int fd) {
        char *p = NULL;
        return asprintf(&p, "/proc/self/fd/%d", fd) < 0 ? NULL : p;
}

/* The workdir= of a writable overlay: a new sibling of the upper directory (same file system). */
static int make_work_dir(SpawnContext *c, const char *upper, char **ret) {
        _cleanup_free_ char *dir = NULL, *name = NULL;
        int r;

        r = path_split(upper, &dir, &name);
        if (r < 0)
                return r;
        return make_private_dir(c, dir, ".#berth-overlay-work-", ret);
}

static int assemble(SpawnContext *c, const OverlayMount *o, int *ret_mount) {
        size_t n = strv_length(o->sources), n_lower = o->read_only ? n : n - 1;
        _cleanup_strv_free_ char **opts = NULL;
        _cleanup_free_ char *lower = NULL, *upper = NULL, *work = NULL, *tmp = NULL;
        int fds[64 + 2], n_fds = 0, r = 0;

        for (size_t i = n_lower; i > 0 && r >= 0; i--) { /* lowerdir= lists the top first */
                _cleanup_free_ char *p = NULL, *l = NULL;
                fds[n_fds] = open_source(c, o->sources[i - 1]);
                if (fds[n_fds] < 0) {
                        r = fds[n_fds];
                        break;
                }
                p = fd_path(fds[n_fds++]);
                l = p ? strjoin(lower ?: "", lower ? ":" : "", p) : NULL;
                if (!l)
                        r = -ENOMEM;
                else
                        free_and_replace(lower, l);
        }
        if (r >= 0 && !o->read_only) {
                const char *top = o->sources[n - 1];
                if (isempty(top)) {
                        r = make_private_dir(c, OVERLAY_TMP_DIR, "berth-overlay-", &tmp);
                        upper = r >= 0 ? path_join(tmp, "upper") : NULL;
                        work = r >= 0 ? path_join(tmp, "work") : NULL;
                        if (r >= 0 && (!upper || !work || mkdir(upper, 0755) < 0 || mkdir(work, 0700) < 0))
                                r = errno ? -errno : -ENOMEM;
                } else if (top[0] == '+')
                        r = -EOPNOTSUPP; /* the upper layer is always the host's */
                else {
                        upper = strdup(top);
                        r = upper ? make_work_dir(c, upper, &work) : -ENOMEM;
                }
        }
        if (r >= 0)
                r = strv_consume(&opts, strjoin("lowerdir=", lower));
        if (r >= 0 && upper)
                r = strv_consume(&opts, strjoin("upperdir=", upper));
        if (r >= 0 && work)
                r = strv_consume(&opts, strjoin("workdir=", work));
        if (r >= 0)
                r = mount_new_fs("overlay", "overlay", (const char *const *) opts, o->read_only ? MOUNT_ATTR_RDONLY : 0,
                                 ret_mount);
        for (int i = 0; i < n_fds; i++)
                safe_close(fds[i]);
        return r;
}

int spawn_overlay_prepare(SpawnContext *c) {
        const SpawnConfig *cfg = c->config;

        if (cfg->n_overlays == 0)
                return 0;
        c->overlay_fds = new(int, cfg->n_overlays);
        if (!c->overlay_fds)
                return log_oom();
        for (size_t i = 0; i < cfg->n_overlays; i++)
                c->overlay_fds[i] = -EBADF;
        for (size_t i = 0; i < cfg->n_overlays; i++) {
                int r = assemble(c, &cfg->overlays[i], &c->overlay_fds[i]);
                if (r == -EOPNOTSUPP)
                        return log_error_errno(r, "The upper layer of --overlay=%s must be a host directory (not "
                                                  "\"+\"): use --overlay-ro= for image directories only.",
                                               cfg->overlays[i].destination);
                if (r < 0)
                        return log_error_errno(r, "Failed to assemble the overlay for %s: %m",
                                               cfg->overlays[i].destination);
        }
        return 0;
}

int spawn_overlay_mount(SpawnContext *c) {
        const SpawnConfig *cfg = c->config;

        for (size_t i = 0; i < cfg->n_overlays; i++) {
                _cleanup_close_ int m = TAKE_FD(c->overlay_fds[i]), target = -EBADF;
                int r;

                target = mkdir_p_in_root(c->root_fd, cfg->overlays[i].destination, 0755);
                if (target < 0)
                        return target;
                r = mount_attach(m, target);
                if (r < 0)
                        return r;
        }
        return 0;
}

void spawn_overlay_cleanup(SpawnContext *c) {
        for (size_t i = 0; c->overlay_fds && i < c->config->n_overlays; i++)
                safe_close(c->overlay_fds[i]);
        c->overlay_fds = mfree(c->overlay_fds);
        STRV_FOREACH(d, c->overlay_dirs) {
                int r = rm_rf(*d);
                if (r < 0)
                        log_warning_errno(r, "Failed to remove %s: %m", *d);
        }
        c->overlay_dirs = strv_free(c->overlay_dirs);
}

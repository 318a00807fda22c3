/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "alloc-util.h"
#include "copy.h"
#include "fd-util.h"
#include "import-digest.h"
#include "import-layers.h"
#include "import-tar.h"
#include "import-target.h"
#include "layer-store.h"
#include "log.h"
#include "path-util.h"
#include "rm-rf.h"
#include "string-util.h"
#include "strv.h"

/* A hidden directory of the store, flock()ed while we use it (a clean-up removes those nobody holds). */
static int make_temporary(int store_fd, const char *what, char **ret_name) {
        for (unsigned attempt = 0; attempt < 16; attempt++) {
                uint32_t rnd;
                char name[128];
                if (getrandom(&rnd, sizeof rnd, 0) != sizeof rnd)
                        return -EIO;
                (void) snprintf(name, sizeof name, LAYER_TEMP_PREFIX "%.16s-%08x", what, rnd);
                if (mkdirat(store_fd, name, 0755) < 0) {
                        if (errno == EEXIST)
                                continue;
                        return -errno;
                }
                _cleanup_close_ int fd = openat(store_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0 || flock(fd, LOCK_EX) < 0 || fchmod(fd, 0755) < 0) {
                        int r = -errno;
                        (void) rm_rf_at(store_fd, name);
                        return r;
                }
                *ret_name = strdup(name);
                if (!*ret_name) {
                        (void) rm_rf_at(store_fd, name);
                        return -ENOMEM;
                }
                return TAKE_FD(fd);
        }
        return -EEXIST;
}

typedef struct LayerDl {
        LayerDownload dl;
        const char *digest;
        void *userdata;
} LayerDl;

static int run_download(int out_fd, void *userdata) {
        LayerDl *d = userdata;
        return d->dl(d->digest, out_fd, d->userdata);
}

int layer_fetch(int store_fd, const char *digest, LayerDownload dl, void *userdata) {
        _cleanup_free_ char *path = NULL, *temp = NULL;
        _cleanup_close_ int temp_fd = -EBADF, in_fd = -EBADF;
        Downloader d = DOWNLOADER_NULL;
        LayerDl a = { .dl = dl, .digest = digest, .userdata = userdata };
        Hasher h = {};
        int r;

        r = layer_path_from_digest(digest, &path);
        if (r < 0) {
                log_error("Layer digest '%s' is not sha256:HEX; berth keeps only such layers.", digest);
                return r;
        }
        const char *rel = path + strlen(LAYER_STORE_NAME "/");
        if (faccessat(store_fd, rel, F_OK, AT_SYMLINK_NOFOLLOW) >= 0)
                return 0;
        temp_fd = make_temporary(store_fd, digest + strlen("sha256:"), &temp);
        if (temp_fd < 0)
                return log_error_errno(temp_fd, "Failed to make a directory for layer %s in the store: %m", digest);
        r = hasher_init(&h, digest);
        if (r >= 0) {
                in_fd = downloader_start(&d, run_download, &a);
                r = in_fd;
        }
        if (r >= 0) {
                /* checked as it is extracted: what lands in the store is what the digest names */
                TarExtract x = { .fd = in_fd, .overlay = true, .observe = hasher_update, .verdict = hasher_verdict,
                                 .observer = &h };
                r = import_run_chrooted(temp_fd, tar_extract, &x);
                if (r == -EPROTO)
                        r = log_error_errno(r, "The extraction of layer %s died.", digest);
        }
        hasher_done(&h);
        in_fd = safe_close(in_fd); /* before waiting: a download whose reader failed must not block */
        r = downloader_finish(&d, r);
        if (r >= 0 && renameat2(store_fd, temp, store_fd, rel, RENAME_NOREPLACE) < 0 && errno != EEXIST)
                r = log_error_errno(-errno, "Failed to put layer %s into the store: %m", digest);
        (void) rm_rf_at(store_fd, temp); /* gone already if it got its name */
        return r;
}

static int flatten_child(const char *pool, const char *lowerdir, const char *mnt, int tree_fd) {
        _cleanup_close_ int src = -EBADF;
        int r;

        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                return log_error_errno(-errno, "Failed to make a mount namespace for the layers: %m");
        r = layer_overlay_mount(pool, lowerdir, NULL, NULL, mnt);
        if (r < 0)
                return log_error_errno(r, "Failed to mount the image's layers: %m");
        src = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (src < 0)
                return log_error_errno(-errno, "Failed to open the image's layers: %m");
        r = copy_directory_into(src, tree_fd, &(CopyOptions) { .flags = COPY_XATTRS });
        if (r < 0)
                return log_error_errno(r, "Failed to copy the image's layers into the image: %m");
        return 0;
}

static bool is_whiteout(const struct stat *st) {
        return S_ISCHR(st->st_mode) && st->st_rdev == 0;
}

static bool is_opaque(int dir_fd) {
        char v = 0;
        return fgetxattr(dir_fd, "trusted.overlay.opaque", &v, 1) == 1 && v == 'y';
}

/* Calls fn(dir_fd, name, st, userdata) for each entry of dir_fd. */
static int for_each_entry(int dir_fd, int (*fn)(int, const char *, const struct stat *, void *, unsigned),
                          void *userdata, unsigned depth) {
        _cleanup_close_ int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_(closedirp) DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;

        if (!d)
                return -errno;
        TAKE_FD(fd);
        if (depth > COPY_DEPTH_MAX)
                return -ELOOP;
        while ((errno = 0, de = readdir(d))) {
                struct stat st;
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (fstatat(dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return -errno;
                int r = fn(dir_fd, de->d_name, &st, userdata, depth);
                if (r < 0)
                        return r;
        }
        return errno > 0 ? -errno : 0;
}

/* A tree that is no layer any more keeps no whiteouts or opaque marks. */
static int strip_entry(int dir_fd, const char *name, const struct stat *st, void *userdata, unsigned depth) {
        if (is_whiteout(st))
                return unlinkat(dir_fd, name, 0) < 0 ? -errno : 0;
        if (!S_ISDIR(st->st_mode))
                return 0;
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        (void) fremovexattr(fd, "trusted.overlay.opaque");
        return for_each_entry(fd, strip_entry, userdata, depth + 1);
}

/* One entry of a layer onto the tree below it (dst_fd, passed as userdata): a whiteout removes,
 * a directory on a directory merges unless opaque, anything else replaces, by a rename. */
static int merge_entry(int src_fd, const char *name, const struct stat *st, void *userdata, unsigned depth) {
        int dst_fd = *(int *) userdata;
        struct stat dt;
        bool exists = fstatat(dst_fd, name, &dt, AT_SYMLINK_NOFOLLOW) >= 0;
        int r;

        if (is_whiteout(st))
                return exists ? rm_rf_at(dst_fd, name) : 0;
        if (S_ISDIR(st->st_mode) && exists && S_ISDIR(dt.st_mode)) {
                _cleanup_close_ int s = openat(src_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
                                    d = openat(dst_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (s < 0 || d < 0)
                        return -errno;
                if (!is_opaque(s)) {
                        r = for_each_entry(s, merge_entry, &d, depth + 1);
                        if (r < 0)
                                return r;
                        /* the upper layer's directory: its owner, mode and times */
                        if (fchown(d, st->st_uid, st->st_gid) < 0 || fchmod(d, st->st_mode & 07777) < 0 ||
                            futimens(d, (struct timespec[]) { st->st_atim, st->st_mtim }) < 0)
                                return -errno;
                        return 0;
                }
        }
        if (exists && (r = rm_rf_at(dst_fd, name)) < 0)
                return r;
        if (renameat(src_fd, name, dst_fd, name) < 0)
                return -errno;
        return S_ISDIR(st->st_mode) ? strip_entry(dst_fd, name, st, NULL, depth) : 0;
}

/* Whether the layers can be moved: none of them used by a stacked image, none listed twice. */
static bool layers_movable(int pool_fd, char *const *layers) {
        _cleanup_strv_free_ char **used = NULL;

        if (layer_store_in_use(pool_fd, &used) < 0)
                return false;
        for (size_t i = 0; layers[i]; i++) {
                if (strv_find(used, layers[i]))
                        return false;
                for (size_t j = 0; j < i; j++)
                        if (streq(layers[i], layers[j]))
                                return false;
        }
        return true;
}

/* The layers moved into tree_fd bottom-up; each leaves the store. */
static int layers_move(int pool_fd, char *const *layers, int tree_fd) {
        for (size_t i = 0; layers[i]; i++) {
                _cleanup_close_ int fd = openat(pool_fd, layers[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                int r = fd < 0 ? -errno : for_each_entry(fd, merge_entry, &tree_fd, 0);
                if (r < 0)
                        return log_error_errno(r, "Failed to move layer %s into the image: %m", layers[i]);
                (void) rm_rf_at(pool_fd, layers[i]);
        }
        return 0;
}

static int layers_copy(const char *pool, int store_fd, char *const *layers, int tree_fd);

int layer_flatten(const char *pool, int pool_fd, int store_fd, char *const *layers, int tree_fd) {
        _cleanup_close_ int lock_fd = layer_store_lock(store_fd, LOCK_EX | LOCK_NB);

        /* no pull (which holds the lock shared) can start to use what we move */
        if (lock_fd >= 0 && layers_movable(pool_fd, layers))
                return layers_move(pool_fd, layers, tree_fd);
        return layers_copy(pool, store_fd, layers, tree_fd);
}

static int layers_copy(const char *pool, int store_fd, char *const *layers, int tree_fd) {
        _cleanup_free_ char *temp = NULL, *lowerdir = NULL, *mnt = NULL, *empty = NULL;
        _cleanup_close_ int temp_fd = -EBADF;
        char **stack = NULL;
        int r;

        temp_fd = make_temporary(store_fd, "flatten", &temp);
        if (temp_fd < 0)
                return log_error_errno(temp_fd, "Failed to make a directory in the layer store: %m");
        if (mkdirat(temp_fd, "mnt", 0755) < 0 || mkdirat(temp_fd, "empty", 0755) < 0) {
                r = log_error_errno(-errno, "Failed to make a directory in the layer store: %m");
                goto finish;
        }
        mnt = strjoin(pool, "/" LAYER_STORE_NAME "/", temp, "/mnt");
        empty = strjoin(LAYER_STORE_NAME "/", temp, "/empty");
        /* an empty bottom layer: a read-only overlay needs two */
        r = mnt && empty && strv_extend(&stack, empty) >= 0 ? 0 : -ENOMEM;
        for (size_t i = 0; r >= 0 && layers[i]; i++)
                r = strv_extend(&stack, layers[i]);
        if (r >= 0)
                r = layer_lowerdir_from_stack(stack, &lowerdir);
        strv_free(stack);
        if (r < 0) {
                r = log_oom();
                goto finish;
        }
        fflush(stderr);
        pid_t parent = getpid(), pid = fork();
        if (pid < 0) {
                r = log_error_errno(-errno, "Failed to start copying the layers: %m");
                goto finish;
        }
        if (pid == 0) {
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                        _exit(EXIT_FAILURE);
                (void) signal(SIGTERM, SIG_DFL);
                r = flatten_child(pool, lowerdir, mnt, tree_fd);
                fflush(stderr);
                _exit(r < 0 ? MIN(-r, 255) : 0);
        }
        import_child_pid = pid;
        if (import_cancelled)
                (void) kill(pid, SIGKILL);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        import_child_pid = 0;
        if (import_cancelled)
                r = log_error_errno(-ECANCELED, "The transfer was cancelled.");
        else if (!WIFEXITED(status))
                r = log_error_errno(-EPROTO, "Copying the layers into the image died.");
        else
                r = -WEXITSTATUS(status);
finish:
        (void) rm_rf_at(store_fd, temp);
        return r;
}

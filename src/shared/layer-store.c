/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "fileio.h"
#include "layer-store.h"
#include "path-util.h"
#include "rm-rf.h"
#include "string-util.h"
#include "strv.h"

#define STACK_FILE_MAX (64U * 1024)
#define HEX "0123456789abcdef"

int layer_path_from_digest(const char *digest, char **ret) {
        const char *hex = digest ? startswith(digest, "sha256:") : NULL;

        if (!hex || strlen(hex) != 64 || strspn(hex, HEX) != 64)
                return -EBADMSG;
        *ret = strjoin(LAYER_STORE_NAME "/sha256/", hex);
        return *ret ? 0 : -ENOMEM;
}

bool layer_path_is_valid(const char *s) {
        const char *hex = s ? startswith(s, LAYER_STORE_NAME "/sha256/") : NULL;
        return hex && strlen(hex) == 64 && strspn(hex, HEX) == 64;
}

int layer_stack_read(int dir_fd, char ***ret) {
        _cleanup_free_ char *text = NULL;
        _cleanup_strv_free_ char **l = NULL;
        int r;

        r = read_full_file_at(dir_fd, LAYER_STACK_FILE, STACK_FILE_MAX, &text, NULL);
        if (r < 0)
                return r == -ELOOP ? -EBADMSG : r;
        for (char *line = text, *nl; line && *line; line = nl) {
                nl = strchr(line, '\n');
                if (nl)
                        *nl++ = 0;
                if (line[0] == '#' || line[0] == 0)
                        continue;
                if (!layer_path_is_valid(line) || strv_length(l) >= LAYER_STACK_MAX)
                        return -EBADMSG;
                if (strv_extend(&l, line) < 0)
                        return -ENOMEM;
        }
        if (!l)
                return -EBADMSG;
        *ret = TAKE_PTR(l);
        return 0;
}

int layer_stack_write(int dir_fd, char *const *layers) {
        _cleanup_free_ char *body = strv_join(layers, "\n");
        _cleanup_free_ char *text = body ? strjoin("# berth stacked image: its layers in the pool, bottom-up\n", body, "\n")
                                         : NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t n;

        if (!text)
                return -ENOMEM;
        fd = openat(dir_fd, LAYER_STACK_FILE, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        n = strlen(text);
        return write(fd, text, n) == (ssize_t) n ? 0 : errno > 0 ? -errno : -EIO;
}

int layer_lowerdir_from_stack(char *const *layers, char **ret) {
        _cleanup_free_ char *s = NULL;

        for (size_t i = strv_length(layers); i > 0; i--) { /* overlayfs wants the top layer first */
                char *joined = strjoin(s ?: "", s ? ":" : "", layers[i - 1]);
                if (!joined)
                        return -ENOMEM;
                free(s);
                s = joined;
        }
        *ret = TAKE_PTR(s);
        return *ret ? 0 : -EINVAL;
}

int layer_stack_lowerdir(const char *image_path, char **ret_pool, char **ret_lowerdir, char **ret_missing) {
        _cleanup_strv_free_ char **layers = NULL;
        _cleanup_free_ char *pool = NULL, *name = NULL;
        _cleanup_close_ int fd = open(image_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), pool_fd = -EBADF;
        int r;

        if (fd < 0)
                return -errno;
        r = layer_stack_read(fd, &layers);
        if (r < 0)
                return r;
        r = path_split(image_path, &pool, &name);
        if (r < 0)
                return r;
        pool_fd = open(pool, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pool_fd < 0)
                return -errno;
        STRV_FOREACH(l, layers) {
                struct stat st;
                if (fstatat(pool_fd, *l, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode)) {
                        if (ret_missing)
                                *ret_missing = path_join(pool, *l);
                        return -ENOTDIR;
                }
        }
        r = layer_lowerdir_from_stack(layers, ret_lowerdir);
        if (r < 0)
                return r;
        *ret_pool = TAKE_PTR(pool);
        return 0;
}

int layer_overlay_mount(const char *pool, const char *lowerdir, const char *upper, const char *work,
                        const char *target) {
        _cleanup_free_ char *opts = upper ? strjoin("lowerdir=", lowerdir, ",upperdir=", upper, ",workdir=", work)
                                          : strjoin("lowerdir=", lowerdir);
        _cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        int r = 0;

        if (!opts)
                return -ENOMEM;
        if (strpbrk(pool, ",:\\") || (upper && (strpbrk(upper, ",:\\") || strpbrk(work, ",:\\"))))
                return -EINVAL;
        if (strlen(opts) >= 4000)
                return -E2BIG;
        if (chdir(pool) < 0)
                return -errno;
        if (mount("overlay", target, "overlay", MS_NODEV | (upper ? 0 : MS_RDONLY), opts) < 0)
                r = -errno;
        if (cwd >= 0)
                (void) fchdir(cwd);
        return r;
}

int layer_store_open(int pool_fd) {
        _cleanup_close_ int fd = -EBADF;

        if (mkdirat(pool_fd, LAYER_STORE_NAME, 0700) < 0 && errno != EEXIST)
                return -errno;
        fd = openat(pool_fd, LAYER_STORE_NAME, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (mkdirat(fd, "sha256", 0755) < 0 && errno != EEXIST)
                return -errno;
        return TAKE_FD(fd);
}

int layer_store_lock(int store_fd, int operation) {
        _cleanup_close_ int fd = openat(store_fd, ".lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

        if (fd < 0)
                return -errno;
        while (flock(fd, operation) < 0)
                if (errno != EINTR)
                        return errno == EWOULDBLOCK ? -EBUSY : -errno;
        return TAKE_FD(fd);
}

int layer_store_in_use(int pool_fd, char ***ret) {
        _cleanup_close_ int fd = fcntl(pool_fd, F_DUPFD_CLOEXEC, 3);
        _cleanup_(closedirp) DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        _cleanup_strv_free_ char **used = NULL;
        struct dirent *de;

        if (!d)
                return -errno;
        TAKE_FD(fd);
        rewinddir(d);
        while ((de = readdir(d))) {
                _cleanup_strv_free_ char **layers = NULL;
                _cleanup_close_ int img = -EBADF;
                if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, "..") ||
                    streq(de->d_name, LAYER_STORE_NAME))
                        continue;
                img = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (img < 0 || layer_stack_read(img, &layers) < 0)
                        continue; /* not a stacked image; a damaged one keeps nothing alive */
                STRV_FOREACH(l, layers)
                        if (!strv_find(used, *l) && strv_extend(&used, *l) < 0)
                                return -ENOMEM;
        }
        *ret = TAKE_PTR(used);
        return 0;
}

/* A temporary nobody holds is what a killed pull left. */
void layer_store_sweep(int store_fd, unsigned wait_ms) {
        _cleanup_close_ int fd = fcntl(store_fd, F_DUPFD_CLOEXEC, 3);
        _cleanup_(closedirp) DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;

        if (!d)
                return;
        TAKE_FD(fd);
        rewinddir(d);
        while ((de = readdir(d))) {
                _cleanup_close_ int t = -EBADF;
                if (!startswith(de->d_name, LAYER_TEMP_PREFIX))
                        continue;
                t = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (t < 0)
                        continue;
                for (unsigned waited = 0;; waited += 20) {
                        if (flock(t, LOCK_EX | LOCK_NB) >= 0) {
                                (void) rm_rf_at(dirfd(d), de->d_name);
                                break;
                        }
                        if (waited >= wait_ms)
                                break;
                        (void) usleep(20 * 1000);
                }
        }
}

static int clean_layers(int pool_fd, int store_fd, char *const *only, char *const *used, LayerRecord record,
                        void *userdata) {
        _cleanup_close_ int fd = openat(store_fd, "sha256", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_(closedirp) DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;
        int r = 0;

        if (!d)
                return errno == ENOENT ? 0 : -errno;
        TAKE_FD(fd);
        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL;
                if (de->d_name[0] == '.')
                        continue;
                path = strjoin(LAYER_STORE_NAME "/sha256/", de->d_name);
                if (!path)
                        return -ENOMEM;
                if (strv_find(used, path) || (only && !strv_find(only, path)))
                        continue;
                int k = rm_rf_at(dirfd(d), de->d_name);
                if (k < 0) {
                        r = r < 0 ? r : k;
                        continue;
                }
                if (record && (k = record(path, UINT64_MAX, userdata)) < 0)
                        return k;
        }
        (void) pool_fd;
        return r;
}

int layer_store_clean(int pool_fd, char *const *only, LayerRecord record, void *userdata) {
        _cleanup_strv_free_ char **used = NULL;
        _cleanup_close_ int store_fd = -EBADF, lock_fd = -EBADF;
        int r;

        store_fd = openat(pool_fd, LAYER_STORE_NAME, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (store_fd < 0)
                return errno == ENOENT ? 0 : -errno;
        lock_fd = layer_store_lock(store_fd, LOCK_EX | LOCK_NB);
        if (lock_fd < 0)
                return lock_fd;
        r = layer_store_in_use(pool_fd, &used);
        if (r < 0)
                return r;
        layer_store_sweep(store_fd, 0);
        return clean_layers(pool_fd, store_fd, only, used, record, userdata);
}

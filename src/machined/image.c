/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "fileio.h"
#include "image.h"
#include "path-util.h"
#include "string-util.h"
#include "strv.h"

static const char *const image_search_path[] = {
        "/etc/machines", "/run/machines", "/var/lib/machines", "/var/lib/container",
        "/usr/local/lib/machines", "/usr/lib/machines",
};

static const char *const type_table[_IMAGE_TYPE_MAX] = {
        [IMAGE_DIRECTORY] = "directory",
        [IMAGE_SUBVOLUME] = "subvolume",
        [IMAGE_RAW] = "raw",
        [IMAGE_BLOCK] = "block",
};

const char *image_type_to_string(ImageType t) {
        return t >= 0 && t < _IMAGE_TYPE_MAX ? type_table[t] : NULL;
}

ImageType image_type_from_string(const char *s) {
        for (int i = 0; i < _IMAGE_TYPE_MAX; i++)
                if (s && streq(s, type_table[i]))
                        return i;
        return _IMAGE_TYPE_INVALID;
}

bool image_name_is_valid(const char *s) {
        if (!filename_is_valid(s) || strlen(s) > 255)
                return false;
        if (string_has_cc(s) || !utf8_is_valid(s))
                return false;
        return !startswith(s, ".#");
}

Image *image_free(Image *i) {
        if (!i)
                return NULL;
        free(i->name);
        free(i->path);
        return mfree(i);
}

void image_list_free(Image *l) {
        while (l) {
                Image *n = l->next;
                image_free(l);
                l = n;
        }
}

static bool path_startswith_usr(const char *p) {
        return startswith(p, "/usr/") != NULL;
}

static uint64_t ts_usec(const struct statx_timestamp *t) {
        return (uint64_t) t->tv_sec * 1000000ULL + t->tv_nsec / 1000;
}

static int image_make(const char *name, const char *path, Image **ret) {
        _cleanup_(image_freep) Image *i = NULL;
        struct statx sx;
        struct statfs sfs;

        if (statx(AT_FDCWD, path, 0, STATX_TYPE | STATX_MODE | STATX_MTIME | STATX_BTIME | STATX_SIZE |
                  STATX_BLOCKS | STATX_INO, &sx) < 0)
                return -errno;
        i = new0(Image, 1);
        if (!i)
                return -ENOMEM;
        i->name = strdup(name);
        i->path = strdup(path);
        if (!i->name || !i->path)
                return -ENOMEM;
        i->usage = i->limit = i->usage_exclusive = i->limit_exclusive = UINT64_MAX;
        i->mtime = (sx.stx_mask & STATX_MTIME) ? ts_usec(&sx.stx_mtime) : 0;
        i->crtime = (sx.stx_mask & STATX_BTIME) ? ts_usec(&sx.stx_btime) : 0;
        if (S_ISDIR(sx.stx_mode)) {
                bool btrfs = statfs(path, &sfs) >= 0 && (unsigned long) sfs.f_type == BTRFS_SUPER_MAGIC;
                i->type = btrfs && sx.stx_ino == 256 ? IMAGE_SUBVOLUME : IMAGE_DIRECTORY;
                i->read_only = path_startswith_usr(path) || access(path, W_OK) < 0;
                if (!i->read_only) {
                        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        unsigned attr = 0;
                        if (fd >= 0 && ioctl(fd, FS_IOC_GETFLAGS, &attr) >= 0 && (attr & FS_IMMUTABLE_FL))
                                i->read_only = true;
                }
        } else if (S_ISREG(sx.stx_mode) && endswith(path, ".raw")) {
                i->type = IMAGE_RAW;
                i->usage = i->usage_exclusive = sx.stx_blocks * 512;
                i->limit = i->limit_exclusive = sx.stx_size;
                i->read_only = path_startswith_usr(path) || !(sx.stx_mode & 0222);
        } else if (S_ISBLK(sx.stx_mode)) {
                _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
                uint64_t size;
                int ro = 0;
                i->type = IMAGE_BLOCK;
                if (fd >= 0 && ioctl(fd, BLKGETSIZE64, &size) >= 0)
                        i->usage = i->usage_exclusive = i->limit = i->limit_exclusive = size;
                if (fd >= 0 && ioctl(fd, BLKROGET, &ro) >= 0)
                        i->read_only = ro;
        } else
                return -EMEDIUMTYPE;
        *ret = TAKE_PTR(i);
        return 0;
}

static int image_host(Image **ret) {
        int r = image_make(".host", "/", ret);
        if (r >= 0)
                (*ret)->read_only = false;
        return r;
}

int image_find(const char *name, Image **ret) {
        if (streq(name, ".host"))
                return image_host(ret);
        if (!image_name_is_valid(name))
                return -ENOENT;
        for (size_t d = 0; d < ELEMENTSOF(image_search_path); d++) {
                _cleanup_free_ char *p = path_join(image_search_path[d], name);
                _cleanup_free_ char *raw = strjoin(image_search_path[d], "/", name, ".raw");
                if (!p || !raw)
                        return -ENOMEM;
                if (image_make(name, p, ret) >= 0 && (*ret)->type != IMAGE_RAW)
                        return 0;
                if (image_make(name, raw, ret) >= 0)
                        return 0;
        }
        return -ENOENT;
}

static bool image_listed(Image *l, const char *name) {
        for (; l; l = l->next)
                if (streq(l->name, name))
                        return true;
        return false;
}

int image_discover(Image **ret) {
        Image *head = NULL, **tail = &head;
        int r;

        r = image_host(tail);
        if (r >= 0)
                tail = &(*tail)->next;
        for (size_t d = 0; d < ELEMENTSOF(image_search_path); d++) {
                DIR *dir = opendir(image_search_path[d]);
                if (!dir)
                        continue;
                for (struct dirent *de; (de = readdir(dir));) {
                        _cleanup_free_ char *name = NULL, *p = NULL;
                        if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                                continue;
                        name = strdup(de->d_name);
                        if (!name) {
                                closedir(dir);
                                image_list_free(head);
                                return -ENOMEM;
                        }
                        char *e = endswith(name, ".raw");
                        if (e && de->d_type == DT_REG)
                                *e = 0;
                        if (!image_name_is_valid(name) || image_listed(head, name))
                                continue;
                        p = path_join(image_search_path[d], de->d_name);
                        if (p && image_make(name, p, tail) >= 0)
                                tail = &(*tail)->next;
                }
                closedir(dir);
        }
        *ret = head;
        return 0;
}

/* Opens path inside the image directory, never leaving it (RESOLVE_IN_ROOT). */
static int image_open_inside(const Image *i, const char *path) {
        _cleanup_close_ int root = -EBADF;
        struct open_how how = { .flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
                                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
        struct stat st;
        int fd;

        if (!IN_SET(i->type, IMAGE_DIRECTORY, IMAGE_SUBVOLUME))
                return -EOPNOTSUPP;
        root = open(i->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return -errno;
        fd = (int) syscall(SYS_openat2, root, path, &how, sizeof how);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return -EBADFD;
        }
        return fd;
}

static int image_read(const Image *i, const char *path, char **ret) {
        _cleanup_close_ int fd = image_open_inside(i, path);

        if (fd < 0)
                return fd;
        return read_full_fd(fd, 64 * 1024, ret, NULL);
}

int image_read_hostname(const Image *i, char **ret) {
        _cleanup_free_ char *buf = NULL;
        int r;

        r = image_read(i, "/etc/hostname", &buf);
        if (r < 0) {
                *ret = strdup("");
                return *ret ? 0 : -ENOMEM;
        }
        buf[strcspn(buf, "\n")] = 0;
        *ret = TAKE_PTR(buf);
        return 0;
}

int image_read_machine_id(const Image *i, sd_id128_t *ret) {
        _cleanup_free_ char *buf = NULL;

        *ret = SD_ID128_NULL;
        if (image_read(i, "/etc/machine-id", &buf) < 0)
                return 0;
        buf[strcspn(buf, "\n")] = 0;
        if (sd_id128_from_string(buf, ret) < 0)
                *ret = SD_ID128_NULL;
        return 0;
}

int image_read_env_file(const Image *i, const char *const *paths, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *buf = NULL;
        char *save = NULL;
        int r = -ENOENT;

        for (size_t k = 0; paths[k] && r < 0; k++)
                r = image_read(i, paths[k], &buf);
        if (r >= 0)
                for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                        char *eq = strchr(line, '=');
                        if (line[0] == '#' || !eq || eq == line || !utf8_is_valid(line))
                                continue;
                        *eq = 0;
                        char *v = eq + 1;
                        size_t n = strlen(v);
                        if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
                                v[n - 1] = 0;
                                v++;
                        }
                        if (strv_extend(&l, line) < 0 || strv_extend(&l, v) < 0)
                                return -ENOMEM;
                }
        if (!l && !(l = new0(char *, 1)))
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

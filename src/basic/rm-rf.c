/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "rm-rf.h"

#define RM_RF_DEPTH_MAX 512U

static int remove_entry(int dfd, const char *name, dev_t dev, unsigned depth);

static int remove_contents(int fd, dev_t dev, unsigned depth) {
        DIR *d;
        int r = 0;

        d = fdopendir(fd);
        if (!d) {
                r = -errno;
                safe_close(fd);
                return r;
        }
        for (struct dirent *de; (errno = 0, de = readdir(d));) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                int k = remove_entry(dirfd(d), de->d_name, dev, depth + 1);
                if (k < 0 && r == 0)
                        r = k;
        }
        if (errno > 0 && r == 0)
                r = -errno;
        closedir(d);
        return r;
}

static int remove_entry(int dfd, const char *name, dev_t dev, unsigned depth) {
        struct stat st;
        int fd, r;

        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode))
                return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
        if (st.st_dev != dev)
                return -EBUSY; /* another file system mounted here */
        if (depth >= RM_RF_DEPTH_MAX)
                return -ELOOP;
        fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        r = remove_contents(fd, dev, depth);
        if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
                r = -errno;
        return r;
}

int rm_rf_at(int dfd, const char *name) {
        struct stat st;

        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        return remove_entry(dfd, name, st.st_dev, 0);
}

int rm_rf(const char *path) {
        return rm_rf_at(AT_FDCWD, path);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <unistd.h>

#include "rm-rf.h"

static int remove_one(const char *p, const struct stat *st, int type, struct FTW *f) {
        if (type == FTW_DP)
                return rmdir(p) < 0 ? -errno : 0;
        return unlink(p) < 0 ? -errno : 0;
}

int rm_rf(const char *path) {
        int r;

        if (access(path, F_OK) < 0 && errno == ENOENT)
                return 0;
        errno = 0;
        r = nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
        if (r == -1 && errno > 0)
                return -errno;
        return r;
}

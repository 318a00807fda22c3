/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dirent.h>
#include <stdio.h>
#include <unistd.h>

#include "macro.h"

/* Closes fd if it is valid and returns -EBADF, so "fd = safe_close(fd);" resets it. */
int safe_close(int fd);

static inline void closep(int *fd) {
        (void) safe_close(*fd);
}

static inline void fclosep(FILE **f) {
        if (*f)
                (void) fclose(*f);
}

static inline void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

static inline void close_pairp(int (*p)[2]) {
        (void) safe_close((*p)[0]);
        (void) safe_close((*p)[1]);
}

#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_close_pair_ _cleanup_(close_pairp)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Closes every fd >= 3 that is not listed in except[]. */
int close_all_fds(const int except[], size_t n_except);

int fd_nonblock(int fd, bool nonblock);
int fd_cloexec(int fd, bool cloexec);

/* Moves fd to number 'to' (dup2 + close), returns 'to'. */
int fd_move_to(int fd, int to);

/* Counts the fds open in this process (for leak checks in tests). */
int fd_count_open(void);

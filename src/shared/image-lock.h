/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Image locks that systemd-nspawn and systemd-machined also take, so neither berth nor they clobber
 * an image the other is running: a global lock in /run/systemd/nspawn/locks/ named after the image's
 * inode (block-MAJ:MIN for block devices) and, for trees and files, a ".#NAME.lck" beside the image.
 * LOCK_EX to write the image, LOCK_SH to only read it; taken as OFD locks, as systemd does. */

#include "macro.h"

typedef struct ImageLock {
        int global_fd, local_fd;
        char *global_path, *local_path;
        int operation;
} ImageLock;

#define IMAGE_LOCK_NULL ((ImageLock) { .global_fd = -EBADF, .local_fd = -EBADF })

/* operation: LOCK_EX or LOCK_SH. -EBUSY if someone holds a conflicting lock. */
int image_lock(const char *path, int operation, ImageLock *ret);
void image_lock_release(ImageLock *l);

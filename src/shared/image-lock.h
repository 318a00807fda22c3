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

/* The per-name lock every berth-spawn holds (an flock) while it runs. */
#define MACHINE_NAME_LOCK_DIR "/run/berth/spawn"
/* Where a launcher with a network of its own writes down what it made (NAME.net, spawn-network.h). */
#define MACHINE_NETWORK_DIR "/run/berth/network"
/* Takes a name's lock that no launcher holds (its file left by a launcher that was killed, or made
 * now): 1 and the fd, -EBUSY if a launcher holds it. machine_name_lock_drop() removes the file and
 * releases it. */
int machine_name_lock_take(const char *name, int *ret_fd);
/* The protocol of berth's flock files (a machine name's, a UID range's): whoever holds the flock
 * owns the file, and its releaser unlinks it. Opens path (made if missing) and takes the flock
 * without waiting, again if the file was unlinked between the two. -EBUSY if another holds it. */
int flock_file_take(const char *path, int *ret_fd);
void machine_name_lock_drop(const char *name, int fd);

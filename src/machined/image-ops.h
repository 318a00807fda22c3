/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Changes to images, with systemd 252's semantics (src/shared/discover-image.c there): remove,
 * rename, clone, mark read-only, quota limits and cleaning the pool. No D-Bus types here; nothing
 * logs above debug: the caller with the context reports the -errno.
 *
 * Images a machine is running from (their nspawn-compatible image lock is held, by berth-spawn or
 * systemd-nspawn) are -EBUSY; vendor images (below /usr) and the host are -EROFS. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "image.h"

#define IMAGE_POOL_PATH "/var/lib/machines"
/* Hidden names new images are built under; what a crash left under them is swept at startup. */
#define IMAGE_CLONE_TEMP_PREFIX ".#clone-"
#define IMAGE_IMPORT_TEMP_PREFIX ".#import-" /* berth-import's, see import-target.h */

typedef enum ImageCleanMode {
        IMAGE_CLEAN_ALL,
        IMAGE_CLEAN_HIDDEN,
        _IMAGE_CLEAN_MODE_MAX,
        _IMAGE_CLEAN_MODE_INVALID = -EINVAL,
} ImageCleanMode;

const char *image_clean_mode_to_string(ImageCleanMode m) _pure_;
ImageCleanMode image_clean_mode_from_string(const char *s) _pure_;

/* -EROFS for vendor images and the host, which are never changed. */
int image_check_writable(const Image *i);

/* Removes the image and its NAME.nspawn/NAME.roothash files (next to it, in /etc/systemd/nspawn
 * and /run/systemd/nspawn). Images marked read-only are removed too, as 252 does. */
int image_remove(const Image *i);
/* Renames within the image's directory (a raw image keeps ".raw"), auxiliary files follow.
 * -EINVAL for an invalid name, -EEXIST if an image of that name exists anywhere. */
int image_rename(const Image *i, const char *new_name);
/* Copies (or on btrfs snapshots) the image to IMAGE_POOL_PATH/new_name[.raw]. The copy is built
 * under a hidden name and appears under new_name only when complete. */
int image_clone(const Image *i, const char *new_name, bool read_only);
/* Copies the tree at src_fd into the pool as new_name (import-fs), like a clone of a directory. With
 * replace, that image (which must not be in use) is swapped out only once the copy is complete. */
int image_import_tree(int src_fd, const char *new_name, bool read_only, const Image *replace);
/* Removes the hidden entries half-made clones and imports left in the pool. Returns how many. */
int image_pool_sweep(void);
/* Subvolume: btrfs read-only flag; directory: immutable flag on the top directory; raw: the
 * write bits; block device: BLKROSET. */
int image_mark_read_only(const Image *i, bool read_only);
/* btrfs quota; -EOPNOTSUPP elsewhere, -ENOTCONN if quota is not enabled on the file system. */
int image_set_limit(const Image *i, uint64_t limit);
int image_pool_set_limit(uint64_t limit);

/* Removes the hidden (or all) images that are not vendor images, the host, read-only or busy.
 * Writes one record per removed image to fd; image_clean_pool_read() reads them back. */
int image_clean_pool(ImageCleanMode mode, int fd);
/* 1 and a record, 0 at the end. */
int image_clean_pool_read(FILE *f, char **ret_name, uint64_t *ret_usage);

/* Runs fn(userdata) in a forked child whose exit status carries fn's -errno, for operations that
 * take long; the caller waits for the child and decodes its status with image_op_result(). */
int image_op_fork(int (*fn)(void *userdata), void *userdata, pid_t *ret_pid);
int image_op_result(int code, int status);

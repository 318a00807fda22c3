/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The pool's store of pulled OCI layers, kept once each and shared by the images that use them.
 *
 *   POOL/.#layers/sha256/HEX/      one layer, extracted, named by its blob's digest (as the
 *                                  manifest lists it, so that a pull knows what it has before it
 *                                  downloads anything); whiteouts and opaque directories are kept in
 *                                  overlayfs's form (a 0/0 character device, trusted.overlay.opaque=y)
 *   POOL/.#layers/.#layer-HEX-XXXXXX  a layer being extracted, flock()ed by the pull doing it
 *   POOL/.#layers/.lock            pulls hold it shared, a clean-up exclusively
 *   POOL/NAME/.berth-stack         a stacked image: its layers' paths in the pool, bottom-up, one a
 *                                  line; NAME/upper and NAME/work are a persistent machine's layer
 *
 * The ".#" prefix keeps the store out of image listings (berth's and systemd's) and out of
 * "clean" of hidden images. Nothing here logs above debug. */

#include <stdbool.h>
#include <stdint.h>

#define LAYER_STORE_NAME ".#layers"
#define LAYER_STACK_FILE ".berth-stack"
#define LAYER_TEMP_PREFIX ".#layer-"
#define LAYER_STACK_MAX 48U /* 48 paths of 81 bytes: overlayfs' options must fit in a page */

/* "sha256:HEX" -> ".#layers/sha256/HEX" (the path in the pool); -EBADMSG for anything else. */
int layer_path_from_digest(const char *digest, char **ret);
/* Whether s is such a path. */
bool layer_path_is_valid(const char *s);

/* The layers of the stacked image whose directory is dir_fd (pool-relative paths, bottom-up):
 * -ENOENT if it is not a stacked image, -EBADMSG if its stack file is damaged. */
int layer_stack_read(int dir_fd, char ***ret);
/* Writes the stack file into dir_fd. */
int layer_stack_write(int dir_fd, char *const *layers);
/* For an overlay mount of the stacked image at image_path: its pool and the "lowerdir" (its layers
 * top first, relative to the pool). -ENOENT if it is not stacked, -EBADMSG if its stack file is
 * damaged, -ENOTDIR if a layer is missing (ret_missing names it). */
int layer_stack_lowerdir(const char *image_path, char **ret_pool, char **ret_lowerdir, char **ret_missing);
/* lowerdir (top first, relative to pool) for overlayfs' lowerdir= */
int layer_lowerdir_from_stack(char *const *layers, char **ret);
/* Mounts overlayfs on target (mount(2) in the caller's mount namespace; the lower paths relative
 * to pool keep the options within a page): upper and work NULL for a read-only stack of at least
 * two lowers. */
int layer_overlay_mount(const char *pool, const char *lowerdir, const char *upper, const char *work,
                        const char *target);

/* Opens (and makes) POOL/.#layers and its sha256 directory; an O_DIRECTORY fd. */
int layer_store_open(int pool_fd);
/* flock()s the store's lock: LOCK_SH for a pull, LOCK_EX|LOCK_NB for a clean-up. Returns the fd. */
int layer_store_lock(int store_fd, int operation);

/* Removes the temporaries no pull holds, waiting up to wait_ms for each (a killed pull's children
 * are still on their way out). */
void layer_store_sweep(int store_fd, unsigned wait_ms);

/* Every layer some stacked image in the pool names (pool-relative paths). */
int layer_store_in_use(int pool_fd, char ***ret);

typedef int (*LayerRecord)(const char *path, uint64_t usage, void *userdata);
/* Removes the layers no stacked image in the pool names (only those in "only" if it is not NULL),
 * and the temporaries no pull holds; record() is called for each layer removed. -EBUSY (nothing
 * removed) while a pull holds the store's lock (the caller must not hold it either). */
int layer_store_clean(int pool_fd, char *const *only, LayerRecord record, void *userdata);

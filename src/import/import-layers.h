/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Pulled OCI layers into the pool's layer store (layer-store.h), and flattened images made from
 * them. These functions log their own errors. */

/* Writes the blob digest into out_fd; runs in a child of its own. */
typedef int (*LayerDownload)(const char *digest, int out_fd, void *userdata);

/* Fetches layer digest into the store at store_fd, in the calling process: dl downloads it into a
 * pipe, what arrives is extracted as it streams (chrooted into a temporary directory of the store,
 * whiteouts in overlayfs's form) and checked against the digest; only a complete layer that matched
 * gets its name. A layer already there is not fetched again. */
int layer_fetch(int store_fd, const char *digest, LayerDownload dl, void *userdata);

/* Makes the empty tree tree_fd the merged view of layers (pool-relative paths, bottom-up). Layers
 * no stacked image uses are moved into it (renames, whiteouts applied) and leave the store; else it
 * is copied from an overlayfs mount in a mount namespace of a child's own. The caller must not hold
 * the store's lock. */
int layer_flatten(const char *pool, int pool_fd, int store_fd, char *const *layers, int tree_fd);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Mounting by fd: the new mount API (fsopen/fsmount/open_tree/move_mount/mount_setattr, Linux >= 5.12)
 * lets us mount onto a target that was resolved inside the machine root, so no symlink in an
 * image can redirect a mount to the host. libmount 2.38 (Debian 12) has no fd-based targets, which
 * is why these few calls are made directly. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

/* openat2() with RESOLVE_IN_ROOT: path is resolved as if root_fd were "/" (symlinks included). */
int open_in_root(int root_fd, const char *path, int flags, mode_t mode);
/* The same with more RESOLVE_* flags (RESOLVE_NO_XDEV: -EXDEV instead of crossing a mount point). */
int open_in_root_resolve(int root_fd, const char *path, int flags, mode_t mode, uint64_t resolve);
/* mkdir -p inside root; returns an O_PATH fd to the (existing or new) directory. */
int mkdir_p_in_root(int root_fd, const char *path, mode_t mode);
/* Makes sure a regular file exists at path inside root (for binding a file over it); O_PATH fd. */
int touch_in_root(int root_fd, const char *path, mode_t mode);

/* A new, detached filesystem mount. options: NULL-terminated list of "key=value" or "flag". */
int mount_new_fs(const char *fstype, const char *source, const char *const *options, unsigned attrs,
                 int *ret_mount_fd);
/* A detached copy of the mount tree at path (relative to dir_fd). */
int mount_clone_tree(int dir_fd, const char *path, bool recursive, int *ret_mount_fd);
/* Sets/clears MOUNT_ATTR_* on a detached or attached mount fd. */
int mount_set_attr(int mount_fd, uint64_t set, uint64_t clear, bool recursive);
/* Attaches a detached mount on the directory or file target_fd refers to. */
int mount_attach(int mount_fd, int target_fd);
/* Convenience: mount_new_fs() then mount_attach() onto path inside root (created if missing). */
int mount_fs_in_root(int root_fd, const char *path, const char *fstype, const char *source,
                     const char *const *options, unsigned attrs);
/* Bind-mounts a clone of src_fd's tree (or of the mount fd itself) onto path inside root. */
int mount_bind_in_root(int root_fd, const char *path, int src_mount_fd, bool file);

/* Does the mount API exist here? (0, or -ENOSYS/-EPERM with the reason) */
int mount_api_supported(void);

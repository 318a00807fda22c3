/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one tree copier (image clones and imports of a tree, copies into and out of machines).
 *
 * It works on directory fds and never follows a symlink: every entry is opened with O_NOFOLLOW
 * relative to its parent's fd, a regular file is opened with O_NONBLOCK (a FIFO swapped in cannot
 * block it) and its type is checked again on the opened fd, symlinks are copied as symlinks,
 * device nodes, FIFOs and sockets as nodes. Mode, ownership and times are kept (chown first: it
 * clears set-id bits and file capabilities, which are put back after it). Nesting deeper than
 * COPY_DEPTH_MAX levels fails with -ELOOP. Regular files are reflinked where the file system can,
 * else copied range by range keeping holes, so sparse files stay sparse. */

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#define COPY_DEPTH_MAX 512U

typedef enum CopyFlags {
        COPY_XATTRS = 1 << 0,     /* copy extended attributes (security.capability among them) */
        COPY_SAME_MOUNT = 1 << 1, /* a directory on another mount than the top: its mount point only */
} CopyFlags;

typedef struct CopyOptions {
        CopyFlags flags;
        /* Maps each owner (UID or GID) to the copy's; NULL keeps them. */
        uid_t (*map_id)(uid_t id, void *userdata);
        void *userdata;
} CopyOptions;

/* Copies the data of the regular file sfd (size bytes) to dfd, then truncates dfd to size. */
int copy_data(int sfd, int dfd, off_t size);

/* Copies sfd/name, whatever it is, to ddir/dname, which must not exist yet. */
int copy_entry_at(int sfd, const char *name, int ddir, const char *dname, const CopyOptions *o);

/* Copies what the directory sfd holds into the existing empty directory dfd, then gives dfd the
 * mode, owner, xattrs and times of sfd. */
int copy_directory_into(int sfd, int dfd, const CopyOptions *o);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Tar archives in and out of image trees, through libarchive. Extraction runs with the new tree as
 * its root (import_run_chrooted()) and refuses member names that are absolute, contain "..", or
 * are deeper than TAR_DEPTH_MAX; it never writes through a symlink, keeps numeric owners, modes,
 * times, xattrs and ACLs, and does not create device nodes (the machine's /dev is made at boot).
 * These functions log their own errors: they run in berth-import's children, whose stderr is the
 * message berthd passes on. */

#include <stdbool.h>

#define TAR_DEPTH_MAX 512U

/* 0 if name is a relative path without ".." components and at most TAR_DEPTH_MAX deep,
 * -EINVAL or -E2BIG otherwise. "./" prefixes are allowed. */
int tar_member_name_check(const char *name);

typedef struct TarExtract {
        int fd;          /* the archive */
        bool whiteouts;  /* an OCI layer: ".wh." entries delete what lower layers made */
        bool overlay;    /* an OCI layer for the layer store: ".wh." entries become overlayfs whiteouts (0/0
                          * character devices), ".wh..wh..opq" trusted.overlay.opaque=y on its
                          * directory; trusted.overlay.* xattrs of the archive are dropped */
        unsigned n_devices_skipped;
        /* Optional: sees every byte of the archive as the extraction reads it (to the end of the
         * file), then judges them; a verdict < 0 fails the extraction (a digest that does not match). */
        void (*observe)(const void *buf, size_t n, void *observer);
        int (*verdict)(void *observer);
        void *observer;
} TarExtract;

/* Enables gzip, xz, zstd and bzip2 (and none): the decompressors libarchive has built in, never the
 * ones it would run as outside programs. */
struct archive;
int archive_support_safe_filters(struct archive *a);

/* Extracts into the current root (run it through import_run_chrooted()). */
int tar_extract(void *userdata /* TarExtract */);

/* Writes the tree at dir_fd as a pax archive to out_fd, compressed by format ("uncompressed",
 * "gzip", "xz", "zstd", "bzip2"). Symlinks are stored as symlinks; other mounts are not entered. */
int tar_export(int dir_fd, int out_fd, const char *format);

/* The index of a compression name, -EINVAL for an unknown one; 0 is "uncompressed". */
int tar_format_check(const char *format);
/* Adds that compression's libarchive write filter to w. */
struct archive;
int tar_add_filter(struct archive *w, const char *format);

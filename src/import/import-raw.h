/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Raw disk images in and out of the pool. The input may be compressed (gzip, xz, zstd, bzip2:
 * libarchive finds out); runs of zeros become holes. qcow2 is refused with a hint. Logs its errors
 * (it runs in berth-import, whose stderr is the message berthd passes on). */

/* Decompresses in_fd into out_fd (a new, empty regular file). */
int raw_import(int in_fd, int out_fd);
/* Copies the raw image at path to out_fd, compressed by format (see tar_format_check()). */
int raw_export(const char *path, int out_fd, const char *format);

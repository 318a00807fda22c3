/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "macro.h"

/* Reads all of fd (up to max bytes; -E2BIG if there is more) into a NUL-terminated buffer. */
int read_full_fd(int fd, size_t max, char **ret, size_t *ret_size);
/* Same, for a path relative to dir_fd (AT_FDCWD for the cwd). Does not follow a final symlink
 * unless follow is set; refuses anything but a regular file, so a FIFO can never block us. */
int read_full_file_at(int dir_fd, const char *path, size_t max, char **ret, size_t *ret_size);
/* Reads the first line of a file, without its newline. */
int read_one_line_file(const char *path, char **ret);
/* Writes s to an existing file (cgroup attributes, /proc files): no O_CREAT, no O_TRUNC. */
int write_string_file(const char *path, const char *s);
int write_string_file_at(int dir_fd, const char *path, const char *s);
/* The same for a file of our own: created (mode) or truncated, never through a symlink. */
int write_string_file_create(const char *path, const char *s, mode_t mode);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one tree remover. It works on directory fds: it never follows a symlink (a symlink is
 * removed, not what it points to), never crosses into another file system (a mount point below
 * the top is left in place and the result is -EBUSY), and stops descending after 512 levels
 * (-ELOOP). It removes all it can and returns the first error. A missing entry is not an error. */
int rm_rf_at(int dfd, const char *name);

/* rm_rf_at() of a path, relative to the working directory. */
int rm_rf(const char *path);

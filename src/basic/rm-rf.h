/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Removes path and everything below it, never crossing into another filesystem (a mount point
 * below path is an error, -EBUSY) and never following symlinks. A missing path is not an error. */
int rm_rf(const char *path);

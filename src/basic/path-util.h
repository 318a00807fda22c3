/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "macro.h"

static inline bool path_is_absolute(const char *p) {
        return p && p[0] == '/';
}

/* True if p has no "." or ".." components, no "//" and no trailing slash (except "/"). */
bool path_is_normalized(const char *p) _pure_;
/* True if p is absolute and normalized. */
bool path_is_safe_absolute(const char *p) _pure_;
/* Returns "a/b", with exactly one slash between them; NULL on OOM. */
char *path_join(const char *a, const char *b);
/* Returns the last component of p (without trailing slashes) as a new string. */
int path_extract_filename(const char *p, char **ret);
/* Turns a relative path into an absolute one using the cwd, and normalizes "." and "..". */
int path_make_absolute_cwd(const char *p, char **ret);
/* "/a/b/c" -> "/a/b" and "c"; "/c" -> "/" and "c". The last component must be a valid file name
 * (so no trailing slash, "." or ".."), and the path must have a slash. */
int path_split(const char *path, char **ret_dir, char **ret_name);
/* Is the file name valid as one path component (no '/', not "." or "..", <= 255 bytes)? */
bool filename_is_valid(const char *s) _pure_;

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "macro.h"

/* NULL-terminated arrays of strings. */
char **strv_free(char **l);
DEFINE_POINTER_CLEANUP(char **, strv_free);
#define _cleanup_strv_free_ _cleanup_(strv_freep)

size_t strv_length(char *const *l) _pure_;
char **strv_copy(char *const *l);
/* Appends a copy of value. */
int strv_extend(char ***l, const char *value);
/* Appends value, taking ownership (also on failure, where it is freed). */
int strv_consume(char ***l, char *value);
char *strv_find(char *const *l, const char *s) _pure_;

/* Environment blocks: sets "KEY=VALUE" (replacing KEY) from an assignment. */
int strv_env_replace(char ***l, const char *assignment);
const char *strv_env_get(char *const *l, const char *key) _pure_;
bool env_assignment_is_valid(const char *s) _pure_;

#define STRV_FOREACH(s, l) for (char **s = (l); s && *s; s++)

/* Splits at blanks, as systemd's unit files do: "double" and 'single' quotes group words, a backslash
 * takes the next character as it is. -EINVAL for an unterminated quote or a trailing backslash. */
int strv_split_quoted(const char *s, char ***ret);
/* The word quoted so that strv_split_quoted() gives it back (as it is when no quoting is needed). */
char *word_quote(const char *w);

/* The strings joined with 'sep' ("" for an empty list). */
char *strv_join(char *const *l, const char *sep);

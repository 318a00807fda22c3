/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/* Returns a pointer to the rest of s after prefix, or NULL if s does not start with it. */
char *startswith(const char *s, const char *prefix) _pure_;
char *endswith(const char *s, const char *suffix) _pure_;

/* Concatenates the NULL-terminated list of strings. */
char *strjoin_real(const char *x, ...) __attribute__((sentinel));
#define strjoin(a, ...) strjoin_real((a), __VA_ARGS__, NULL)

/* Strips trailing whitespace and newlines in place. */
char *strstrip_trailing(char *s);

bool string_has_cc(const char *s) _pure_;
bool utf8_is_valid(const char *s) _pure_;

static inline bool streq_ptr(const char *a, const char *b) {
        return a && b ? strcmp(a, b) == 0 : a == b;
}

/* The value of a hexadecimal digit, or -EINVAL. */
int unhex_char(char c) _pure_;
/* strncasecmp() for ASCII only, whatever the locale (in a Turkish one, 'I' is not 'i'). */
int ascii_strncasecmp(const char *a, const char *b, size_t n) _pure_;
static inline int ascii_strcasecmp(const char *a, const char *b) {
        return ascii_strncasecmp(a, b, SIZE_MAX);
}

/* Escapes s into a printable, C-like form ("\n" -> "\\n", ESC -> "\\x1b"). */
char *cescape(const char *s);
/* C escapes (\n \t \r \a \b \f \v \0 \\ \" \' \xNN) undone; the result may hold NUL bytes,
 * hence its size. -EINVAL for a bad escape. */
int cunescape(const char *s, char **ret, size_t *ret_size);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "macro.h"

/* systemd 252's rules: 1..64 characters of [a-zA-Z0-9-], split by single dots into non-empty labels
 * that neither start nor end with '-'. */
bool hostname_is_valid(const char *s) _pure_;

/* A machine name is a valid hostname (".host" is reserved for the host itself). */
static inline bool machine_name_is_valid(const char *s) {
        return hostname_is_valid(s);
}

/* Turns an arbitrary string (a directory name, say) into a valid hostname by dropping
 * characters that are not allowed, as nspawn does for the default machine name. */
int hostname_cleanup(const char *s, char **ret);

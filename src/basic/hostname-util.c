/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "alloc-util.h"
#include "hostname-util.h"

#define HOSTNAME_MAX 64

static bool valid_ldh_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

bool hostname_is_valid(const char *s) {
        bool dot = true, hyphen = true; /* at the start, a dot or a hyphen is as bad as after a dot */
        size_t n = 0;

        if (isempty(s))
                return false;
        for (const char *p = s; *p; p++, n++) {
                if (*p == '.') {
                        if (dot || hyphen) /* no empty label, no label ending in '-' */
                                return false;
                        dot = true;
                        hyphen = false;
                } else if (*p == '-') {
                        if (dot) /* no label starting with '-' */
                                return false;
                        hyphen = true;
                } else {
                        if (!valid_ldh_char(*p))
                                return false;
                        dot = hyphen = false;
                }
        }
        if (dot || hyphen) /* trailing dot or hyphen */
                return false;
        return n <= HOSTNAME_MAX;
}

int hostname_cleanup(const char *s, char **ret) {
        char *r = malloc(strlen(s) + 1), *w;
        bool dot = true;

        if (!r)
                return -ENOMEM;
        w = r;
        for (const char *p = s; *p && w - r < HOSTNAME_MAX; p++) {
                if (*p == '.') {
                        while (w > r && w[-1] == '-') /* a label may not end in '-' */
                                w--;
                        if (dot || w == r || w[-1] == '.')
                                continue;
                        *w++ = '.';
                        dot = true;
                } else if (*p == '-' && dot) {
                        continue; /* nor start with one */
                } else if (valid_ldh_char(*p)) {
                        *w++ = *p;
                        dot = false;
                }
        }
        while (w > r && (w[-1] == '.' || w[-1] == '-'))
                w--;
        *w = 0;
        if (!hostname_is_valid(r)) {
                free(r);
                return -EINVAL;
        }
        *ret = r;
        return 0;
}

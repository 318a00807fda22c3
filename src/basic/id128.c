/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "id128.h"
#include "string-util.h"

bool id128_is_null(Id128 id) {
        for (size_t i = 0; i < 16; i++)
                if (id.bytes[i])
                        return false;
        return true;
}

int id128_from_string(const char *s, Id128 *ret) {
        Id128 id = {};
        size_t l = s ? strlen(s) : 0, n = 0;
        bool uuid = l == 36;

        if (l != 32 && l != 36)
                return -EINVAL;
        for (size_t i = 0; i < l; i++) {
                int a, b;
                if (uuid && (i == 8 || i == 13 || i == 18 || i == 23)) {
                        if (s[i] != '-')
                                return -EINVAL;
                        continue;
                }
                a = unhex_char(s[i]);
                b = i + 1 < l ? unhex_char(s[i + 1]) : -EINVAL;
                if (a < 0 || b < 0 || n >= 16)
                        return -EINVAL;
                id.bytes[n++] = (uint8_t) (a << 4 | b);
                i++;
        }
        if (n != 16)
                return -EINVAL;
        *ret = id;
        return 0;
}

int id128_randomize(Id128 *ret) {
        Id128 id;

        if (getrandom(id.bytes, sizeof id.bytes, 0) != (ssize_t) sizeof id.bytes)
                return -errno;
        id.bytes[6] = (id.bytes[6] & 0x0f) | 0x40; /* version 4 */
        id.bytes[8] = (id.bytes[8] & 0x3f) | 0x80; /* RFC 4122 variant */
        *ret = id;
        return 0;
}

char *id128_to_string(Id128 id, char buf[static ID128_STRING_MAX]) {
        for (size_t i = 0; i < 16; i++)
                (void) sprintf(buf + 2 * i, "%02x", id.bytes[i]);
        return buf;
}

char *id128_to_uuid_string(Id128 id, char buf[static ID128_UUID_STRING_MAX]) {
        char *p = buf;

        for (size_t i = 0; i < 16; i++) {
                if (i == 4 || i == 6 || i == 8 || i == 10)
                        *p++ = '-';
                p += sprintf(p, "%02x", id.bytes[i]);
        }
        return buf;
}

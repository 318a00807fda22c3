/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc-util.h"
#include "string-util.h"

char *startswith(const char *s, const char *prefix) {
        size_t l = strlen(prefix);
        return strncmp(s, prefix, l) == 0 ? (char *) s + l : NULL;
}

char *endswith(const char *s, const char *suffix) {
        size_t ls = strlen(s), lx = strlen(suffix);
        if (lx > ls)
                return NULL;
        return streq(s + ls - lx, suffix) ? (char *) s + ls - lx : NULL;
}

char *strjoin_real(const char *x, ...) {
        va_list ap;
        size_t l = 0;
        char *r, *p;

        va_start(ap, x);
        for (const char *t = x; t; t = va_arg(ap, const char *))
                l += strlen(t);
        va_end(ap);

        r = malloc(l + 1);
        if (!r)
                return NULL;
        p = r;
        va_start(ap, x);
        for (const char *t = x; t; t = va_arg(ap, const char *))
                p = stpcpy(p, t);
        va_end(ap);
        *p = 0;
        return r;
}

char *strstrip_trailing(char *s) {
        size_t l = strlen(s);
        while (l > 0 && strchr(" \t\r\n", s[l - 1]))
                s[--l] = 0;
        return s;
}

bool string_has_cc(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < ' ' || *p == 127)
                        return true;
        return false;
}

bool utf8_is_valid(const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        while (*p) {
                size_t n;
                unsigned cp;

                if (*p < 0x80) {
                        p++;
                        continue;
                } else if ((*p & 0xe0) == 0xc0) {
                        n = 1;
                        cp = *p & 0x1f;
                } else if ((*p & 0xf0) == 0xe0) {
                        n = 2;
                        cp = *p & 0x0f;
                } else if ((*p & 0xf8) == 0xf0) {
                        n = 3;
                        cp = *p & 0x07;
                } else
                        return false;
                p++;
                for (size_t i = 0; i < n; i++, p++) {
                        if ((*p & 0xc0) != 0x80)
                                return false;
                        cp = (cp << 6) | (*p & 0x3f);
                }
                /* overlong forms, surrogates, out of range */
                if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
                    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
                        return false;
        }
        return true;
}

char *cescape(const char *s) {
        char *r = malloc(strlen(s) * 4 + 1), *p;

        if (!r)
                return NULL;
        p = r;
        for (const unsigned char *c = (const unsigned char *) s; *c; c++) {
                if (*c == '\n')
                        p = stpcpy(p, "\\n");
                else if (*c == '\t')
                        p = stpcpy(p, "\\t");
                else if (*c == '\\')
                        p = stpcpy(p, "\\\\");
                else if (*c < ' ' || *c >= 127)
                        p += sprintf(p, "\\x%02x", *c);
                else
                        *p++ = (char) *c;
        }
        *p = 0;
        return r;
}

int unhex_char(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -EINVAL;
}

int cunescape(const char *s, char **ret, size_t *ret_size) {
        char *r = malloc(strlen(s) + 1), *p;

        if (!r)
                return -ENOMEM;
        p = r;
        for (const char *c = s; *c; c++) {
                int a, b;

                if (*c != '\\') {
                        *p++ = *c;
                        continue;
                }
                switch (*++c) {
                case 'n': *p++ = '\n'; break;
                case 't': *p++ = '\t'; break;
                case 'r': *p++ = '\r'; break;
                case 'a': *p++ = '\a'; break;
                case 'b': *p++ = '\b'; break;
                case 'f': *p++ = '\f'; break;
                case 'v': *p++ = '\v'; break;
                case '0': *p++ = 0; break;
                case '\\': case '"': case '\'': *p++ = *c; break;
                case 'x':
                        a = unhex_char(c[1]);
                        b = a >= 0 ? unhex_char(c[2]) : -EINVAL;
                        if (b < 0) {
                                free(r);
                                return -EINVAL;
                        }
                        *p++ = (char) (a << 4 | b);
                        c += 2;
                        break;
                default: /* a lone or unknown escape */
                        free(r);
                        return -EINVAL;
                }
        }
        *p = 0;
        *ret_size = (size_t) (p - r);
        *ret = r;
        return 0;
}

static char ascii_lower(char c) {
        return c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
}

int ascii_strncasecmp(const char *a, const char *b, size_t n) {
        for (size_t i = 0; i < n; i++) {
                char x = ascii_lower(a[i]), y = ascii_lower(b[i]);
                if (x != y)
                        return (unsigned char) x - (unsigned char) y;
                if (x == 0)
                        return 0;
        }
        return 0;
}

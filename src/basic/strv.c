/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "alloc-util.h"
#include "string-util.h"
#include "strv.h"

char **strv_free(char **l) {
        STRV_FOREACH(s, l)
                free(*s);
        free(l);
        return NULL;
}

size_t strv_length(char *const *l) {
        size_t n = 0;
        if (l)
                while (l[n])
                        n++;
        return n;
}

char **strv_copy(char *const *l) {
        size_t n = strv_length(l);
        char **c = new (char *, n + 1);

        if (!c)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                c[i] = strdup(l[i]);
                if (!c[i])
                        return strv_free(c);
        }
        return c;
}

int strv_consume(char ***l, char *value) {
        size_t n = strv_length(*l);
        char **c;

        if (!value)
                return -ENOMEM;
        c = realloc(*l, sizeof(char *) * (n + 2));
        if (!c) {
                free(value);
                return -ENOMEM;
        }
        c[n] = value;
        c[n + 1] = NULL;
        *l = c;
        return 0;
}

int strv_extend(char ***l, const char *value) {
        return strv_consume(l, strdup(value));
}

char *strv_find(char *const *l, const char *s) {
        STRV_FOREACH(i, (char **) l)
                if (streq(*i, s))
                        return *i;
        return NULL;
}

bool env_assignment_is_valid(const char *s) {
        const char *eq = strchr(s, '=');

        if (!eq || eq == s)
                return false;
        for (const char *p = s; p < eq; p++)
                if (!(*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (p > s && *p >= '0' && *p <= '9')))
                        return false;
        return utf8_is_valid(eq + 1);
}

static char **env_find(char **l, const char *key, size_t keylen) {
        STRV_FOREACH(i, l)
                if (strneq(*i, key, keylen) && (*i)[keylen] == '=')
                        return i;
        return NULL;
}

int strv_env_replace(char ***l, const char *assignment) {
        const char *eq = strchr(assignment, '=');
        char **slot, *c;

        if (!eq)
                return -EINVAL;
        c = strdup(assignment);
        if (!c)
                return -ENOMEM;
        slot = env_find(*l, assignment, eq - assignment);
        if (slot) {
                free(*slot);
                *slot = c;
                return 0;
        }
        return strv_consume(l, c);
}

const char *strv_env_get(char *const *l, const char *key) {
        char **slot = env_find((char **) l, key, strlen(key));
        return slot ? *slot + strlen(key) + 1 : NULL;
}

char *strv_join(char *const *l, const char *sep) {
        size_t n = 0, k = strlen(sep), count = strv_length(l);
        char *s, *p;

        for (size_t i = 0; i < count; i++)
                n += strlen(l[i]) + k;
        s = malloc(n + 1);
        if (!s)
                return NULL;
        p = s;
        for (size_t i = 0; i < count; i++) {
                if (i > 0)
                        p = stpcpy(p, sep);
                p = stpcpy(p, l[i]);
        }
        *p = 0;
        return s;
}

int strv_split_quoted(const char *s, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *w = malloc(strlen(s) + 1);

        if (!w)
                return -ENOMEM;
        for (const char *p = s;;) {
                size_t n = 0;
                char quote = 0;

                p += strspn(p, " \t\n");
                if (!*p)
                        break;
                for (; *p && (quote || !strchr(" \t\n", *p)); p++) {
                        if (*p == '\\' && quote != '\'') {
                                if (!*++p)
                                        return -EINVAL;
                                w[n++] = *p;
                        } else if (quote && *p == quote)
                                quote = 0;
                        else if (!quote && (*p == '"' || *p == '\''))
                                quote = *p;
                        else
                                w[n++] = *p;
                }
                if (quote)
                        return -EINVAL;
                w[n] = 0;
                if (strv_extend(&l, w) < 0)
                        return -ENOMEM;
        }
        if (!l && !(l = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

char *word_quote(const char *w) {
        char *r, *p;

        if (*w && !w[strcspn(w, " \t\n\"'\\")])
                return strdup(w);
        r = malloc(strlen(w) * 2 + 3);
        if (!r)
                return NULL;
        p = r;
        *p++ = '"';
        for (; *w; w++) {
                if (*w == '"' || *w == '\\')
                        *p++ = '\\';
                *p++ = *w;
        }
        *p++ = '"';
        *p = 0;
        return r;
}

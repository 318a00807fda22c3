/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc-util.h"
#include "path-util.h"
#include "string-util.h"

bool path_is_normalized(const char *p) {
        if (isempty(p))
                return false;
        if (streq(p, "."))
                return false;
        if (startswith(p, "./") || startswith(p, "../") || streq(p, ".."))
                return false;
        if (strstr(p, "/./") || strstr(p, "/../") || strstr(p, "//"))
                return false;
        if (endswith(p, "/.") || endswith(p, "/.."))
                return false;
        if (strlen(p) > 1 && endswith(p, "/"))
                return false;
        return strlen(p) < PATH_MAX;
}

bool path_is_safe_absolute(const char *p) {
        return path_is_absolute(p) && path_is_normalized(p);
}

char *path_join(const char *a, const char *b) {
        size_t la = strlen(a);
        while (la > 0 && a[la - 1] == '/')
                la--;
        while (*b == '/')
                b++;

        char *r = malloc(la + 1 + strlen(b) + 1);
        if (!r)
                return NULL;
        memcpy(r, a, la);
        r[la] = '/';
        strcpy(r + la + 1, b);
        return r;
}

int path_extract_filename(const char *p, char **ret) {
        size_t l = strlen(p);
        const char *s;
        char *r;

        while (l > 0 && p[l - 1] == '/')
                l--;
        if (l == 0)
                return -EADDRNOTAVAIL;
        s = p + l;
        while (s > p && s[-1] != '/')
                s--;
        r = strndup(s, p + l - s);
        if (!r)
                return -ENOMEM;
        if (!filename_is_valid(r)) {
                free(r);
                return -EINVAL;
        }
        *ret = r;
        return 0;
}

int path_make_absolute_cwd(const char *p, char **ret) {
        _cleanup_free_ char *joined = NULL;
        char *out, *w;

        if (isempty(p))
                return -EINVAL;
        if (path_is_absolute(p))
                joined = strdup(p);
        else {
                char cwd[PATH_MAX];
                if (!getcwd(cwd, sizeof cwd))
                        return -errno;
                joined = path_join(cwd, p);
        }
        if (!joined)
                return -ENOMEM;

        /* Normalize lexically: drop "." and empty components, resolve ".." against what came before. */
        out = malloc(strlen(joined) + 2);
        if (!out)
                return -ENOMEM;
        w = out;
        for (char *save = NULL, *c = strtok_r(joined, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                if (streq(c, "."))
                        continue;
                if (streq(c, "..")) {
                        while (w > out && *--w != '/')
                                ;
                        continue;
                }
                *w++ = '/';
                w = stpcpy(w, c);
        }
        if (w == out)
                *w++ = '/';
        *w = 0;
        *ret = out;
        return 0;
}

bool filename_is_valid(const char *s) {
        if (isempty(s) || streq(s, ".") || streq(s, ".."))
                return false;
        if (strchr(s, '/'))
                return false;
        return strlen(s) <= NAME_MAX;
}

int path_split(const char *path, char **ret_dir, char **ret_name) {
        const char *slash = strrchr(path, '/');
        char *dir, *name;

        if (!slash || !filename_is_valid(slash + 1))
                return -EINVAL;
        dir = strndup(path, slash == path ? 1 : (size_t) (slash - path));
        name = strdup(slash + 1);
        if (!dir || !name) {
                free(dir);
                free(name);
                return -ENOMEM;
        }
        *ret_dir = dir;
        *ret_name = name;
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "alloc-util.h"
#include "fileio.h"
#include "parse-util.h"
#include "spawn-user.h"
#include "string-util.h"

void guest_user_done(GuestUser *u) {
        free(u->name);
        free(u->home);
        free(u->shell);
        free(u->groups);
        *u = (GuestUser) {};
}

/* Splits a passwd/group line into at most n colon-separated fields, in place. */
static size_t split_fields(char *line, char **f, size_t n) {
        size_t k = 0;

        f[k++] = line;
        for (char *p = line; *p && k < n; p++)
                if (*p == ':') {
                        *p = 0;
                        f[k++] = p + 1;
                }
        return k;
}

static bool member_of(char *list, const char *name) {
        char *save = NULL;

        for (char *m = strtok_r(list, ",", &save); m; m = strtok_r(NULL, ",", &save))
                if (streq(m, name))
                        return true;
        return false;
}

static int lookup_groups(const char *group_path, GuestUser *u) {
        _cleanup_free_ char *buf = NULL;
        char *save = NULL;
        int r;

        r = read_full_file_at(AT_FDCWD, group_path, 16 * 1024 * 1024, &buf, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char *f[4];
                unsigned gid;
                gid_t *g;

                if (split_fields(l, f, 4) < 4 || safe_atou(f[2], &gid) < 0 || !member_of(f[3], u->name))
                        continue;
                g = realloc(u->groups, sizeof(gid_t) * (u->n_groups + 1));
                if (!g)
                        return -ENOMEM;
                u->groups = g;
                u->groups[u->n_groups++] = gid;
        }
        return 0;
}

int guest_user_lookup(const char *passwd_path, const char *group_path, const char *name, GuestUser *ret) {
        _cleanup_free_ char *buf = NULL;
        char *save = NULL;
        unsigned numeric;
        bool by_uid = safe_atou(name, &numeric) >= 0;
        int r;

        r = read_full_file_at(AT_FDCWD, passwd_path, 16 * 1024 * 1024, &buf, NULL);
        if (r < 0)
                return r;
        for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                GuestUser u = {};
                char *f[7];
                unsigned uid, gid;

                if (split_fields(l, f, 7) < 7 || safe_atou(f[2], &uid) < 0 || safe_atou(f[3], &gid) < 0)
                        continue;
                if (by_uid ? uid != numeric : !streq(f[0], name))
                        continue;
                u.uid = uid;
                u.gid = gid;
                u.name = strdup(f[0]);
                u.home = strdup(isempty(f[5]) ? "/" : f[5]);
                u.shell = strdup(isempty(f[6]) ? "/bin/sh" : f[6]);
                if (!u.name || !u.home || !u.shell || lookup_groups(group_path, &u) < 0) {
                        guest_user_done(&u);
                        return -ENOMEM;
                }
                *ret = u;
                return 0;
        }
        return -ESRCH;
}

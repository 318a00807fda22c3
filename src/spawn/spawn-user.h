/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

/* A user of the machine, looked up in the machine's own /etc/passwd and /etc/group (never through
 * the host's NSS modules). Called after pivot_root. */
typedef struct GuestUser {
        uid_t uid;
        gid_t gid;
        char *name;
        char *home;
        char *shell;
        gid_t *groups;
        size_t n_groups;
} GuestUser;

void guest_user_done(GuestUser *u);
/* name may be a user name or a numeric UID. -ESRCH if unknown. */
int guest_user_lookup(const char *passwd_path, const char *group_path, const char *name, GuestUser *ret);

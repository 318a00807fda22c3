/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "alloc-util.h"

int free_and_strdup(char **p, const char *s) {
        char *t = NULL;

        if (s) {
                t = strdup(s);
                if (!t)
                        return -ENOMEM;
        }
        free(*p);
        *p = t;
        return 0;
}

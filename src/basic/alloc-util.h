/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdlib.h>

#include "macro.h"

#define new(t, n) ((t *) calloc((n) ?: 1, sizeof(t)))
#define new0(t, n) new (t, n)

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

static inline void freep(void *p) {
        free(*(void **) p);
}

#define _cleanup_free_ _cleanup_(freep)

/* Replace *p with a copy of s (s may be NULL). Returns -ENOMEM on failure. */
int free_and_strdup(char **p, const char *s);

/* Frees a and moves b into it (b becomes NULL). */
#define free_and_replace(a, b)                  \
        ({                                      \
                free(a);                        \
                (a) = TAKE_PTR(b);              \
                0;                              \
        })

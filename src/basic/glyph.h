/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The few non-ASCII symbols berthctl prints, as systemd's special_glyph() picks them: UTF-8 where
 * the locale's character set is UTF-8 (after setlocale(LC_CTYPE, "")), else an ASCII stand-in, so
 * that a terminal or a pipe in the C locale gets neither mojibake nor libsmartcols' \x escapes. */

#include <stdbool.h>

typedef enum Glyph {
        GLYPH_ELLIPSIS,      /* "…"  or "..." */
        GLYPH_TREE_BRANCH,   /* "├─" or "|-" */
        GLYPH_TREE_RIGHT,    /* "└─" or "`-" */
        GLYPH_TREE_VERTICAL, /* "│ " or "| " */
        GLYPH_TREE_SPACE,    /* "  " */
        _GLYPH_MAX,
} Glyph;

bool is_locale_utf8(void);
const char *glyph(Glyph g);

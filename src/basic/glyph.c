/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <langinfo.h>
#include <string.h>

#include "glyph.h"

bool is_locale_utf8(void) {
        const char *set = nl_langinfo(CODESET);
        return set && (strcmp(set, "UTF-8") == 0 || strcmp(set, "utf8") == 0);
}

const char *glyph(Glyph g) {
        /* { UTF-8, ASCII } */
        static const char *const table[_GLYPH_MAX][2] = {
                [GLYPH_ELLIPSIS] = { "\u2026", "..." },
                [GLYPH_TREE_BRANCH] = { "\u251c\u2500", "|-" },
                [GLYPH_TREE_RIGHT] = { "\u2514\u2500", "`-" },
                [GLYPH_TREE_VERTICAL] = { "\u2502 ", "| " },
                [GLYPH_TREE_SPACE] = { "  ", "  " },
        };

        if (g < 0 || g >= _GLYPH_MAX)
                return "";
        return table[g][is_locale_utf8() ? 0 : 1];
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <langinfo.h>
#include <string.h>

#include "glyph.h"

bool is_locale_utf8(void) {
        const char *set = nl_langinfo(CODESET);
        return set && (strcmp(set, "UTF-8") == 0 || strcmp(set, "utf8") == 0);
}

const char *glyph(Glyph g) {
        static const char *const utf8[_GLYPH_MAX] = {
                [GLYPH_ELLIPSIS] = "\u2026",
                [GLYPH_TREE_BRANCH] = "\u251c\u2500",
                [GLYPH_TREE_RIGHT] = "\u2514\u2500",
                [GLYPH_TREE_VERTICAL] = "\u2502 ",
                [GLYPH_TREE_SPACE] = "  ",
        };
        static const char *const ascii[_GLYPH_MAX] = {
                [GLYPH_ELLIPSIS] = "...",
                [GLYPH_TREE_BRANCH] = "|-",
                [GLYPH_TREE_RIGHT] = "`-",
                [GLYPH_TREE_VERTICAL] = "| ",
                [GLYPH_TREE_SPACE] = "  ",
        };

        if (g < 0 || g >= _GLYPH_MAX)
                return "";
        return is_locale_utf8() ? utf8[g] : ascii[g];
}

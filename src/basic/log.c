/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static int max_level = LOG_INFO;
static const char *prefix;

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

void log_set_prefix(const char *p) {
        prefix = p;
}

void log_parse_environment(void) {
        const char *e = getenv("BERTH_LOG_LEVEL") ?: getenv("SYSTEMD_LOG_LEVEL");

        if (!e)
                return;
        if (streq(e, "debug"))
                max_level = LOG_DEBUG;
        else if (streq(e, "info"))
                max_level = LOG_INFO;
        else if (streq(e, "notice"))
                max_level = LOG_NOTICE;
        else if (streq(e, "warning"))
                max_level = LOG_WARNING;
        else if (streq(e, "err") || streq(e, "error"))
                max_level = LOG_ERR;
}

/* One line each, and nothing a terminal would act on: names from argv, D-Bus or images may carry
 * newlines or escape sequences. Control characters become \n, \t or \xNN (in place, truncating). */
static void escape_controls(char *buf, size_t size) {
        char out[2048];
        size_t o = 0;

        if (!buf[strcspn(buf, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12"
                              "\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f")])
                return;
        for (const unsigned char *c = (const unsigned char *) buf; *c && o + 5 < sizeof out; c++)
                if (*c == '\n')
                        o += (size_t) snprintf(out + o, sizeof out - o, "\\n");
                else if (*c == '\t')
                        o += (size_t) snprintf(out + o, sizeof out - o, "\\t");
                else if (*c < ' ' || *c == 0x7f)
                        o += (size_t) snprintf(out + o, sizeof out - o, "\\x%02x", *c);
                else
                        out[o++] = (char) *c;
        out[o] = 0;
        (void) snprintf(buf, size, "%s", out);
}

int log_internal(int level, int error, const char *fmt, ...) {
        char buf[2048];
        va_list ap;
        int saved = errno;

        (void) level;
        /* %m expands to the error we were given, not to whatever errno happens to be. */
        errno = error < 0 ? -error : saved;
        va_start(ap, fmt);
        (void) vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);

        escape_controls(buf, sizeof buf);
        if (prefix)
                (void) fprintf(stderr, "%s: %s\n", prefix, buf);
        else
                (void) fprintf(stderr, "%s\n", buf);

        errno = error < 0 ? -error : saved;
        return error;
}

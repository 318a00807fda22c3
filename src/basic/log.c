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

        if (prefix)
                (void) fprintf(stderr, "%s: %s\n", prefix, buf);
        else
                (void) fprintf(stderr, "%s\n", buf);

        errno = error < 0 ? -error : saved;
        return error;
}

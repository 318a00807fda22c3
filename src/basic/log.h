/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdlib.h>
#include <syslog.h>

#include "macro.h"

/* Messages go to stderr, one line each. log_*_errno() set errno for %m and return the (negative)
 * error, so a caller can write "return log_error_errno(r, "...: %m");". src/basic and src/shared
 * never log above debug: the caller with the context logs. */

void log_set_max_level(int level);
int log_get_max_level(void);
void log_set_prefix(const char *prefix);
void log_parse_environment(void);

int log_internal(int level, int error, const char *fmt, ...) _printf_(3, 4);

#define log_full_errno(level, error, ...)                                       \
        ({                                                                      \
                int _l_ = (level), _e_ = (error);                               \
                _e_ = _e_ < 0 ? _e_ : -_e_;                                     \
                _l_ <= log_get_max_level() ? log_internal(_l_, _e_, __VA_ARGS__) \
                                           : _e_;                               \
        })
#define log_full(level, ...) ((void) log_full_errno(level, 0, __VA_ARGS__))

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, e, __VA_ARGS__)

#define log_oom() log_error_errno(-ENOMEM, "Out of memory.")

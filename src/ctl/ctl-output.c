/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl-output.h"
#include "ctl.h"
#include "glyph.h"
#include "log.h"
#include "string-util.h"

static pid_t pager_pid;

struct libscols_table *ctl_table_new(const CtlArgs *args, const char *json_name, const char *const *columns) {
        struct libscols_table *t = scols_new_table();

        if (!t)
                return NULL;
        scols_table_enable_noheadings(t, !args->legend);
        scols_table_enable_colors(t, isatty(STDOUT_FILENO) && !getenv("NO_COLOR"));
        if (args->json != JSON_OFF) {
                scols_table_enable_json(t, true);
                scols_table_set_name(t, json_name);
        }
        if (args->json == JSON_SHORT)
                scols_table_enable_minout(t, true);
        for (size_t i = 0; columns[i]; i++) {
                char name[64];
                const char *colon = strchr(columns[i], ':');
                size_t len = colon ? (size_t) (colon - columns[i]) : strlen(columns[i]);
                struct libscols_column *c;

                (void) snprintf(name, sizeof name, "%.*s", (int) len, columns[i]);
                c = scols_table_new_column(t, name, 0, 0);
                if (!c)
                        return scols_unref_table(t), NULL;
                if (colon && streq(colon, ":number"))
                        scols_column_set_json_type(c, SCOLS_JSON_NUMBER);
                else if (colon && streq(colon, ":bool"))
                        scols_column_set_json_type(c, SCOLS_JSON_BOOLEAN);
                else if (colon && streq(colon, ":array")) {
                        scols_column_set_json_type(c, SCOLS_JSON_ARRAY_STRING);
                        scols_column_set_flags(c, SCOLS_FL_WRAP);
                        scols_column_set_wrapfunc(c, scols_wrapnl_chunksize, scols_wrapnl_nextchunk, NULL);
                }
        }
        return t;
}

int ctl_table_add_row(struct libscols_table *t, const char *const *cells) {
        struct libscols_line *l = scols_table_new_line(t, NULL);
        size_t n = scols_table_get_ncols(t);
        bool json = scols_table_is_json(t);

        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const char *v = cells[i];
                if (!v && json)
                        continue; /* null, or [] for a list */
                if (scols_line_set_data(l, i, v ?: "-") < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* A cell as JSON, by its column's type; an unset cell is null, an unset list []. */
static json_object *cell_to_json(struct libscols_column *c, const char *v) {
        json_object *a;
        char *end;

        switch (scols_column_get_json_type(c)) {
        case SCOLS_JSON_ARRAY_STRING:
                a = json_object_new_array();
                for (const char *p = v; a && p && *p;) {
                        size_t l = strcspn(p, "\n");
                        (void) json_object_array_add(a, json_object_new_string_len(p, (int) l));
                        p += l + (p[l] == '\n');
                }
                return a;
        case SCOLS_JSON_NUMBER:
                if (v) {
                        long long n = strtoll(v, &end, 10);
                        if (end != v && *end == 0)
                                return json_object_new_int64(n);
                        double d = strtod(v, &end); /* "12.5" (a CPU share) */
                        if (end != v && *end == 0)
                                return json_object_new_double(d);
                }
                break;
        case SCOLS_JSON_BOOLEAN:
                if (v)
                        return json_object_new_boolean(streq(v, "true") || streq(v, "yes") || streq(v, "1"));
                break;
        default:
                break;
        }
        return v && *v ? json_object_new_string(v) : NULL; /* empty is null, as libsmartcols has it */
}

/* {"NAME": [ {"column": value, …}, … ]}, with lower-case column names as libsmartcols names them;
 * one line for --json=short (as systemd's), indented for pretty. libsmartcols 2.38 writes an empty
 * list as [null] and has no compact form, hence this. */
static int print_json(struct libscols_table *t) {
        json_object *root = json_object_new_object(), *rows = json_object_new_array();
        struct libscols_iter *it = scols_new_iter(SCOLS_ITER_FORWARD);
        struct libscols_line *l;
        size_t ncols = scols_table_get_ncols(t);
        int r = 0;

        if (!root || !rows || !it) {
                r = -ENOMEM;
                goto finish;
        }
        while (r >= 0 && scols_table_next_line(t, it, &l) == 0) {
                json_object *row = json_object_new_object();
                if (!row || json_object_array_add(rows, row) < 0) {
                        json_object_put(row);
                        r = -ENOMEM;
                        break;
                }
                for (size_t i = 0; i < ncols; i++) {
                        struct libscols_column *c = scols_table_get_column(t, i);
                        const char *name = scols_cell_get_data(scols_column_get_header(c));
                        char key[64];
                        size_t k;

                        for (k = 0; name && name[k] && k + 1 < sizeof key; k++)
                                key[k] = name[k] >= 'A' && name[k] <= 'Z' ? (char) (name[k] - 'A' + 'a') : name[k]; /* any locale */
                        key[k] = 0;
                        (void) json_object_object_add(row, key, cell_to_json(c, scols_cell_get_data(scols_line_get_cell(l, i))));
                }
        }
        if (r >= 0) {
                (void) json_object_object_add(root, scols_table_get_name(t) ?: "table", rows);
                rows = NULL;
                puts(json_object_to_json_string_ext(root, scols_table_is_minout(t) ? JSON_C_TO_STRING_PLAIN :
                                                          JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
        }
finish:
        scols_free_iter(it);
        json_object_put(rows);
        json_object_put(root);
        return r;
}

int ctl_table_print(struct libscols_table *t) {
        int r = scols_table_is_json(t) ? print_json(t) : scols_print_table(t);
        return r < 0 ? log_error_errno(r, "Failed to print the table: %m") : 0;
}

void ctl_pager_open(const CtlArgs *args) {
        int pipefd[2];
        const char *pager;

        if (!args->pager || args->json != JSON_OFF || !isatty(STDOUT_FILENO))
                return;
        pager = getenv("SYSTEMD_PAGER") ?: getenv("PAGER") ?: "less";
        if (isempty(pager) || streq(pager, "cat"))
                return;
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return;
        fflush(stdout);
        pager_pid = fork();
        if (pager_pid < 0) {
                close(pipefd[0]);
                close(pipefd[1]);
                pager_pid = 0;
                return;
        }
        if (pager_pid == 0) {
                (void) dup2(pipefd[0], STDIN_FILENO);
                (void) setenv("LESS", "FRSXMK", 0);
                if (is_locale_utf8()) /* as systemd's pager: less shows the glyphs, not <E2><94><9C> */
                        (void) setenv("LESSCHARSET", "utf-8", 0);
                execlp("/bin/sh", "sh", "-c", pager, (char *) NULL);
                _exit(EXIT_FAILURE);
        }
        (void) dup2(pipefd[1], STDOUT_FILENO);
        close(pipefd[0]);
        close(pipefd[1]);
        (void) signal(SIGPIPE, SIG_IGN);
}

void ctl_pager_close(void) {
        if (pager_pid <= 0)
                return;
        fflush(stdout);
        (void) close(STDOUT_FILENO);
        (void) waitpid(pager_pid, NULL, 0);
        pager_pid = 0;
}

char *ctl_format_bytes(uint64_t bytes, char buf[static 16]) {
        static const char units[] = "BKMGTPE";
        double v = (double) bytes;
        size_t u = 0;

        if (bytes == UINT64_MAX) {
                strcpy(buf, "-");
                return buf;
        }
        while (v >= 1024 && u < sizeof units - 2) {
                v /= 1024;
                u++;
        }
        if (u == 0)
                (void) snprintf(buf, 16, "%uB", (unsigned) bytes);
        else
                (void) snprintf(buf, 16, "%.1f%c", v, units[u]);
        return buf;
}

char *ctl_format_timestamp(uint64_t usec, char buf[static 64]) {
        time_t t = (time_t) (usec / 1000000);
        struct tm tm;

        if (usec == 0 || usec == UINT64_MAX || !localtime_r(&t, &tm) ||
            strftime(buf, 64, "%a %Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                strcpy(buf, "-");
        return buf;
}

char *ctl_format_timespan_ago(uint64_t usec, char buf[static 64]) {
        struct timespec now;
        uint64_t n, d;

        (void) clock_gettime(CLOCK_REALTIME, &now);
        n = (uint64_t) now.tv_sec * 1000000 + (uint64_t) now.tv_nsec / 1000;
        d = n > usec ? (n - usec) / 1000000 : 0;
        if (d >= 86400)
                (void) snprintf(buf, 64, "%" PRIu64 " days %" PRIu64 "h ago", d / 86400, d % 86400 / 3600);
        else if (d >= 3600)
                (void) snprintf(buf, 64, "%" PRIu64 "h %" PRIu64 "min ago", d / 3600, d % 3600 / 60);
        else if (d >= 60)
                (void) snprintf(buf, 64, "%" PRIu64 "min %" PRIu64 "s ago", d / 60, d % 60);
        else
                (void) snprintf(buf, 64, "%" PRIu64 "s ago", d);
        return buf;
}

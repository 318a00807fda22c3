/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* set-property (through berthd's extension interface), and what machines use, read from cgroupfs. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc-util.h"
#include "bus-names.h"
#include "ctl-accounting.h"
#include "ctl-bus.h"
#include "ctl-limits.h"
#include "ctl-output.h"
#include "fd-util.h"
#include "ctl.h"
#include "hostname-util.h"
#include "log.h"
#include "string-util.h"
#include "strv.h"

int verb_set_property(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *what = NULL;
        const char *name = argv[1];
        int r;

        if (!machine_name_is_valid(name))
                return ctl_invalid_name(name);
        for (int i = 2; i < argc; i++)
                if (!strchr(argv[i], '=') || argv[i][0] == '=')
                        return log_error_errno(-EINVAL, "Invalid property assignment '%s': use NAME=VALUE "
                                                        "(MemoryMax=1G, CPUWeight=200, ...).", argv[i]);
        what = strjoin("set properties of machine '", name, "'");
        r = sd_bus_message_new_method_call(bus, &m, MACHINE1_BUS_NAME, MACHINE1_PATH, BERTH_MANAGER_IFACE,
                                           "SetMachineProperties");
        if (r >= 0)
                r = sd_bus_message_append(m, "sb", name, (int) args->runtime);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, argv + 2);
        if (r < 0 || !what)
                return log_oom();
        r = sd_bus_call(bus, m, 0, &error, NULL);
        if (r < 0 && sd_bus_error_has_name(&error, SD_BUS_ERROR_INVALID_ARGS))
                return log_error_errno(r, "%s", error.message);
        if (r < 0)
                return ctl_log_bus_error(&error, r, what);
        return 0;
}

/* "web\x2d1" -> "web-1" */
static char *unit_name_unescape(const char *s, size_t n) {
        char *r = malloc(n + 1), *w = r;

        if (!r)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                unsigned v;
                if (s[i] == '\\' && i + 3 < n + 1 && s[i + 1] == 'x' && sscanf(s + i + 2, "%2x", &v) == 1) {
                        *w++ = (char) v;
                        i += 3;
                } else
                        *w++ = s[i];
        }
        *w = 0;
        return r;
}

static int scan_slice(const char *mount, const char *rel, unsigned depth, MachineCgroup **list, size_t *n) {
        _cleanup_free_ char *dir = isempty(rel) ? strdup(mount) : strjoin(mount, "/", rel);
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;

        if (!dir)
                return -ENOMEM;
        d = opendir(dir);
        if (!d)
                return 0;
        while ((de = readdir(d))) {
                const char *e;
                _cleanup_free_ char *sub = NULL;
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                sub = isempty(rel) ? strdup(de->d_name) : strjoin(rel, "/", de->d_name);
                if (!sub)
                        return -ENOMEM;
                if (startswith(de->d_name, "machine-") && (e = endswith(de->d_name, ".scope"))) {
                        MachineCgroup *l = realloc(*list, sizeof(MachineCgroup) * (*n + 1));
                        if (!l)
                                return -ENOMEM;
                        *list = l;
                        l[*n] = (MachineCgroup) {
                                .name = unit_name_unescape(de->d_name + strlen("machine-"),
                                                           (size_t) (e - de->d_name) - strlen("machine-")),
                                .rel = TAKE_PTR(sub),
                        };
                        if (!l[(*n)++].name)
                                return -ENOMEM;
                } else if (endswith(de->d_name, ".slice") && depth < 4) {
                        int r = scan_slice(mount, sub, depth + 1, list, n);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int ctl_machine_cgroups(const CgroupControllerMap *map, MachineCgroup **ret, size_t *ret_n) {
        const char *mount = map->v1[CGROUP_CTRL_PIDS] ?: map->v1[CGROUP_CTRL_MEMORY] ?: map->v2;
        MachineCgroup *list = NULL;
        size_t n = 0;
        int r;

        *ret = NULL;
        *ret_n = 0;
        if (!mount)
                return 0;
        r = scan_slice(mount, "", 0, &list, &n);
        if (r < 0) {
                machine_cgroups_free(list, n);
                return r;
        }
        *ret = list;
        *ret_n = n;
        return 0;
}

void machine_cgroups_free(MachineCgroup *l, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(l[i].name);
                free(l[i].rel);
        }
        free(l);
}

int ctl_machine_accounting(const char *name, CgroupAccounting *ret) {
        _cleanup_(cgroup_controllers_done) CgroupControllerMap map = {};
        MachineCgroup *l = NULL;
        size_t n = 0;
        int r;

        r = cgroup_controllers_detect(&map);
        if (r >= 0)
                r = ctl_machine_cgroups(&map, &l, &n);
        if (r < 0)
                return r;
        r = -ENOENT;
        for (size_t i = 0; i < n && r == -ENOENT; i++)
                if (streq(l[i].name, name))
                        r = cgroup_accounting_read(&map, l[i].rel, ret);
        machine_cgroups_free(l, n);
        return r;
}

typedef struct TopRow {
        char *name;
        CgroupAccounting acc;
        double cpu_percent; /* -1: not known yet */
        double read_rate, write_rate;
} TopRow;

static int compare_rows(const void *a, const void *b) {
        const TopRow *x = a, *y = b;
        if (x->cpu_percent != y->cpu_percent)
                return x->cpu_percent < y->cpu_percent ? 1 : -1;
        if (x->acc.memory_current != y->acc.memory_current)
                return x->acc.memory_current < y->acc.memory_current ? 1 : -1;
        return strcmp(x->name, y->name);
}

static const TopRow *find_row(const TopRow *rows, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (streq(rows[i].name, name))
                        return &rows[i];
        return NULL;
}

static void rows_free(TopRow *rows, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(rows[i].name);
        free(rows);
}

static uint64_t now_nsec(void) {
        struct timespec ts;
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * UINT64_C(1000000000) + (uint64_t) ts.tv_nsec;
}

static double rate(uint64_t now, uint64_t before, double seconds) {
        if (now == UINT64_MAX || before == UINT64_MAX || now < before || seconds <= 0)
                return -1;
        return (double) (now - before) / seconds;
}

static int sample(const CgroupControllerMap *map, const TopRow *prev, size_t n_prev, double seconds, TopRow **ret,
                  size_t *ret_n) {
        MachineCgroup *l = NULL;
        TopRow *rows = NULL;
        size_t n = 0;
        int r;

        r = ctl_machine_cgroups(map, &l, &n);
        if (r < 0)
                return r;
        rows = new0(TopRow, n + 1);
        if (!rows) {
                machine_cgroups_free(l, n);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                const TopRow *p = find_row(prev, n_prev, l[i].name);
                rows[i].name = TAKE_PTR(l[i].name);
                (void) cgroup_accounting_read(map, l[i].rel, &rows[i].acc);
                rows[i].cpu_percent = p ? rate(rows[i].acc.cpu_usage_nsec, p->acc.cpu_usage_nsec, seconds) / 1e7 : -1;
                rows[i].read_rate = p ? rate(rows[i].acc.io_read_bytes, p->acc.io_read_bytes, seconds) : -1;
                rows[i].write_rate = p ? rate(rows[i].acc.io_write_bytes, p->acc.io_write_bytes, seconds) : -1;
        }
        machine_cgroups_free(l, n);
        qsort(rows, n, sizeof(TopRow), compare_rows);
        *ret = rows;
        *ret_n = n;
        return 0;
}

static char *cell_double(const CtlArgs *args, double v, bool bytes, const char *suffix) {
        char buf[32];
        if (v < 0)
                return NULL;
        if (bytes && args->json == JSON_OFF) {
                char b[16];
                return strjoin(ctl_format_bytes((uint64_t) v, b), "/s");
        }
        (void) snprintf(buf, sizeof buf, args->json == JSON_OFF ? "%.1f%s" : "%.1f", v,
                        args->json == JSON_OFF ? suffix : "");
        return strdup(buf);
}

static int print_top(const CtlArgs *args, const TopRow *rows, size_t n) {
        static const char *const cols[] = { "MACHINE", "CPU:number", "MEMORY:number", "TASKS:number",
                                            "IO-READ:number", "IO-WRITE:number", NULL };
        _cleanup_(scols_unref_tablep) struct libscols_table *t = ctl_table_new(args, "machines", cols);

        if (!t)
                return log_oom();
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *cpu = cell_double(args, rows[i].cpu_percent, false, "%");
                _cleanup_free_ char *mem = ctl_accounting_cell(args, &rows[i].acc, CTL_FIELD_MEMORY);
                _cleanup_free_ char *tasks = ctl_accounting_cell(args, &rows[i].acc, CTL_FIELD_TASKS);
                _cleanup_free_ char *rd = cell_double(args, rows[i].read_rate, true, "");
                _cleanup_free_ char *wr = cell_double(args, rows[i].write_rate, true, "");
                const char *cells[] = { rows[i].name, cpu, mem, tasks, rd, wr };
                if (ctl_table_add_row(t, cells) < 0)
                        return log_oom();
        }
        return ctl_table_print(t);
}

/* systemd-cgtop for machines: CPU (from the second sample on), memory, tasks and I/O rates. */
int verb_top(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]) {
        _cleanup_(cgroup_controllers_done) CgroupControllerMap map = {};
        TopRow *prev = NULL;
        size_t n_prev = 0;
        uint64_t delay = args->delay_usec ?: UINT64_C(1000000), last = now_nsec();
        bool tty = isatty(STDOUT_FILENO) && args->json == JSON_OFF;
        int r;

        r = cgroup_controllers_detect(&map);
        if (r < 0)
                return log_error_errno(r, "Failed to find the cgroup controllers of this host: %m");
        for (unsigned i = 0; args->iterations == 0 || i < args->iterations; i++) {
                TopRow *rows = NULL;
                size_t n = 0;
                uint64_t now = now_nsec();

                r = sample(&map, prev, n_prev, (double) (now - last) / 1e9, &rows, &n);
                if (r < 0) {
                        rows_free(prev, n_prev);
                        return log_error_errno(r, "Failed to read the machines' cgroups: %m");
                }
                rows_free(prev, n_prev);
                prev = rows;
                n_prev = n;
                last = now;
                if (tty)
                        fputs("\033[H\033[2J", stdout);
                /* the first sample has no CPU figures yet: with a count, only later ones are shown */
                if (i > 0 || args->iterations == 1 || tty) {
                        r = print_top(args, rows, n);
                        if (r < 0)
                                break;
                        fflush(stdout);
                }
                if (args->iterations == 0 || i + 1 < args->iterations)
                        (void) usleep((useconds_t) MIN(delay, UINT64_C(3600000000)));
        }
        rows_free(prev, n_prev);
        return r < 0 ? r : 0;
}

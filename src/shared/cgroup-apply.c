/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc-util.h"
#include "bpf-devices.h"
#include "cgroup-apply.h"
#include "cgroup-apply-internal.h"
#include "fileio.h"
#include "libmount-dl.h"
#include "parse-util.h"
#include "string-util.h"
#include "strv.h"

#define CLAMP(x, lo, hi) MIN(MAX((x), (lo)), (hi))

static const char *const controller_v2[_CGROUP_CTRL_MAX] = {
        [CGROUP_CTRL_CPU] = "cpu",       [CGROUP_CTRL_CPUACCT] = "cpuacct", [CGROUP_CTRL_CPUSET] = "cpuset",
        [CGROUP_CTRL_MEMORY] = "memory", [CGROUP_CTRL_IO] = "io",           [CGROUP_CTRL_PIDS] = "pids",
        [CGROUP_CTRL_DEVICES] = "devices",
};

const char *cgroup_controller_to_string(CgroupController c) {
        return c >= 0 && c < _CGROUP_CTRL_MAX ? controller_v2[c] : NULL;
}

const char *cgroup_controller_v1_name(CgroupController c) {
        return c == CGROUP_CTRL_IO ? "blkio" : cgroup_controller_to_string(c);
}

CgroupController cgroup_controller_from_string(const char *s) {
        for (int i = 0; i < _CGROUP_CTRL_MAX; i++)
                if (s && (streq(s, controller_v2[i]) || streq(s, cgroup_controller_v1_name(i))))
                        return i;
        return _CGROUP_CTRL_INVALID;
}

void cgroup_controllers_done(CgroupControllerMap *m) {
        for (int i = 0; i < _CGROUP_CTRL_MAX; i++)
                free(m->v1[i]);
        free(m->v2);
        *m = (CgroupControllerMap) {};
}

const char *cgroup_controller_location(const CgroupControllerMap *m, CgroupController c) {
        return m->v1[c] ? "v1" : m->v2 && m->on_v2[c] ? "v2" : "none";
}

/* A mount under /sys/fs/cgroup replaces one found elsewhere, never the other way round. */
static int take_mount(char **slot, const char *target) {
        if (*slot && (startswith(*slot, "/sys/fs/cgroup") || !startswith(target, "/sys/fs/cgroup")))
                return 0;
        return free_and_strdup(slot, target) < 0 ? -ENOMEM : 0;
}

static int read_v2_controllers(CgroupControllerMap *m) {
        _cleanup_free_ char *p = strjoin(m->v2, "/cgroup.controllers"), *line = NULL;
        char *save = NULL;

        if (!p)
                return -ENOMEM;
        if (read_one_line_file(p, &line) < 0)
                return 0;
        for (char *w = strtok_r(line, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
                CgroupController c = cgroup_controller_from_string(w);
                if (c >= 0 && !streq(w, "blkio"))
                        m->on_v2[c] = true;
        }
        return 0;
}

int cgroup_controllers_detect(CgroupControllerMap *ret) {
        struct libmnt_table *t = NULL;
        struct libmnt_iter *it = NULL;
        struct libmnt_fs *fs;
        CgroupControllerMap m = {};
        int r = dlopen_libmount();

        if (r < 0)
                return r;
        t = sym_mnt_new_table();
        it = sym_mnt_new_iter(MNT_ITER_FORWARD);
        if (!t || !it) {
                r = -ENOMEM;
                goto finish;
        }
        r = sym_mnt_table_parse_file(t, "/proc/self/mountinfo");
        if (r < 0)
                goto finish;
        while (r >= 0 && sym_mnt_table_next_fs(t, it, &fs) == 0) {
                const char *type = sym_mnt_fs_get_fstype(fs), *target = sym_mnt_fs_get_target(fs);
                const char *opts = sym_mnt_fs_get_fs_options(fs);
                if (!type || !target)
                        continue;
                if (streq(type, "cgroup2"))
                        r = take_mount(&m.v2, target);
                else if (streq(type, "cgroup") && opts)
                        for (int i = 0; i < _CGROUP_CTRL_MAX && r >= 0; i++)
                                if (sym_mnt_optstr_get_option(opts, cgroup_controller_v1_name(i), NULL, NULL) == 0)
                                        r = take_mount(&m.v1[i], target);
        }
        if (r >= 0 && m.v2)
                r = read_v2_controllers(&m);
finish:
        sym_mnt_free_iter(it);
        sym_mnt_unref_table(t);
        if (r < 0) {
                cgroup_controllers_done(&m);
                return r;
        }
        *ret = m;
        return 0;
}

int apply_warn(Apply *a, const char *fmt, ...) {
        char *s = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        if (!s)
                return -ENOMEM;
        return strv_consume(a->warnings, s);
}

char *apply_attr_path(const char *mount, const char *rel, const char *file) {
        return isempty(rel) ? strjoin(mount, "/", file) : strjoin(mount, "/", rel, "/", file);
}

int apply_write(Apply *a, const char *mount, const char *file, const char *value) {
        _cleanup_free_ char *p = apply_attr_path(mount, a->rel, file);
        int r;

        if (!p)
                return -ENOMEM;
        r = write_string_file(p, value);
        if (r < 0 && a->error && !*a->error && asprintf(a->error, "Failed to write '%s' to %s: %s", value, p,
                                                         strerror(-r)) < 0)
                *a->error = NULL;
        return r;
}

bool apply_attr_exists(const char *mount, const char *rel, const char *file) {
        _cleanup_free_ char *p = apply_attr_path(mount, rel, file);
        return p && access(p, F_OK) >= 0;
}

/* "+memory" into cgroup.subtree_control of the root and every ancestor of rel, top-down. */
static int enable_v2(Apply *a, CgroupController c) {
        _cleanup_free_ char *want = strjoin("+", cgroup_controller_to_string(c)), *parent = strdup(a->rel);
        const char *save_rel = a->rel;
        char *p;
        int r;

        if (!want || !parent)
                return -ENOMEM;
        a->rel = "";
        r = apply_write(a, a->map->v2, "cgroup.subtree_control", want);
        for (p = strchr(parent, '/'); r >= 0 && p; p = strchr(p + 1, '/')) {
                *p = 0;
                a->rel = parent;
                r = apply_write(a, a->map->v2, "cgroup.subtree_control", want);
                *p = '/';
        }
        a->rel = save_rel;
        return r;
}

/* Where controller c is for property prop: 1 with *ret_mount and *ret_v2 set, 0 (warned) if nowhere. */
int apply_locate(Apply *a, CgroupController c, CgroupProperty prop, const char **ret_mount, bool *ret_v2) {
        _cleanup_free_ char *offers = NULL, *p = NULL;
        int r;

        if (a->map->v1[c]) {
                *ret_mount = a->map->v1[c];
                *ret_v2 = false;
                return 1;
        }
        if (a->map->v2 && a->map->on_v2[c]) {
                r = enable_v2(a, c);
                if (r < 0)
                        return r;
                *ret_mount = a->map->v2;
                *ret_v2 = true;
                return 1;
        }
        if (a->map->v2 && (p = strjoin(a->map->v2, "/cgroup.controllers")))
                (void) read_one_line_file(p, &offers);
        r = apply_warn(a, "%s= not applied: this host has no '%s' controller (no cgroup v1 hierarchy has it%s%s%s).",
                 cgroup_property_to_string(prop), cgroup_controller_v1_name(c),
                 a->map->v2 ? ", and cgroup2 offers " : "", a->map->v2 ? (isempty(offers) ? "none" : "only: ") : "",
                 a->map->v2 && offers ? offers : "");
        return r < 0 ? r : 0;
}

const char *apply_fmt_u64(char buf[static 32], uint64_t v, const char *max) {
        if (v == CGROUP_LIMIT_MAX)
                return max;
        (void) snprintf(buf, 32, "%" PRIu64, v);
        return buf;
}

static int apply_memory_v1(Apply *a, const char *mount) {
        const CgroupLimits *l = a->limits;
        char buf[32], buf2[32];
        int r;

        if (cgroup_limits_has(l, CGROUP_PROP_MEMORY_MAX)) {
                const char *v = apply_fmt_u64(buf, l->memory_max, "-1");
                r = apply_write(a, mount, "memory.limit_in_bytes", v);
                if (r == -EINVAL && apply_attr_exists(mount, a->rel, "memory.memsw.limit_in_bytes")) {
                        /* memsw must stay >= the limit: raise it first, and set it again below */
                        (void) apply_write(a, mount, "memory.memsw.limit_in_bytes", v);
                        if (a->error)
                                *a->error = mfree(*a->error);
                        r = apply_write(a, mount, "memory.limit_in_bytes", v);
                }
                if (r < 0)
                        return r;
        }
        if (cgroup_limits_has(l, CGROUP_PROP_MEMORY_SWAP_MAX)) {
                if (!apply_attr_exists(mount, a->rel, "memory.memsw.limit_in_bytes"))
                        r = apply_warn(a, "MemorySwapMax= not applied: the v1 memory controller has no swap accounting "
                                 "(boot with swapaccount=1).");
                else if (!cgroup_limits_has(l, CGROUP_PROP_MEMORY_MAX) || l->memory_max == CGROUP_LIMIT_MAX)
                        r = apply_warn(a, "MemorySwapMax= not applied: on cgroup v1 it needs a finite MemoryMax= "
                                 "(memory.memsw.limit_in_bytes counts memory and swap together).");
                else
                        r = apply_write(a, mount, "memory.memsw.limit_in_bytes",
                                       l->memory_swap_max == CGROUP_LIMIT_MAX ? "-1" :
                                       apply_fmt_u64(buf2, l->memory_max + MIN(l->memory_swap_max, UINT64_C(1) << 62), "-1"));
                if (r < 0)
                        return r;
        }
        if (cgroup_limits_has(l, CGROUP_PROP_MEMORY_HIGH)) {
                r = apply_warn(a, "MemoryHigh= not applied: the v1 memory controller has no equivalent of memory.high.");
                if (r < 0)
                        return r;
        }
        if (cgroup_limits_has(l, CGROUP_PROP_MEMORY_LOW)) {
                r = apply_warn(a, "MemoryLow= not applied: the v1 memory controller has no equivalent of memory.low.");
                if (r < 0)
                        return r;
        }
        return 0;
}

static int apply_memory(Apply *a) {
        static const struct {
                CgroupProperty prop;
                const char *file;
                size_t offset;
        } v2[] = {
                { CGROUP_PROP_MEMORY_MAX, "memory.max", offsetof(CgroupLimits, memory_max) },
                { CGROUP_PROP_MEMORY_HIGH, "memory.high", offsetof(CgroupLimits, memory_high) },
                { CGROUP_PROP_MEMORY_LOW, "memory.low", offsetof(CgroupLimits, memory_low) },
                { CGROUP_PROP_MEMORY_SWAP_MAX, "memory.swap.max", offsetof(CgroupLimits, memory_swap_max) },
        };
        const CgroupLimits *l = a->limits;
        CgroupProperty first = _CGROUP_PROP_INVALID;
        const char *mount;
        bool is_v2;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(v2) && first < 0; i++)
                if (cgroup_limits_has(l, v2[i].prop))
                        first = v2[i].prop;
        if (first < 0)
                return 0;
        r = apply_locate(a, CGROUP_CTRL_MEMORY, first, &mount, &is_v2);
        if (r <= 0)
                return r; /* an error, or warned about once */
        if (!is_v2)
                return apply_memory_v1(a, mount);
        for (size_t i = 0; i < ELEMENTSOF(v2); i++) {
                char buf[32];
                if (!cgroup_limits_has(l, v2[i].prop))
                        continue;
                r = apply_write(a, mount, v2[i].file, apply_fmt_u64(buf, *(const uint64_t *) ((const char *) l + v2[i].offset),
                                                             "max"));
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The quota per second already on the cgroup, for a new period alone. */
static uint64_t current_quota_per_sec(const char *mount, const char *rel, bool is_v2) {
        _cleanup_free_ char *p = NULL, *q = NULL, *line = NULL, *pline = NULL;
        uint64_t quota, period;

        if (is_v2) {
                char qs[32];
                p = apply_attr_path(mount, rel, "cpu.max");
                if (!p || read_one_line_file(p, &line) < 0 || sscanf(line, "%31s %" SCNu64, qs, &period) != 2 ||
                    streq(qs, "max") || safe_atou64(qs, &quota) < 0)
                        return CGROUP_LIMIT_MAX;
        } else {
                p = apply_attr_path(mount, rel, "cpu.cfs_quota_us");
                q = apply_attr_path(mount, rel, "cpu.cfs_period_us");
                if (!p || !q || read_one_line_file(p, &line) < 0 || read_one_line_file(q, &pline) < 0 ||
                    line[0] == '-' || safe_atou64(line, &quota) < 0 || safe_atou64(pline, &period) < 0)
                        return CGROUP_LIMIT_MAX;
        }
        return period > 0 ? quota * 1000000 / period : CGROUP_LIMIT_MAX;
}

static int apply_cpu_quota(Apply *a, const char *mount, bool is_v2) {
        const CgroupLimits *l = a->limits;
        uint64_t period = l->cpu_quota_period_usec ?: 100000, per_sec, quota;
        char buf[64], qbuf[32];
        int r;

        per_sec = cgroup_limits_has(l, CGROUP_PROP_CPU_QUOTA) ? l->cpu_quota_per_sec_usec :
                                                                 current_quota_per_sec(mount, a->rel, is_v2);
        quota = per_sec == CGROUP_LIMIT_MAX ? CGROUP_LIMIT_MAX : MAX(per_sec * period / 1000000, UINT64_C(1000));
        if (is_v2) {
                (void) snprintf(buf, sizeof buf, "%s %" PRIu64, apply_fmt_u64(qbuf, quota, "max"), period);
                return apply_write(a, mount, "cpu.max", buf);
        }
        (void) snprintf(buf, sizeof buf, "%" PRIu64, period);
        r = apply_write(a, mount, "cpu.cfs_period_us", buf);
        if (r < 0)
                return r;
        return apply_write(a, mount, "cpu.cfs_quota_us", apply_fmt_u64(qbuf, quota, "-1"));
}

static int apply_cpu(Apply *a) {
        const CgroupLimits *l = a->limits;
        CgroupProperty first = cgroup_limits_has(l, CGROUP_PROP_CPU_QUOTA)        ? CGROUP_PROP_CPU_QUOTA :
                               cgroup_limits_has(l, CGROUP_PROP_CPU_QUOTA_PERIOD) ? CGROUP_PROP_CPU_QUOTA_PERIOD :
                               cgroup_limits_has(l, CGROUP_PROP_CPU_WEIGHT)       ? CGROUP_PROP_CPU_WEIGHT :
                               cgroup_limits_has(l, CGROUP_PROP_CPU_SHARES)       ? CGROUP_PROP_CPU_SHARES :
                                                                                    _CGROUP_PROP_INVALID;
        const char *mount;
        bool is_v2;
        char buf[32];
        int r;

        if (first < 0)
                return 0;
        r = apply_locate(a, CGROUP_CTRL_CPU, first, &mount, &is_v2);
        if (r <= 0)
                return r;
        if (cgroup_limits_has(l, CGROUP_PROP_CPU_QUOTA) || cgroup_limits_has(l, CGROUP_PROP_CPU_QUOTA_PERIOD)) {
                r = apply_cpu_quota(a, mount, is_v2);
                if (r < 0)
                        return r;
        }
        if (cgroup_limits_has(l, CGROUP_PROP_CPU_WEIGHT) || cgroup_limits_has(l, CGROUP_PROP_CPU_SHARES)) {
                /* systemd's linear mapping: weight = shares * 100 / 1024 */
                uint64_t v;
                if (is_v2)
                        v = cgroup_limits_has(l, CGROUP_PROP_CPU_WEIGHT) ? l->cpu_weight :
                                                                            CLAMP(l->cpu_shares * 100 / 1024, 1, 10000);
                else
                        v = cgroup_limits_has(l, CGROUP_PROP_CPU_SHARES) ? l->cpu_shares :
                                                                            CLAMP(l->cpu_weight * 1024 / 100, 2, 262144);
                (void) snprintf(buf, sizeof buf, "%" PRIu64, v);
                r = apply_write(a, mount, is_v2 ? "cpu.weight" : "cpu.shares", buf);
        }
        return r;
}

static int apply_cpuset(Apply *a) {
        const CgroupLimits *l = a->limits;
        const char *mount;
        bool is_v2;
        int r = 0;

        if (cgroup_limits_has(l, CGROUP_PROP_ALLOWED_CPUS)) {
                r = apply_locate(a, CGROUP_CTRL_CPUSET, CGROUP_PROP_ALLOWED_CPUS, &mount, &is_v2);
                if (r > 0)
                        r = apply_write(a, mount, "cpuset.cpus", l->allowed_cpus);
        }
        if (r >= 0 && cgroup_limits_has(l, CGROUP_PROP_ALLOWED_MEMORY_NODES)) {
                r = apply_locate(a, CGROUP_CTRL_CPUSET, CGROUP_PROP_ALLOWED_MEMORY_NODES, &mount, &is_v2);
                if (r > 0)
                        r = apply_write(a, mount, "cpuset.mems", l->allowed_memory_nodes);
        }
        return r;
}

static int apply_pids(Apply *a) {
        const char *mount;
        bool is_v2;
        char buf[32];
        int r;

        if (!cgroup_limits_has(a->limits, CGROUP_PROP_TASKS_MAX))
                return 0;
        r = apply_locate(a, CGROUP_CTRL_PIDS, CGROUP_PROP_TASKS_MAX, &mount, &is_v2);
        if (r <= 0)
                return r;
        return apply_write(a, mount, "pids.max", apply_fmt_u64(buf, a->limits->tasks_max, "max"));
}

int cgroup_limits_apply(const CgroupControllerMap *m, const char *rel, const CgroupLimits *l, bool apply_devices,
                        char ***warnings, char **ret_error) {
        Apply a = { .map = m, .rel = rel, .limits = l, .warnings = warnings, .error = ret_error };
        int r;

        if (ret_error)
                *ret_error = NULL;
        r = apply_memory(&a);
        if (r >= 0)
                r = apply_cpu(&a);
        if (r >= 0)
                r = apply_cpuset(&a);
        if (r >= 0)
                r = apply_pids(&a);
        if (r >= 0)
                r = apply_io(&a);
        if (r >= 0 && apply_devices)
                r = apply_devices_policy(&a);
        return r < 0 ? r : 0;
}

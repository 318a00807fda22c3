/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc-util.h"
#include "log.h"
#include "parse-util.h"
#include "spawn-limits.h"
#include "string-util.h"
#include "strv.h"

LxcfsMode lxcfs_mode_from_string(const char *s) {
        int b;

        if (s && streq(s, "auto"))
                return LXCFS_AUTO;
        b = s ? parse_boolean(s) : -EINVAL;
        return b < 0 ? _LXCFS_MODE_INVALID : b ? LXCFS_YES : LXCFS_NO;
}

void spawn_limits_done(SpawnLimits *l) {
        cgroup_limits_done(&l->cgroup);
        free(l->slice);
        for (int i = 0; i < RLIMIT_NLIMITS; i++)
                free(l->rlimits[i]);
        if (l->cpu_affinity)
                CPU_FREE(l->cpu_affinity);
        *l = (SpawnLimits) {};
}

static const char *const rlimit_names[RLIMIT_NLIMITS] = {
        [RLIMIT_CPU] = "CPU",         [RLIMIT_FSIZE] = "FSIZE",         [RLIMIT_DATA] = "DATA",
        [RLIMIT_STACK] = "STACK",     [RLIMIT_CORE] = "CORE",           [RLIMIT_RSS] = "RSS",
        [RLIMIT_NPROC] = "NPROC",     [RLIMIT_NOFILE] = "NOFILE",       [RLIMIT_MEMLOCK] = "MEMLOCK",
        [RLIMIT_AS] = "AS",           [RLIMIT_LOCKS] = "LOCKS",         [RLIMIT_SIGPENDING] = "SIGPENDING",
        [RLIMIT_MSGQUEUE] = "MSGQUEUE", [RLIMIT_NICE] = "NICE",         [RLIMIT_RTPRIO] = "RTPRIO",
        [RLIMIT_RTTIME] = "RTTIME",
};

const char *rlimit_to_string(int r) {
        return r >= 0 && r < RLIMIT_NLIMITS ? rlimit_names[r] : NULL;
}

int rlimit_from_string(const char *s) {
        const char *n = s ? (startswith(s, "RLIMIT_") ?: startswith(s, "Limit") ?: s) : NULL;

        for (int i = 0; n && i < RLIMIT_NLIMITS; i++)
                if (rlimit_names[i] && streq(n, rlimit_names[i]))
                        return i;
        return -EINVAL;
}

static int rlimit_value(int resource, const char *s, rlim_t *ret) {
        uint64_t v;
        int r;

        if (streq(s, "infinity")) {
                *ret = RLIM_INFINITY;
                return 0;
        }
        /* sizes may have suffixes (as in systemd), counts and times may not */
        if (IN_SET(resource, RLIMIT_FSIZE, RLIMIT_DATA, RLIMIT_STACK, RLIMIT_CORE, RLIMIT_RSS, RLIMIT_MEMLOCK,
                   RLIMIT_AS, RLIMIT_MSGQUEUE))
                r = parse_size(s, &v);
        else
                r = s[0] == '-' ? -EINVAL : safe_atou64(s, &v);
        if (r < 0)
                return r;
        if (v >= (uint64_t) RLIM_INFINITY)
                return -ERANGE;
        *ret = (rlim_t) v;
        return 0;
}

int rlimit_parse(int resource, const char *s, struct rlimit *ret) {
        _cleanup_free_ char *soft = strdup(s);
        char *colon;
        struct rlimit rl;
        int r;

        if (!soft)
                return -ENOMEM;
        colon = strchr(soft, ':');
        if (colon)
                *colon = 0;
        r = rlimit_value(resource, soft, &rl.rlim_cur);
        if (r < 0)
                return r;
        rl.rlim_max = rl.rlim_cur;
        if (colon) {
                r = rlimit_value(resource, colon + 1, &rl.rlim_max);
                if (r < 0)
                        return r;
        }
        if (rl.rlim_cur > rl.rlim_max)
                return -EDOM;
        *ret = rl;
        return 0;
}

int cpu_affinity_parse(const char *s, cpu_set_t **ret, size_t *ret_ncpus) {
        _cleanup_(cgroup_limits_done) CgroupLimits l = {};
        _cleanup_free_ char *a = strjoin("AllowedCPUs=", s), *err = NULL;
        size_t ncpus = 8192, size = CPU_ALLOC_SIZE(ncpus);
        cpu_set_t *set;
        int r;

        if (!a)
                return -ENOMEM;
        r = cgroup_limits_parse_assignment(&l, a, &err); /* the same list syntax and checks */
        if (r < 0)
                return r;
        set = CPU_ALLOC(ncpus);
        if (!set)
                return -ENOMEM;
        CPU_ZERO_S(size, set);
        for (const char *p = l.allowed_cpus; *p;) {
                char *end;
                unsigned long from = strtoul(p, &end, 10), to = from;
                if (*end == '-')
                        to = strtoul(end + 1, &end, 10);
                for (unsigned long c = from; c <= to; c++)
                        CPU_SET_S(c, size, set);
                p = *end == ',' ? end + 1 : end;
        }
        *ret = set;
        *ret_ncpus = ncpus;
        return 0;
}

static int set_rlimit(SpawnLimits *l, const char *name, const char *value, const char *what) {
        int resource = rlimit_from_string(name), r;
        struct rlimit rl;

        if (resource < 0)
                return log_error_errno(-EINVAL, "Unknown resource limit '%s' in %s (use NOFILE, NPROC, CORE, "
                                                "MEMLOCK, ... as in setrlimit(2)).", name, what);
        r = rlimit_parse(resource, value, &rl);
        if (r == -EDOM)
                return log_error_errno(r, "Soft limit above the hard limit in %s%s.", what, value);
        if (r < 0)
                return log_error_errno(r, "Invalid value '%s' for %s: use SOFT[:HARD], each a number or "
                                          "'infinity'.", value, what);
        if (!l->rlimits[resource] && !(l->rlimits[resource] = new(struct rlimit, 1)))
                return log_oom();
        *l->rlimits[resource] = rl;
        return 0;
}

static int parse_oom_score_adjust(SpawnLimits *l, const char *arg) {
        int v;

        if (safe_atoi(arg, &v) < 0 || v < -1000 || v > 1000)
                return log_error_errno(-EINVAL, "Invalid OOM score adjustment '%s': use a number from -1000 to "
                                                "1000.", arg);
        l->oom_score_adjust = v;
        l->oom_score_adjust_set = true;
        return 0;
}

static int parse_cpu_affinity(SpawnLimits *l, const char *arg) {
        int r;

        if (l->cpu_affinity) {
                CPU_FREE(l->cpu_affinity);
                l->cpu_affinity = NULL;
        }
        r = cpu_affinity_parse(arg, &l->cpu_affinity, &l->cpu_affinity_ncpus);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(r, "Invalid CPU affinity '%s': use a list like '0-3,5'.", arg);
        return 0;
}

int spawn_limits_parse_option(SpawnLimits *l, int opt, const char *arg) {
        _cleanup_free_ char *err = NULL, *path = NULL;
        char *eq;
        int r;

        switch (opt) {
        case ARG_PROPERTY:
                r = cgroup_limits_parse_assignment(&l->cgroup, arg, &err);
                if (r == -ENOMEM)
                        return log_oom();
                if (r < 0)
                        return log_error_errno(r, "%s", err);
                return 0;
        case ARG_SLICE:
                if (cgroup_slice_path(arg, &path) < 0)
                        return log_error_errno(-EINVAL, "Invalid slice name '%s': use a name like 'machine.slice' or "
                                                        "'machine-web.slice'.", arg);
                return free_and_strdup(&l->slice, arg) < 0 ? log_oom() : 0;
        case ARG_RLIMIT: {
                _cleanup_free_ char *name = strdup(arg);
                if (!name)
                        return log_oom();
                eq = strchr(name, '=');
                if (!eq)
                        return log_error_errno(-EINVAL, "Invalid --rlimit=%s: use NAME=SOFT[:HARD].", arg);
                *eq = 0;
                return set_rlimit(l, name, eq + 1, "--rlimit=");
        }
        case ARG_OOM_SCORE_ADJUST:
                return parse_oom_score_adjust(l, arg);
        case ARG_CPU_AFFINITY:
                return parse_cpu_affinity(l, arg);
        case ARG_LXCFS:
                l->lxcfs = lxcfs_mode_from_string(arg);
                if (l->lxcfs < 0)
                        return log_error_errno(-EINVAL, "Invalid --lxcfs= value '%s': use auto, yes or no.", arg);
                return 0;
        }
        return 1;
}

int spawn_limits_parse_setting(SpawnLimits *l, const char *key, const char *value) {
        int r;

        if (startswith(key, "Limit")) {
                _cleanup_free_ char *what = strjoin(key, "=");
                if (!what)
                        return -ENOMEM;
                r = set_rlimit(l, key, value, what);
        } else if (streq(key, "OOMScoreAdjust"))
                r = parse_oom_score_adjust(l, value);
        else if (streq(key, "CPUAffinity"))
                r = parse_cpu_affinity(l, value);
        else
                return 0;
        return r < 0 ? r : 1;
}

int spawn_limits_merge_setting(SpawnLimits *dst, const SpawnLimits *src) {
        for (int i = 0; i < RLIMIT_NLIMITS; i++) {
                if (!src->rlimits[i] || dst->rlimits[i])
                        continue;
                dst->rlimits[i] = new(struct rlimit, 1);
                if (!dst->rlimits[i])
                        return -ENOMEM;
                *dst->rlimits[i] = *src->rlimits[i];
        }
        if (src->oom_score_adjust_set && !dst->oom_score_adjust_set) {
                dst->oom_score_adjust = src->oom_score_adjust;
                dst->oom_score_adjust_set = true;
        }
        if (src->cpu_affinity && !dst->cpu_affinity) {
                size_t size = CPU_ALLOC_SIZE(src->cpu_affinity_ncpus);
                dst->cpu_affinity = CPU_ALLOC(src->cpu_affinity_ncpus);
                if (!dst->cpu_affinity)
                        return -ENOMEM;
                memcpy(dst->cpu_affinity, src->cpu_affinity, size);
                dst->cpu_affinity_ncpus = src->cpu_affinity_ncpus;
        }
        return 0;
}

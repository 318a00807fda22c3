/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Resource limits of a machine, with nspawn's options: --property=, --slice=, --rlimit=,
 * --oom-score-adjust=, --cpu-affinity= (and the [Exec] LimitXXX=, OOMScoreAdjust=, CPUAffinity=
 * keys of .nspawn files), and --lxcfs=. Everything is checked while parsing, before anything is
 * created. */

#include <getopt.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/resource.h>

#include "cgroup-limits.h"

typedef enum LxcfsMode {
        LXCFS_AUTO, /* bind lxcfs's files where lxcfs runs */
        LXCFS_YES,  /* refuse to start without lxcfs */
        LXCFS_NO,
        _LXCFS_MODE_MAX,
        _LXCFS_MODE_INVALID = -EINVAL,
} LxcfsMode;

LxcfsMode lxcfs_mode_from_string(const char *s) _pure_;

typedef struct SpawnLimits {
        CgroupLimits cgroup;               /* --property= */
        char *slice;                       /* --slice=; NULL: machine.slice */
        struct rlimit *rlimits[RLIMIT_NLIMITS];
        int oom_score_adjust;
        bool oom_score_adjust_set;
        cpu_set_t *cpu_affinity; /* CPU_ALLOC'ed, cpu_affinity_ncpus wide */
        size_t cpu_affinity_ncpus;
        LxcfsMode lxcfs;
} SpawnLimits;

void spawn_limits_done(SpawnLimits *l);

enum {
        ARG_PROPERTY = 0x400,
        ARG_SLICE,
        ARG_RLIMIT,
        ARG_OOM_SCORE_ADJUST,
        ARG_CPU_AFFINITY,
        ARG_LXCFS,
};

#define SPAWN_LIMITS_OPTIONS                                                         \
        { "property", required_argument, NULL, ARG_PROPERTY },                       \
        { "slice", required_argument, NULL, ARG_SLICE },                             \
        { "rlimit", required_argument, NULL, ARG_RLIMIT },                           \
        { "oom-score-adjust", required_argument, NULL, ARG_OOM_SCORE_ADJUST },       \
        { "cpu-affinity", required_argument, NULL, ARG_CPU_AFFINITY },               \
        { "lxcfs", required_argument, NULL, ARG_LXCFS }

#define SPAWN_LIMITS_HELP                                                                              \
        "Resources:\n"                                                                                 \
        "     --property=NAME=VALUE  Set a resource property (MemoryMax=, CPUQuota=, TasksMax=, ...)\n"  \
        "  -S --slice=SLICE          Place the machine in this slice (default: machine.slice)\n"        \
        "     --rlimit=NAME=LIMIT    Set a resource limit of PID 1 (NOFILE=1024[:4096])\n"              \
        "     --oom-score-adjust=VALUE  Adjust the OOM score of PID 1 (-1000..1000)\n"                  \
        "     --cpu-affinity=CPUS    Run the machine on these CPUs only (\"0-1,3\")\n"                   \
        "     --lxcfs=MODE           Bind lxcfs's /proc and /sys files: auto, yes, no (default: auto)\n\n"

/* Returns 1 for an option that is not ours, 0 if parsed, <0 (logged) for a bad value. */
int spawn_limits_parse_option(SpawnLimits *l, int opt, const char *arg);

/* [Exec] LimitXXX=, OOMScoreAdjust=, CPUAffinity=: 1 if key is one of them and set, 0 if key is
 * not ours, <0 for a bad value. */
int spawn_limits_parse_setting(SpawnLimits *l, const char *key, const char *value);
/* Copies the process limits that src sets into dst. */
int spawn_limits_merge_setting(SpawnLimits *dst, const SpawnLimits *src);

/* "NOFILE" or "RLIMIT_NOFILE" -> RLIMIT_NOFILE; -EINVAL if unknown. */
int rlimit_from_string(const char *s);
const char *rlimit_to_string(int r);
/* "SOFT[:HARD]", each a number or "infinity". */
int rlimit_parse(int resource, const char *s, struct rlimit *ret);
/* "0-3,5" -> a CPU set. */
int cpu_affinity_parse(const char *s, cpu_set_t **ret, size_t *ret_ncpus);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Resource-control properties with systemd's names and syntax (MemoryMax=, CPUQuota=, TasksMax=, ...):
 * parsed and checked here before anything is created, then written by cgroup-apply.h into whichever
 * cgroup layout each controller lives on. Used by berth-spawn (--property=), berthd (CreateMachine's
 * scope properties, SetMachineProperties) and berthctl (set-property). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

#define CGROUP_LIMIT_MAX UINT64_MAX /* "infinity" */

typedef enum CgroupProperty {
        CGROUP_PROP_MEMORY_MAX,
        CGROUP_PROP_MEMORY_HIGH,
        CGROUP_PROP_MEMORY_LOW,
        CGROUP_PROP_MEMORY_SWAP_MAX,
        CGROUP_PROP_CPU_QUOTA,
        CGROUP_PROP_CPU_QUOTA_PERIOD,
        CGROUP_PROP_CPU_WEIGHT,
        CGROUP_PROP_CPU_SHARES,
        CGROUP_PROP_ALLOWED_CPUS,
        CGROUP_PROP_ALLOWED_MEMORY_NODES,
        CGROUP_PROP_TASKS_MAX,
        CGROUP_PROP_IO_WEIGHT,
        CGROUP_PROP_IO_DEVICE_WEIGHT,
        CGROUP_PROP_IO_READ_BANDWIDTH_MAX,
        CGROUP_PROP_IO_WRITE_BANDWIDTH_MAX,
        CGROUP_PROP_IO_READ_IOPS_MAX,
        CGROUP_PROP_IO_WRITE_IOPS_MAX,
        CGROUP_PROP_DEVICE_ALLOW,
        CGROUP_PROP_DEVICE_POLICY,
        _CGROUP_PROP_MAX,
        _CGROUP_PROP_INVALID = -EINVAL,
} CgroupProperty;

const char *cgroup_property_to_string(CgroupProperty p) _pure_;
/* Also accepts systemd's D-Bus spellings (CPUQuotaPerSecUSec, CPUQuotaPeriodUSec). */
CgroupProperty cgroup_property_from_string(const char *s) _pure_;

typedef enum CgroupDevicePolicy {
        CGROUP_DEVICE_POLICY_AUTO,   /* the machine's default device list, plus DeviceAllow= */
        CGROUP_DEVICE_POLICY_CLOSED, /* the same, for a machine */
        CGROUP_DEVICE_POLICY_STRICT, /* only what DeviceAllow= lists */
        _CGROUP_DEVICE_POLICY_MAX,
        _CGROUP_DEVICE_POLICY_INVALID = -EINVAL,
} CgroupDevicePolicy;

const char *cgroup_device_policy_to_string(CgroupDevicePolicy p) _pure_;
CgroupDevicePolicy cgroup_device_policy_from_string(const char *s) _pure_;

/* One per-device I/O setting: kind is one of the CGROUP_PROP_IO_* per-device properties. */
typedef struct CgroupIODevice {
        CgroupProperty kind;
        unsigned major, minor; /* the whole disk */
        uint64_t value;        /* CGROUP_LIMIT_MAX: no limit */
} CgroupIODevice;

typedef struct CgroupDeviceAllow {
        char type;     /* 'c' or 'b' */
        int major;     /* -1: any ("char-pts" style names resolve to one major) */
        int minor;     /* -1: any */
        char access[4]; /* subset of "rwm" */
} CgroupDeviceAllow;

typedef struct CgroupLimits {
        uint64_t mask; /* 1 << CgroupProperty for each property given */
        uint64_t memory_max, memory_high, memory_low, memory_swap_max;
        uint64_t cpu_quota_per_sec_usec; /* CGROUP_LIMIT_MAX: no quota */
        uint64_t cpu_quota_period_usec;
        uint64_t cpu_weight, cpu_shares;
        char *allowed_cpus, *allowed_memory_nodes; /* "0-1,3" */
        uint64_t tasks_max;
        uint64_t io_weight;
        CgroupIODevice *io;
        size_t n_io;
        CgroupDeviceAllow *devices;
        size_t n_devices;
        CgroupDevicePolicy device_policy;
        char **assignments; /* the canonical "NAME=VALUE" of each accepted assignment, in order */
} CgroupLimits;

void cgroup_limits_done(CgroupLimits *l);

static inline bool cgroup_limits_has(const CgroupLimits *l, CgroupProperty p) {
        return l->mask & (UINT64_C(1) << p);
}

/* Parses "NAME=VALUE" in systemctl set-property's syntax into l (a later assignment of the same
 * property wins; per-device ones add up). On failure returns a negative errno and, in *ret_error, a
 * one-line message that says what is wrong (-ENOENT unknown property, -EINVAL bad value, -ERANGE out
 * of range, -ENODEV no such device). Nothing is written anywhere. */
int cgroup_limits_parse_assignment(CgroupLimits *l, const char *assignment, char **ret_error);
/* All of them, stopping at the first bad one. */
int cgroup_limits_parse_strv(CgroupLimits *l, char *const *assignments, char **ret_error);
/* Copies what src sets into dst (src wins). */
int cgroup_limits_merge(CgroupLimits *dst, const CgroupLimits *src);

/* The property names, for --help and completions. */
extern const char *const cgroup_property_names[_CGROUP_PROP_MAX + 1];

/* "a-b.slice" -> "a.slice/a-b.slice", "-.slice" -> "". -EINVAL for a name that is not a slice. */
int cgroup_slice_path(const char *slice, char **ret);
/* "<slice path>/machine-<escaped name>.scope" */
int cgroup_machine_path_in_slice(const char *slice, const char *machine_name, char **ret);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Where each resource controller lives on this host (a cgroup v1 hierarchy, the cgroup2 hierarchy,
 * or nowhere), decided per controller from the mount table's super options and cgroup2's
 * cgroup.controllers, never from mount-point names; and the writers that turn CgroupLimits into the
 * v2 files or their v1 equivalents. Nothing here logs: what the layout cannot express comes back
 * as one-line warnings for the caller to show. */

#include <stdbool.h>
#include <stdint.h>

#include "cgroup-limits.h"
#include "macro.h"

typedef enum CgroupController {
        CGROUP_CTRL_CPU,
        CGROUP_CTRL_CPUACCT, /* v1 only; cgroup2 accounts CPU time in every cgroup's cpu.stat */
        CGROUP_CTRL_CPUSET,
        CGROUP_CTRL_MEMORY,
        CGROUP_CTRL_IO, /* "blkio" on v1 */
        CGROUP_CTRL_PIDS,
        CGROUP_CTRL_DEVICES, /* v1 only; cgroup2 uses a BPF program */
        _CGROUP_CTRL_MAX,
        _CGROUP_CTRL_INVALID = -EINVAL,
} CgroupController;

const char *cgroup_controller_to_string(CgroupController c) _pure_;    /* the v2 name ("io") */
const char *cgroup_controller_v1_name(CgroupController c) _pure_;      /* the v1 name ("blkio") */
CgroupController cgroup_controller_from_string(const char *s) _pure_; /* either name */

typedef struct CgroupControllerMap {
        char *v1[_CGROUP_CTRL_MAX]; /* mount point of the v1 hierarchy that has it, or NULL */
        char *v2;                   /* mount point of cgroup2, or NULL */
        bool on_v2[_CGROUP_CTRL_MAX]; /* listed in cgroup2's root cgroup.controllers */
} CgroupControllerMap;

/* From /proc/self/mountinfo (libmount): mounts below /sys/fs/cgroup are preferred. */
int cgroup_controllers_detect(CgroupControllerMap *ret);
void cgroup_controllers_done(CgroupControllerMap *m);
/* "v1", "v2" or "none". */
const char *cgroup_controller_location(const CgroupControllerMap *m, CgroupController c) _pure_;

/* Writes the properties set in l to the cgroup rel (relative to each hierarchy's root; it must exist
 * in the hierarchies of the controllers used), enabling cgroup2 controllers top-down on the way.
 * Properties the layout cannot express are skipped and named in *warnings (one line each). Returns
 * a negative errno, with *ret_error naming the file, if the kernel refused a value. DeviceAllow= and
 * DevicePolicy= are applied only with apply_devices (a launcher applies its own device list). */
int cgroup_limits_apply(const CgroupControllerMap *m, const char *rel, const CgroupLimits *l, bool apply_devices,
                        char ***warnings, char **ret_error);

/* What a machine uses, from whichever layout holds each controller. UINT64_MAX: unknown/no limit. */
typedef struct CgroupAccounting {
        uint64_t memory_current, memory_peak, memory_max;
        uint64_t tasks_current, tasks_max;
        uint64_t cpu_usage_nsec;
        uint64_t io_read_bytes, io_write_bytes;
} CgroupAccounting;
/* Nothing known (UINT64_MAX everywhere). */
#define CGROUP_ACCOUNTING_NULL                                                                          \
        ((CgroupAccounting) { .memory_current = UINT64_MAX, .memory_peak = UINT64_MAX,                 \
                              .memory_max = UINT64_MAX, .tasks_current = UINT64_MAX,                   \
                              .tasks_max = UINT64_MAX, .cpu_usage_nsec = UINT64_MAX,                   \
                              .io_read_bytes = UINT64_MAX, .io_write_bytes = UINT64_MAX })

int cgroup_accounting_read(const CgroupControllerMap *m, const char *rel, CgroupAccounting *ret);

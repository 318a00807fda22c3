/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The device policy on cgroup2: a BPF_PROG_TYPE_CGROUP_DEVICE program attached to the machine's
 * cgroup, which allows exactly the listed character devices (and mknod of anything, as the v1 policy
 * does), and nothing else. The kernel keeps it attached until the cgroup is removed. */

#include <stdint.h>

typedef struct DeviceRule {
        char type;      /* 'c' or 'b' */
        int32_t major;  /* -1: any */
        int32_t minor;  /* -1: any */
} DeviceRule;

/* Loads the program for rules and attaches it to the cgroup2 directory at path. */
int bpf_devices_attach(const char *cgroup_path, const DeviceRule *rules, unsigned n_rules);

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
        uint8_t access; /* DEVICE_ACCESS_* bits; 0: all */
} DeviceRule;

#define DEVICE_ACCESS_MKNOD 1 /* = BPF_DEVCG_ACC_MKNOD */
#define DEVICE_ACCESS_READ  2
#define DEVICE_ACCESS_WRITE 4
#define DEVICE_ACCESS_ALL   7

/* "rwm" -> bits */
uint8_t device_access_from_string(const char *s);

/* Loads the program for rules and attaches it to the cgroup2 directory at path. */
int bpf_devices_attach(const char *cgroup_path, const DeviceRule *rules, unsigned n_rules);

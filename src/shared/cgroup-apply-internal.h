/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the writers in cgroup-apply.c and cgroup-apply-io.c; not for other users. */

#include <stdbool.h>
#include <stdint.h>

#include "cgroup-apply.h"

typedef struct Apply {
        const CgroupControllerMap *map;
        const char *rel;
        const CgroupLimits *limits;
        char ***warnings;
        char **error; /* the first refused write */
} Apply;

_printf_(2, 3) int apply_warn(Apply *a, const char *fmt, ...);
char *apply_attr_path(const char *mount, const char *rel, const char *file);
int apply_write(Apply *a, const char *mount, const char *file, const char *value);
bool apply_attr_exists(const char *mount, const char *rel, const char *file);
/* 1 with the controller's mount (cgroup2 controllers enabled top-down), 0 if the host has none (warned). */
int apply_locate(Apply *a, CgroupController c, CgroupProperty prop, const char **ret_mount, bool *ret_v2);
const char *apply_fmt_u64(char buf[static 32], uint64_t v, const char *max);

int apply_io(Apply *a);
int apply_devices_policy(Apply *a);

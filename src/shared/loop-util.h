/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

/* A loop device attached with LOOP_CONFIGURE and LO_FLAGS_AUTOCLEAR: the kernel detaches it by itself
 * once the last fd is closed and nothing is mounted from it, so a crashed launcher leaks nothing.
 * No udev is needed: the node comes from devtmpfs. */
typedef struct LoopDevice {
        int fd;     /* open on /dev/loopN; keeps the device attached */
        int nr;
        char *node; /* "/dev/loopN" */
        uint64_t offset, size;
        bool read_only;
} LoopDevice;

/* Attaches [offset, offset+size) of the file or block device open as backing_fd (size 0: to the end). */
int loop_device_attach(int backing_fd, uint64_t offset, uint64_t size, bool read_only, LoopDevice **ret);
LoopDevice *loop_device_free(LoopDevice *d);
DEFINE_POINTER_CLEANUP(LoopDevice *, loop_device_free);

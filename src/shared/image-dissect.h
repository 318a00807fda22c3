/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Finds what is in a disk image with libblkid: a bare filesystem, an MBR disk with one Linux
 * partition, or a GPT disk following the Discoverable Partitions Specification. Only filesystems on
 * an allow-list are accepted, so an image can never make the kernel load another filesystem module. */

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

typedef enum PartitionDesignator {
        PARTITION_ROOT,
        PARTITION_USR,
        PARTITION_HOME,
        PARTITION_SRV,
        PARTITION_VAR,
        PARTITION_TMP,
        PARTITION_ESP,
        PARTITION_XBOOTLDR,
        _PARTITION_DESIGNATOR_MAX,
        _PARTITION_DESIGNATOR_INVALID = -EINVAL,
} PartitionDesignator;

const char *partition_designator_to_string(PartitionDesignator d) _pure_;
PartitionDesignator partition_designator_from_string(const char *s) _pure_;
/* Where it is mounted in the machine: "/", "/usr", "/home", ..., "/efi" or "/boot". */
const char *partition_designator_mount_point(PartitionDesignator d) _pure_;
/* The x86-64 GPT type GUID ("4f68bce3-e8cd-4db1-96e7-fbcaf984b709" for root), lowercase. */
PartitionDesignator partition_designator_from_gpt_type(const char *guid) _pure_;

typedef struct DissectedPartition {
        bool found;
        char *fstype;
        uint64_t offset; /* bytes */
        uint64_t size;   /* bytes; 0 = to the end */
        bool read_only;  /* GPT attribute 60, or a read-only filesystem type */
        int partno;      /* 0 for a bare filesystem */
} DissectedPartition;

typedef struct DissectedImage {
        DissectedPartition partitions[_PARTITION_DESIGNATOR_MAX];
        char *table; /* "gpt", "dos", or NULL for a bare filesystem */
} DissectedImage;

void dissected_image_done(DissectedImage *m);
bool image_fstype_allowed(const char *fstype) _pure_;
/* Probes the image open as fd (a regular file or block device). -EBADMSG: not an image we know how to
 * boot; -ENOTUNIQ: two partitions claim the same role; -ERANGE: partitions overlap or reach past the
 * end; -EPROTONOSUPPORT: filesystem not allowed. */
int image_dissect(int fd, DissectedImage *ret);

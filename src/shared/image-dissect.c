/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <blkid.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "alloc-util.h"
#include "image-dissect.h"
#include "string-util.h"

#define GPT_FLAG_READ_ONLY (UINT64_C(1) << 60)
#define GPT_FLAG_NO_AUTO (UINT64_C(1) << 63)

static const struct {
        const char *name, *mount_point, *gpt_type;
} designators[_PARTITION_DESIGNATOR_MAX] = {
        [PARTITION_ROOT] = { "root", "/", "4f68bce3-e8cd-4db1-96e7-fbcaf984b709" },
        [PARTITION_USR] = { "usr", "/usr", "8484680c-9521-48c6-9c11-b0720656f69e" },
        [PARTITION_HOME] = { "home", "/home", "933ac7e1-2eb4-4f13-b844-0e14e2aef915" },
        [PARTITION_SRV] = { "srv", "/srv", "3b8f8425-20e0-4f3b-907f-1a25a76f98e8" },
        [PARTITION_VAR] = { "var", "/var", "4d21b016-b534-45c2-a9fb-5c16e091fd2d" },
        [PARTITION_TMP] = { "tmp", "/var/tmp", "7ec6f557-3bc5-4aca-b293-16ef5df639d1" },
        [PARTITION_ESP] = { "esp", "/efi", "c12a7328-f81f-11d2-ba4b-00a0c93ec93b" },
        [PARTITION_XBOOTLDR] = { "xbootldr", "/boot", "bc13c2ff-59e6-4262-a352-b275fd6f7172" },
};

const char *partition_designator_to_string(PartitionDesignator d) {
        return d >= 0 && d < _PARTITION_DESIGNATOR_MAX ? designators[d].name : NULL;
}

PartitionDesignator partition_designator_from_string(const char *s) {
        for (int i = 0; i < _PARTITION_DESIGNATOR_MAX; i++)
                if (s && streq(s, designators[i].name))
                        return i;
        return _PARTITION_DESIGNATOR_INVALID;
}

const char *partition_designator_mount_point(PartitionDesignator d) {
        return d >= 0 && d < _PARTITION_DESIGNATOR_MAX ? designators[d].mount_point : NULL;
}

PartitionDesignator partition_designator_from_gpt_type(const char *guid) {
        for (int i = 0; i < _PARTITION_DESIGNATOR_MAX; i++)
                if (guid && strcasecmp(guid, designators[i].gpt_type) == 0)
                        return i;
        return _PARTITION_DESIGNATOR_INVALID;
}

bool image_fstype_allowed(const char *fstype) {
        static const char *const allowed[] = { "ext4", "ext3", "ext2", "btrfs", "xfs", "squashfs", "erofs", "vfat" };

        for (size_t i = 0; fstype && i < ELEMENTSOF(allowed); i++)
                if (streq(fstype, allowed[i]))
                        return true;
        return false;
}

static bool fstype_read_only(const char *fstype) {
        return streq(fstype, "squashfs") || streq(fstype, "erofs");
}

void dissected_image_done(DissectedImage *m) {
        for (int i = 0; i < _PARTITION_DESIGNATOR_MAX; i++)
                m->partitions[i].fstype = mfree(m->partitions[i].fstype);
        m->table = mfree(m->table);
}

/* The filesystem type in [offset, offset+size) of fd; -EBADMSG if there is none. */
static int probe_fstype(int fd, uint64_t offset, uint64_t size, char **ret) {
        blkid_probe pr = blkid_new_probe();
        const char *type = NULL;
        int r;

        if (!pr)
                return -ENOMEM;
        r = blkid_probe_set_device(pr, fd, (blkid_loff_t) offset, (blkid_loff_t) size);
        if (r >= 0) {
                blkid_probe_enable_superblocks(pr, 1);
                blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
                blkid_probe_enable_partitions(pr, 0);
                r = blkid_do_safeprobe(pr);
        }
        if (r == 0 && blkid_probe_lookup_value(pr, "TYPE", &type, NULL) == 0 && type)
                *ret = strdup(type);
        blkid_free_probe(pr);
        if (r == -2)
                return -ENOTUNIQ; /* ambiguous: more than one filesystem signature */
        if (r != 0 || !type)
                return -EBADMSG;
        return *ret ? 0 : -ENOMEM;
}

static int add_partition(int fd, DissectedImage *m, PartitionDesignator d, int partno, uint64_t offset,
                         uint64_t size, bool read_only) {
        DissectedPartition *p = &m->partitions[d];
        int r;

        if (p->found)
                return -ENOTUNIQ;
        if (size == 0 && partno > 0)
                return -EBADMSG; /* a zero-length partition */
        r = probe_fstype(fd, offset, size, &p->fstype);
        if (r < 0)
                return r;
        if (!image_fstype_allowed(p->fstype))
                return -EPROTONOSUPPORT;
        p->found = true;
        p->partno = partno;
        p->offset = offset;
        p->size = size;
        p->read_only = read_only || fstype_read_only(p->fstype);
        return 0;
}

/* Every partition inside the image and none overlapping another (logical MBR partitions lie inside
 * their extended one by design): a table that says otherwise is hostile or broken. */
static int check_layout(blkid_partlist pl, int64_t image_size) {
        int n = blkid_partlist_numof_partitions(pl);

        if (image_size <= 0)
                return -EBADMSG;
        for (int i = 0; i < n; i++) {
                blkid_partition a = blkid_partlist_get_partition(pl, i);
                uint64_t as = (uint64_t) blkid_partition_get_start(a), ae = as + (uint64_t) blkid_partition_get_size(a);
                if (ae < as || ae > (uint64_t) image_size / 512) /* in sectors: no multiplication to overflow */
                        return -ERANGE;
                for (int j = 0; j < i; j++) {
                        blkid_partition b = blkid_partlist_get_partition(pl, j);
                        uint64_t bs = (uint64_t) blkid_partition_get_start(b), be = bs + (uint64_t) blkid_partition_get_size(b);
                        if (blkid_partition_is_extended(a) || blkid_partition_is_extended(b))
                                continue;
                        if (as < be && bs < ae)
                                return -ERANGE;
                }
        }
        return 0;
}

static int dissect_partitions(int fd, blkid_partlist pl, int64_t image_size, DissectedImage *m) {
        bool gpt = streq(m->table, "gpt");
        int n = blkid_partlist_numof_partitions(pl), r;

        r = check_layout(pl, image_size);
        if (r < 0)
                return r;

        for (int i = 0; i < n; i++) {
                blkid_partition pp = blkid_partlist_get_partition(pl, i);
                uint64_t start = (uint64_t) blkid_partition_get_start(pp) * 512;
                uint64_t size = (uint64_t) blkid_partition_get_size(pp) * 512;
                int partno = blkid_partition_get_partno(pp);
                PartitionDesignator d;

                if (gpt) {
                        unsigned long long flags = blkid_partition_get_flags(pp);
                        d = partition_designator_from_gpt_type(blkid_partition_get_type_string(pp));
                        if (d < 0 || (flags & GPT_FLAG_NO_AUTO))
                                continue;
                        r = add_partition(fd, m, d, partno, start, size, flags & GPT_FLAG_READ_ONLY);
                } else {
                        if (blkid_partition_get_type(pp) != 0x83) /* Linux */
                                continue;
                        r = add_partition(fd, m, PARTITION_ROOT, partno, start, size, false);
                }
                if (r < 0)
                        return r;
        }
        return m->partitions[PARTITION_ROOT].found ? 0 : -EBADMSG;
}

int image_dissect(int fd, DissectedImage *ret) {
        DissectedImage m = {};
        blkid_probe pr = blkid_new_probe();
        const char *pttype = NULL;
        int r;

        if (!pr)
                return -ENOMEM;
        r = blkid_probe_set_device(pr, fd, 0, 0);
        if (r >= 0) {
                blkid_probe_enable_partitions(pr, 1);
                blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
                blkid_probe_enable_superblocks(pr, 0);
                r = blkid_do_safeprobe(pr);
        }
        if (r < 0) {
                blkid_free_probe(pr);
                return -EBADMSG;
        }
        if (r == 0 && blkid_probe_lookup_value(pr, "PTTYPE", &pttype, NULL) == 0 && pttype &&
            (streq(pttype, "gpt") || streq(pttype, "dos"))) {
                blkid_partlist pl;
                m.table = strdup(pttype); /* before the next call, which may free pttype */
                pl = blkid_probe_get_partitions(pr);
                r = !m.table ? -ENOMEM : pl ? dissect_partitions(fd, pl, (int64_t) blkid_probe_get_size(pr), &m) : -EBADMSG;
        } else if (r == 0 && pttype)
                r = -EBADMSG; /* a partition table we do not boot from */
        else
                r = add_partition(fd, &m, PARTITION_ROOT, 0, 0, 0, false);
        blkid_free_probe(pr);
        if (r < 0) {
                dissected_image_done(&m);
                return r;
        }
        *ret = m;
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* I/O limits and the device policy on either layout, and the accounting read back. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc-util.h"
#include "bpf-devices.h"
#include "cgroup-apply-internal.h"
#include "fileio.h"
#include "parse-util.h"
#include "string-util.h"

static const char *io_key_v2(CgroupProperty kind) {
        switch (kind) {
        case CGROUP_PROP_IO_READ_BANDWIDTH_MAX:
                return "rbps";
        case CGROUP_PROP_IO_WRITE_BANDWIDTH_MAX:
                return "wbps";
        case CGROUP_PROP_IO_READ_IOPS_MAX:
                return "riops";
        case CGROUP_PROP_IO_WRITE_IOPS_MAX:
                return "wiops";
        default:
                return NULL;
        }
}

static const char *io_file_v1(CgroupProperty kind) {
        switch (kind) {
        case CGROUP_PROP_IO_READ_BANDWIDTH_MAX:
                return "blkio.throttle.read_bps_device";
        case CGROUP_PROP_IO_WRITE_BANDWIDTH_MAX:
                return "blkio.throttle.write_bps_device";
        case CGROUP_PROP_IO_READ_IOPS_MAX:
                return "blkio.throttle.read_iops_device";
        case CGROUP_PROP_IO_WRITE_IOPS_MAX:
                return "blkio.throttle.write_iops_device";
        default:
                return "blkio.weight_device";
        }
}

static int apply_io_device(Apply *a, const char *mount, bool is_v2, const CgroupIODevice *d) {
        char line[96], num[32];

        if (d->kind == CGROUP_PROP_IO_DEVICE_WEIGHT) {
                uint64_t w = is_v2 ? d->value : MIN(MAX(d->value * 500 / 100, UINT64_C(10)), UINT64_C(1000));
                const char *file = is_v2 ? "io.weight" : "blkio.weight_device";
                if (!apply_attr_exists(mount, a->rel, file))
                        return apply_warn(a, "IODeviceWeight= not applied: %s needs the BFQ%s I/O scheduler.", file,
                                          is_v2 ? " or the iocost" : " or CFQ");
                (void) snprintf(line, sizeof line, "%u:%u %" PRIu64, d->major, d->minor, w);
                return apply_write(a, mount, file, line);
        }
        if (is_v2) {
                (void) snprintf(line, sizeof line, "%u:%u %s=%s", d->major, d->minor, io_key_v2(d->kind),
                                apply_fmt_u64(num, d->value, "max"));
                return apply_write(a, mount, "io.max", line);
        }
        /* v1: 0 removes the rule */
        (void) snprintf(line, sizeof line, "%u:%u %s", d->major, d->minor,
                        apply_fmt_u64(num, d->value == CGROUP_LIMIT_MAX ? 0 : d->value, "0"));
        return apply_write(a, mount, io_file_v1(d->kind), line);
}

int apply_io(Apply *a) {
        const CgroupLimits *l = a->limits;
        CgroupProperty first = cgroup_limits_has(l, CGROUP_PROP_IO_WEIGHT) ? CGROUP_PROP_IO_WEIGHT :
                               l->n_io > 0                                 ? l->io[0].kind :
                                                                             _CGROUP_PROP_INVALID;
        const char *mount;
        bool is_v2;
        int r;

        if (first < 0)
                return 0;
        r = apply_locate(a, CGROUP_CTRL_IO, first, &mount, &is_v2);
        if (r <= 0)
                return r;
        if (cgroup_limits_has(l, CGROUP_PROP_IO_WEIGHT)) {
                char buf[32];
                const char *file = is_v2 ? "io.weight" : "blkio.weight";
                uint64_t w = is_v2 ? l->io_weight : MIN(MAX(l->io_weight * 500 / 100, UINT64_C(10)), UINT64_C(1000));
                if (!apply_attr_exists(mount, a->rel, file))
                        r = apply_warn(a, "IOWeight= not applied: %s needs the BFQ%s I/O scheduler.", file,
                                       is_v2 ? " or the iocost" : " or CFQ");
                else {
                        (void) snprintf(buf, sizeof buf, is_v2 ? "default %" PRIu64 : "%" PRIu64, w);
                        r = apply_write(a, mount, file, buf);
                }
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < l->n_io; i++) {
                r = apply_io_device(a, mount, is_v2, &l->io[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* systemd's DevicePolicy=closed list, plus the console and ptys a machine needs. */
static const CgroupDeviceAllow closed_devices[] = {
        { 'c', 1, 3, "rwm" }, { 'c', 1, 5, "rwm" }, { 'c', 1, 7, "rwm" }, { 'c', 1, 8, "rwm" }, { 'c', 1, 9, "rwm" },
        { 'c', 5, 0, "rwm" }, { 'c', 5, 1, "rwm" }, { 'c', 5, 2, "rwm" }, { 'c', 136, -1, "rwm" },
};

int apply_devices_policy(Apply *a) {
        const CgroupLimits *l = a->limits;
        bool strict = cgroup_limits_has(l, CGROUP_PROP_DEVICE_POLICY) && l->device_policy == CGROUP_DEVICE_POLICY_STRICT;
        bool closed = cgroup_limits_has(l, CGROUP_PROP_DEVICE_POLICY) && l->device_policy == CGROUP_DEVICE_POLICY_CLOSED;
        size_t n_base = strict ? 0 : ELEMENTSOF(closed_devices), n = n_base + l->n_devices;
        _cleanup_free_ CgroupDeviceAllow *all = NULL;
        int r;

        if (!strict && !closed && l->n_devices == 0)
                return 0; /* auto without a list: no restriction */
        all = new(CgroupDeviceAllow, n + 1);
        if (!all)
                return -ENOMEM;
        memcpy(all, closed_devices, n_base * sizeof(CgroupDeviceAllow));
        memcpy(all + n_base, l->devices, l->n_devices * sizeof(CgroupDeviceAllow));
        if (a->map->v1[CGROUP_CTRL_DEVICES]) {
                const char *mount = a->map->v1[CGROUP_CTRL_DEVICES];
                r = apply_write(a, mount, "devices.deny", "a");
                for (size_t i = 0; i < n && r >= 0; i++) {
                        char line[64], ma[12] = "*", mi[12] = "*";
                        if (all[i].major >= 0)
                                (void) snprintf(ma, sizeof ma, "%d", all[i].major);
                        if (all[i].minor >= 0)
                                (void) snprintf(mi, sizeof mi, "%d", all[i].minor);
                        (void) snprintf(line, sizeof line, "%c %s:%s %s", all[i].type, ma, mi, all[i].access);
                        r = apply_write(a, mount, "devices.allow", line);
                }
                return r;
        }
        if (a->map->v2) {
                _cleanup_free_ DeviceRule *rules = new(DeviceRule, n + 1);
                _cleanup_free_ char *path = apply_attr_path(a->map->v2, a->rel, "");
                if (!rules || !path)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++)
                        rules[i] = (DeviceRule) { .type = all[i].type, .major = all[i].major, .minor = all[i].minor,
                                                  .access = device_access_from_string(all[i].access) };
                r = bpf_devices_attach(path, rules, (unsigned) n);
                if (r >= 0)
                        return 0;
        }
        return apply_warn(a, "DevicePolicy=/DeviceAllow= not applied: no v1 devices controller, and no BPF device "
                          "program could be attached.");
}

static uint64_t read_u64(const char *mount, const char *rel, const char *file) {
        _cleanup_free_ char *p = apply_attr_path(mount, rel, file), *line = NULL;
        uint64_t v;

        if (!p || read_one_line_file(p, &line) < 0 || safe_atou64(line, &v) < 0)
                return UINT64_MAX; /* also "max" and v1's "-1" */
        return v >= (UINT64_C(1) << 62) ? UINT64_MAX : v; /* v1's "no limit" is PAGE_COUNTER_MAX pages */
}

/* Sums the fields named key: "KEY=N" (v2 io.stat), "key N" (cpu.stat), "MAJ:MIN Key N" (v1 blkio). */
static uint64_t sum_keyed(const char *mount, const char *rel, const char *file, const char *key) {
        _cleanup_free_ char *p = apply_attr_path(mount, rel, file), *buf = NULL;
        uint64_t sum = 0;
        size_t klen = strlen(key);

        if (!p || read_full_file_at(AT_FDCWD, p, 1024 * 1024, &buf, NULL) < 0)
                return UINT64_MAX;
        for (char *s = buf; (s = strstr(s, key)); s += klen) {
                bool start = s == buf || s[-1] == ' ' || s[-1] == '\n';
                unsigned long long v;
                if (start && (s[klen] == '=' || s[klen] == ' ') && sscanf(s + klen + 1, "%llu", &v) == 1)
                        sum += v;
        }
        return sum; /* no line for a device: nothing was read or written there */
}

int cgroup_accounting_read(const CgroupControllerMap *m, const char *rel, CgroupAccounting *ret) {
        CgroupAccounting acc = CGROUP_ACCOUNTING_NULL;
        const char *mm = m->v1[CGROUP_CTRL_MEMORY], *pm = m->v1[CGROUP_CTRL_PIDS] ?: m->v2;
        const char *im = m->v1[CGROUP_CTRL_IO];

        if (mm) {
                acc.memory_current = read_u64(mm, rel, "memory.usage_in_bytes");
                acc.memory_peak = read_u64(mm, rel, "memory.max_usage_in_bytes");
                acc.memory_max = read_u64(mm, rel, "memory.limit_in_bytes");
        } else if (m->v2) {
                acc.memory_current = read_u64(m->v2, rel, "memory.current");
                acc.memory_peak = read_u64(m->v2, rel, "memory.peak");
                acc.memory_max = read_u64(m->v2, rel, "memory.max");
        }
        if (pm) {
                acc.tasks_current = read_u64(pm, rel, "pids.current");
                acc.tasks_max = read_u64(pm, rel, "pids.max");
        }
        if (m->v1[CGROUP_CTRL_CPUACCT])
                acc.cpu_usage_nsec = read_u64(m->v1[CGROUP_CTRL_CPUACCT], rel, "cpuacct.usage");
        else if (m->v2) {
                uint64_t usec = sum_keyed(m->v2, rel, "cpu.stat", "usage_usec");
                acc.cpu_usage_nsec = usec == UINT64_MAX ? usec : usec * 1000;
        }
        if (im) {
                acc.io_read_bytes = sum_keyed(im, rel, "blkio.throttle.io_service_bytes_recursive", "Read");
                acc.io_write_bytes = sum_keyed(im, rel, "blkio.throttle.io_service_bytes_recursive", "Write");
        } else if (m->v2) {
                acc.io_read_bytes = sum_keyed(m->v2, rel, "io.stat", "rbytes");
                acc.io_write_bytes = sum_keyed(m->v2, rel, "io.stat", "wbytes");
        }
        *ret = acc;
        return 0;
}

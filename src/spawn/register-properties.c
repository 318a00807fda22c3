/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc-util.h"
#include "cgroup-limits.h"
#include "parse-util.h"
#include "register-properties.h"
#include "string-util.h"

/* "0-1,3" -> the bit mask systemd sends as AllowedCPUs=/AllowedMemoryNodes= (ay, bit i of byte i/8). */
static int append_cpu_mask(sd_bus_message *m, const char *name, const char *list) {
        _cleanup_free_ char *copy = strdup(list);
        uint8_t bits[1024] = {};
        size_t n = 0;
        char *save = NULL;
        int r;

        if (!copy)
                return -ENOMEM;
        for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
                char *dash = strchr(w, '-');
                unsigned lo, hi;
                if (dash)
                        *dash = 0;
                if (safe_atou(w, &lo) < 0 || safe_atou(dash ? dash + 1 : w, &hi) < 0 || hi < lo ||
                    hi >= sizeof bits * 8)
                        return -EINVAL;
                for (unsigned i = lo; i <= hi; i++)
                        bits[i / 8] |= 1u << (i % 8);
                n = MAX(n, (size_t) hi / 8 + 1);
        }
        r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", name);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "ay");
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', bits, n);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r < 0 ? r : sd_bus_message_close_container(m);
}

static int append_u64(sd_bus_message *m, const char *name, uint64_t v) {
        return sd_bus_message_append(m, "(sv)", name, "t", v);
}

/* "PATH VALUE": PATH as given (systemd resolves a file to its disk), VALUE from the parsed entry. */
static int append_io_device(sd_bus_message *m, const char *name, const char *value, const CgroupLimits *t) {
        _cleanup_free_ char *path = NULL;
        const char *sp = strrchr(value, ' ');

        if (!sp || t->n_io != 1)
                return -EINVAL;
        path = strndup(value, (size_t) (sp - value));
        if (!path)
                return -ENOMEM;
        return sd_bus_message_append(m, "(sv)", name, "a(st)", 1, path, t->io[0].value);
}

/* "PATH [ACCESS]" */
static int append_device_allow(sd_bus_message *m, const char *value) {
        _cleanup_free_ char *path = NULL;
        const char *sp = strchr(value, ' ');

        path = sp ? strndup(value, (size_t) (sp - value)) : strdup(value);
        if (!path)
                return -ENOMEM;
        return sd_bus_message_append(m, "(sv)", "DeviceAllow", "a(ss)", 1, path, sp ? sp + 1 : "");
}

/* One canonical assignment, parsed on its own so that its value is the only one set. */
static int append_assignment(sd_bus_message *m, const char *a) {
        _cleanup_(cgroup_limits_done) CgroupLimits t = {};
        const char *value = strchr(a, '=');
        CgroupProperty p;
        int r;

        r = cgroup_limits_parse_assignment(&t, a, NULL);
        if (r < 0)
                return r;
        p = __builtin_ctzll(t.mask);
        value++;
        switch (p) {
        case CGROUP_PROP_MEMORY_MAX:
                return append_u64(m, "MemoryMax", t.memory_max);
        case CGROUP_PROP_MEMORY_HIGH:
                return append_u64(m, "MemoryHigh", t.memory_high);
        case CGROUP_PROP_MEMORY_LOW:
                return append_u64(m, "MemoryLow", t.memory_low);
        case CGROUP_PROP_MEMORY_SWAP_MAX:
                return append_u64(m, "MemorySwapMax", t.memory_swap_max);
        case CGROUP_PROP_CPU_QUOTA:
                return append_u64(m, "CPUQuotaPerSecUSec", t.cpu_quota_per_sec_usec);
        case CGROUP_PROP_CPU_QUOTA_PERIOD:
                return append_u64(m, "CPUQuotaPeriodUSec", t.cpu_quota_period_usec);
        case CGROUP_PROP_CPU_WEIGHT:
                return append_u64(m, "CPUWeight", t.cpu_weight);
        case CGROUP_PROP_CPU_SHARES:
                return append_u64(m, "CPUShares", t.cpu_shares);
        case CGROUP_PROP_TASKS_MAX:
                return append_u64(m, "TasksMax", t.tasks_max);
        case CGROUP_PROP_IO_WEIGHT:
                return append_u64(m, "IOWeight", t.io_weight);
        case CGROUP_PROP_ALLOWED_CPUS:
                return append_cpu_mask(m, "AllowedCPUs", t.allowed_cpus);
        case CGROUP_PROP_ALLOWED_MEMORY_NODES:
                return append_cpu_mask(m, "AllowedMemoryNodes", t.allowed_memory_nodes);
        case CGROUP_PROP_IO_DEVICE_WEIGHT:
        case CGROUP_PROP_IO_READ_BANDWIDTH_MAX:
        case CGROUP_PROP_IO_WRITE_BANDWIDTH_MAX:
        case CGROUP_PROP_IO_READ_IOPS_MAX:
        case CGROUP_PROP_IO_WRITE_IOPS_MAX:
                return append_io_device(m, cgroup_property_to_string(p), value, &t);
        case CGROUP_PROP_DEVICE_ALLOW:
                return append_device_allow(m, value);
        case CGROUP_PROP_DEVICE_POLICY:
                return sd_bus_message_append(m, "(sv)", "DevicePolicy", "s",
                                             cgroup_device_policy_to_string(t.device_policy));
        default:
                return -EINVAL;
        }
}

int bus_append_cgroup_assignments(sd_bus_message *m, char *const *assignments) {
        for (char *const *a = assignments; a && *a; a++) {
                int r = append_assignment(m, *a);
                if (r < 0)
                        return r;
        }
        return 0;
}

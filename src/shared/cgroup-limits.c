/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "alloc-util.h"
#include "cgroup-limits.h"
#include "cgroup-util.h"
#include "fileio.h"
#include "parse-util.h"
#include "path-util.h"
#include "string-util.h"
#include "strv.h"

#define PIDS_MAX_LIMIT UINT64_C(4194304) /* the kernel's PID_MAX_LIMIT: pids.max refuses more */
#define CPUS_MAX 8192

const char *const cgroup_property_names[_CGROUP_PROP_MAX + 1] = {
        [CGROUP_PROP_MEMORY_MAX] = "MemoryMax",
        [CGROUP_PROP_MEMORY_HIGH] = "MemoryHigh",
        [CGROUP_PROP_MEMORY_LOW] = "MemoryLow",
        [CGROUP_PROP_MEMORY_SWAP_MAX] = "MemorySwapMax",
        [CGROUP_PROP_CPU_QUOTA] = "CPUQuota",
        [CGROUP_PROP_CPU_QUOTA_PERIOD] = "CPUQuotaPeriodSec",
        [CGROUP_PROP_CPU_WEIGHT] = "CPUWeight",
        [CGROUP_PROP_CPU_SHARES] = "CPUShares",
        [CGROUP_PROP_ALLOWED_CPUS] = "AllowedCPUs",
        [CGROUP_PROP_ALLOWED_MEMORY_NODES] = "AllowedMemoryNodes",
        [CGROUP_PROP_TASKS_MAX] = "TasksMax",
        [CGROUP_PROP_IO_WEIGHT] = "IOWeight",
        [CGROUP_PROP_IO_DEVICE_WEIGHT] = "IODeviceWeight",
        [CGROUP_PROP_IO_READ_BANDWIDTH_MAX] = "IOReadBandwidthMax",
        [CGROUP_PROP_IO_WRITE_BANDWIDTH_MAX] = "IOWriteBandwidthMax",
        [CGROUP_PROP_IO_READ_IOPS_MAX] = "IOReadIOPSMax",
        [CGROUP_PROP_IO_WRITE_IOPS_MAX] = "IOWriteIOPSMax",
        [CGROUP_PROP_DEVICE_ALLOW] = "DeviceAllow",
        [CGROUP_PROP_DEVICE_POLICY] = "DevicePolicy",
        [_CGROUP_PROP_MAX] = NULL,
};

const char *cgroup_property_to_string(CgroupProperty p) {
        return p >= 0 && p < _CGROUP_PROP_MAX ? cgroup_property_names[p] : NULL;
}

CgroupProperty cgroup_property_from_string(const char *s) {
        if (!s)
                return _CGROUP_PROP_INVALID;
        for (int i = 0; i < _CGROUP_PROP_MAX; i++)
                if (streq(s, cgroup_property_names[i]))
                        return i;
        if (streq(s, "CPUQuotaPerSecUSec"))
                return CGROUP_PROP_CPU_QUOTA;
        if (streq(s, "CPUQuotaPeriodUSec"))
                return CGROUP_PROP_CPU_QUOTA_PERIOD;
        return _CGROUP_PROP_INVALID;
}

static const char *const device_policy_table[_CGROUP_DEVICE_POLICY_MAX] = {
        [CGROUP_DEVICE_POLICY_AUTO] = "auto",
        [CGROUP_DEVICE_POLICY_CLOSED] = "closed",
        [CGROUP_DEVICE_POLICY_STRICT] = "strict",
};

const char *cgroup_device_policy_to_string(CgroupDevicePolicy p) {
        return p >= 0 && p < _CGROUP_DEVICE_POLICY_MAX ? device_policy_table[p] : NULL;
}

CgroupDevicePolicy cgroup_device_policy_from_string(const char *s) {
        for (int i = 0; i < _CGROUP_DEVICE_POLICY_MAX; i++)
                if (s && streq(s, device_policy_table[i]))
                        return i;
        return _CGROUP_DEVICE_POLICY_INVALID;
}

void cgroup_limits_done(CgroupLimits *l) {
        free(l->allowed_cpus);
        free(l->allowed_memory_nodes);
        free(l->io);
        free(l->devices);
        strv_free(l->assignments);
        *l = (CgroupLimits) {};
}

/* Sets *ret_error to a formatted message and returns r. */
_printf_(3, 4) static int fail(char **ret_error, int r, const char *fmt, ...) {
        va_list ap;

        if (ret_error) {
                va_start(ap, fmt);
                if (vasprintf(ret_error, fmt, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return r;
}

/* "N%" with 0 < N <= max_percent (decimals allowed) -> N as a fraction of 1 in parts of 'scale'. */
static int parse_percent(const char *v, double max_percent, double *ret) {
        char *end;
        double d;

        if (!endswith(v, "%") || !(isdigit((unsigned char) v[0]) || v[0] == '.'))
                return -EINVAL;
        errno = 0;
        d = strtod(v, &end);
        if (errno > 0 || *end != '%' || end[1] || !isfinite(d))
                return -EINVAL;
        if (d <= 0 || d > max_percent)
                return -ERANGE;
        *ret = d;
        return 0;
}

static uint64_t physical_memory(void) {
        long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
        return pages > 0 && size > 0 ? (uint64_t) pages * (uint64_t) size : UINT64_MAX;
}

static int parse_memory(const char *name, const char *v, uint64_t *ret, char **ret_error) {
        double pct;
        int r;

        if (streq(v, "infinity")) {
                *ret = CGROUP_LIMIT_MAX;
                return 0;
        }
        if (endswith(v, "%")) {
                r = parse_percent(v, 100, &pct);
                if (r < 0)
                        return fail(ret_error, r, "Invalid value '%s' for %s=: a percentage must be above 0%% and at "
                                    "most 100%%.", v, name);
                *ret = (uint64_t) ((double) physical_memory() * pct / 100);
                return 0;
        }
        r = parse_size(v, ret);
        if (r == -ERANGE || (r >= 0 && *ret >= (UINT64_C(1) << 62)))
                return fail(ret_error, -ERANGE, "Value '%s' for %s= is out of range.", v, name);
        if (r < 0)
                return fail(ret_error, -EINVAL, "Invalid value '%s' for %s=: use bytes with an optional K, M, G or T "
                            "suffix, a percentage of the host's memory, or 'infinity'.", v, name);
        return 0;
}

static int parse_ranged(const char *name, const char *v, uint64_t min, uint64_t max, uint64_t *ret,
                        char **ret_error) {
        int r = v[0] == '-' ? -ERANGE : safe_atou64(v, ret);

        if (r == -ERANGE || (r >= 0 && (*ret < min || *ret > max)))
                return fail(ret_error, -ERANGE, "Value '%s' for %s= is out of range: it must be between %" PRIu64
                            " and %" PRIu64 ".", v, name, min, max);
        if (r < 0)
                return fail(ret_error, -EINVAL, "Invalid value '%s' for %s=: expected a number between %" PRIu64
                            " and %" PRIu64 ".", v, name, min, max);
        return 0;
}

static int parse_tasks(const char *v, uint64_t *ret, char **ret_error) {
        double pct;
        int r;

        if (streq(v, "infinity")) {
                *ret = CGROUP_LIMIT_MAX;
                return 0;
        }
        if (endswith(v, "%")) {
                _cleanup_free_ char *s = NULL;
                uint64_t pid_max = PIDS_MAX_LIMIT;
                r = parse_percent(v, 100, &pct);
                if (r < 0)
                        return fail(ret_error, r, "Invalid value '%s' for TasksMax=: a percentage must be above 0%% "
                                    "and at most 100%%.", v);
                if (read_one_line_file("/proc/sys/kernel/pid_max", &s) >= 0)
                        (void) safe_atou64(s, &pid_max);
                *ret = (uint64_t) ((double) pid_max * pct / 100) ?: 1;
                return 0;
        }
        return parse_ranged("TasksMax", v, 1, PIDS_MAX_LIMIT, ret, ret_error);
}

/* "0-3,5 7" -> "0-3,5,7", every number below CPUS_MAX and every range ascending. */
static int parse_cpu_list(const char *name, const char *v, char **ret, char **ret_error) {
        _cleanup_free_ char *out = malloc(strlen(v) + 1);
        const char *p = v;
        char *w = out;

        if (!out)
                return -ENOMEM;
        while (*p) {
                unsigned long a, b;
                char *end;

                while (*p == ',' || *p == ' ')
                        p++;
                if (!*p)
                        break;
                if (!isdigit((unsigned char) *p))
                        goto bad;
                a = b = strtoul(p, &end, 10);
                if (*end == '-') {
                        if (!isdigit((unsigned char) end[1]))
                                goto bad;
                        b = strtoul(end + 1, &end, 10);
                }
                if (a >= CPUS_MAX || b >= CPUS_MAX || b < a)
                        return fail(ret_error, -ERANGE, "Invalid range in %s=%s: numbers must ascend and stay below "
                                    "%d.", name, v, CPUS_MAX);
                if (*end && *end != ',' && *end != ' ')
                        goto bad;
                if (w != out)
                        *w++ = ',';
                memcpy(w, p, (size_t) (end - p));
                w += end - p;
                p = end;
        }
        *w = 0;
        if (w == out)
                goto bad;
        *ret = TAKE_PTR(out);
        return 0;
bad:
        return fail(ret_error, -EINVAL, "Invalid value '%s' for %s=: expected a list like '0-3,5'.", v, name);
}

/* The whole disk behind path: a block device node, or the file system a file lives on. */
static int resolve_io_device(const char *path, unsigned *ret_major, unsigned *ret_minor) {
        char sys[96];
        _cleanup_free_ char *parent = NULL;
        struct stat st;
        dev_t d;

        if (!path_is_absolute(path))
                return -EINVAL;
        if (stat(path, &st) < 0)
                return -ENODEV;
        d = S_ISBLK(st.st_mode) ? st.st_rdev : st.st_dev;
        if (major(d) == 0)
                return -ENOTBLK; /* tmpfs, overlayfs ...: no block device to throttle */
        /* a partition: its disk is the parent directory's "dev" in sysfs */
        (void) snprintf(sys, sizeof sys, "/sys/dev/block/%u:%u/partition", major(d), minor(d));
        if (access(sys, F_OK) >= 0) {
                unsigned ma, mi;
                (void) snprintf(sys, sizeof sys, "/sys/dev/block/%u:%u/../dev", major(d), minor(d));
                if (read_one_line_file(sys, &parent) >= 0 && sscanf(parent, "%u:%u", &ma, &mi) == 2) {
                        *ret_major = ma;
                        *ret_minor = mi;
                        return 0;
                }
        }
        *ret_major = major(d);
        *ret_minor = minor(d);
        return 0;
}

static int add_io(CgroupLimits *l, CgroupProperty kind, const char *name, const char *v, char **ret_error) {
        _cleanup_free_ char *path = NULL;
        const char *sp = strrchr(v, ' ');
        CgroupIODevice dev = { .kind = kind };
        CgroupIODevice *n;
        int r;

        if (!sp || sp == v)
                return fail(ret_error, -EINVAL, "Invalid value '%s' for %s=: expected 'DEVICE VALUE'.", v, name);
        path = strndup(v, (size_t) (sp - v));
        if (!path)
                return -ENOMEM;
        strstrip_trailing(path);
        sp++;
        if (kind == CGROUP_PROP_IO_DEVICE_WEIGHT)
                r = parse_ranged(name, sp, 1, 10000, &dev.value, ret_error);
        else if (streq(sp, "infinity")) {
                dev.value = CGROUP_LIMIT_MAX;
                r = 0;
        } else if (IN_SET(kind, CGROUP_PROP_IO_READ_BANDWIDTH_MAX, CGROUP_PROP_IO_WRITE_BANDWIDTH_MAX)) {
                r = parse_size(sp, &dev.value);
                if (r < 0 || dev.value == 0)
                        return fail(ret_error, r == -ERANGE ? -ERANGE : -EINVAL, "Invalid bandwidth '%s' in %s=: use "
                                    "bytes per second above 0 with an optional K, M, G or T suffix, or 'infinity'.",
                                    sp, name);
        } else
                r = parse_ranged(name, sp, 1, UINT64_MAX - 1, &dev.value, ret_error);
        if (r < 0)
                return r;
        r = resolve_io_device(path, &dev.major, &dev.minor);
        if (r == -ENODEV)
                return fail(ret_error, r, "Device '%s' in %s= does not exist.", path, name);
        if (r == -ENOTBLK)
                return fail(ret_error, -ENODEV, "'%s' in %s= is not a block device, nor on one.", path, name);
        if (r < 0)
                return fail(ret_error, r, "Invalid device '%s' in %s=: use an absolute path.", path, name);
        for (size_t i = 0; i < l->n_io; i++)
                if (l->io[i].kind == kind && l->io[i].major == dev.major && l->io[i].minor == dev.minor) {
                        l->io[i].value = dev.value;
                        return 0;
                }
        n = realloc(l->io, sizeof(CgroupIODevice) * (l->n_io + 1));
        if (!n)
                return -ENOMEM;
        l->io = n;
        l->io[l->n_io++] = dev;
        return 0;
}

static int add_device_rule(CgroupLimits *l, char type, int major_nr, int minor_nr, const char *access) {
        CgroupDeviceAllow *n = realloc(l->devices, sizeof(CgroupDeviceAllow) * (l->n_devices + 1));

        if (!n)
                return -ENOMEM;
        l->devices = n;
        n = &l->devices[l->n_devices++];
        *n = (CgroupDeviceAllow) { .type = type, .major = major_nr, .minor = minor_nr };
        (void) snprintf(n->access, sizeof n->access, "%s", access);
        return 0;
}

/* "char-pts", "block-loop": every major of that driver in /proc/devices. */
static int add_device_class(CgroupLimits *l, char type, const char *driver, const char *access) {
        _cleanup_free_ char *buf = NULL;
        bool in_section = false;
        char *save = NULL;
        int n = 0, r;

        r = read_full_file_at(AT_FDCWD, "/proc/devices", 64 * 1024, &buf, NULL);
        if (r < 0)
                return r;
        for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                int ma;
                char drv[64];
                if (startswith(line, "Character devices:") || startswith(line, "Block devices:")) {
                        in_section = (type == 'c') == !!startswith(line, "Character");
                        continue;
                }
                if (!in_section || sscanf(line, "%d %63s", &ma, drv) != 2 || !streq(drv, driver))
                        continue;
                r = add_device_rule(l, type, ma, -1, access);
                if (r < 0)
                        return r;
                n++;
        }
        return n > 0 ? 0 : -ENODEV;
}

static int add_device_allow(CgroupLimits *l, const char *v, char **ret_error) {
        _cleanup_free_ char *path = strdup(v);
        const char *access = "rwm";
        char *sp;
        struct stat st;
        int r;

        if (!path)
                return -ENOMEM;
        sp = strchr(path, ' ');
        if (sp) {
                *sp = 0;
                access = sp + 1;
                while (*access == ' ')
                        access++;
        }
        if (isempty(access) || strlen(access) > 3 || strspn(access, "rwm") != strlen(access))
                return fail(ret_error, -EINVAL, "Invalid access '%s' in DeviceAllow=%s: use a combination of r, w "
                            "and m.", access, v);
        if (startswith(path, "char-") || startswith(path, "block-")) {
                char type = path[0] == 'c' ? 'c' : 'b';
                r = add_device_class(l, type, strchr(path, '-') + 1, access);
                if (r == -ENODEV)
                        return fail(ret_error, r, "No device driver '%s' in /proc/devices for DeviceAllow=.", path);
                return r;
        }
        if (!startswith(path, "/dev/"))
                return fail(ret_error, -EINVAL, "Invalid device '%s' in DeviceAllow=: use a /dev path, char-DRIVER or "
                            "block-DRIVER.", path);
        if (stat(path, &st) < 0)
                return fail(ret_error, -ENODEV, "Device '%s' in DeviceAllow= does not exist.", path);
        if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
                return fail(ret_error, -ENODEV, "'%s' in DeviceAllow= is not a device node.", path);
        return add_device_rule(l, S_ISCHR(st.st_mode) ? 'c' : 'b', (int) major(st.st_rdev), (int) minor(st.st_rdev),
                               access);
}

static int parse_cpu_quota(const char *v, uint64_t *ret, char **ret_error) {
        double pct;
        int r;

        if (streq(v, "infinity")) {
                *ret = CGROUP_LIMIT_MAX;
                return 0;
        }
        r = parse_percent(v, 100000, &pct);
        if (r == -ERANGE)
                return fail(ret_error, r, "CPUQuota=%s is out of range: the quota must be above 0%% (and at most "
                            "100000%%).", v);
        if (r < 0)
                return fail(ret_error, r, "Invalid value '%s' for CPUQuota=: expected a percentage like 50%%.", v);
        *ret = (uint64_t) (pct * 10000.0 + 0.5) ?: 1;
        return 0;
}

static int parse_value(CgroupLimits *l, CgroupProperty p, const char *name, const char *v, char **ret_error) {
        uint64_t usec;
        int r;

        switch (p) {
        case CGROUP_PROP_MEMORY_MAX:
                return parse_memory(name, v, &l->memory_max, ret_error);
        case CGROUP_PROP_MEMORY_HIGH:
                return parse_memory(name, v, &l->memory_high, ret_error);
        case CGROUP_PROP_MEMORY_LOW:
                return parse_memory(name, v, &l->memory_low, ret_error);
        case CGROUP_PROP_MEMORY_SWAP_MAX:
                return parse_memory(name, v, &l->memory_swap_max, ret_error);
        case CGROUP_PROP_CPU_QUOTA:
                return parse_cpu_quota(v, &l->cpu_quota_per_sec_usec, ret_error);
        case CGROUP_PROP_CPU_QUOTA_PERIOD:
                r = parse_sec(v, &usec);
                if (r < 0 || usec == UINT64_MAX)
                        return fail(ret_error, -EINVAL, "Invalid value '%s' for CPUQuotaPeriodSec=: expected a time "
                                    "like 100ms.", v);
                if (usec < 1000 || usec > 1000000)
                        return fail(ret_error, -ERANGE, "CPUQuotaPeriodSec=%s is out of range: it must be between 1ms "
                                    "and 1s.", v);
                l->cpu_quota_period_usec = usec;
                return 0;
        case CGROUP_PROP_CPU_WEIGHT:
                return parse_ranged(name, v, 1, 10000, &l->cpu_weight, ret_error);
        case CGROUP_PROP_CPU_SHARES:
                return parse_ranged(name, v, 2, 262144, &l->cpu_shares, ret_error);
        case CGROUP_PROP_ALLOWED_CPUS:
                l->allowed_cpus = mfree(l->allowed_cpus);
                return parse_cpu_list(name, v, &l->allowed_cpus, ret_error);
        case CGROUP_PROP_ALLOWED_MEMORY_NODES:
                l->allowed_memory_nodes = mfree(l->allowed_memory_nodes);
                return parse_cpu_list(name, v, &l->allowed_memory_nodes, ret_error);
        case CGROUP_PROP_TASKS_MAX:
                return parse_tasks(v, &l->tasks_max, ret_error);
        case CGROUP_PROP_IO_WEIGHT:
                return parse_ranged(name, v, 1, 10000, &l->io_weight, ret_error);
        case CGROUP_PROP_IO_DEVICE_WEIGHT:
        case CGROUP_PROP_IO_READ_BANDWIDTH_MAX:
        case CGROUP_PROP_IO_WRITE_BANDWIDTH_MAX:
        case CGROUP_PROP_IO_READ_IOPS_MAX:
        case CGROUP_PROP_IO_WRITE_IOPS_MAX:
                return add_io(l, p, name, v, ret_error);
        case CGROUP_PROP_DEVICE_ALLOW:
                return add_device_allow(l, v, ret_error);
        case CGROUP_PROP_DEVICE_POLICY: {
                CgroupDevicePolicy dp = cgroup_device_policy_from_string(v);
                if (dp < 0)
                        return fail(ret_error, -EINVAL, "Invalid value '%s' for DevicePolicy=: use auto, closed or "
                                    "strict.", v);
                l->device_policy = dp;
                return 0;
        }
        default:
                return -EINVAL;
        }
}

static bool is_per_device(CgroupProperty p) {
        return IN_SET(p, CGROUP_PROP_IO_DEVICE_WEIGHT, CGROUP_PROP_IO_READ_BANDWIDTH_MAX,
                      CGROUP_PROP_IO_WRITE_BANDWIDTH_MAX, CGROUP_PROP_IO_READ_IOPS_MAX, CGROUP_PROP_IO_WRITE_IOPS_MAX,
                      CGROUP_PROP_DEVICE_ALLOW);
}

/* Remembers the assignment; one of a scalar property (or of one device) replaces the earlier one. */
static int remember(CgroupLimits *l, CgroupProperty p, const char *value) {
        const char *name = cgroup_property_to_string(p);
        _cleanup_free_ char *a = strjoin(name, "=", value), *dev = NULL;
        size_t w = 0;

        if (!a)
                return -ENOMEM;
        if (is_per_device(p) && p != CGROUP_PROP_DEVICE_ALLOW) {
                const char *sp = strrchr(a, ' ');
                dev = strndup(a, (size_t) (sp - a));
                if (!dev)
                        return -ENOMEM;
        }
        for (size_t i = 0; l->assignments && l->assignments[i]; i++) {
                char *e = l->assignments[i];
                const char *rest = startswith(e, name);
                bool same = rest && *rest == '=' &&
                            (!is_per_device(p) || (dev && startswith(e, dev) && e[strlen(dev)] == ' '));
                if (same)
                        free(e);
                else
                        l->assignments[w++] = e;
        }
        if (l->assignments)
                l->assignments[w] = NULL;
        return strv_consume(&l->assignments, TAKE_PTR(a));
}

int cgroup_limits_parse_assignment(CgroupLimits *l, const char *assignment, char **ret_error) {
        _cleanup_free_ char *name = NULL, *value = NULL;
        const char *eq = strchr(assignment, '=');
        CgroupProperty p;
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (!eq || eq == assignment)
                return fail(ret_error, -EINVAL, "Invalid property assignment '%s': use NAME=VALUE.", assignment);
        name = strndup(assignment, (size_t) (eq - assignment));
        value = strdup(eq + 1);
        if (!name || !value)
                return -ENOMEM;
        strstrip_trailing(value);
        p = cgroup_property_from_string(name);
        if (p < 0)
                return fail(ret_error, -ENOENT, "Unknown property '%s' (supported: MemoryMax, MemoryHigh, MemoryLow, "
                            "MemorySwapMax, CPUQuota, CPUQuotaPeriodSec, CPUWeight, CPUShares, AllowedCPUs, "
                            "AllowedMemoryNodes, TasksMax, IOWeight, IODeviceWeight, IO{Read,Write}BandwidthMax, "
                            "IO{Read,Write}IOPSMax, DeviceAllow, DevicePolicy).", name);
        if (isempty(value))
                return fail(ret_error, -EINVAL, "Empty value for %s=: give a value ('infinity' removes a limit).",
                            name);
        r = parse_value(l, p, cgroup_property_to_string(p), value, ret_error);
        if (r < 0)
                return r;
        l->mask |= UINT64_C(1) << p;
        return remember(l, p, value);
}

int cgroup_limits_parse_strv(CgroupLimits *l, char *const *assignments, char **ret_error) {
        STRV_FOREACH(a, (char **) assignments) {
                int r = cgroup_limits_parse_assignment(l, *a, ret_error);
                if (r < 0)
                        return r;
        }
        return 0;
}

int cgroup_limits_merge(CgroupLimits *dst, const CgroupLimits *src) {
        /* Re-parsing the canonical assignments keeps one code path (and its checks). */
        return cgroup_limits_parse_strv(dst, src->assignments, NULL);
}

static bool slice_name_is_valid(const char *s) {
        size_t n = strlen(s);

        if (n <= strlen(".slice") || n > 255 || !endswith(s, ".slice") || s[0] == '-')
                return false;
        for (const char *p = s; p < s + n - strlen(".slice"); p++) {
                if (!(isalnum((unsigned char) *p) || strchr(":_.\\-", *p)))
                        return false;
                if (*p == '-' && (p[1] == '-' || p[1] == '.'))
                        return false;
        }
        return true;
}

int cgroup_slice_path(const char *slice, char **ret) {
        _cleanup_free_ char *path = NULL;
        size_t len;

        if (streq(slice, "-.slice"))
                return (*ret = strdup("")) ? 0 : -ENOMEM;
        if (!slice_name_is_valid(slice))
                return -EINVAL;
        len = strlen(slice) - strlen(".slice");
        /* every prefix ending before a '-' is a parent slice */
        for (size_t i = 0; i <= len; i++) {
                if (i < len && slice[i] != '-')
                        continue;
                _cleanup_free_ char *part = strndup(slice, i);
                char *n;
                if (!part)
                        return -ENOMEM;
                n = path ? strjoin(path, "/", part, ".slice") : strjoin(part, ".slice");
                if (!n)
                        return -ENOMEM;
                free(path);
                path = n;
        }
        *ret = TAKE_PTR(path);
        return 0;
}

int cgroup_machine_path_in_slice(const char *slice, const char *machine_name, char **ret) {
        _cleanup_free_ char *sp = NULL, *e = NULL;
        char *p;
        int r;

        r = cgroup_slice_path(slice ?: "machine.slice", &sp);
        if (r < 0)
                return r;
        r = cgroup_unit_name_escape(machine_name, &e);
        if (r < 0)
                return r;
        p = isempty(sp) ? strjoin("machine-", e, ".scope") : strjoin(sp, "/machine-", e, ".scope");
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

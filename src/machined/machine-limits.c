/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc-util.h"
#include "cgroup-apply.h"
#include "cgroup-limits.h"
#include "fd-util.h"
#include "fileio.h"
#include "log.h"
#include "machine-limits.h"
#include "string-util.h"
#include "strv.h"

static int add(char ***assignments, const char *name, const char *value) {
        char *a = strjoin(name, "=", value);
        return a ? strv_consume(assignments, a) : -ENOMEM;
}

static int read_u64_property(sd_bus_message *m, const char *name, char ***assignments) {
        uint64_t v;
        char buf[64];
        int r = sd_bus_message_read(m, "v", "t", &v);

        if (r < 0)
                return r;
        if (streq(name, "CPUQuotaPerSecUSec")) {
                if (v == UINT64_MAX)
                        return add(assignments, "CPUQuota", "infinity");
                (void) snprintf(buf, sizeof buf, "%g%%", (double) v / 10000.0);
                return add(assignments, "CPUQuota", buf);
        }
        if (streq(name, "CPUQuotaPeriodUSec")) {
                (void) snprintf(buf, sizeof buf, "%" PRIu64 "us", v);
                return add(assignments, "CPUQuotaPeriodSec", buf);
        }
        if (v == UINT64_MAX)
                return add(assignments, name, "infinity");
        (void) snprintf(buf, sizeof buf, "%" PRIu64, v);
        return add(assignments, name, buf);
}

/* a(ss) DeviceAllow, a(st) IO*: one assignment per entry */
static int read_pair_array(sd_bus_message *m, const char *name, bool second_is_u64, char ***assignments) {
        const char *type = second_is_u64 ? "a(st)" : "a(ss)", *path;
        int r;

        r = sd_bus_message_enter_container(m, 'v', type);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'a', type + 1);
        if (r < 0)
                return r;
        for (;;) {
                _cleanup_free_ char *value = NULL;
                if (second_is_u64) {
                        uint64_t v;
                        r = sd_bus_message_read(m, "(st)", &path, &v);
                        if (r > 0 && v == UINT64_MAX)
                                value = strjoin(path, " infinity");
                        else if (r > 0 && asprintf(&value, "%s %" PRIu64, path, v) < 0)
                                value = NULL;
                } else {
                        const char *access;
                        r = sd_bus_message_read(m, "(ss)", &path, &access);
                        if (r > 0)
                                value = isempty(access) ? strdup(path) : strjoin(path, " ", access);
                }
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                if (!value)
                        return -ENOMEM;
                r = add(assignments, name, value);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

/* ay: a CPU bit mask, as systemd sends AllowedCPUs= */
static int read_cpu_mask(sd_bus_message *m, const char *name, char ***assignments) {
        _cleanup_free_ char *list = NULL;
        const uint8_t *bits;
        size_t n;
        int r;

        r = sd_bus_message_enter_container(m, 'v', "ay");
        if (r < 0)
                return r;
        r = sd_bus_message_read_array(m, 'y', (const void **) &bits, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n * 8; i++) {
                char num[32];
                if (!(bits[i / 8] & (1u << (i % 8))))
                        continue;
                (void) snprintf(num, sizeof num, "%zu", i);
                char *l = list ? strjoin(list, ",", num) : strdup(num);
                if (!l)
                        return -ENOMEM;
                free(list);
                list = l;
        }
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        return list ? add(assignments, name, list) : 0;
}

int bus_scope_property_to_assignments(sd_bus_message *m, const char *name, char ***assignments) {
        static const char *const u64[] = { "MemoryMax", "MemoryHigh", "MemoryLow", "MemorySwapMax", "TasksMax",
                                           "CPUWeight", "CPUShares", "IOWeight", "CPUQuotaPerSecUSec",
                                           "CPUQuotaPeriodUSec" };
        static const char *const io[] = { "IODeviceWeight", "IOReadBandwidthMax", "IOWriteBandwidthMax",
                                          "IOReadIOPSMax", "IOWriteIOPSMax" };
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(u64); i++)
                if (streq(name, u64[i]) && streq(contents, "t")) {
                        r = read_u64_property(m, name, assignments);
                        return r < 0 ? r : 1;
                }
        for (size_t i = 0; i < ELEMENTSOF(io); i++)
                if (streq(name, io[i]) && streq(contents, "a(st)")) {
                        r = read_pair_array(m, name, true, assignments);
                        return r < 0 ? r : 1;
                }
        if (streq(name, "DeviceAllow") && streq(contents, "a(ss)")) {
                r = read_pair_array(m, name, false, assignments);
                return r < 0 ? r : 1;
        }
        if ((streq(name, "AllowedCPUs") || streq(name, "AllowedMemoryNodes")) && streq(contents, "ay")) {
                r = read_cpu_mask(m, name, assignments);
                return r < 0 ? r : 1;
        }
        if (streq(name, "DevicePolicy") && streq(contents, "s")) {
                const char *v;
                r = sd_bus_message_read(m, "v", "s", &v);
                if (r < 0)
                        return r;
                r = add(assignments, name, v);
                return r < 0 ? r : 1;
        }
        return 0;
}

int machine_limits_check(char *const *assignments, char **ret_error) {
        _cleanup_(cgroup_limits_done) CgroupLimits l = {};
        return cgroup_limits_parse_strv(&l, assignments, ret_error);
}

int machine_limits_apply(Machine *machine, char *const *assignments, char **ret_error) {
        _cleanup_(cgroup_limits_done) CgroupLimits l = {};
        _cleanup_(cgroup_controllers_done) CgroupControllerMap map = {};
        _cleanup_strv_free_ char **warnings = NULL;
        int r;

        if (!machine->cgroup)
                return -EOPNOTSUPP;
        r = cgroup_limits_parse_strv(&l, assignments, ret_error);
        if (r < 0)
                return r;
        r = cgroup_controllers_detect(&map);
        if (r < 0)
                return r;
        r = cgroup_limits_apply(&map, machine->cgroup, &l, true, &warnings, ret_error);
        STRV_FOREACH(w, warnings)
                log_warning("Machine %s: %s", machine->name, *w);
        return r;
}

static char *limits_path(Manager *m, const char *name) {
        _cleanup_free_ char *dir = strdup(m->autostart_dir);
        char *slash = dir ? strrchr(dir, '/') : NULL;

        if (!slash)
                return NULL;
        *slash = 0;
        return strjoin(dir, "/properties/", name);
}

int machine_limits_load(Manager *m, const char *name, char ***ret) {
        _cleanup_free_ char *p = limits_path(m, name), *buf = NULL;
        _cleanup_strv_free_ char **l = NULL;
        char *save = NULL;
        int r;

        if (!p)
                return -ENOMEM;
        r = read_full_file_at(AT_FDCWD, p, 256 * 1024, &buf, NULL);
        if (r == -ENOENT) {
                *ret = NULL;
                return 0;
        }
        if (r < 0)
                return r;
        for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
                if (!isempty(line) && strv_extend(&l, line) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

/* Written to a temporary file and renamed over the old one: a crash leaves one or the other. */
int machine_limits_save(Manager *m, const char *name, char *const *assignments) {
        _cleanup_(cgroup_limits_done) CgroupLimits l = {};
        _cleanup_strv_free_ char **old = NULL;
        _cleanup_free_ char *p = limits_path(m, name), *tmp = NULL, *dir = NULL, *body = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (!p)
                return -ENOMEM;
        r = machine_limits_load(m, name, &old);
        if (r < 0)
                return r;
        /* the canonical list of old + new, one assignment a property (or a device) */
        r = cgroup_limits_parse_strv(&l, old, NULL);
        if (r >= 0)
                r = cgroup_limits_parse_strv(&l, assignments, NULL);
        if (r < 0)
                return r;
        dir = strndup(p, (size_t) (strrchr(p, '/') - p));
        tmp = strjoin(p, ".tmp");
        body = l.assignments ? strv_join(l.assignments, "\n") : strdup("");
        if (!dir || !tmp || !body)
                return -ENOMEM;
        {
                _cleanup_free_ char *parent = strndup(dir, (size_t) (strrchr(dir, '/') - dir));
                if (!parent)
                        return -ENOMEM;
                (void) mkdir(parent, 0755); /* /var/lib/berth */
        }
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return -errno;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        if (write(fd, body, strlen(body)) != (ssize_t) strlen(body) || write(fd, "\n", 1) != 1 || fsync(fd) < 0) {
                r = -errno ?: -EIO;
                (void) unlink(tmp);
                return r;
        }
        if (rename(tmp, p) < 0) {
                r = -errno;
                (void) unlink(tmp);
                return r;
        }
        return 0;
}

int machine_set_properties(Manager *m, const char *name, char *const *assignments, bool runtime, char **ret_error) {
        Machine *machine = manager_find_machine(m, name);
        int r;

        r = machine_limits_check(assignments, ret_error);
        if (r < 0)
                return r;
        if (!machine && runtime)
                return -ESRCH;
        if (machine) {
                r = machine_limits_apply(machine, assignments, ret_error);
                if (r < 0)
                        return r;
        }
        return runtime ? 0 : machine_limits_save(m, name, assignments);
}

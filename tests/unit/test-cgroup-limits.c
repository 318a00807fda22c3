/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Property parsing, and the v2/v1 writers against directory trees shaped like cgroupfs. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "alloc-util.h"
#include "cgroup-apply.h"
#include "cgroup-limits.h"
#include "fileio.h"
#include "rm-rf.h"
#include "string-util.h"
#include "strv.h"
#include "test.h"

static void parse_ok(CgroupLimits *l, const char *a) {
        _cleanup_free_ char *err = NULL;
        int r = cgroup_limits_parse_assignment(l, a, &err);
        if (r < 0)
                fprintf(stderr, "%s: %s\n", a, err);
        ASSERT_OK(r);
        ASSERT_TRUE(err == NULL);
}

static void parse_fails(const char *a, int expected, const char *message) {
        _cleanup_(cgroup_limits_done) CgroupLimits l = {};
        _cleanup_free_ char *err = NULL;

        ASSERT_EQ(cgroup_limits_parse_assignment(&l, a, &err), expected);
        ASSERT_TRUE(err != NULL);
        if (!strstr(err, message)) {
                fprintf(stderr, "'%s' not in '%s'\n", message, err);
                abort();
        }
        ASSERT_EQ(l.mask, 0);
}

TEST(property_table) {
        for (int i = 0; i < _CGROUP_PROP_MAX; i++)
                ASSERT_EQ(cgroup_property_from_string(cgroup_property_to_string(i)), i);
        ASSERT_EQ(cgroup_property_from_string("CPUQuotaPerSecUSec"), CGROUP_PROP_CPU_QUOTA);
        ASSERT_EQ(cgroup_property_from_string("MemoryLimit"), _CGROUP_PROP_INVALID);
        for (int i = 0; i < _CGROUP_DEVICE_POLICY_MAX; i++)
                ASSERT_EQ(cgroup_device_policy_from_string(cgroup_device_policy_to_string(i)), i);
        for (int i = 0; i < _CGROUP_CTRL_MAX; i++)
                ASSERT_EQ(cgroup_controller_from_string(cgroup_controller_to_string(i)), i);
        ASSERT_EQ(cgroup_controller_from_string("blkio"), CGROUP_CTRL_IO);
}

TEST(parse_values) {
        _cleanup_(cgroup_limits_done) CgroupLimits l = {};

        parse_ok(&l, "MemoryMax=100M");
        ASSERT_EQ(l.memory_max, 100 * 1024 * 1024);
        parse_ok(&l, "MemoryHigh=infinity");
        ASSERT_TRUE(l.memory_high == CGROUP_LIMIT_MAX);
        parse_ok(&l, "MemoryLow=50%");
        ASSERT_TRUE(l.memory_low > 0 && l.memory_low != CGROUP_LIMIT_MAX);
        parse_ok(&l, "CPUQuota=50%");
        ASSERT_EQ(l.cpu_quota_per_sec_usec, 500000);
        parse_ok(&l, "CPUQuota=150%");
        ASSERT_EQ(l.cpu_quota_per_sec_usec, 1500000);
        parse_ok(&l, "CPUQuotaPeriodSec=10ms");
        ASSERT_EQ(l.cpu_quota_period_usec, 10000);
        parse_ok(&l, "CPUWeight=200");
        parse_ok(&l, "CPUShares=512");
        parse_ok(&l, "AllowedCPUs=0-1, 3");
        ASSERT_STREQ(l.allowed_cpus, "0-1,3");
        parse_ok(&l, "TasksMax=256");
        ASSERT_EQ(l.tasks_max, 256);
        parse_ok(&l, "DevicePolicy=strict");
        ASSERT_EQ(l.device_policy, CGROUP_DEVICE_POLICY_STRICT);
        parse_ok(&l, "DeviceAllow=/dev/null rw");
        ASSERT_EQ(l.n_devices, 1);
        ASSERT_EQ(l.devices[0].major, 1);
        ASSERT_EQ(l.devices[0].minor, 3);
        ASSERT_STREQ(l.devices[0].access, "rw");
        parse_ok(&l, "DeviceAllow=char-pts rw");
        ASSERT_TRUE(l.n_devices >= 2);
        ASSERT_EQ(l.devices[1].major, 136);
        ASSERT_EQ(l.devices[1].minor, -1);
        /* a later assignment replaces the earlier one, in the remembered list too */
        parse_ok(&l, "TasksMax=infinity");
        ASSERT_TRUE(l.tasks_max == CGROUP_LIMIT_MAX);
        ASSERT_TRUE(strv_find(l.assignments, "TasksMax=infinity") != NULL);
        ASSERT_TRUE(strv_find(l.assignments, "TasksMax=256") == NULL);
        ASSERT_TRUE(strv_find(l.assignments, "CPUQuota=150%") != NULL);
        ASSERT_TRUE(strv_find(l.assignments, "CPUQuota=50%") == NULL);
        ASSERT_TRUE(cgroup_limits_has(&l, CGROUP_PROP_MEMORY_MAX));
        ASSERT_FALSE(cgroup_limits_has(&l, CGROUP_PROP_MEMORY_SWAP_MAX));
}

TEST(parse_refusals) {
        parse_fails("Frobnicate=1", -ENOENT, "Unknown property 'Frobnicate'");
        parse_fails("MemoryMax", -EINVAL, "use NAME=VALUE");
        parse_fails("MemoryMax=", -EINVAL, "Empty value for MemoryMax=");
        parse_fails("MemoryMax=-1", -EINVAL, "Invalid value '-1' for MemoryMax=");
        parse_fails("MemoryMax=lots", -EINVAL, "Invalid value 'lots' for MemoryMax=");
        parse_fails("MemoryMax=99999999999999999999", -ERANGE, "out of range");
        parse_fails("MemoryMax=20E", -ERANGE, "out of range");
        parse_fails("MemoryMax=0%", -ERANGE, "above 0%");
        parse_fails("CPUQuota=0%", -ERANGE, "CPUQuota=0% is out of range: the quota must be above 0%");
        parse_fails("CPUQuota=50", -EINVAL, "expected a percentage");
        parse_fails("CPUQuotaPeriodSec=5s", -ERANGE, "between 1ms and 1s");
        parse_fails("CPUWeight=0", -ERANGE, "between 1 and 10000");
        parse_fails("CPUWeight=-5", -ERANGE, "between 1 and 10000");
        parse_fails("CPUShares=1", -ERANGE, "between 2 and 262144");
        parse_fails("TasksMax=0", -ERANGE, "between 1 and 4194304");
        parse_fails("TasksMax=18446744073709551616", -ERANGE, "out of range");
        parse_fails("TasksMax=5000000", -ERANGE, "out of range");
        parse_fails("AllowedCPUs=3-1", -ERANGE, "must ascend");
        parse_fails("AllowedCPUs=a", -EINVAL, "expected a list");
        parse_fails("IOWriteBandwidthMax=/dev/nonexistent 1M", -ENODEV, "Device '/dev/nonexistent' in "
                                                                          "IOWriteBandwidthMax= does not exist");
        parse_fails("IOWriteBandwidthMax=1M", -EINVAL, "expected 'DEVICE VALUE'");
        parse_fails("DeviceAllow=/dev/nonexistent rw", -ENODEV, "Device '/dev/nonexistent' in DeviceAllow= does not exist");
        parse_fails("DeviceAllow=/dev/null rwx", -EINVAL, "Invalid access 'rwx'");
        parse_fails("DeviceAllow=char-nosuchdriver", -ENODEV, "No device driver 'char-nosuchdriver'");
        parse_fails("DevicePolicy=open", -EINVAL, "use auto, closed or strict");
}

TEST(slice_path) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL;

        ASSERT_OK(cgroup_slice_path("machine.slice", &a));
        ASSERT_STREQ(a, "machine.slice");
        ASSERT_OK(cgroup_slice_path("a-b-c.slice", &b));
        ASSERT_STREQ(b, "a.slice/a-b.slice/a-b-c.slice");
        ASSERT_OK(cgroup_machine_path_in_slice("web.slice", "db-1", &c));
        ASSERT_STREQ(c, "web.slice/machine-db\\x2d1.scope");
        ASSERT_OK(cgroup_machine_path_in_slice(NULL, "x", &d));
        ASSERT_STREQ(d, "machine.slice/machine-x.scope");
        ASSERT_EQ(cgroup_slice_path("foo", &a), -EINVAL);
        ASSERT_EQ(cgroup_slice_path("../x.slice", &a), -EINVAL);
        ASSERT_EQ(cgroup_slice_path("a--b.slice", &a), -EINVAL);
        ASSERT_EQ(cgroup_slice_path("a/b.slice", &a), -EINVAL);
}

/* A fake hierarchy: dir/<files> as empty regular files, below a temporary root. */
static void touch(const char *root, const char *rel, const char *const *files) {
        _cleanup_free_ char *dir = strjoin(root, "/", rel);
        char cmd[4096];

        (void) snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
        ASSERT_EQ(system(cmd), 0);
        for (const char *const *f = files; *f; f++) {
                _cleanup_free_ char *p = strjoin(dir, "/", *f);
                int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
                ASSERT_TRUE(fd >= 0);
                close(fd);
        }
}

static char *slurp(const char *root, const char *rel, const char *file) {
        _cleanup_free_ char *p = strjoin(root, "/", rel, "/", file);
        char *s = NULL;

        if (read_full_file_at(AT_FDCWD, p, 4096, &s, NULL) < 0)
                return NULL;
        strstrip_trailing(s);
        return s;
}

#define SCOPE "machine.slice/machine-t.scope"

static void check_file(const char *root, const char *rel, const char *file, const char *expected) {
        _cleanup_free_ char *s = slurp(root, rel, file);
        ASSERT_STREQ(s, expected);
}

static bool io_device_available(char *spec, size_t n, const char *prop, unsigned *ma, unsigned *mi) {
        struct stat st;

        if (stat("/", &st) < 0 || major(st.st_dev) == 0)
                return false;
        (void) snprintf(spec, n, "%s=/ 1M", prop);
        *ma = major(st.st_dev);
        *mi = minor(st.st_dev);
        return true;
}

TEST(apply_v2) {
        char root[] = "/tmp/test-cgroup-limits-XXXXXX", io_spec[64], expect[64];
        static const char *const top[] = { "cgroup.subtree_control", "cgroup.controllers", NULL };
        static const char *const scope[] = { "memory.max", "memory.high", "memory.low", "memory.swap.max", "cpu.max",
                                             "cpu.weight", "pids.max", "cpuset.cpus", "io.max", "io.weight", NULL };
        _cleanup_(cgroup_limits_done) CgroupLimits l = {};
        _cleanup_strv_free_ char **warnings = NULL;
        _cleanup_free_ char *err = NULL;
        CgroupControllerMap m = {};
        unsigned ma, mi;
        bool io = false;

        ASSERT_TRUE(mkdtemp(root) != NULL);
        touch(root, "", top);
        touch(root, "machine.slice", top);
        touch(root, SCOPE, scope);
        m.v2 = strdup(root);
        for (int c = 0; c < _CGROUP_CTRL_MAX; c++)
                m.on_v2[c] = !IN_SET(c, CGROUP_CTRL_CPUACCT, CGROUP_CTRL_DEVICES);
        parse_ok(&l, "MemoryMax=100M");
        parse_ok(&l, "MemoryHigh=80M");
        parse_ok(&l, "MemoryLow=10M");
        parse_ok(&l, "MemorySwapMax=infinity");
        parse_ok(&l, "CPUQuota=20%");
        parse_ok(&l, "CPUShares=2048");
        parse_ok(&l, "TasksMax=64");
        parse_ok(&l, "AllowedCPUs=0");
        parse_ok(&l, "IOWeight=300");
        if ((io = io_device_available(io_spec, sizeof io_spec, "IOWriteBandwidthMax", &ma, &mi)))
                parse_ok(&l, io_spec);
        ASSERT_OK(cgroup_limits_apply(&m, SCOPE, &l, false, &warnings, &err));
        ASSERT_EQ(strv_length(warnings), 0);
        check_file(root, SCOPE, "memory.max", "104857600");
        check_file(root, SCOPE, "memory.high", "83886080");
        check_file(root, SCOPE, "memory.low", "10485760");
        check_file(root, SCOPE, "memory.swap.max", "max");
        check_file(root, SCOPE, "cpu.max", "20000 100000");
        check_file(root, SCOPE, "cpu.weight", "200");
        check_file(root, SCOPE, "pids.max", "64");
        check_file(root, SCOPE, "cpuset.cpus", "0");
        check_file(root, SCOPE, "io.weight", "default 300");
        if (io) {
                (void) snprintf(expect, sizeof expect, "%u:%u wbps=1048576", ma, mi);
                check_file(root, SCOPE, "io.max", expect);
        }
        /* enabled top-down: the root and machine.slice (a plain file keeps only the last write, "+io",
         * over the earlier ones), never the scope itself */
        {
                _cleanup_free_ char *a = slurp(root, "", "cgroup.subtree_control");
                _cleanup_free_ char *b = slurp(root, "machine.slice", "cgroup.subtree_control");
                ASSERT_TRUE(a && startswith(a, "+io"));
                ASSERT_TRUE(b && startswith(b, "+io"));
        }
        {
                _cleanup_free_ char *p = strjoin(root, "/" SCOPE "/cgroup.subtree_control");
                ASSERT_TRUE(access(p, F_OK) < 0);
        }
        cgroup_controllers_done(&m);
        ASSERT_OK(rm_rf(root));
}

TEST(apply_v1) {
        char root[] = "/tmp/test-cgroup-limits-XXXXXX", io_spec[64], expect[64];
        static const char *const memory[] = { "memory.limit_in_bytes", "memory.memsw.limit_in_bytes", NULL };
        static const char *const cpu[] = { "cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.shares", NULL };
        static const char *const pids[] = { "pids.max", NULL };
        static const char *const blkio[] = { "blkio.throttle.write_bps_device", "blkio.throttle.read_iops_device", NULL };
        static const char *const devices[] = { "devices.deny", "devices.allow", NULL };
        _cleanup_(cgroup_limits_done) CgroupLimits l = {};
        _cleanup_strv_free_ char **warnings = NULL;
        _cleanup_free_ char *err = NULL;
        CgroupControllerMap m = {};
        unsigned ma, mi;
        bool io;

        ASSERT_TRUE(mkdtemp(root) != NULL);
        m.v1[CGROUP_CTRL_MEMORY] = strjoin(root, "/mem");
        m.v1[CGROUP_CTRL_CPU] = strjoin(root, "/cpu,cpuacct");
        m.v1[CGROUP_CTRL_PIDS] = strjoin(root, "/p");
        m.v1[CGROUP_CTRL_IO] = strjoin(root, "/blk");
        m.v1[CGROUP_CTRL_DEVICES] = strjoin(root, "/dev");
        m.v2 = strjoin(root, "/unified"); /* hybrid: cgroup2 without controllers */
        touch(m.v1[CGROUP_CTRL_MEMORY], SCOPE, memory);
        touch(m.v1[CGROUP_CTRL_CPU], SCOPE, cpu);
        touch(m.v1[CGROUP_CTRL_PIDS], SCOPE, pids);
        touch(m.v1[CGROUP_CTRL_IO], SCOPE, blkio);
        touch(m.v1[CGROUP_CTRL_DEVICES], SCOPE, devices);
        parse_ok(&l, "MemoryMax=100M");
        parse_ok(&l, "MemorySwapMax=50M");
        parse_ok(&l, "MemoryHigh=80M");
        parse_ok(&l, "CPUQuota=20%");
        parse_ok(&l, "CPUQuotaPeriodSec=50ms");
        parse_ok(&l, "CPUWeight=50");
        parse_ok(&l, "TasksMax=64");
        parse_ok(&l, "AllowedCPUs=0");
        parse_ok(&l, "DevicePolicy=strict");
        parse_ok(&l, "DeviceAllow=/dev/null rw");
        if ((io = io_device_available(io_spec, sizeof io_spec, "IOWriteBandwidthMax", &ma, &mi)))
                parse_ok(&l, io_spec);
        ASSERT_OK(cgroup_limits_apply(&m, SCOPE, &l, true, &warnings, &err));
        check_file(m.v1[CGROUP_CTRL_MEMORY], SCOPE, "memory.limit_in_bytes", "104857600");
        check_file(m.v1[CGROUP_CTRL_MEMORY], SCOPE, "memory.memsw.limit_in_bytes", "157286400");
        check_file(m.v1[CGROUP_CTRL_CPU], SCOPE, "cpu.cfs_period_us", "50000");
        check_file(m.v1[CGROUP_CTRL_CPU], SCOPE, "cpu.cfs_quota_us", "10000");
        check_file(m.v1[CGROUP_CTRL_CPU], SCOPE, "cpu.shares", "512");
        check_file(m.v1[CGROUP_CTRL_PIDS], SCOPE, "pids.max", "64");
        check_file(m.v1[CGROUP_CTRL_DEVICES], SCOPE, "devices.deny", "a");
        check_file(m.v1[CGROUP_CTRL_DEVICES], SCOPE, "devices.allow", "c 1:3 rw");
        if (io) {
                (void) snprintf(expect, sizeof expect, "%u:%u 1048576", ma, mi);
                check_file(m.v1[CGROUP_CTRL_IO], SCOPE, "blkio.throttle.write_bps_device", expect);
        }
        /* MemoryHigh has no v1 file; AllowedCPUs has no controller here (cpuset not mounted, not in cgroup2) */
        ASSERT_EQ(strv_length(warnings), 2);
        ASSERT_TRUE(strstr(warnings[0], "MemoryHigh= not applied: the v1 memory controller has no equivalent") != NULL);
        ASSERT_TRUE(strstr(warnings[1], "AllowedCPUs= not applied: this host has no 'cpuset' controller") != NULL);
        cgroup_controllers_done(&m);
        ASSERT_OK(rm_rf(root));
}

/* The pure cgroup2 view of a hybrid host: cgroup2 with no limit controllers. Nothing is written,
 * and every property says why. */
TEST(apply_no_controllers) {
        char root[] = "/tmp/test-cgroup-limits-XXXXXX";
        static const char *const top[] = { "cgroup.subtree_control", "cgroup.controllers", NULL };
        static const char *const scope[] = { "memory.max", "pids.max", NULL };
        _cleanup_(cgroup_limits_done) CgroupLimits l = {};
        _cleanup_strv_free_ char **warnings = NULL;
        _cleanup_free_ char *err = NULL, *cc = NULL;
        CgroupControllerMap m = {};

        ASSERT_TRUE(mkdtemp(root) != NULL);
        touch(root, "", top);
        touch(root, SCOPE, scope);
        cc = strjoin(root, "/cgroup.controllers");
        ASSERT_OK(write_string_file(cc, "hugetlb"));
        m.v2 = strdup(root);
        m.on_v2[CGROUP_CTRL_CPU] = false;
        parse_ok(&l, "MemoryMax=100M");
        parse_ok(&l, "TasksMax=64");
        ASSERT_OK(cgroup_limits_apply(&m, SCOPE, &l, false, &warnings, &err));
        ASSERT_EQ(strv_length(warnings), 2);
        ASSERT_STREQ(warnings[0], "MemoryMax= not applied: this host has no 'memory' controller (no cgroup v1 "
                                  "hierarchy has it, and cgroup2 offers only: hugetlb).");
        ASSERT_TRUE(strstr(warnings[1], "TasksMax= not applied: this host has no 'pids' controller") != NULL);
        check_file(root, SCOPE, "memory.max", "");
        check_file(root, "", "cgroup.subtree_control", "");
        cgroup_controllers_done(&m);
        ASSERT_OK(rm_rf(root));
}

TEST(accounting_v1_and_v2) {
        char root[] = "/tmp/test-cgroup-limits-XXXXXX";
        static const char *const v2[] = { "memory.current", "memory.peak", "memory.max", "pids.current", "pids.max",
                                          "cpu.stat", "io.stat", NULL };
        CgroupControllerMap m = {};
        CgroupAccounting a;
        _cleanup_free_ char *p = NULL;

        ASSERT_TRUE(mkdtemp(root) != NULL);
        touch(root, SCOPE, v2);
        m.v2 = strdup(root);
#define PUT(file, s) do { free(p); p = strjoin(root, "/" SCOPE "/" file); ASSERT_OK(write_string_file(p, s)); } while (0)
        PUT("memory.current", "1048576");
        PUT("memory.peak", "2097152");
        PUT("memory.max", "max");
        PUT("pids.current", "7");
        PUT("pids.max", "64");
        PUT("cpu.stat", "usage_usec 1500\nuser_usec 1000\n");
        PUT("io.stat", "254:0 rbytes=100 wbytes=200 rios=1\n7:0 rbytes=5 wbytes=6\n");
        ASSERT_OK(cgroup_accounting_read(&m, SCOPE, &a));
        ASSERT_EQ(a.memory_current, 1048576);
        ASSERT_EQ(a.memory_peak, 2097152);
        ASSERT_TRUE(a.memory_max == UINT64_MAX);
        ASSERT_EQ(a.tasks_current, 7);
        ASSERT_EQ(a.tasks_max, 64);
        ASSERT_EQ(a.cpu_usage_nsec, 1500000);
        ASSERT_EQ(a.io_read_bytes, 105);
        ASSERT_EQ(a.io_write_bytes, 206);
        cgroup_controllers_done(&m);
        ASSERT_OK(rm_rf(root));
}

TEST(detect_host) {
        CgroupControllerMap m = {};

        if (cgroup_controllers_detect(&m) < 0)
                return;
        for (int c = 0; c < _CGROUP_CTRL_MAX; c++)
                ASSERT_TRUE(!m.v1[c] || m.v1[c][0] == '/');
        cgroup_controllers_done(&m);
}

DEFINE_TEST_MAIN

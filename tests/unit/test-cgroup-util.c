/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "alloc-util.h"
#include "cgroup-util.h"
#include "fd-util.h"
#include "pidfd-util.h"
#include "test.h"

TEST(unit_name_escape) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;

        ASSERT_OK(cgroup_unit_name_escape("web-1", &a));
        ASSERT_STREQ(a, "web\\x2d1");
        ASSERT_OK(cgroup_unit_name_escape(".x/y z", &b));
        ASSERT_STREQ(b, "\\x2ex-y\\x20z");
        ASSERT_OK(cgroup_machine_path("db.example", &c));
        ASSERT_STREQ(c, "machine.slice/machine-db.example.scope");
}

TEST(layout_table) {
        for (int i = 0; i < _CGROUP_LAYOUT_MAX; i++)
                ASSERT_EQ(cgroup_layout_from_string(cgroup_layout_to_string(i)), i);
        ASSERT_EQ(cgroup_layout_from_string("nope"), _CGROUP_LAYOUT_INVALID);
        ASSERT_TRUE(cgroup_layout_to_string(_CGROUP_LAYOUT_MAX) == NULL);
}

TEST(detect) {
        CgroupSet s = {};
        _cleanup_free_ char *self = NULL;

        if (cgroup_set_detect(&s) < 0)
                SKIP_TEST("no cgroupfs in this build environment");
        ASSERT_TRUE(s.n > 0);
        for (size_t i = 0; i < s.n; i++) {
                ASSERT_TRUE(s.hierarchies[i].mount_point[0] == '/');
                ASSERT_EQ(s.hierarchies[i].unified, s.hierarchies[i].name[0] == 0);
                for (size_t j = 0; j < i; j++)
                        ASSERT_TRUE(strcmp(s.hierarchies[i].name, s.hierarchies[j].name) != 0);
        }
        if (s.layout != CGROUP_LAYOUT_LEGACY) {
                ASSERT_TRUE(cgroup_set_unified(&s) != NULL);
                ASSERT_OK(cgroup_pid_get_path(getpid(), "", &self));
                ASSERT_TRUE(self[0] == '/');
        }
        if (s.layout == CGROUP_LAYOUT_UNIFIED)
                ASSERT_EQ(s.n, 1);
        cgroup_set_done(&s);
}

DEFINE_TEST_MAIN

/* Field 22 of /proc/PID/stat, counted after the last ')' (comm may hold spaces and parentheses). */
TEST(pid_start_time) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/stat", "re");
        unsigned long long expected = 0;
        char buf[4096], *p;
        uint64_t t = 0;

        ASSERT_TRUE(f && fgets(buf, sizeof buf, f));
        p = strrchr(buf, ')');
        ASSERT_TRUE(p);
        /* after ')': state (3) ppid (4) ... starttime (22) */
        ASSERT_EQ(sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                         &expected), 1);
        ASSERT_OK(pid_get_start_time(getpid(), &t));
        ASSERT_EQ(t, (uint64_t) expected);
        ASSERT_ERROR(pid_get_start_time(0x3fffffff, &t), ESRCH);
}

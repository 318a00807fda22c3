/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc-util.h"
#include "cgroup-util.h"
#include "fd-util.h"
#include "fileio.h"
#include "pidfd-util.h"
#include "rm-rf.h"
#include "string-util.h"
#include "strv.h"
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
/* A directory shaped like cgroup2: cgroup.controllers as given; cgroup.subtree_control a FIFO whose read
 * end we hold (the writes queue up in order, each one kept), or a link to /dev/full (every write fails). */
static int fake_level(const char *root, const char *rel, const char *controllers, bool refuse) {
        _cleanup_free_ char *dir = strjoin(root, "/", rel), *cp = NULL, *sp = NULL;
        int fd;

        ASSERT_TRUE(dir != NULL);
        ASSERT_TRUE(mkdir(dir, 0755) >= 0);
        cp = strjoin(dir, "/cgroup.controllers");
        sp = strjoin(dir, "/cgroup.subtree_control");
        ASSERT_OK(write_string_file_create(cp, controllers, 0644));
        if (refuse) {
                ASSERT_TRUE(symlink("/dev/full", sp) >= 0);
                return -EBADF;
        }
        ASSERT_TRUE(mkfifo(sp, 0644) >= 0);
        fd = open(sp, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        return fd;
}

static void assert_written(int fd, const char *expected) {
        char buf[256];
        ssize_t n = read(fd, buf, sizeof buf - 1);

        if (isempty(expected)) {
                ASSERT_TRUE(n < 0 && errno == EAGAIN);
                return;
        }
        ASSERT_TRUE(n > 0);
        buf[n] = 0;
        ASSERT_STREQ(buf, expected);
}

TEST(delegate) {
        char root[] = "/tmp/test-cgroup-delegate-XXXXXX";
        _cleanup_strv_free_ char **skipped = NULL;
        _cleanup_close_ int top = -EBADF, a = -EBADF, scope = -EBADF, other = -EBADF;
        CgroupHierarchy h = { .mount_point = root, .name = (char *) "", .unified = true };
        CgroupSet s = { .hierarchies = &h, .n = 1, .layout = CGROUP_LAYOUT_UNIFIED };

        ASSERT_TRUE(mkdtemp(root) != NULL);
        ASSERT_OK(rm_rf(root));
        top = fake_level(root, "", "hugetlb misc rdma", false);
        a = fake_level(root, "a.slice", "hugetlb misc", false);
        (void) fake_level(root, "a.slice/a-b.slice", "misc", true);
        scope = fake_level(root, "a.slice/a-b.slice/machine-t.scope", "misc", false);

        /* a hybrid host's cgroup2 (or a machine with the host's v1 view): nothing written */
        s.layout = CGROUP_LAYOUT_HYBRID;
        ASSERT_OK(cgroup_set_delegate(&s, "a.slice/a-b.slice/machine-t.scope", false, &skipped));
        ASSERT_EQ(strv_length(skipped), 0);
        assert_written(top, "");
        assert_written(a, "");

        /* top-down, each controller its parent offers, one write each; a refusal is named and skipped;
         * the scope's own subtree_control untouched. The same with the cgroup2 view on a hybrid host. */
        for (int view = 0; view < 2; view++) {
                s.layout = view ? CGROUP_LAYOUT_HYBRID : CGROUP_LAYOUT_UNIFIED;
                ASSERT_OK(cgroup_set_delegate(&s, "a.slice/a-b.slice/machine-t.scope", view, &skipped));
                assert_written(top, "+hugetlb+misc+rdma");
                assert_written(a, "+hugetlb+misc");
                assert_written(scope, "");
                ASSERT_EQ(strv_length(skipped), 1);
                ASSERT_STREQ(skipped[0], "misc in a.slice/a-b.slice: No space left on device");
                skipped = strv_free(skipped);
        }

        /* machine.slice below the root */
        other = fake_level(root, "machine.slice", "hugetlb", false);
        ASSERT_OK(cgroup_set_delegate(&s, "machine.slice/machine-u.scope", true, &skipped));
        assert_written(top, "+hugetlb+misc+rdma");
        assert_written(other, "+hugetlb");
        ASSERT_EQ(strv_length(skipped), 0);
        ASSERT_OK(rm_rf(root));
}

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

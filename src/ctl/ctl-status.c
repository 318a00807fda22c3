/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The parts of 'status' read from the host: the machine's processes and its console log. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc-util.h"
#include "ctl-bus.h"
#include "ctl-status.h"
#include "fd-util.h"
#include "fileio.h"
#include "glyph.h"
#include "string-util.h"
#include "strv.h"

/* The hierarchy that names units: systemd's named one on hybrid hosts, else cgroup2. */
static int leader_cgroup(pid_t leader, const char **ret_mount, char **ret_path) {
        _cleanup_free_ char *buf = NULL;
        char p[64], *save = NULL;
        const char *mount = NULL;
        char *path = NULL;

        (void) snprintf(p, sizeof p, "/proc/%d/cgroup", (int) leader);
        if (read_full_file_at(AT_FDCWD, p, 64 * 1024, &buf, NULL) < 0)
                return -ESRCH;
        for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char *v;
                if ((v = startswith(l, "1:name=systemd:")) && access("/sys/fs/cgroup/systemd", F_OK) >= 0) {
                        mount = "/sys/fs/cgroup/systemd";
                        path = v;
                        break;
                }
                if ((v = startswith(l, "0::"))) {
                        mount = access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) >= 0 ? "/sys/fs/cgroup/unified"
                                                                                             : "/sys/fs/cgroup";
                        path = v;
                }
        }
        if (!path)
                return -ENOENT;
        *ret_mount = mount;
        *ret_path = strdup(path);
        return *ret_path ? 0 : -ENOMEM;
}

static void print_process(pid_t pid, const char *prefix, bool last) {
        _cleanup_free_ char *cmd = NULL;
        char p[64];
        size_t n = 0;

        (void) snprintf(p, sizeof p, "/proc/%d/cmdline", (int) pid);
        if (read_full_file_at(AT_FDCWD, p, 4096, &cmd, &n) >= 0 && n > 0) {
                for (size_t i = 0; i + 1 < n; i++)
                        if (cmd[i] == 0)
                                cmd[i] = ' ';
                (void) strstrip_trailing(cmd);
        }
        printf("%s%s%d %s\n", prefix, glyph(last ? GLYPH_TREE_RIGHT : GLYPH_TREE_BRANCH), (int) pid, cmd && n > 0 ? cmd : "");
}

static char **read_lines_of(const char *dir, const char *file) {
        _cleanup_free_ char *p = strjoin(dir, "/", file), *buf = NULL;
        char **l = NULL, *save = NULL;

        if (!p || read_full_file_at(AT_FDCWD, p, 1024 * 1024, &buf, NULL) < 0)
                return NULL;
        for (char *s = strtok_r(buf, "\n", &save); s; s = strtok_r(NULL, "\n", &save))
                (void) strv_extend(&l, s);
        return l;
}

static char **subgroups_of(const char *dir) {
        _cleanup_(closedirp) DIR *d = opendir(dir);
        struct dirent *de;
        char **l = NULL;

        while (d && (de = readdir(d)))
                if (de->d_type == DT_DIR && de->d_name[0] != '.')
                        (void) strv_extend(&l, de->d_name);
        return l;
}

static void show_group(const char *dir, const char *prefix, unsigned depth) {
        _cleanup_strv_free_ char **procs = read_lines_of(dir, "cgroup.procs");
        _cleanup_strv_free_ char **subs = depth < 8 ? subgroups_of(dir) : NULL;
        size_t np = strv_length(procs), ns = strv_length(subs);

        for (size_t i = 0; i < np; i++)
                print_process((pid_t) atoi(procs[i]), prefix, i + 1 == np && ns == 0);
        for (size_t i = 0; i < ns; i++) {
                bool last = i + 1 == ns;
                _cleanup_free_ char *sub = strjoin(dir, "/", subs[i]);
                _cleanup_free_ char *p2 = strjoin(prefix, glyph(last ? GLYPH_TREE_SPACE : GLYPH_TREE_VERTICAL));
                if (!sub || !p2)
                        return;
                printf("%s%s%s\n", prefix, glyph(last ? GLYPH_TREE_RIGHT : GLYPH_TREE_BRANCH), subs[i]);
                show_group(sub, p2, depth + 1);
        }
}

int ctl_show_cgroup_tree(pid_t leader, const char *unit, const char *prefix) {
        _cleanup_free_ char *path = NULL, *dir = NULL;
        const char *mount;
        char *u = NULL;

        if (leader_cgroup(leader, &mount, &path) < 0)
                return -ESRCH;
        /* The machine's own cgroup: up to its unit (the leader may sit deeper), else up to the
         * component under machine.slice. */
        if (!isempty(unit)) {
                u = strstr(path, unit);
                if (u)
                        u += strlen(unit);
        } else if ((u = strstr(path, "/machine.slice/")))
                u = strchrnul(u + strlen("/machine.slice/"), '/');
        if (u && (*u == '/' || *u == 0))
                *u = 0;
        dir = strjoin(mount, path);
        if (!dir)
                return -ENOMEM;
        printf("%s%s\n", isempty(unit) ? "          CGroup: " : "            Unit: ", isempty(unit) ? path : unit);
        show_group(dir, prefix, 0);
        return 0;
}

/* What a terminal ends up showing of a console line, near enough: its text after the last carriage
 * return that has any after it ("\rSent SIGTERM to all processes\r" from busybox, a progress bar's
 * last state), so that the prefix keeps its column. */
static const char *console_line_text(char *l) {
        size_t len = strlen(l);
        char *cr;

        while (len > 0 && l[len - 1] == '\r')
                l[--len] = 0;
        cr = strrchr(l, '\r');
        return cr ? cr + 1 : l;
}

void ctl_show_file_tail(const char *path, unsigned n, const char *prefix) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        char buf[16384];
        off_t size;
        ssize_t k;

        if (fd < 0)
                return;
        size = lseek(fd, 0, SEEK_END);
        k = pread(fd, buf, sizeof buf - 1, size > (off_t) sizeof buf - 1 ? size - (off_t) sizeof buf + 1 : 0);
        if (k <= 0)
                return;
        buf[k] = 0;
        char *start = buf + k;
        if (start > buf && start[-1] == '\n')
                *--start = 0;
        for (unsigned seen = 0; start > buf; start--)
                if (start[-1] == '\n' && ++seen == n)
                        break;
        for (char *save = NULL, *l = strtok_r(start, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                printf("%s%s\n", prefix, console_line_text(l));
        }
}

char *ctl_machine_log_path(sd_bus *bus, const char *name) {
        _cleanup_free_ char *dir = NULL;

        if (sd_bus_get_property_string(bus, MACHINE1_BUS_NAME, MACHINE1_PATH, BERTH_MANAGER_IFACE, "LogDirectory",
                                       NULL, &dir) < 0)
                return strdup("");
        return strjoin(dir, "/", name, ".log");
}

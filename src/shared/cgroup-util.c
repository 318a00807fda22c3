/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <inttypes.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "alloc-util.h"
#include "cgroup-util.h"
#include "fd-util.h"
#include "fileio.h"
#include "string-util.h"
#include "strv.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif

static const char *const layout_table[_CGROUP_LAYOUT_MAX] = {
        [CGROUP_LAYOUT_UNIFIED] = "unified",
        [CGROUP_LAYOUT_HYBRID] = "hybrid",
        [CGROUP_LAYOUT_LEGACY] = "legacy",
};

const char *cgroup_layout_to_string(CgroupLayout l) {
        return l >= 0 && l < _CGROUP_LAYOUT_MAX ? layout_table[l] : NULL;
}

CgroupLayout cgroup_layout_from_string(const char *s) {
        for (int i = 0; i < _CGROUP_LAYOUT_MAX; i++)
                if (s && streq(s, layout_table[i]))
                        return i;
        return _CGROUP_LAYOUT_INVALID;
}

void cgroup_set_done(CgroupSet *s) {
        for (size_t i = 0; i < s->n; i++) {
                free(s->hierarchies[i].mount_point);
                free(s->hierarchies[i].name);
        }
        s->hierarchies = mfree(s->hierarchies);
        s->n = 0;
}

static int set_add(CgroupSet *s, const char *mount_point, const char *name, bool unified) {
        CgroupHierarchy *h = realloc(s->hierarchies, sizeof(CgroupHierarchy) * (s->n + 1));

        if (!h)
                return -ENOMEM;
        s->hierarchies = h;
        h[s->n] = (CgroupHierarchy) { .mount_point = strdup(mount_point), .name = strdup(name), .unified = unified };
        if (!h[s->n].mount_point || !h[s->n].name) {
                free(h[s->n].mount_point);
                free(h[s->n].name);
                return -ENOMEM;
        }
        s->n++;
        return 0;
}

int cgroup_set_add_unified(CgroupSet *s, const char *mount_point) {
        return set_add(s, mount_point, "", true);
}

/* Each real directory under /sys/fs/cgroup that is a cgroup mount is one hierarchy: "unified" is
 * cgroup2, "systemd" is name=systemd, "cpu,cpuacct" names its controllers (the "cpu" and "cpuacct"
 * entries beside it are symlinks). This is the layout systemd and every distribution mount, and
 * systemd itself finds its hierarchies the same way, with statfs(). */
static int named_hierarchies_list(char ***ret) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_strv_free_ char **l = NULL;
        char *save = NULL;
        int r;

        r = read_full_file_at(AT_FDCWD, "/proc/self/cgroup", 64 * 1024, &buf, NULL);
        if (r < 0)
                return r;
        for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;
                if (!b)
                        continue;
                *b = 0;
                if (startswith(a + 1, "name=") && strv_extend(&l, a + 1) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int detect_v1_and_hybrid(CgroupSet *s) {
        _cleanup_strv_free_ char **named_hierarchies = NULL;
        DIR *d;
        struct dirent *de;
        int r;

        r = named_hierarchies_list(&named_hierarchies);
        if (r < 0)
                return r;
        d = opendir("/sys/fs/cgroup");
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                _cleanup_free_ char *p = NULL;
                struct statfs sfs;

                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                p = strjoin("/sys/fs/cgroup/", de->d_name);
                if (!p) {
                        r = -ENOMEM;
                        break;
                }
                if (statfs(p, &sfs) < 0)
                        continue;
                if ((unsigned long) sfs.f_type == CGROUP2_SUPER_MAGIC)
                        r = set_add(s, p, "", true);
                else if ((unsigned long) sfs.f_type == CGROUP_SUPER_MAGIC) {
                        /* Named hierarchies ("name=systemd") are listed so in /proc/self/cgroup. */
                        _cleanup_free_ char *named = strjoin("name=", de->d_name);
                        if (!named) {
                                r = -ENOMEM;
                                break;
                        }
                        r = set_add(s, p, strv_find(named_hierarchies, named) ? named : de->d_name, false);
                } else
                        continue;
                if (r < 0)
                        break;
        }
        (void) closedir(d);
        return r;
}

int cgroup_set_detect(CgroupSet *ret) {
        CgroupSet s = {};
        struct statfs sfs;
        int r;

        if (statfs("/sys/fs/cgroup", &sfs) < 0)
                return -errno;
        if ((unsigned long) sfs.f_type == CGROUP2_SUPER_MAGIC) {
                r = set_add(&s, "/sys/fs/cgroup", "", true);
                s.layout = CGROUP_LAYOUT_UNIFIED;
        } else {
                r = detect_v1_and_hybrid(&s);
                s.layout = cgroup_set_unified(&s) ? CGROUP_LAYOUT_HYBRID : CGROUP_LAYOUT_LEGACY;
        }
        if (r >= 0 && s.n == 0)
                r = -ENOMEDIUM;
        if (r < 0) {
                cgroup_set_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}

const CgroupHierarchy *cgroup_set_unified(const CgroupSet *s) {
        for (size_t i = 0; i < s->n; i++)
                if (s->hierarchies[i].unified)
                        return &s->hierarchies[i];
        return NULL;
}

const CgroupHierarchy *cgroup_set_find(const CgroupSet *s, const char *name) {
        for (size_t i = 0; i < s->n; i++)
                if (!s->hierarchies[i].unified && streq(s->hierarchies[i].name, name))
                        return &s->hierarchies[i];
        return NULL;
}

int cgroup_unit_name_escape(const char *s, char **ret) {
        char *r = malloc(strlen(s) * 4 + 1), *w;

        if (!r)
                return -ENOMEM;
        w = r;
        for (const char *p = s; *p; p++) {
                unsigned char c = (unsigned char) *p;
                if (c == '/')
                        *w++ = '-';
                else if (c == '-' || c == '\\' || (p == s && c == '.') ||
                         !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                           c == ':' || c == '_' || c == '.'))
                        w += sprintf(w, "\\x%02x", c);
                else
                        *w++ = (char) c;
        }
        *w = 0;
        *ret = r;
        return 0;
}

int cgroup_machine_path(const char *machine_name, char **ret) {
        _cleanup_free_ char *e = NULL;
        char *p;
        int r;

        r = cgroup_unit_name_escape(machine_name, &e);
        if (r < 0)
                return r;
        p = strjoin("machine.slice/machine-", e, ".scope");
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

static char *hierarchy_path(const CgroupHierarchy *h, const char *rel) {
        return strjoin(h->mount_point, "/", rel);
}

/* A new v1 cpuset cgroup starts with empty cpus/mems and refuses tasks: copy the parent's. */
static int cpuset_init(const char *dir) {
        static const char *const attrs[] = { "cpuset.cpus", "cpuset.mems" };

        for (size_t i = 0; i < ELEMENTSOF(attrs); i++) {
                _cleanup_free_ char *mine = strjoin(dir, "/", attrs[i]), *parent = strjoin(dir, "/../", attrs[i]);
                _cleanup_free_ char *cur = NULL, *val = NULL;
                int r;

                if (!mine || !parent)
                        return -ENOMEM;
                if (read_one_line_file(mine, &cur) >= 0 && !isempty(cur))
                        continue;
                r = read_one_line_file(parent, &val);
                if (r < 0)
                        return r;
                r = write_string_file(mine, isempty(val) ? "\n" : val);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int mkdir_parents_cgroup(const CgroupHierarchy *h, const char *rel) {
        _cleanup_free_ char *full = hierarchy_path(h, rel);
        size_t base;

        if (!full)
                return -ENOMEM;
        base = strlen(h->mount_point) + 1;
        for (char *p = full + base;; p++) {
                bool end = *p == 0;
                if (*p != '/' && !end)
                        continue;
                *p = 0;
                if (mkdir(full, 0755) < 0 && errno != EEXIST)
                        return -errno;
                if (strstr(h->name, "cpuset")) {
                        int r = cpuset_init(full);
                        if (r < 0)
                                return r;
                }
                if (end)
                        break;
                *p = '/';
        }
        return 0;
}

int cgroup_set_create(const CgroupSet *s, const char *rel) {
        for (size_t i = 0; i < s->n; i++) {
                int r;
                /* Another launcher may remove an empty parent (machine.slice) under our feet. */
                for (int attempt = 0;; attempt++) {
                        r = mkdir_parents_cgroup(&s->hierarchies[i], rel);
                        if (r != -ENOENT || attempt >= 8)
                                break;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

int cgroup_set_remove_empty_parents(const CgroupSet *s, const char *rel) {
        for (size_t i = 0; i < s->n; i++) {
                _cleanup_free_ char *p = hierarchy_path(&s->hierarchies[i], rel);
                char *slash;

                if (!p)
                        return -ENOMEM;
                while ((slash = strrchr(p, '/')) && (size_t) (slash - p) > strlen(s->hierarchies[i].mount_point)) {
                        *slash = 0;
                        if (rmdir(p) < 0)
                                break; /* not empty (another machine), or gone */
                }
        }
        return 0;
}

int cgroup_set_attach_some(const CgroupSet *s, const char *rel, pid_t pid, CgroupAttach which) {
        char buf[32];

        (void) snprintf(buf, sizeof buf, "%d\n", (int) pid);
        for (size_t i = 0; i < s->n; i++) {
                const CgroupHierarchy *h = &s->hierarchies[i];
                _cleanup_free_ char *p = NULL;
                int r;

                if (!(which & (h->unified ? CGROUP_ATTACH_UNIFIED : CGROUP_ATTACH_V1)))
                        continue;
                p = strjoin(h->mount_point, "/", rel, "/cgroup.procs");
                if (!p)
                        return -ENOMEM;
                r = write_string_file(p, buf);
                if (r < 0)
                        return r;
        }
        return 0;
}

int cgroup_set_attach(const CgroupSet *s, const char *rel, pid_t pid) {
        return cgroup_set_attach_some(s, rel, pid, CGROUP_ATTACH_V1 | CGROUP_ATTACH_UNIFIED);
}

int cgroup_set_open_unified(const CgroupSet *s, const char *rel) {
        for (size_t i = 0; i < s->n; i++) {
                _cleanup_free_ char *p = NULL;
                int fd;

                if (!s->hierarchies[i].unified)
                        continue;
                p = hierarchy_path(&s->hierarchies[i], rel);
                if (!p)
                        return -ENOMEM;
                fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                return fd < 0 ? -errno : fd;
        }
        return -ENOENT;
}

int cgroup_tasks_open_v1(const CgroupSet *s, const char *rel, CgroupTasks *ret) {
        CgroupTasks t = { .fds = new(int, s->n) };

        if (!t.fds)
                return -ENOMEM;
        for (size_t i = 0; i < s->n; i++) {
                _cleanup_free_ char *p = NULL;

                if (s->hierarchies[i].unified)
                        continue;
                p = strjoin(s->hierarchies[i].mount_point, "/", rel, "/tasks");
                t.fds[t.n] = p ? open(p, O_WRONLY | O_NOCTTY | O_CLOEXEC) : -ENOMEM;
                if (t.fds[t.n] < 0) {
                        int r = p ? -errno : -ENOMEM;
                        cgroup_tasks_close(&t);
                        return r;
                }
                t.n++;
        }
        *ret = t;
        return 0;
}

int cgroup_tasks_attach_self(const CgroupTasks *t) {
        for (size_t i = 0; i < t->n; i++)
                if (write(t->fds[i], "0", 1) != 1)
                        return -errno;
        return 0;
}

void cgroup_tasks_close(CgroupTasks *t) {
        for (size_t i = 0; i < t->n; i++)
                safe_close(t->fds[i]);
        t->fds = mfree(t->fds);
        t->n = 0;
}

bool cgroup_set_exists(const CgroupSet *s, const char *rel) {
        for (size_t i = 0; i < s->n; i++) {
                _cleanup_free_ char *p = hierarchy_path(&s->hierarchies[i], rel);
                if (p && access(p, F_OK) >= 0)
                        return true;
        }
        return false;
}

typedef int (*cgroup_dir_fn)(const char *dir, void *userdata);

/* Calls fn for dir and every cgroup below it, children before parents. */
static int walk_depth_first(const char *dir, cgroup_dir_fn fn, void *userdata, unsigned depth) {
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (depth > 128)
                return -ELOOP;
        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(d))) {
                _cleanup_free_ char *sub = NULL;
                if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                sub = strjoin(dir, "/", de->d_name);
                if (!sub) {
                        r = -ENOMEM;
                        break;
                }
                r = walk_depth_first(sub, fn, userdata, depth + 1);
                if (r < 0)
                        break;
        }
        (void) closedir(d);
        if (r < 0)
                return r;
        return fn(dir, userdata);
}

static int count_procs(const char *dir, void *userdata) {
        _cleanup_free_ char *p = strjoin(dir, "/cgroup.procs"), *buf = NULL;
        int *n = userdata, r;

        if (!p)
                return -ENOMEM;
        r = read_full_file_at(AT_FDCWD, p, 16 * 1024 * 1024, &buf, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (!isempty(buf))
                (*n)++;
        return 0;
}

/* Calls fn for rel and every cgroup below it, in every hierarchy. With keep_going, an error in one
 * hierarchy does not stop the others (the first error is returned). */
static int walk_all_hierarchies(const CgroupSet *s, const char *rel, cgroup_dir_fn fn, void *userdata,
                                bool keep_going) {
        int ret = 0;

        for (size_t i = 0; i < s->n; i++) {
                _cleanup_free_ char *p = hierarchy_path(&s->hierarchies[i], rel);
                int r;

                if (!p)
                        return -ENOMEM;
                r = walk_depth_first(p, fn, userdata, 0);
                if (r < 0 && !keep_going)
                        return r;
                if (r < 0 && ret == 0)
                        ret = r;
        }
        return ret;
}

int cgroup_set_is_populated(const CgroupSet *s, const char *rel) {
        int n = 0, r;

        r = walk_all_hierarchies(s, rel, count_procs, &n, false);
        if (r < 0)
                return r;
        return n > 0;
}

typedef struct KillContext {
        int sig;
        int n;
} KillContext;

static int kill_procs(const char *dir, void *userdata) {
        _cleanup_free_ char *p = strjoin(dir, "/cgroup.procs"), *buf = NULL;
        KillContext *k = userdata;
        char *save = NULL;
        int r;

        if (!p)
                return -ENOMEM;
        r = read_full_file_at(AT_FDCWD, p, 16 * 1024 * 1024, &buf, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                int pid = atoi(l);
                if (pid > 1 && kill(pid, k->sig) >= 0)
                        k->n++;
        }
        return 0;
}

int cgroup_set_kill(const CgroupSet *s, const char *rel, int sig) {
        const CgroupHierarchy *u = cgroup_set_unified(s);
        KillContext k = { .sig = sig };

        /* cgroup.kill (5.14) kills the whole subtree atomically, forks included. */
        if (sig == SIGKILL && u) {
                _cleanup_free_ char *p = strjoin(u->mount_point, "/", rel, "/cgroup.kill");
                if (!p)
                        return -ENOMEM;
                if (write_string_file(p, "1") >= 0)
                        k.n++;
        }
        int r = walk_all_hierarchies(s, rel, kill_procs, &k, false);
        return r < 0 ? r : k.n;
}

static int remove_dir(const char *dir, void *userdata) {
        if (rmdir(dir) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int cgroup_set_remove(const CgroupSet *s, const char *rel) {
        return walk_all_hierarchies(s, rel, remove_dir, NULL, true);
}

static uint64_t now_usec(void) {
        struct timespec ts;
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

int cgroup_set_kill_and_remove(const CgroupSet *s, const char *rel, uint64_t timeout_usec) {
        uint64_t deadline = now_usec() + timeout_usec;
        int r;

        for (;;) {
                r = cgroup_set_is_populated(s, rel);
                if (r < 0)
                        return r;
                if (r > 0)
                        (void) cgroup_set_kill(s, rel, SIGKILL);
                else {
                        r = cgroup_set_remove(s, rel);
                        if (r != -EBUSY)
                                return r;
                }
                if (now_usec() >= deadline)
                        return -EBUSY;
                (void) usleep(2000);
        }
}

int cgroup_pid_get_path(pid_t pid, const char *name, char **ret) {
        _cleanup_free_ char *buf = NULL;
        char path[64], *save = NULL;
        int r;

        (void) snprintf(path, sizeof path, "/proc/%d/cgroup", pid ? (int) pid : (int) getpid());
        r = read_full_file_at(AT_FDCWD, path, 64 * 1024, &buf, NULL);
        if (r < 0)
                return r;
        for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char *c1 = strchr(l, ':'), *c2;
                if (!c1 || !(c2 = strchr(c1 + 1, ':')))
                        continue;
                *c2 = 0;
                if (!streq(c1 + 1, name))
                        continue;
                if (isempty(name) && !startswith(l, "0:"))
                        continue;
                *ret = strdup(c2 + 1);
                return *ret ? 0 : -ENOMEM;
        }
        return -ENXIO;
}

int cgroup_set_device_policy(const CgroupSet *s, const char *rel, const char *const *allow) {
        const CgroupHierarchy *h = cgroup_set_find(s, "devices");
        _cleanup_free_ char *deny = NULL, *allowp = NULL;
        int r;

        if (!h)
                return -EOPNOTSUPP; /* cgroup2 needs a BPF device program instead */
        deny = strjoin(h->mount_point, "/", rel, "/devices.deny");
        allowp = strjoin(h->mount_point, "/", rel, "/devices.allow");
        if (!deny || !allowp)
                return -ENOMEM;
        r = write_string_file(deny, "a");
        if (r < 0)
                return r;
        for (const char *const *a = allow; a && *a; a++) {
                r = write_string_file(allowp, *a);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Enables a cgroup2 controller on the way down to rel (root first); an error is left to the caller's
 * write of the controller's files. */
static void enable_v2_controller(const CgroupHierarchy *u, const char *rel, const char *controller) {
        _cleanup_free_ char *path = strjoin(u->mount_point, "/", rel), *want = strjoin("+", controller);
        char *p;

        if (!path || !want)
                return;
        p = path + strlen(u->mount_point);
        for (;;) {
                char *slash = strchr(p + 1, '/');
                _cleanup_free_ char *parent = strndup(path, p - path), *sc = NULL;
                if (!parent)
                        return;
                sc = strjoin(*parent ? parent : "/", "/cgroup.subtree_control");
                if (sc)
                        (void) write_string_file(sc, want);
                if (!slash)
                        return;
                p = slash;
        }
}

int cgroup_set_pids_max(const CgroupSet *s, const char *rel, uint64_t max) {
        const CgroupHierarchy *h = cgroup_set_find(s, "pids"), *u = cgroup_set_unified(s);
        _cleanup_free_ char *p = NULL;
        char buf[32];

        (void) snprintf(buf, sizeof buf, "%" PRIu64, max);
        if (h)
                p = strjoin(h->mount_point, "/", rel, "/pids.max");
        else if (u) {
                enable_v2_controller(u, rel, "pids");
                p = strjoin(u->mount_point, "/", rel, "/pids.max");
        } else
                return -EOPNOTSUPP;
        if (!p)
                return -ENOMEM;
        return write_string_file(p, buf);
}

static int skipped_add(char ***skipped, const char *what, const char *where, int error) {
        char *s = NULL;

        if (asprintf(&s, "%s in %s: %s", what, where, strerror(error)) < 0)
                return -ENOMEM;
        return strv_consume(skipped, s);
}

/* "+c" into dir/cgroup.subtree_control for every controller in dir/cgroup.controllers, one write each
 * so that one refusal does not cost the others. */
static int delegate_level(const char *dir, const char *shown, char ***skipped) {
        _cleanup_free_ char *cp = strjoin(dir, "/cgroup.controllers"), *sp = strjoin(dir, "/cgroup.subtree_control");
        _cleanup_free_ char *line = NULL;
        char *save = NULL;
        int r;

        if (!cp || !sp)
                return -ENOMEM;
        r = read_one_line_file(cp, &line);
        if (r < 0)
                return skipped_add(skipped, "cgroup.controllers", shown, -r);
        for (char *w = strtok_r(line, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
                _cleanup_free_ char *want = strjoin("+", w);
                if (!want)
                        return -ENOMEM;
                r = write_string_file(sp, want);
                if (r < 0 && skipped_add(skipped, w, shown, -r) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int cgroup_set_delegate(const CgroupSet *s, const char *rel, bool unified_view, char ***ret_skipped) {
        const CgroupHierarchy *u = cgroup_set_unified(s);
        _cleanup_free_ char *path = NULL;
        size_t base;
        int r;

        if (!u || (s->layout != CGROUP_LAYOUT_UNIFIED && !unified_view))
                return 0; /* hybrid: cgroup2 only tracks processes there, as under systemd */
        path = hierarchy_path(u, rel);
        if (!path)
                return -ENOMEM;
        base = strlen(u->mount_point);
        /* the root, then each ancestor of rel; rel's own subtree_control is the guest's to write */
        for (char *p = path + base; p; p = strchr(p + 1, '/')) {
                char saved = *p;
                *p = 0;
                r = delegate_level(*path ? path : "/", base == (size_t) (p - path) ? "/" : path + base + 1,
                                   ret_skipped);
                *p = saved;
                if (r < 0)
                        return r;
        }
        return 0;
}

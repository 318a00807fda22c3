/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "fileio.h"
#include "log.h"
#include "mount-util.h"
#include "spawn-tree.h"
#include "string-util.h"

static const char *const guest_init_table[_GUEST_INIT_MAX] = {
        [GUEST_INIT_SYSTEMD] = "systemd", [GUEST_INIT_SYSVINIT] = "sysvinit", [GUEST_INIT_BUSYBOX] = "busybox",
        [GUEST_INIT_RUNIT] = "runit",
        [GUEST_INIT_OTHER] = "other",     [GUEST_INIT_COMMAND] = "command",
};

const char *guest_init_to_string(GuestInit g) {
        return g >= 0 && g < _GUEST_INIT_MAX ? guest_init_table[g] : NULL;
}

GuestInit guest_init_from_string(const char *s) {
        for (int i = 0; i < _GUEST_INIT_MAX; i++)
                if (s && streq(s, guest_init_table[i]))
                        return i;
        return _GUEST_INIT_INVALID;
}

/* systemd: SIGRTMIN+4 poweroff, SIGINT reboot (ctrl-alt-del), SIGRTMIN+3 halt.
 * busybox init: SIGUSR2 poweroff, SIGTERM reboot, SIGUSR1 halt.
 * sysvinit: no signal powers it off; the launcher writes a runlevel request to /run/initctl.
 * runit: no signal either (Debian's ignores SIGRTMIN+3/4); the launcher does what "init 0" does.
 * Any other init (openrc-init, s6, tini …): systemd's signals, as nspawn sends them to every
 * init it boots. A command: SIGTERM; the stub init of --as-pid2 forwards it. */
int guest_init_poweroff_signal(GuestInit g) {
        switch (g) {
        case GUEST_INIT_SYSTEMD:
        case GUEST_INIT_OTHER:
                return SIGRTMIN + 4;
        case GUEST_INIT_BUSYBOX:
                return SIGUSR2;
        case GUEST_INIT_SYSVINIT:
        case GUEST_INIT_RUNIT:
                return 0;
        default:
                return SIGTERM;
        }
}

int guest_init_reboot_signal(GuestInit g) {
        switch (g) {
        case GUEST_INIT_SYSTEMD:
                return SIGINT;
        case GUEST_INIT_BUSYBOX:
                return SIGTERM;
        case GUEST_INIT_SYSVINIT:
        case GUEST_INIT_RUNIT:
                return 0;
        default:
                return SIGINT;
        }
}

int guest_init_halt_signal(GuestInit g) {
        switch (g) {
        case GUEST_INIT_SYSTEMD:
        case GUEST_INIT_OTHER:
                return SIGRTMIN + 3; /* nspawn's --kill-signal= default when booting */
        case GUEST_INIT_BUSYBOX:
                return SIGUSR1;
        default:
                return guest_init_poweroff_signal(g);
        }
}

GuestInit guest_init_classify(const char *resolved_path, bool has_inittab) {
        const char *base = strrchr(resolved_path, '/');

        base = base ? base + 1 : resolved_path;
        if (streq(base, "systemd"))
                return GUEST_INIT_SYSTEMD;
        if (streq(base, "busybox"))
                return GUEST_INIT_BUSYBOX;
        if (streq(base, "init") && has_inittab)
                return GUEST_INIT_SYSVINIT;
        if (streq(base, "runit-init") || streq(base, "runit"))
                return GUEST_INIT_RUNIT;
        return GUEST_INIT_OTHER;
}

unsigned systemd_version_from_library_name(const char *name) {
        const char *v = startswith(name, "libsystemd-shared-");
        unsigned n = 0;

        if (!v || !endswith(v, ".so") || !isdigit((unsigned char) v[0]))
                return 0;
        for (; isdigit((unsigned char) *v); v++) {
                if (n > 100000)
                        return 0;
                n = n * 10 + (unsigned) (*v - '0');
        }
        return IN_SET(*v, '.', '-', '~', '+') ? n : 0;
}

static unsigned library_dir_version(int root_fd, const char *dir) {
        int fd = open_in_root(root_fd, dir, O_RDONLY | O_DIRECTORY, 0);
        unsigned best = 0;
        struct dirent *de;
        DIR *d;

        if (fd < 0)
                return 0;
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return 0;
        }
        while ((de = readdir(d)))
                best = MAX(best, systemd_version_from_library_name(de->d_name));
        closedir(d);
        return best;
}

unsigned tree_systemd_version(int root_fd) {
        static const char *const dirs[] = { "/lib/systemd", "/lib64/systemd", "/usr/lib/systemd", "/usr/lib64/systemd" };
        _cleanup_close_ int lib = -EBADF;
        unsigned best = 0;
        struct dirent *de;
        DIR *d;

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                best = MAX(best, library_dir_version(root_fd, dirs[i]));
        /* Debian and Ubuntu: /usr/lib/x86_64-linux-gnu/systemd. */
        lib = open_in_root(root_fd, "/usr/lib", O_RDONLY | O_DIRECTORY, 0);
        if (lib < 0 || !(d = fdopendir(lib)))
                return best;
        TAKE_FD(lib);
        while ((de = readdir(d))) {
                _cleanup_free_ char *p = NULL;
                if (!strstr(de->d_name, "-linux-") || de->d_name[0] == '.')
                        continue;
                p = strjoin("/usr/lib/", de->d_name, "/systemd");
                if (p)
                        best = MAX(best, library_dir_version(root_fd, p));
        }
        closedir(d);
        return best;
}

void spawn_tree_done(SpawnTree *t) {
        t->root_fd = safe_close(t->root_fd);
        t->init_path = mfree(t->init_path);
}

static bool is_regular_in_root(int root_fd, const char *path) {
        _cleanup_close_ int fd = open_in_root(root_fd, path, O_PATH, 0);
        struct stat st;

        return fd >= 0 && fstat(fd, &st) >= 0 && S_ISREG(st.st_mode);
}

static int find_init(const SpawnConfig *c, SpawnTree *t) {
        static const char *const candidates[] = { "/usr/lib/systemd/systemd", "/lib/systemd/systemd", "/sbin/init" };

        for (size_t i = 0; i < ELEMENTSOF(candidates); i++) {
                _cleanup_close_ int fd = open_in_root(t->root_fd, candidates[i], O_PATH, 0);
                char proc[64], target[4096];
                struct stat st;
                ssize_t n;

                if (fd == -ENOENT || fd == -ENOTDIR)
                        continue;
                if (fd < 0)
                        return log_error_errno(fd, "Failed to open %s in %s: %m", candidates[i], (c->directory ?: c->image));
                if (fstat(fd, &st) < 0)
                        return log_error_errno(errno, "Failed to stat %s in %s: %m", candidates[i], c->directory ?: c->image);
                if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111))
                        return log_error_errno(-EACCES, "%s in %s is not an executable file, cannot boot.",
                                               candidates[i], (c->directory ?: c->image));
                (void) snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
                n = readlink(proc, target, sizeof target - 1);
                target[n > 0 ? n : 0] = 0;
                t->init = guest_init_classify(target, is_regular_in_root(t->root_fd, "/etc/inittab"));
                t->init_path = strdup(candidates[i]);
                return t->init_path ? 0 : log_oom();
        }
        return log_error_errno(-ENOENT, "No init found in %s (tried /usr/lib/systemd/systemd, "
                                        "/lib/systemd/systemd, /sbin/init), cannot boot.", (c->directory ?: c->image));
}

static void read_machine_id(SpawnTree *t) {
        _cleanup_close_ int fd = open_in_root(t->root_fd, "/etc/machine-id", O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
        _cleanup_free_ char *buf = NULL;
        struct stat st;

        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return;
        t->machine_id_file = true;
        if (read_full_fd(fd, 64, &buf, NULL) < 0)
                return;
        (void) id128_from_string(strstrip_trailing(buf), &t->machine_id);
}

int spawn_tree_open(const SpawnConfig *c, const char *path, SpawnTree *ret) {
        SpawnTree t = { .root_fd = -EBADF, .init = GUEST_INIT_COMMAND };
        int r;

        t.root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (t.root_fd < 0)
                return log_error_errno(errno, "Failed to open directory %s: %m", path);
        if (c->pivot_root_new) {
                /* --pivot-root=: the OS tree is that directory of the image. */
                int fd = open_in_root(t.root_fd, c->pivot_root_new, O_PATH | O_DIRECTORY, 0);
                safe_close(t.root_fd);
                if (fd < 0)
                        return log_error_errno(fd, "--pivot-root=%s: not a directory in %s: %m", c->pivot_root_new,
                                               c->directory ?: c->image);
                t.root_fd = fd;
        }

        if (!is_regular_in_root(t.root_fd, "/etc/os-release") && !is_regular_in_root(t.root_fd, "/usr/lib/os-release")) {
                spawn_tree_done(&t);
                return log_error_errno(-ENOENT, "Directory %s doesn't look like an OS tree (no /etc/os-release "
                                                "or /usr/lib/os-release). Refusing.", c->directory ?: c->image);
        }
        if (c->start_mode == START_BOOT) {
                r = find_init(c, &t);
                if (r < 0) {
                        spawn_tree_done(&t);
                        return r;
                }
        }
        read_machine_id(&t);
        t.systemd_version = tree_systemd_version(t.root_fd);
        *ret = t;
        return 0;
}

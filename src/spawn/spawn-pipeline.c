/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/capability.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc-util.h"
#include "bpf-devices.h"
#include "fd-util.h"
#include "fileio.h"
#include "log.h"
#include "mount-util.h"
#include "parse-util.h"
#include "spawn-bind-user.h"
#include "spawn-cgroup.h"
#include "spawn-child.h"
#include "spawn-credentials.h"
#include "spawn-journal.h"
#include "spawn-links.h"
#include "spawn-network.h"
#include "spawn-overlay.h"
#include "spawn-pipeline.h"
#include "spawn-registration.h"
#include "spawn-lxcfs.h"
#include "spawn-resources.h"
#include "spawn-userns.h"
#include "string-util.h"
#include "strv.h"
#include "sync-channel.h"

#include "spawn-root.h"

/* A debugging aid (BERTH_LOG_LEVEL=debug): each step, and the parts of the teardown, with the time
 * (CLOCK_MONOTONIC) it started at, to see where a start's time goes. */
static void debug_mark(const char *role, const char *what) {
        struct timespec ts;

        if (log_get_max_level() < LOG_DEBUG)
                return;
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        log_debug("%s: %s (at %ld.%06ld)", role, what, (long) ts.tv_sec, ts.tv_nsec / 1000);
}

int spawn_run_steps(const SpawnStep *steps, SpawnContext *c) {
        /* A debugging aid (berth-spawn(1), ENVIRONMENT): the launcher SIGKILLs itself before the
         * named step, to show what a crash there leaves and who collects it. */
        const char *kill_at = getenv("BERTH_DEBUG_KILL_AT");

        for (const SpawnStep *s = steps; s->name; s++) {
                int r;

                debug_mark(c->role_name, s->name);
                if (kill_at && streq(c->role_name, "parent") && streq(kill_at, s->name))
                        (void) raise(SIGKILL);
                r = s->run(c);
                if (r < 0) {
                        if (c->sync >= 0)
                                (void) sync_send_failure(c->sync, s->name, r);
                        return r;
                }
        }
        return 0;
}

void spawn_context_init(SpawnContext *c, const SpawnConfig *config, SpawnTree *tree) {
        *c = (SpawnContext) {
                .config = config,
                .caps = spawn_config_capabilities(config),
                .tree = tree,
                .role_name = "parent",
                .sync = -EBADF,
                .lock_fd = -EBADF,
                .pidfd = -EBADF,
                .console_fd = -EBADF,
                .console_peer_fd = -EBADF,
                .notify_fd = -EBADF,
                .root_fd = -EBADF,
                .root_tree_fd = -EBADF,
                .root_target_fd = -EBADF,
                .localtime_tree_fd = -EBADF,
                .journal_fd = -EBADF,
                .uid_lock_fd = -EBADF,
                .cgroup2_fd = -EBADF,
                .registry_fd = -EBADF,
                .lxcfs_fds = { -EBADF, -EBADF, -EBADF, -EBADF, -EBADF, -EBADF, -EBADF, -EBADF },
                .net.netns_fd = -EBADF,
                .net.dnsmasq = DNSMASQ_RUN_NULL,
                .net.nft_watch_fd = -EBADF,
                .userns = config->private_users != PRIVATE_USERS_NO,
                .idmap_root = IN_SET(config->private_users, PRIVATE_USERS_PICK, PRIVATE_USERS_FIXED) &&
                              IN_SET(config->user_ownership, USER_OWNERSHIP_AUTO, USER_OWNERSHIP_MAP),
        };
}

/* One launcher per machine name: an flock that dies with us. The file is unlinked on exit; if a
 * dead launcher left it, we take it over. */
int spawn_lock(SpawnContext *c) {
        for (int busy = 0;;) {
                _cleanup_close_ int fd = -EBADF;
                struct stat a, b;

                if (mkdir("/run/berth", 0755) < 0 && errno != EEXIST)
                        return log_error_errno(errno, "Failed to create /run/berth: %m");
                if (mkdir(SPAWN_RUN_DIR, 0700) < 0 && errno != EEXIST)
                        return log_error_errno(errno, "Failed to create " SPAWN_RUN_DIR ": %m");
                if (!c->lock_path && !(c->lock_path = strjoin(SPAWN_RUN_DIR "/", c->config->machine_name, ".lock")))
                        return log_oom();
                fd = open(c->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
                if (fd < 0)
                        return log_error_errno(errno, "Failed to open %s: %m", c->lock_path);
                if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                        /* Another launcher's collector may hold it for a moment: retry briefly. */
                        if (errno == EWOULDBLOCK && ++busy < 5) {
                                (void) usleep(10000);
                                continue;
                        }
                        if (errno == EWOULDBLOCK)
                                return log_error_errno(-EBUSY, "Machine '%s' is already running.",
                                                       c->config->machine_name);
                        return log_error_errno(errno, "Failed to lock %s: %m", c->lock_path);
                }
                /* Did a launcher that was exiting unlink it between our open and flock? */
                if (fstat(fd, &a) < 0)
                        return log_error_errno(errno, "Failed to stat %s: %m", c->lock_path);
                if (stat(c->lock_path, &b) >= 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
                        c->lock_fd = TAKE_FD(fd);
                        return 0;
                }
        }
}

static int step_cgroup_detect(SpawnContext *c) {
        int r = cgroup_set_detect(&c->cgroups);
        if (r < 0)
                return log_error_errno(r, "Failed to find the cgroup hierarchies of this host: %m");
        r = cgroup_machine_path_in_slice(c->config->limits.slice, c->config->machine_name, &c->cgroup_path);
        if (r < 0)
                return log_oom();
        log_debug("cgroup layout %s, %zu hierarchies, machine cgroup %s",
                  cgroup_layout_to_string(c->cgroups.layout), c->cgroups.n, c->cgroup_path);
        return 0;
}

/* A launcher killed with SIGKILL leaves its (by now empty) cgroups: remove them. If processes are
 * still in there, someone else runs a machine by this name. */
static int step_cgroup_collect_leftovers(SpawnContext *c) {
        int r;

        if (!cgroup_set_exists(&c->cgroups, c->cgroup_path))
                return 0;
        for (int i = 0; i < 200; i++) { /* the dead launcher's guest may still be dying: 2 s */
                r = cgroup_set_is_populated(&c->cgroups, c->cgroup_path);
                if (r <= 0)
                        break;
                (void) usleep(10000);
        }
        if (r > 0)
                return log_error_errno(-EBUSY, "Machine '%s' is already running (cgroup %s has processes).",
                                       c->config->machine_name, c->cgroup_path);
        log_debug("Removing cgroups left behind by an earlier run of '%s'.", c->config->machine_name);
        r = cgroup_set_remove(&c->cgroups, c->cgroup_path);
        if (r < 0)
                return log_error_errno(r, "Failed to remove the cgroups left behind by an earlier run of '%s': %m",
                                       c->config->machine_name);
        return 0;
}

static int step_cgroup_create(SpawnContext *c) {
        _cleanup_strv_free_ char **skipped = NULL;
        int r;

        c->cgroup_created = true; /* even half-made, teardown removes it */
        r = cgroup_set_create(&c->cgroups, c->cgroup_path);
        if (r < 0)
                return log_error_errno(r, "Failed to create cgroup %s: %m", c->cgroup_path);
        r = cgroup_set_delegate(&c->cgroups, c->cgroup_path, c->cgroup_unified_view, &skipped);
        if (r < 0)
                return log_oom();
        STRV_FOREACH(s, skipped)
                log_debug("cgroup controller not delegated to the machine: %s", *s);
        return 0;
}

/* The devices a machine may open (nspawn's list): the /dev we build and ptys. Making nodes with
 * mknod is allowed (such a node still cannot be opened unless listed here). */
static const DeviceRule machine_devices[] = {
        { 'c', 1, 3 }, { 'c', 1, 5 }, { 'c', 1, 7 }, { 'c', 1, 8 }, { 'c', 1, 9 }, /* null zero full random urandom */
        { 'c', 5, 0 }, { 'c', 5, 1 }, { 'c', 5, 2 },                              /* tty console ptmx */
        { 'c', 136, -1 }, { 'c', 137, -1 }, { 'c', 138, -1 }, { 'c', 139, -1 },   /* pts */
        { 'c', 140, -1 }, { 'c', 141, -1 }, { 'c', 142, -1 }, { 'c', 143, -1 },
};

#define MAX_DEVICE_RULES (ELEMENTSOF(machine_devices) + 48)

/* machine_devices (unless DevicePolicy=strict), DeviceAllow=, plus the device nodes bound in with
 * --bind= (/dev/fuse, /dev/net/tun, ...): the user added them, so the machine may use them. A node
 * bound with --bind-ro= is not added: the read-only flag of a mount does not stop writes to a device. */
static size_t device_rules(const SpawnContext *c, DeviceRule rules[static MAX_DEVICE_RULES]) {
        const CgroupLimits *l = &c->config->limits.cgroup;
        bool strict = cgroup_limits_has(l, CGROUP_PROP_DEVICE_POLICY) && l->device_policy == CGROUP_DEVICE_POLICY_STRICT;
        size_t n = strict ? 0 : ELEMENTSOF(machine_devices);

        memcpy(rules, machine_devices, n * sizeof(DeviceRule));
        for (size_t i = 0; i < l->n_devices && n < MAX_DEVICE_RULES; i++)
                rules[n++] = (DeviceRule) { .type = l->devices[i].type, .major = l->devices[i].major,
                                            .minor = l->devices[i].minor,
                                            .access = device_access_from_string(l->devices[i].access) };
        for (size_t i = 0; i < c->config->n_binds && n < MAX_DEVICE_RULES; i++) {
                const BindMount *b = &c->config->binds[i];
                struct stat st;

                if (b->read_only || stat(b->source, &st) < 0 || !(S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)))
                        continue;
                rules[n++] = (DeviceRule) { .type = S_ISBLK(st.st_mode) ? 'b' : 'c',
                                            .major = (int32_t) major(st.st_rdev), .minor = (int32_t) minor(st.st_rdev) };
        }
        return n;
}

static int device_policy_v1(SpawnContext *c, const DeviceRule *devices, size_t n_devices) {
        char rules[MAX_DEVICE_RULES][32];
        const char *list[MAX_DEVICE_RULES + 3];
        size_t n = 0;

        for (size_t i = 0; i < n_devices; i++) {
                const DeviceRule *d = &devices[i];
                uint8_t acc = d->access ?: DEVICE_ACCESS_ALL;
                char minor[12];
                (void) snprintf(minor, sizeof minor, "%d", d->minor);
                (void) snprintf(rules[n], sizeof rules[n], "%c %d:%s %s%s%s", d->type, d->major,
                                d->minor < 0 ? "*" : minor, acc & DEVICE_ACCESS_READ ? "r" : "",
                                acc & DEVICE_ACCESS_WRITE ? "w" : "", acc & DEVICE_ACCESS_MKNOD ? "m" : "");
                list[n] = rules[n];
                n++;
        }
        list[n++] = "c *:* m";
        list[n++] = "b *:* m";
        list[n] = NULL;
        return cgroup_set_device_policy(&c->cgroups, c->cgroup_path, list);
}

static int step_cgroup_devices(SpawnContext *c) {
        const CgroupHierarchy *u = cgroup_set_unified(&c->cgroups);
        _cleanup_free_ char *path = NULL;
        DeviceRule devices[MAX_DEVICE_RULES];
        size_t n_devices = device_rules(c, devices);
        int r;

        r = device_policy_v1(c, devices, n_devices);
        if (r != -EOPNOTSUPP) {
                if (r < 0)
                        return log_error_errno(r, "Failed to set the device policy of cgroup %s: %m", c->cgroup_path);
                return 0;
        }
        /* cgroup2: a BPF device program on the machine's cgroup. */
        if (u && (path = strjoin(u->mount_point, "/", c->cgroup_path))) {
                r = bpf_devices_attach(path, devices, (unsigned) n_devices);
                if (r >= 0)
                        return 0;
                log_debug_errno(r, "Failed to attach a BPF device program to %s: %m", path);
        }
        /* No device controller at all: nothing would stop a node made with mknod() from being opened,
         * so the machine may not make nodes, unless the user asked for CAP_MKNOD. */
        if (!(c->config->caps_add & (UINT64_C(1) << CAP_MKNOD)))
                c->caps &= ~(UINT64_C(1) << CAP_MKNOD);
        log_debug("No device controller: CAP_MKNOD dropped, /dev holds only what we put there.");
        return 0;
}

static bool is_below(const char *path, const char *top) {
        const char *rest = startswith(path, top);
        return rest && (*rest == 0 || *rest == '/');
}

/* --inaccessible= paths must exist in the machine: in the tree, or below a mount we make there. */
static int step_check_inaccessible(SpawnContext *c) {
        static const char *const ours[] = { "/proc", "/sys", "/dev", "/run", "/tmp" };
        const SpawnConfig *cfg = c->config;

        STRV_FOREACH(p, cfg->inaccessible) {
                _cleanup_close_ int fd = -EBADF;
                bool mounted = false;

                for (size_t i = 0; i < ELEMENTSOF(ours); i++)
                        mounted = mounted || is_below(*p, ours[i]);
                for (size_t i = 0; i < cfg->n_binds; i++)
                        mounted = mounted || is_below(*p, cfg->binds[i].destination);
                for (size_t i = 0; i < cfg->n_tmpfs; i++)
                        mounted = mounted || is_below(*p, cfg->tmpfs[i].destination);
                for (size_t i = 0; i < cfg->n_overlays; i++)
                        mounted = mounted || is_below(*p, cfg->overlays[i].destination);
                if (mounted)
                        continue;
                fd = open_in_root(c->tree->root_fd, *p, O_PATH, 0);
                if (fd < 0)
                        return log_error_errno(fd, "--inaccessible=%s: cannot mask it: %m (it must exist in the machine).", *p);
        }
        return 0;
}

static int step_seccomp_prepare(SpawnContext *c) {
        int r = spawn_seccomp_prepare(c->caps, c->config->syscall_allow, c->config->syscall_deny, &c->seccomp);
        if (r < 0)
                return log_error_errno(r, "Failed to build the system call filter: %m");
        if (c->config->suppress_sync) {
                r = spawn_seccomp_prepare_suppress_sync(&c->seccomp_sync);
                if (r < 0)
                        return log_error_errno(r, "Failed to build the system call filter of --suppress-sync: %m");
        }
        return 0;
}

static int env_add(char ***env, const char *key, const char *value) {
        _cleanup_free_ char *a = strjoin(key, "=", value);
        return a ? strv_env_replace(env, a) : -ENOMEM;
}

/* nspawn's $container_host_id, $container_host_version_id …: these host os-release fields, unquoted. */
static int env_add_host_os_release(char ***env) {
        static const char *const fields[][2] = {
                { "ID", "container_host_id" },             { "VERSION_ID", "container_host_version_id" },
                { "BUILD_ID", "container_host_build_id" }, { "VARIANT_ID", "container_host_variant_id" },
                { "IMAGE_ID", "container_host_image_id" }, { "IMAGE_VERSION", "container_host_image_version" },
        };
        _cleanup_free_ char *text = NULL;
        char *save = NULL;

        if (read_full_file_at(AT_FDCWD, "/etc/os-release", 64 * 1024, &text, NULL) < 0 &&
            read_full_file_at(AT_FDCWD, "/usr/lib/os-release", 64 * 1024, &text, NULL) < 0)
                return 0; /* no os-release on the host: nothing to pass on, as nspawn */
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                _cleanup_strv_free_ char **words = NULL;
                char *eq = strchr(line, '=');

                if (!eq)
                        continue;
                *eq = 0;
                for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                        if (!streq(line, fields[i][0]))
                                continue;
                        if (strv_split_quoted(eq + 1, &words) < 0 || strv_length(words) != 1 ||
                            string_has_cc(words[0]))
                                break; /* a malformed value is left out */
                        if (env_add(env, fields[i][1], words[0]) < 0)
                                return -ENOMEM;
                        break;
                }
        }
        return 0;
}

static int step_build_env(SpawnContext *c) {
        char uuid[ID128_UUID_STRING_MAX];
        const char *term = getenv("TERM");
        int r = 0;

        (void) id128_to_uuid_string(c->uuid, uuid);
        r = r ?: env_add(&c->env, "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        r = r ?: env_add(&c->env, "container", c->config->container_service);
        r = r ?: env_add(&c->env, "container_uuid", uuid);
        r = r ?: env_add_host_os_release(&c->env);
        r = r ?: env_add(&c->env, "HOME", "/root");
        r = r ?: env_add(&c->env, "USER", "root");
        r = r ?: env_add(&c->env, "LOGNAME", "root");
        r = r ?: env_add(&c->env, "NOTIFY_SOCKET", "/run/host/notify");
        if (c->config->console_mode != CONSOLE_PIPE)
                r = r ?: env_add(&c->env, "TERM", term ?: "vt220");
        else if (term)
                r = r ?: env_add(&c->env, "TERM", term);
        if (c->config->n_credentials > 0)
                r = r ?: env_add(&c->env, "CREDENTIALS_DIRECTORY", CREDENTIALS_DIRECTORY);
        STRV_FOREACH(a, c->config->setenv)
                r = r ?: strv_env_replace(&c->env, *a);
        if (r < 0)
                return log_oom();
        return 0;
}

int spawn_acquire_uid_range(SpawnContext *c) {
        uint32_t base;
        int r;

        if (!c->userns || c->config->private_users == PRIVATE_USERS_IDENTITY || c->uid_lock_fd >= 0)
                return 0;
        r = userns_range_acquire(c->config, &c->uid_shift, &c->uid_lock_fd);
        if (r == -EBUSY)
                return log_error_errno(r, "UID range %u is used by another machine.", c->config->uid_shift);
        if (r == -EUSERS)
                return log_error_errno(r, "No free UID range left for a user namespace.");
        if (r < 0)
                return log_error_errno(r, "Failed to reserve a UID range: %m");
        log_debug("Machine '%s' gets UIDs %u-%u.", c->config->machine_name, c->uid_shift, c->uid_shift + 0xffff);
        /* auto: a tree owned in a range of its own (chowned before) needs no idmapping in that range,
         * and in a range another machine has now it is idmapped from its range into ours (map keeps
         * to on-disk IDs 0-65535, as nspawn's) */
        if (c->idmap_root && c->config->user_ownership == USER_OWNERSHIP_AUTO && c->config->directory &&
            userns_tree_range(c->config->directory, &base) >= 0) {
                if (base == c->uid_shift)
                        c->idmap_root = false;
                else {
                        c->idmap_from = base;
                        log_info("UIDs %u-%u, in which %s is owned, are used by another machine: machine '%s' "
                                 "gets UIDs %u-%u, and sees the tree through an idmapped mount.",
                                 base, base + 0xffff, c->config->directory, c->config->machine_name, c->uid_shift,
                                 c->uid_shift + 0xffff);
                }
        }
        return 0;
}

/* --private-users-ownership=chown: the tree moves into the machine's range (and stays there). */
static int step_chown_tree(SpawnContext *c) {
        int r;

        if (!c->userns || c->config->user_ownership != USER_OWNERSHIP_CHOWN ||
            c->config->private_users == PRIVATE_USERS_IDENTITY)
                return 0;
        r = userns_chown_tree(c->config->directory, c->uid_shift);
        if (r < 0)
                return log_error_errno(r, "Failed to move the ownership of %s to UIDs %u-%u: %m", c->config->directory,
                                       c->uid_shift, c->uid_shift + 0xffff);
        return 0;
}

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL /* linux/sched.h, Linux 5.7 */
#endif

struct berth_clone_args {
        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
                set_tid_size, cgroup;
};

/* clone3() into the machine's cgroup2 cgroup when there is one (into: its fd); without, where the
 * kernel refuses that (too old, or the cgroup takes no processes). */
static long clone_child(struct berth_clone_args *args, int into, bool *ret_into) {
        long pid;

        *ret_into = false;
        if (into >= 0) {
                args->flags |= CLONE_INTO_CGROUP;
                args->cgroup = (uint64_t) into;
                pid = syscall(SYS_clone3, args, sizeof *args);
                if (pid >= 0) {
                        *ret_into = pid > 0;
                        return pid;
                }
                if (!IN_SET(errno, EINVAL, E2BIG, EOPNOTSUPP, EBUSY, EACCES, EPERM, ENOSYS))
                        return -1;
                log_debug_errno(errno, "Cannot clone into the cgroup, moving the child there instead: %m");
                args->flags &= ~CLONE_INTO_CGROUP;
                args->cgroup = 0;
        }
        return syscall(SYS_clone3, args, sizeof *args);
}

static int step_clone_child(SpawnContext *c) {
        int pair[2], pidfd = -EBADF, saved_netns, r;
        _cleanup_close_ int into = -EBADF;
        struct berth_clone_args args = {
                .flags = CLONE_PIDFD | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC |
                         (c->config->private_network ? CLONE_NEWNET : 0) | (c->userns ? CLONE_NEWUSER : 0),
                .pidfd = (uint64_t) (uintptr_t) &pidfd,
                .exit_signal = SIGCHLD,
        };
        long pid;

        /* See cgroup_set_open_unified(): the moves into the machine's cgroups that need no RCU grace
         * period, with -U too (through the files we open). */
        if (c->cgroup_created)
                into = cgroup_set_open_unified(&c->cgroups, c->cgroup_path);
        r = sync_channel_new(pair);
        if (r < 0)
                return log_error_errno(r, "Failed to create the sync channel: %m");
        saved_netns = spawn_network_namespace_enter(c->config);
        if (saved_netns < 0 && saved_netns != -EBADF) {
                safe_close(pair[0]);
                safe_close(pair[1]);
                return saved_netns;
        }
        if (c->cgroup_created) {
                r = cgroup_tasks_open_v1(&c->cgroups, c->cgroup_path, &c->cgroup_tasks);
                if (r < 0)
                        log_debug_errno(r, "Failed to open the tasks files of %s, moving the child there "
                                           "instead: %m", c->cgroup_path);
                else if (c->cgroup_tasks.n > SPAWN_CGROUP_TASKS_MAX)
                        cgroup_tasks_close(&c->cgroup_tasks); /* more than the child keeps: moved by us */
                c->cgroup_self_attach = c->cgroup_tasks.n > 0;
        }
        pid = clone_child(&args, into, &c->cgroup_cloned_into);
        if (pid != 0)
                spawn_network_namespace_leave(saved_netns);
        if (pid < 0) {
                r = -errno;
                safe_close(pair[0]);
                safe_close(pair[1]);
                cgroup_tasks_close(&c->cgroup_tasks);
                return log_error_errno(r, "Failed to create the machine's namespaces: %m");
        }
        if (pid == 0) {
                safe_close(pair[0]);
                safe_close(saved_netns);
                safe_close(into);
                c->sync = pair[1];
                spawn_child_main(c);
        }
        safe_close(pair[1]);
        cgroup_tasks_close(&c->cgroup_tasks);
        c->sync = pair[0];
        c->pid = (pid_t) pid;
        c->pidfd = pidfd;
        return 0;
}

static int child_failed(SpawnContext *c, int r);

/* The machine's link goes into its network namespace by its child's PID: ESRCH when the child has
 * died already, a step of its own having failed, which is then said too. */
static int step_network_setup(SpawnContext *c) {
        struct pollfd p = { .fd = c->pidfd, .events = POLLIN };
        int r = spawn_network_setup(c);

        if (r == -ESRCH && c->pidfd >= 0 && poll(&p, 1, 0) > 0) {
                int q = sync_expect(c->sync, SYNC_ATTACHED, NULL, c->failed_step);
                if (q < 0)
                        (void) child_failed(c, q);
        }
        return r;
}

static int step_cgroup_attach(SpawnContext *c) {
        CgroupAttach which = (c->cgroup_self_attach ? 0 : CGROUP_ATTACH_V1) |
                             (c->cgroup_cloned_into ? 0 : CGROUP_ATTACH_UNIFIED);
        int r;

        if (c->cgroup_self_attach) {
                r = sync_expect(c->sync, SYNC_ATTACHED, NULL, c->failed_step);
                if (r < 0)
                        return child_failed(c, r);
        }
        r = cgroup_set_attach_some(&c->cgroups, c->cgroup_path, c->pid, which);
        if (r < 0)
                return log_error_errno(r, "Failed to move the machine into cgroup %s: %m", c->cgroup_path);
        if (c->userns) {
                _cleanup_free_ char *uid_map = NULL, *gid_map = NULL;
                r = spawn_bind_users_map(c, c->uid_shift, USERNS_RANGE, false, &uid_map);
                if (r >= 0)
                        r = spawn_bind_users_map(c, c->uid_shift, USERNS_RANGE, true, &gid_map);
                if (r >= 0)
                        r = userns_write_map_text(c->pid, uid_map, gid_map);
                if (r < 0)
                        return log_error_errno(r, "Failed to write the machine's UID/GID maps: %m");
                r = userns_chown_cgroups(&c->cgroups, c->cgroup_path, c->uid_shift);
                if (r < 0)
                        return log_error_errno(r, "Failed to delegate cgroup %s to the machine: %m", c->cgroup_path);
        }
        r = sync_send(c->sync, SYNC_CGROUP_READY, -EBADF);
        if (r < 0)
                return log_error_errno(r, "Failed to talk to the machine's child process: %m");
        return 0;
}

/* The child's failure (errno + step) arrives as data; say it once, with the step's name. */
static int child_failed(SpawnContext *c, int r) {
        if (r == -EPIPE)
                return log_error_errno(r, "The machine's child process died during setup.");
        if (isempty(c->failed_step))
                return log_error_errno(r, "Failed to talk to the machine's child process: %m");
        if (startswith(c->failed_step, "execute "))
                return log_error_errno(r, "Failed to %s: %m", c->failed_step);
        if (streq(c->failed_step, "chdir"))
                return log_error_errno(r, "Failed to change to the working directory '%s' in the machine: %m",
                                       c->config->working_directory);
        if (streq(c->failed_step, "bind-users"))
                return log_error_errno(r, "Failed to bind the --bind-user= homes into the machine: %m");
        if (streq(c->failed_step, "mount-overlays"))
                return log_error_errno(r, "Failed to mount the overlays in the machine: %m");
        if (streq(c->failed_step, "setup-credentials"))
                return log_error_errno(r, "Failed to pass the credentials to the machine: %m");
        if (streq(c->failed_step, "mount-journal"))
                return log_error_errno(r, "Failed to bind the journal directory %s into the machine: %m", c->journal_bind);
        if (streq(c->failed_step, "mount-inaccessible"))
                return log_error_errno(r, "Failed to mask an --inaccessible= path in the machine: %m");
        if (streq(c->failed_step, "pivot-root-option"))
                return log_error_errno(r, "Failed to pivot to --pivot-root=%s in the machine: %m",
                                       c->config->pivot_root_new);
        if (streq(c->failed_step, "lookup-user") && r == -ESRCH)
                return log_error_errno(r, "User '%s' does not exist in the machine.", c->config->user);
        if (streq(c->failed_step, "lookup-user") && r == -ENOENT)
                return log_error_errno(r, "Failed to look up user '%s': the machine has no /etc/passwd.",
                                       c->config->user);
        return log_error_errno(r, "Failed to set up the machine (step %s): %m", c->failed_step);
}

bool spawn_bind_needs_idmap(const SpawnContext *c, const BindMount *b) {
        /* ":rootidmap" makes the source's owner root also without -U (the machine's root is then 0) */
        return b->idmap && ((c->userns && c->config->private_users != PRIVATE_USERS_IDENTITY) || b->root_idmap);
}

static int send_bind_trees(SpawnContext *c) {
        for (size_t i = 0; i < c->config->n_binds; i++) {
                const BindMount *b = &c->config->binds[i];
                _cleanup_close_ int tree = -EBADF;
                struct stat st;
                int r;

                if (!spawn_bind_needs_idmap(c, b))
                        continue;
                if (stat(b->source, &st) >= 0 && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)))
                        r = userns_device_node_tree(b->source, c->uid_shift, &tree);
                else if (b->root_idmap)
                        r = userns_root_idmapped_tree(b->source, c->uid_shift, false, b->recursive, &tree);
                else
                        r = userns_idmapped_tree(b->source, c->pid, false, b->recursive, &tree);
                if (r < 0)
                        return log_error_errno(r, "Failed to make an idmapped mount of %s: %m", b->source);
                r = sync_send(c->sync, SYNC_BIND_FD, tree);
                if (r < 0)
                        return child_failed(c, r);
        }
        return 0;
}

/* The root, idmapped: through the machine's user namespace for a tree owned by host root, through
 * one that maps the tree's own range onto the machine's for a tree owned in another range. */
static int idmap_root_tree(SpawnContext *c, int *ret_tree) {
        _cleanup_close_ int userns = -EBADF;
        char map[64];
        int r;

        if (c->idmap_from == 0)
                return userns_idmapped_tree(c->root_path, c->pid, c->config->read_only, true, ret_tree);
        (void) snprintf(map, sizeof map, "%u %u %u\n", c->idmap_from, c->uid_shift, USERNS_RANGE);
        r = userns_fd_with_maps(map, map, &userns);
        if (r < 0)
                return r;
        return userns_idmapped_tree_fd(c->root_path, userns, c->config->read_only, true, ret_tree);
}

/* auto, on a file system that cannot be idmapped: nspawn's fallback, the tree is chowned into the
 * machine's range (once: the next start finds it there) and handed over as it is. */
static int chown_root_tree(SpawnContext *c, int *ret_tree) {
        _cleanup_close_ int tree = -EBADF;
        int r;

        log_info("%s cannot be idmapped; moving its ownership to UIDs %u-%u instead (once: later starts use this "
                 "range).", c->root_path, c->uid_shift, c->uid_shift + 0xffff);
        r = userns_chown_tree(c->root_path, c->uid_shift);
        if (r < 0)
                return log_error_errno(r, "Failed to move the ownership of %s to UIDs %u-%u: %m", c->root_path,
                                       c->uid_shift, c->uid_shift + 0xffff);
        r = mount_clone_tree(AT_FDCWD, c->root_path, true, &tree);
        if (r >= 0 && c->config->read_only)
                r = mount_set_attr(tree, MOUNT_ATTR_RDONLY, 0, true);
        if (r < 0)
                return log_error_errno(r, "Failed to make a mount of %s: %m", c->root_path);
        *ret_tree = TAKE_FD(tree);
        return 0;
}

/* -U: the child cannot idmap its root (or a bind source) itself; we hand it idmapped copies. */
static int step_send_rootfs(SpawnContext *c) {
        _cleanup_close_ int tree = -EBADF;
        int r;

        if (!c->idmap_root)
                return send_bind_trees(c);
        r = idmap_root_tree(c, &tree);
        if (IN_SET(r, -EINVAL, -EOPNOTSUPP, -EPERM) && c->config->user_ownership == USER_OWNERSHIP_AUTO &&
            c->config->directory && c->idmap_from == 0) {
                r = chown_root_tree(c, &tree);
                if (r < 0)
                        return child_failed(c, r);
        } else if (IN_SET(r, -EINVAL, -EOPNOTSUPP))
                return log_error_errno(r, "Failed to make an idmapped mount of %s: its filesystem (or one mounted "
                                          "below it) does not support idmapped mounts (%m); use "
                                          "--private-users-ownership=chown (PrivateUsersOwnership=chown in the "
                                          "machine's .nspawn file), or --private-users=no.", c->root_path);
        if (r < 0)
                return log_error_errno(r, "Failed to make an idmapped mount of %s: %m", c->root_path);
        r = sync_send(c->sync, SYNC_ROOTFS_FD, tree);
        if (r < 0)
                return child_failed(c, r);
        return send_bind_trees(c);
}

static int step_receive_console(SpawnContext *c) {
        int r;

        if (c->config->console_mode == CONSOLE_PIPE)
                return 0;
        r = sync_expect(c->sync, SYNC_CONSOLE_FD, &c->console_fd, c->failed_step);
        if (r < 0)
                return child_failed(c, r);
        if (c->console_fd < 0)
                return log_error_errno(-EBADMSG, "The machine's child process sent no console.");
        /* Hold the slave open ourselves: the master then never sees a hangup while the guest
         * closes and reopens /dev/console. */
        c->console_peer_fd = ioctl(c->console_fd, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (c->console_peer_fd < 0)
                return log_error_errno(errno, "Failed to open the console's terminal: %m");
        return 0;
}

static int step_receive_notify(SpawnContext *c) {
        int one = 1, r;

        r = sync_expect(c->sync, SYNC_NOTIFY_FD, &c->notify_fd, c->failed_step);
        if (r < 0)
                return child_failed(c, r);
        if (c->notify_fd < 0)
                return log_error_errno(-EBADMSG, "The machine's child process sent no notify socket.");
        if (setsockopt(c->notify_fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0)
                return log_error_errno(errno, "Failed to enable credentials on the notify socket: %m");
        return 0;
}

static int step_await_rootfs(SpawnContext *c) {
        int r = sync_expect(c->sync, SYNC_ROOTFS_READY, NULL, c->failed_step);
        return r < 0 ? child_failed(c, r) : 0;
}

static int step_register(SpawnContext *c) {
        return spawn_registration_register(c);
}

static int step_go(SpawnContext *c) {
        SyncMessage m;
        int r;

        r = sync_send(c->sync, SYNC_GO, -EBADF);
        if (r < 0)
                return child_failed(c, r);
        /* The channel is CLOEXEC in the child: end-of-file means init is running. */
        r = sync_receive(c->sync, &m);
        if (r == -EPIPE) {
                c->sync = safe_close(c->sync);
                return 0;
        }
        if (r < 0)
                return child_failed(c, r);
        safe_close(m.fd);
        memcpy(c->failed_step, m.step, sizeof c->failed_step);
        return child_failed(c, m.point == SYNC_FAILED && m.error > 0 ? -m.error : -EPROTO);
}

static const SpawnStep parent_steps[] = {
        { "network-allocate",        spawn_network_allocate        },
        { "cgroup-detect",           step_cgroup_detect            },
        { "cgroup-view",             spawn_cgroup_pick_view        },
        { "cgroup-collect-leftovers", step_cgroup_collect_leftovers },
        { "cgroup-create",           step_cgroup_create            },
        { "cgroup-devices",          step_cgroup_devices           },
        { "lxcfs-detect",            spawn_step_lxcfs_detect       },
        { "check-inaccessible",      step_check_inaccessible       },
        { "overlay-prepare",         spawn_overlay_prepare         },
        { "seccomp-prepare",         step_seccomp_prepare          },
        { "build-env",               step_build_env                },
        { "userns-range",            spawn_acquire_uid_range       },
        { "chown-tree",              step_chown_tree               },
        { "link-journal",            spawn_journal_link            },
        { "bind-users",              spawn_bind_users_resolve      },
        { "clone-child",             step_clone_child              },
        { "network-setup",           step_network_setup            },
        { "cgroup-attach",           step_cgroup_attach            },
        { "process-limits",          spawn_step_process_limits     },
        { "send-rootfs",             step_send_rootfs              },
        { "receive-console",         step_receive_console          },
        { "receive-notify",          step_receive_notify           },
        { "network-links",           spawn_network_links_setup     },
        { "await-rootfs",            step_await_rootfs             },
        { "register",                step_register                 },
        { "cgroup-limits",           spawn_step_cgroup_limits      },
        { "dnsmasq-ready",           spawn_network_dnsmasq_ready   },
        { "go",                      step_go                       },
        {}
};

int spawn_start(SpawnContext *c) {
        return spawn_run_steps(parent_steps, c);
}

void spawn_list_parent_steps(FILE *f) {
        for (const SpawnStep *s = parent_steps; s->name; s++)
                fprintf(f, "%s\n", s->name);
}

void spawn_teardown(SpawnContext *c) {
        int r;

        if (c->pidfd >= 0) {
                siginfo_t si;
                (void) syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0);
                (void) waitid(P_PIDFD, (id_t) c->pidfd, &si, WEXITED);
                c->pidfd = safe_close(c->pidfd);
        }
        spawn_network_teardown_begin(c);
        /* The machine made this socket: it holds the machine's network namespace, and a veth goes
         * with that namespace (spawn_network_teardown() waits for that). */
        c->notify_fd = safe_close(c->notify_fd);
        debug_mark("teardown", "links");
        spawn_network_links_teardown(c);
        debug_mark("teardown", "cgroup");
        if (c->cgroup_created) {
                /* With PID 1 gone the kernel kills the rest of the namespace; wait for it. */
                r = cgroup_set_kill_and_remove(&c->cgroups, c->cgroup_path, 5 * UINT64_C(1000000));
                if (r < 0)
                        log_warning_errno(r, "Failed to remove cgroup %s: %m", c->cgroup_path);
                (void) cgroup_set_remove_empty_parents(&c->cgroups, c->cgroup_path);
        }
        debug_mark("teardown", "network");
        spawn_network_teardown(c);
        debug_mark("teardown", "registration");
        spawn_registration_unregister(c);
        c->sync = safe_close(c->sync);
        c->console_fd = safe_close(c->console_fd);
        c->console_peer_fd = safe_close(c->console_peer_fd);
        if (c->uid_lock_fd >= 0)
                userns_range_release(c->uid_shift, c->uid_lock_fd);
        c->uid_lock_fd = -EBADF;
        c->cgroup_path = mfree(c->cgroup_path);
        cgroup_set_done(&c->cgroups);
        c->cgroup2_fd = safe_close(c->cgroup2_fd); /* after its last user: the hierarchy's paths go through it */
        cgroup_controllers_done(&c->controllers);
        c->env = strv_free(c->env);
        c->journal_bind = mfree(c->journal_bind);
        spawn_overlay_cleanup(c);
        spawn_bind_users_done(c);
        spawn_seccomp_done(&c->seccomp);
        spawn_seccomp_done(&c->seccomp_sync);
        debug_mark("teardown", "done");
}

void spawn_unlock(SpawnContext *c) {
        if (c->lock_fd >= 0) {
                (void) unlink(c->lock_path);
                c->lock_fd = safe_close(c->lock_fd);
        }
        c->lock_path = mfree(c->lock_path);
}

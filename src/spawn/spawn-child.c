/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "fileio.h"
#include "log.h"
#include "mount-util.h"
#include "spawn-bind-user.h"
#include "spawn-cgroup.h"
#include "spawn-child.h"
#include "spawn-lxcfs.h"
#include "spawn-resources.h"
#include "spawn-network.h"
#include "spawn-credentials.h"
#include "spawn-mount.h"
#include "spawn-journal.h"
#include "spawn-overlay.h"
#include "spawn-pipeline.h"
#include "spawn-pivot.h"
#include "spawn-timezone.h"
#include "spawn-seccomp.h"
#include "spawn-user.h"
#include "string-util.h"
#include "strv.h"
#include "sync-channel.h"

extern char **environ;

/* Before anything else: into the machine's v1 cgroups, by the move that needs no RCU grace period
 * (cgroup_tasks_attach_self(), through files the parent opened); the parent moves us in the rest
 * and says cgroup-ready. */
static int step_attach_self(SpawnContext *c) {
        int r;

        if (!c->cgroup_self_attach)
                return 0;
        r = cgroup_tasks_attach_self(&c->cgroup_tasks);
        cgroup_tasks_close(&c->cgroup_tasks);
        if (r < 0)
                return r;
        return sync_send(c->sync, SYNC_ATTACHED, -EBADF);
}

static int step_await_cgroup(SpawnContext *c) {
        return sync_expect(c->sync, SYNC_CGROUP_READY, NULL, c->failed_step);
}

/* -U: our maps are written; become root of our own user namespace (nobody on the host). */
static int step_become_root(SpawnContext *c) {
        if (!c->userns)
                return 0;
        if (setresgid(0, 0, 0) < 0 || setgroups(0, NULL) < 0 || setresuid(0, 0, 0) < 0)
                return -errno;
        return 0;
}

/* bind_needs_idmap() on both sides decides which binds come as idmapped trees from the parent. */
static int step_await_rootfs_fd(SpawnContext *c) {
        const SpawnConfig *cfg = c->config;
        int r;

        if (c->idmap_root) {
                r = sync_expect(c->sync, SYNC_ROOTFS_FD, &c->root_tree_fd, c->failed_step);
                if (r < 0)
                        return r;
        }
        c->bind_fds = new(int, cfg->n_binds + 1);
        if (!c->bind_fds)
                return -ENOMEM;
        for (size_t i = 0; i < cfg->n_binds; i++) {
                c->bind_fds[i] = -EBADF;
                if (!spawn_bind_needs_idmap(c, &cfg->binds[i]))
                        continue;
                r = sync_expect(c->sync, SYNC_BIND_FD, &c->bind_fds[i], c->failed_step);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int step_unshare_cgroupns(SpawnContext *c) {
        /* Now that the parent put us into our scope, make it our cgroup root. */
        if (unshare(CLONE_NEWCGROUP) < 0)
                return -errno;
        return 0;
}

static int step_mounts_private(SpawnContext *c) {
        /* Nothing we mount may propagate back to the host. */
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                return -errno;
        return 0;
}

static int step_read_host_files(SpawnContext *c) {
        int r = read_full_file_at(AT_FDCWD, "/etc/os-release", 64 * 1024, &c->host_os_release, NULL);
        if (r < 0)
                (void) read_full_file_at(AT_FDCWD, "/usr/lib/os-release", 64 * 1024, &c->host_os_release, NULL);
        return spawn_timezone_read_host(c);
}

/* Everything on the host side is opened while we still act as host root (in the file system's eyes):
 * with -U, once we become our namespace's root, directories only root may enter are closed to us. */
static int step_open_host_paths(SpawnContext *c) {
        const SpawnConfig *cfg = c->config;
        int r;

        c->root_target_fd = open(c->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (c->root_target_fd < 0)
                return -errno;
        if (c->root_tree_fd < 0) {
                r = mount_clone_tree(AT_FDCWD, c->root_path, true, &c->root_tree_fd);
                if (r < 0)
                        return r;
        }
        r = spawn_bind_users_open(c);
        if (r < 0)
                return r;
        if (c->journal_bind) {
                r = mount_clone_tree(AT_FDCWD, c->journal_bind, false, &c->journal_fd);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < cfg->n_binds; i++) {
                if (c->bind_fds[i] >= 0)
                        continue; /* an idmapped tree from the parent */
                r = mount_clone_tree(AT_FDCWD, cfg->binds[i].source, cfg->binds[i].recursive, &c->bind_fds[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int step_bind_root(SpawnContext *c) {
        _cleanup_close_ int tree = TAKE_FD(c->root_tree_fd), target = TAKE_FD(c->root_target_fd);
        int r;

        if (c->config->read_only) {
                r = mount_set_attr(tree, MOUNT_ATTR_RDONLY, 0, true);
                if (r < 0)
                        return r;
        }
        r = mount_attach(tree, target);
        if (r < 0)
                return r;
        /* The tree's fd now stands for the attached mount: our root, without walking a path again. */
        c->root_fd = TAKE_FD(tree);
        return 0;
}

static int step_pivot_root(SpawnContext *c) {
        if (fchdir(c->root_fd) < 0)
                return -errno;
        /* Stack the old root on top of the new one, then detach it: no path leads back. */
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return -errno;
        if (umount2(".", MNT_DETACH) < 0)
                return -errno;
        if (chdir("/") < 0)
                return -errno;
        return 0;
}

static int write_new_file(const char *path, const char *contents, mode_t mode) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
        size_t l = strlen(contents);

        if (fd < 0)
                return -errno;
        if (write(fd, contents, l) != (ssize_t) l)
                return -EIO;
        return 0;
}

static int step_setup_run_host(SpawnContext *c) {
        int r;

        if (mkdir("/run/host", 0755) < 0 && errno != EEXIST)
                return -errno;
        r = write_new_file("/run/host/container-manager", "berth\n", 0444);
        if (r < 0)
                return r;
        if (c->host_os_release) {
                r = write_new_file("/run/host/os-release", c->host_os_release, 0444);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int step_setup_console(SpawnContext *c) {
        _cleanup_close_ int master = -EBADF, target = -EBADF;
        char slave[64];
        int n, unlock = 0;

        if (c->config->console_mode == CONSOLE_PIPE)
                return 0;
        master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
                return -errno;
        if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &n) < 0)
                return -errno;
        (void) snprintf(slave, sizeof slave, "/dev/pts/%d", n);
        if (chmod(slave, 0600) < 0)
                return -errno;
        target = open("/dev/console", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (target < 0)
                return -errno;
        if (mount(slave, "/dev/console", NULL, MS_BIND, NULL) < 0)
                return -errno;
        return sync_send(c->sync, SYNC_CONSOLE_FD, master);
}

static int step_setup_notify(SpawnContext *c) {
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/run/host/notify" };

        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return -errno;
        /* Services under any user may notify; only PID 1's messages are honoured by the parent. */
        if (chmod(sa.sun_path, 0777) < 0)
                return -errno;
        return sync_send(c->sync, SYNC_NOTIFY_FD, fd);
}

static int step_set_hostname(SpawnContext *c) {
        const char *h = c->config->hostname ?: c->config->machine_name;
        if (sethostname(h, strlen(h)) < 0)
                return -errno;
        return 0;
}

static int step_setup_machine_id(SpawnContext *c) {
        char id[ID128_STRING_MAX + 1];
        int r;

        /* The tree has a valid one, or none at all (then its init makes a transient one from
         * $container_uuid): nothing to do. An empty or broken file gets a transient overlay. */
        if (!id128_is_null(c->tree->machine_id) || !c->tree->machine_id_file)
                return 0;
        (void) id128_to_string(c->uuid, id);
        strcat(id, "\n");
        r = write_new_file("/run/machine-id", id, 0444);
        if (r < 0)
                return r;
        if (mount("/run/machine-id", "/etc/machine-id", NULL, MS_BIND, NULL) < 0)
                return -errno;
        if (mount(NULL, "/etc/machine-id", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
                return -errno;
        return 0;
}

static int step_setup_network(SpawnContext *c) {
        _cleanup_close_ int fd = -EBADF;
        struct ifreq ifr = { .ifr_name = "lo" };

        if (!c->config->private_network)
                return spawn_network_setup_guest_files(c);
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                return -errno;
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
                return -errno;
        return spawn_network_setup_guest_files(c);
}

/* Writes identity maps of our own ranges to the uid_map and gid_map of pid (a nested namespace): one
 * line per line of ours, since a line of the nested map must fall into one line of ours (with
 * --bind-user= ours is split around the bound users). */
static int write_identity_maps(pid_t pid) {
        static const char *const files[] = { "uid_map", "gid_map" };

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *own = NULL, *out = NULL;
                char path[64], *save = NULL;
                size_t n = 0;
                int r;

                (void) snprintf(path, sizeof path, "/proc/self/%s", files[i]);
                r = read_full_file_at(AT_FDCWD, path, 64 * 1024, &own, NULL);
                if (r < 0)
                        return r;
                out = malloc(strlen(own) * 2 + 1);
                if (!out)
                        return -ENOMEM;
                out[0] = 0;
                for (char *l = strtok_r(own, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                        unsigned inside, outside, count;
                        if (sscanf(l, "%u %u %u", &inside, &outside, &count) != 3)
                                return -EBADMSG;
                        n += sprintf(out + n, "%u %u %u\n", inside, inside, count);
                }
                (void) snprintf(path, sizeof path, "/proc/%d/%s", (int) pid, files[i]);
                r = write_string_file(path, out);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The helper of step_lock_mounts(): makes the nested namespaces, waits until we joined its mount
 * namespace, exits. */
_noreturn_ static void lock_mounts_helper(int ready[2], int done[2]) {
        int ready_fd = ready[1], done_fd = done[0];
        char b;

        safe_close(ready[0]);
        safe_close(done[1]);
        (void) prctl(PR_SET_DUMPABLE, 1); /* its /proc files must be ours to write the maps */
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0 || write(ready_fd, "x", 1) != 1)
                _exit(EXIT_FAILURE);
        (void) read(done_fd, &b, 1);
        _exit(EXIT_SUCCESS);
}

/* -U: the mounts made above live in a mount namespace of the machine's own user namespace, so its
 * root could remount /proc/sys or /sys read-write or unmount the masks. A copy of the mount
 * namespace made for a nested user namespace has them all locked (the kernel locks mounts copied
 * into a less privileged namespace): a helper makes that copy, and we move into its mount namespace
 * only, staying in our user namespace (which owns the PID namespace: reboot(2) keeps working; and
 * its root, owner of the nested one, may still mount anew). */
static int step_lock_mounts(SpawnContext *c) {
        _cleanup_close_ int ns_fd = -EBADF;
        int ready[2], done[2], status, r = 0;
        char path[64], b;
        pid_t helper;

        if (!c->userns)
                return 0;
        if (pipe2(ready, O_CLOEXEC) < 0)
                return -errno;
        if (pipe2(done, O_CLOEXEC) < 0) {
                r = -errno;
                goto close_ready;
        }
        helper = fork();
        if (helper < 0) {
                r = -errno;
                goto close_all;
        }
        if (helper == 0)
                lock_mounts_helper(ready, done);
        ready[1] = safe_close(ready[1]);
        if (read(ready[0], &b, 1) != 1)
                r = -EPERM;
        if (r >= 0)
                r = write_identity_maps(helper);
        if (r >= 0) {
                (void) snprintf(path, sizeof path, "/proc/%d/ns/mnt", (int) helper);
                ns_fd = open(path, O_RDONLY | O_CLOEXEC);
                if (ns_fd < 0 || setns(ns_fd, CLONE_NEWNS) < 0)
                        r = -errno;
        }
        done[1] = safe_close(done[1]); /* the helper may go */
        while (waitpid(helper, &status, 0) < 0)
                if (errno != EINTR)
                        break;
close_all:
        safe_close(done[0]);
        safe_close(done[1]);
close_ready:
        safe_close(ready[0]);
        safe_close(ready[1]);
        return r;
}

static int step_tell_rootfs_ready(SpawnContext *c) {
        return sync_send(c->sync, SYNC_ROOTFS_READY, -EBADF);
}

static int step_await_go(SpawnContext *c) {
        return sync_expect(c->sync, SYNC_GO, NULL, c->failed_step);
}

static const SpawnStep child_steps[] = {
        { "attach-self",        step_attach_self        },
        { "await-cgroup",       step_await_cgroup       },
        { "await-rootfs-fd",    step_await_rootfs_fd    },
        { "unshare-cgroupns",   step_unshare_cgroupns   },
        { "make-mounts-private", step_mounts_private    },
        { "read-host-files",    step_read_host_files    },
        { "open-host-paths",    step_open_host_paths    },
        { "open-lxcfs",         spawn_open_lxcfs        },
        { "become-root",        step_become_root        },
        { "bind-root",          step_bind_root          },
        { "pivot-root-option",  spawn_pivot_root_setup  },
        { "mount-proc",         spawn_mount_proc        },
        { "mount-sys",          spawn_mount_sys         },
        { "mount-lxcfs",        spawn_mount_lxcfs       },
        { "mount-cgroup",       spawn_mount_cgroup      },
        { "mount-dev",          spawn_mount_dev         },
        { "mount-run-tmp",      spawn_mount_run_tmp     },
        { "mount-user",         spawn_mount_user        },
        { "mount-overlays",     spawn_overlay_mount     },
        { "mount-journal",      spawn_journal_mount     },
        { "mount-inaccessible", spawn_mount_inaccessible },
        { "pivot-root",         step_pivot_root         },
        { "setup-run-host",     step_setup_run_host     },
        { "setup-timezone",     spawn_timezone_setup    },
        { "setup-credentials",  spawn_credentials_setup },
        { "bind-users",         spawn_bind_users_setup  },
        { "setup-console",      step_setup_console      },
        { "setup-notify",       step_setup_notify       },
        { "set-hostname",       step_set_hostname       },
        { "setup-machine-id",   step_setup_machine_id   },
        { "setup-network",      step_setup_network      },
        { "lock-mounts",        step_lock_mounts        },
        { "set-personality",    spawn_personality_set   },
        { "tell-rootfs-ready",  step_tell_rootfs_ready  },
        { "await-go",           step_await_go           },
        {}
};

static int attach_console(void) {
        int fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        for (int i = 0; i < 3; i++)
                if (dup2(fd, i) < 0)
                        return -errno;
        if (fd > 2)
                (void) close(fd);
        if (ioctl(STDIN_FILENO, TIOCSCTTY, 1) < 0)
                return -errno;
        return 0;
}

static int drop_bounding_set(uint64_t keep) {
        int last = (int) cap_max_bits() - 1;

        for (int i = 0; i <= last; i++)
                if (!(keep & (UINT64_C(1) << i)) && cap_drop_bound(i) < 0 && errno != EINVAL)
                        return -errno;
        (void) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
        return 0;
}

static int raise_ambient(uint64_t ambient) {
        cap_t caps = cap_init();
        int r = 0;

        if (!caps)
                return -ENOMEM;
        /* Ambient capabilities must be permitted and inheritable first. */
        for (cap_value_t v = 0; v < 64; v++)
                if (ambient & (UINT64_C(1) << v))
                        if (cap_set_flag(caps, CAP_PERMITTED, 1, &v, CAP_SET) < 0 ||
                            cap_set_flag(caps, CAP_INHERITABLE, 1, &v, CAP_SET) < 0 ||
                            cap_set_flag(caps, CAP_EFFECTIVE, 1, &v, CAP_SET) < 0)
                                r = -errno;
        if (r >= 0 && cap_set_proc(caps) < 0)
                r = -errno;
        cap_free(caps);
        for (int v = 0; v < 64 && r >= 0; v++)
                if ((ambient & (UINT64_C(1) << v)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, v, 0, 0) < 0)
                        r = -errno;
        return r;
}

/* Changes to the user; ambient capabilities (--ambient-capability=) survive the change and the exec. */
static int change_user(GuestUser *u, uint64_t ambient) {
        if (ambient && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                return -errno;
        if (setgroups(u->n_groups, u->groups) < 0)
                return -errno;
        if (setresgid(u->gid, u->gid, u->gid) < 0)
                return -errno;
        if (setresuid(u->uid, u->uid, u->uid) < 0)
                return -errno;
        return ambient ? raise_ambient(ambient) : 0;
}

static void reset_signals(void) {
        sigset_t all;
        struct sigaction sa = { .sa_handler = SIG_DFL };

        for (int s = 1; s < _NSIG; s++)
                (void) sigaction(s, &sa, NULL);
        sigemptyset(&all);
        (void) sigprocmask(SIG_SETMASK, &all, NULL);
}

/* Builds argv: init (+ its args) with -b; the command, or a shell, otherwise. */
static char **payload_argv(SpawnContext *c, GuestUser *u) {
        char **argv = NULL;

        if (c->config->start_mode == START_BOOT) {
                if (strv_extend(&argv, c->tree->init_path) < 0)
                        return strv_free(argv);
                STRV_FOREACH(a, c->config->command)
                        if (strv_extend(&argv, *a) < 0)
                                return strv_free(argv);
                return argv;
        }
        if (c->config->command)
                return strv_copy(c->config->command);
        if (strv_extend(&argv, u->shell ?: (access("/bin/bash", X_OK) >= 0 ? "/bin/bash" : "/bin/sh")) < 0)
                return strv_free(argv);
        return argv;
}

static int prepare_user(SpawnContext *c, GuestUser *u) {
        int r;

        if (c->config->user) {
                r = guest_user_lookup("/etc/passwd", "/etc/group", c->config->user, u);
                if (r < 0)
                        return r;
                {
                        _cleanup_free_ char *a = strjoin("USER=", u->name), *b = strjoin("LOGNAME=", u->name),
                                            *h = strjoin("HOME=", u->home), *s = strjoin("SHELL=", u->shell);
                        if (!a || !b || !h || !s || strv_env_replace(&c->env, a) < 0 ||
                            strv_env_replace(&c->env, b) < 0 || strv_env_replace(&c->env, h) < 0 ||
                            strv_env_replace(&c->env, s) < 0)
                                return -ENOMEM;
                }
        }
        return 0;
}

/* --chdir= must work; else the user's home, falling back to / (and always / for an init). */
static int enter_working_directory(SpawnContext *c, const GuestUser *u) {
        if (c->config->working_directory)
                return chdir(c->config->working_directory) < 0 ? -errno : 0;
        if (c->config->start_mode == START_BOOT || chdir(c->config->user ? u->home : "/root") < 0)
                (void) chdir("/");
        return 0;
}

/* After go: become the payload. Returns only on failure, with the step that failed in *ret_step. */
static int exec_payload(SpawnContext *c, const char **ret_step) {
        _cleanup_strv_free_ char **argv = NULL;
        GuestUser u = {};
        int r;

        *ret_step = "setsid";
        if (setsid() < 0)
                return -errno;
        if (c->config->console_mode != CONSOLE_PIPE) {
                *ret_step = "attach-console";
                r = attach_console();
                if (r < 0)
                        return r;
        }
        *ret_step = "lookup-user";
        r = prepare_user(c, &u);
        if (r < 0)
                return r;
        *ret_step = "chdir";
        r = enter_working_directory(c, &u);
        if (r < 0)
                return r;
        *ret_step = "drop-capabilities";
        r = drop_bounding_set(c->caps);
        if (r < 0)
                return r;
        *ret_step = "load-seccomp-filter";
        r = spawn_seccomp_install(&c->seccomp);
        if (r < 0)
                return r;
        r = spawn_seccomp_install(&c->seccomp_sync);
        if (r < 0)
                return r;
        if (c->config->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        if (c->config->user) {
                *ret_step = "change-user";
                r = change_user(&u, c->config->caps_ambient & c->caps);
                if (r < 0)
                        return r;
        }
        /* Set again: a change of credentials clears it. */
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        reset_signals();
        *ret_step = "close-fds";
        {
                int keep[] = { c->sync };
                r = close_all_fds(keep, 1);
                if (r < 0)
                        return r;
        }
        argv = payload_argv(c, &u);
        if (!argv)
                return -ENOMEM;
        if (c->config->selinux_context) {
                /* -Z: the label of what we execute (libselinux's setexeccon() does the same write). */
                *ret_step = "set-selinux-context";
                r = write_string_file("/proc/thread-self/attr/exec", c->config->selinux_context);
                if (r < 0)
                        return r;
        }
        *ret_step = "execute";
        environ = c->env;
        execvp(argv[0], argv);
        r = -errno;
        /* Without a command, fall back from bash to sh, as nspawn. */
        if (!c->config->command && c->config->start_mode != START_BOOT && !c->config->user) {
                char *sh[] = { (char *) "/bin/sh", NULL };
                execv(sh[0], sh);
        }
        return r;
}

/* The --as-pid2 stub is PID 1 of the guest: it gets the payload's seccomp filter and no capability at
 * all, so that guest root cannot gain anything by ptracing it (CAP_SYS_PTRACE overrides dumpable). */
static int confine_stub(SpawnContext *c) {
        static const cap_value_t kill_cap[] = { CAP_KILL }; /* to pass signals on to a -u payload */
        cap_t caps = cap_init();
        int r;

        if (!caps)
                return -ENOMEM;
        r = drop_bounding_set(UINT64_C(1) << CAP_KILL);
        if (r >= 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                r = -errno;
        if (r >= 0)
                r = spawn_seccomp_install(&c->seccomp);
        if (r >= 0 && (cap_set_flag(caps, CAP_PERMITTED, 1, kill_cap, CAP_SET) < 0 ||
                       cap_set_flag(caps, CAP_EFFECTIVE, 1, kill_cap, CAP_SET) < 0 || cap_set_proc(caps) < 0))
                r = -errno;
        cap_free(caps);
        return r;
}

_noreturn_ static void fail(SpawnContext *c, const char *step, int r) {
        (void) sync_send_failure(c->sync, step, r);
        _exit(EXIT_FAILURE);
}

void spawn_child_main(SpawnContext *c) {
        const char *step;
        int r;

        c->role_name = "child";
        /* If the launcher dies, so do we (and with us the whole PID namespace). */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                fail(c, "set-pdeathsig", -errno);
        /* Nothing the invoker or the launcher holds (a host directory, a lock, a loop device) comes
         * with us: no path like /proc/self/fd/N can lead back to the host. */
        {
                /* ... but the overlays the parent assembled for us. */
                int keep[1 + SPAWN_CGROUP_TASKS_MAX + 64];
                size_t n = 0;
                keep[n++] = c->sync;
                for (size_t i = 0; i < c->cgroup_tasks.n && i < SPAWN_CGROUP_TASKS_MAX; i++)
                        keep[n++] = c->cgroup_tasks.fds[i];
                for (size_t i = 0; c->overlay_fds && i < c->config->n_overlays && n < ELEMENTSOF(keep); i++)
                        keep[n++] = c->overlay_fds[i];
                r = close_all_fds(keep, n);
                if (r < 0)
                        fail(c, "close-inherited-fds", r);
        }

        r = spawn_run_steps(child_steps, c);
        if (r < 0)
                _exit(EXIT_FAILURE);

        if (c->config->start_mode == START_PID2) {
                pid_t pid = fork();
                if (pid < 0)
                        fail(c, "fork-payload", -errno);
                if (pid > 0) {
                        c->sync = safe_close(c->sync);
                        r = confine_stub(c);
                        if (r < 0) {
                                (void) kill(pid, SIGKILL);
                                _exit(EXIT_FAILURE);
                        }
                        spawn_stub_init(pid);
                }
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        }

        r = exec_payload(c, &step);
        if (streq(step, "execute")) {
                char s[64];
                (void) snprintf(s, sizeof s, "execute %s", c->config->start_mode == START_BOOT ? c->tree->init_path
                                                           : c->config->command ? c->config->command[0] : "a shell");
                fail(c, s, r);
        }
        fail(c, step, r);
}

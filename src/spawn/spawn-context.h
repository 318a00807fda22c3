/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

#include "cgroup-apply.h"
#include "cgroup-util.h"
#include "spawn-config.h"
#include "spawn-network.h"
#include "spawn-seccomp.h"
#include "spawn-tree.h"

/* Everything a run of the launcher holds; the parent and the child each have their own copy
 * (the child's is the parent's at clone time). Steps read the config and write only here. */
typedef struct SpawnContext {
        const SpawnConfig *config;
        SpawnTree *tree;
        const char *root_path; /* the tree the machine's root is made of (see spawn-root.h) */
        const char *role_name; /* "parent" or "child", for debug logs */
        int sync;              /* our end of the sync channel */

        CgroupSet cgroups;
        char *cgroup_path; /* machine.slice/machine-NAME.scope (or in --slice=) */
        CgroupControllerMap controllers; /* where each controller is, for the limits */
        bool lxcfs;         /* lxcfs runs: bind its files (spawn-lxcfs.h) */
        dev_t lxcfs_dev;    /* its file system, whose files the machine gets */
        int lxcfs_fds[8];   /* child: clones of them, opened with host privileges */
        bool cgroup_created;
        bool cgroup_self_attach; /* the child moves itself into its v1 cgroups ... */
        CgroupTasks cgroup_tasks; /* ... through these, which the parent opened */
#define SPAWN_CGROUP_TASKS_MAX 16
        bool cgroup_cloned_into; /* parent: the child was cloned into its cgroup2 cgroup */
        bool cgroup_unified_view; /* a v1 host, and the machine sees cgroup2 only (spawn-cgroup.h) */
        int cgroup2_fd;           /* a legacy host: our private, detached cgroup2 mount (spawn-cgroup.c) */
        Id128 uuid;
        bool uuid_transient; /* neither --uuid= nor the tree's machine ID: a new one each boot */
        int shutdown_signal; /* what SIGTERM to the launcher becomes */
        uint64_t caps;       /* the bounding set PID 1 gets */
        SeccompProgram seccomp; /* its system call filter, built by the parent */
        SeccompProgram seccomp_sync; /* --suppress-sync: stacked on it */

        /* parent */
        int lock_fd;
        char *lock_path;
        pid_t pid; /* the child, in host PID terms */
        int pidfd;
        int console_fd; /* pty master */
        int console_peer_fd; /* our own handle on the pty slave, so the master never hangs up */
        int notify_fd;
        bool registered;    /* with org.freedesktop.machine1 */
        bool scope_by_systemd; /* registered with systemd-machined: systemd owns the scope and its limits */
        int registry_fd;    /* registered through berthd's socket: unregistered through it too */
        bool userns;        /* -U: the machine has its own user namespace */
        bool idmap_root;    /* ... and gets an idmapped root tree from the parent */
        uint32_t idmap_from; /* ... mapped from the range the tree is owned in (0: host root's) */
        uint32_t uid_shift; /* its UID/GID 0 on the host */
        int uid_lock_fd;    /* holds the range */
        SpawnNetwork net;   /* -n */

        /* child */
        int root_fd;
        int root_tree_fd;   /* child: the root tree (idmapped and received from the parent with -U) */
        int root_target_fd; /* child: where it goes */
        int *bind_fds;      /* child: clones of the --bind sources, opened with host privileges */
        char *host_os_release; /* read before pivot_root, written to /run/host/os-release */
        char *host_localtime;  /* the host's /etc/localtime (--timezone=copy) */
        size_t host_localtime_size;
        char *host_timezone;   /* "Europe/Berlin": where the host's /etc/localtime points (symlink) */
        int localtime_tree_fd; /* a clone of the host's /etc/localtime (--timezone=bind) */
        TimezoneMode timezone_mode; /* --timezone=, auto resolved */
        char *journal_bind;    /* /var/log/journal/ID: the host's, bound to the same path in the machine */
        int journal_fd;        /* child: its clone */
        int *overlay_fds;      /* --overlay=: detached mounts, made by the parent, inherited by the child */
        char **overlay_dirs;   /* parent: temporary upper and work directories, removed at teardown */
        struct BoundUser *bound_users; /* --bind-user= (spawn-bind-user.h) */
        size_t n_bound_users;
        char **env;            /* init's environment */
        char failed_step[64];  /* parent: the child's step that failed */
} SpawnContext;

typedef struct SpawnStep {
        const char *name;
        int (*run)(SpawnContext *c);
} SpawnStep;

/* Runs steps in order; on the first failure tells the other side (errno + step name) and returns. */
int spawn_run_steps(const SpawnStep *steps, SpawnContext *c);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Machines live in machine.slice/machine-<escaped name>.scope in *every* mounted cgroup hierarchy
 * (cgroup2, name=systemd, and each v1 controller), so libsystemd's PID -> machine mapping works on
 * pure v2, hybrid and legacy hosts alike. A CgroupSet is the list of hierarchies this process sees;
 * all paths passed to these functions are relative to each hierarchy's root ("machine.slice/..."). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

typedef enum CgroupLayout {
        CGROUP_LAYOUT_UNIFIED, /* pure cgroup2 at /sys/fs/cgroup */
        CGROUP_LAYOUT_HYBRID,  /* v1 controllers + cgroup2 at /sys/fs/cgroup/unified */
        CGROUP_LAYOUT_LEGACY,  /* v1 only */
        _CGROUP_LAYOUT_MAX,
        _CGROUP_LAYOUT_INVALID = -EINVAL,
} CgroupLayout;

const char *cgroup_layout_to_string(CgroupLayout l) _pure_;
CgroupLayout cgroup_layout_from_string(const char *s) _pure_;

typedef struct CgroupHierarchy {
        char *mount_point; /* "/sys/fs/cgroup/memory", "/sys/fs/cgroup/unified", "/sys/fs/cgroup" */
        char *name;        /* "memory", "cpu,cpuacct", "name=systemd"; "" for cgroup2 */
        bool unified;
} CgroupHierarchy;

typedef struct CgroupSet {
        CgroupHierarchy *hierarchies;
        size_t n;
        CgroupLayout layout;
} CgroupSet;

/* Lists the hierarchies mounted under /sys/fs/cgroup (statfs), one entry each. */
int cgroup_set_detect(CgroupSet *ret);
void cgroup_set_done(CgroupSet *s);
/* Adds a cgroup2 hierarchy reached at mount_point (a legacy host's private one, spawn-cgroup.c). */
int cgroup_set_add_unified(CgroupSet *s, const char *mount_point);
/* The cgroup2 hierarchy, or NULL on a legacy host. */
const CgroupHierarchy *cgroup_set_unified(const CgroupSet *s) _pure_;
/* The v1 hierarchy whose name is exactly 'name' ("name=systemd", "memory"), or NULL. */
const CgroupHierarchy *cgroup_set_find(const CgroupSet *s, const char *name) _pure_;

/* systemd's unit-name escaping: "web-1" -> "web\x2d1". */
int cgroup_unit_name_escape(const char *s, char **ret);
/* "machine.slice/machine-<escaped>.scope" */
int cgroup_machine_path(const char *machine_name, char **ret);

/* mkdir -p of rel in every hierarchy (initializing cpuset.cpus/mems on v1 cpuset). */
int cgroup_set_create(const CgroupSet *s, const char *rel);
/* systemd's Delegate=yes on cgroup2: every controller a cgroup offers (its cgroup.controllers) is
 * enabled in the cgroup.subtree_control of the root and of each ancestor of rel, top-down, so rel
 * gets all of them; rel's own subtree_control is left to its tenant (a guest's systemd enables them
 * there once it has moved itself into a leaf). One write per controller: one the kernel refuses
 * (cpu while real-time threads run elsewhere: EINVAL) is skipped and named in *ret_skipped
 * ("cpu in machine.slice: Invalid argument"). Only where cgroup2 holds the controllers: a pure
 * cgroup2 host, or unified_view (a machine that sees cgroup2 only on a v1 host); a hybrid host's
 * cgroup2 only tracks processes, as under systemd. Fails only with -ENOMEM. */
int cgroup_set_delegate(const CgroupSet *s, const char *rel, bool unified_view, char ***ret_skipped);
/* Moves pid into rel in every hierarchy. */
int cgroup_set_attach(const CgroupSet *s, const char *rel, pid_t pid);
/* Which hierarchies cgroup_set_attach_some() moves pid in. */
typedef enum CgroupAttach {
        CGROUP_ATTACH_V1 = 1 << 0,
        CGROUP_ATTACH_UNIFIED = 1 << 1,
} CgroupAttach;
int cgroup_set_attach_some(const CgroupSet *s, const char *rel, pid_t pid, CgroupAttach which);
/* Moving another process (cgroup.procs) takes the kernel's cgroup_threadgroup_rwsem for writing,
 * which waits for an RCU grace period (some 10 to 25 ms in a small VM) unless a move came just
 * before. Two moves do not: a child cloned into its cgroup2 cgroup (clone3's CLONE_INTO_CGROUP:
 * cgroup_set_open_unified() gives the directory fd, -ENOENT without a cgroup2 hierarchy), and a
 * single-threaded process moving itself through v1's "tasks" with "0" (cgroup_tasks_attach_self(),
 * through the files cgroup_tasks_open_v1() opened). The kernel checks such a write against the
 * credentials of the file's opener: a child in a user namespace of its own moves itself through
 * files its privileged parent opened before the clone. */
int cgroup_set_open_unified(const CgroupSet *s, const char *rel);
typedef struct CgroupTasks {
        int *fds; /* rel's "tasks" in each v1 hierarchy */
        size_t n;
} CgroupTasks;
int cgroup_tasks_open_v1(const CgroupSet *s, const char *rel, CgroupTasks *ret);
int cgroup_tasks_attach_self(const CgroupTasks *t);
void cgroup_tasks_close(CgroupTasks *t);
/* v1 devices controller: deny everything in rel, then allow these rules ("c 1:3 rwm").
 * -EOPNOTSUPP when there is no v1 devices hierarchy (pure cgroup2). */
int cgroup_set_device_policy(const CgroupSet *s, const char *rel, const char *const *allow);
/* Limits the number of tasks in rel (the pids controller, v1 or cgroup2). */
int cgroup_set_pids_max(const CgroupSet *s, const char *rel, uint64_t max);
/* Does rel exist in any hierarchy? */
bool cgroup_set_exists(const CgroupSet *s, const char *rel);
/* Does rel (or any cgroup below it) hold a process in any hierarchy? */
int cgroup_set_is_populated(const CgroupSet *s, const char *rel);
/* Sends sig to every process in rel and below, in every hierarchy (cgroup.kill for SIGKILL on v2).
 * Returns the number of processes signalled (cgroup.kill counts as 1 if it was written). */
int cgroup_set_kill(const CgroupSet *s, const char *rel, int sig);
/* Removes rel and everything below it (deepest first) in every hierarchy. -EBUSY if populated;
 * a missing directory is not an error. */
int cgroup_set_remove(const CgroupSet *s, const char *rel);
/* Removes the parents of rel (machine.slice) in every hierarchy where they are empty. */
int cgroup_set_remove_empty_parents(const CgroupSet *s, const char *rel);
/* Kills what is left, waits up to timeout_usec for the cgroups to empty, then removes them. */
int cgroup_set_kill_and_remove(const CgroupSet *s, const char *rel, uint64_t timeout_usec);

/* The cgroup path of pid in the hierarchy called name ("" for cgroup2), from /proc/PID/cgroup. */
int cgroup_pid_get_path(pid_t pid, const char *name, char **ret);

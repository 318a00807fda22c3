/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alloc-util.h"
#include "copy.h"
#include "fd-util.h"
#include "log.h"
#include "machine-copy.h"
#include "machine-enter.h"
#include "manager.h"
#include "mount-util.h"
#include "path-util.h"
#include "rm-rf.h"
#include "string-util.h"

#define COPY_ID_RANGE 65536U

/* ---- helper processes watched by the event loop ---- */

typedef struct MachineOperation {
        Manager *manager;
        pid_t pid;
        int pidfd;
        sd_event_source *source;
        MachineOperationDone done;
        void *userdata;
} MachineOperation;

static MachineOperation *machine_operation_free(MachineOperation *o) {
        if (!o)
                return NULL;
        sd_event_source_disable_unref(o->source);
        safe_close(o->pidfd);
        return mfree(o);
}

static int on_operation_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        MachineOperation *o = userdata;
        MachineOperationDone done = o->done;
        void *ud = o->userdata;
        int r;

        r = machine_wait_helper(o->pid, false);
        o->manager->n_operations--;
        machine_operation_free(o);
        done(r, ud);
        return 0;
}

int machine_operation_watch(Manager *m, pid_t pid, MachineOperationDone done, void *userdata) {
        MachineOperation *o;
        int r;

        o = new0(MachineOperation, 1);
        if (!o) {
                r = -ENOMEM;
                goto fail;
        }
        *o = (MachineOperation) { .manager = m, .pid = pid, .done = done, .userdata = userdata };
        o->pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (o->pidfd < 0) {
                r = -errno;
                goto fail;
        }
        r = sd_event_add_io(m->event, &o->source, o->pidfd, EPOLLIN, on_operation_exit, o);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(o->source, "machine-operation");
        m->n_operations++;
        return 0;
fail:
        machine_operation_free(o);
        (void) machine_wait_helper(pid, true);
        return r;
}

/* ---- the copy, run in the helper ---- */

typedef struct CopyContext {
        bool to_machine;
        uid_t shift; /* the machine's UID (and GID) shift, 0 without a user namespace */
} CopyContext;

static uid_t map_id(uid_t id, void *userdata) {
        const CopyContext *c = userdata;

        if (!c->to_machine || c->shift == 0)
                return id;
        if (id >= c->shift && id - c->shift < COPY_ID_RANGE)
                return id;
        return c->shift + (id < COPY_ID_RANGE ? id : 65534);
}

/* Builds the copy under a temporary name in the destination directory, then renames it into place. */
static int copy_into_place(const CopyContext *c, int sfd, const char *name, int dfd, const char *dname,
                           bool replace) {
        char tmp[64];
        struct stat st;
        struct timespec ts;
        int r;

        if (fstatat(dfd, dname, &st, AT_SYMLINK_NOFOLLOW) >= 0) {
                if (!replace)
                        return -EEXIST;
        } else if (errno != ENOENT)
                return -errno;
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        (void) snprintf(tmp, sizeof tmp, ".#berth-copy-%d-%lx", (int) getpid(), (unsigned long) ts.tv_nsec);

        r = copy_entry_at(sfd, name, dfd, tmp, &(CopyOptions) { .map_id = map_id, .userdata = (void *) c });
        if (r >= 0 && renameat2(dfd, tmp, dfd, dname, RENAME_NOREPLACE) < 0) {
                r = -errno;
                if (r == -EEXIST && replace) /* swap, then remove what was there */
                        r = renameat2(dfd, tmp, dfd, dname, RENAME_EXCHANGE) < 0 ? -errno : 0;
        }
        (void) rm_rf_at(dfd, tmp);
        return r;
}

/* From now on we create files in the machine as its root (S), which an idmapped root mount needs
 * (the kernel refuses to create files for an ID the mount does not map); changing the fsuid drops
 * our file capabilities from the effective set, so they are raised again from the permitted set. */
static int become_machine_root_for_files(uid_t shift) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2] = {};

        (void) setfsgid(shift);
        (void) setfsuid(shift);
        if ((uid_t) setfsuid((uid_t) -1) != shift || (gid_t) setfsgid((gid_t) -1) != shift)
                return -EPERM;
        if (syscall(SYS_capget, &h, d) < 0)
                return -errno;
        d[0].effective = d[0].permitted;
        d[1].effective = d[1].permitted;
        if (syscall(SYS_capset, &h, d) < 0)
                return -errno;
        return 0;
}

typedef struct CopyJob {
        CopyContext context;
        int host_dir;          /* the host path's parent directory, opened by the daemon */
        char *host_name;       /* its last component */
        char *machine_dir;     /* the machine path's parent directory, resolved in the helper */
        char *machine_name;
        bool replace;
} CopyJob;

/* Runs in the helper, inside the machine's mount namespace and root. */
static int copy_job_run(const CopyJob *j) {
        _cleanup_close_ int root = -EBADF, mdir = -EBADF;
        int r;

        root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return -errno;
        mdir = open_in_root(root, j->machine_dir, O_PATH | O_DIRECTORY, 0);
        if (mdir < 0)
                return mdir;
        if (j->context.to_machine && j->context.shift != 0) {
                r = become_machine_root_for_files(j->context.shift);
                if (r < 0)
                        return r;
        }
        if (j->context.to_machine)
                return copy_into_place(&j->context, j->host_dir, j->host_name, mdir, j->machine_name, j->replace);
        return copy_into_place(&j->context, mdir, j->machine_name, j->host_dir, j->host_name, j->replace);
}

int machine_copy(Machine *machine, bool to_machine, const char *source, const char *destination, uint64_t flags,
                 MachineOperationDone done, void *userdata) {
        _cleanup_free_ char *host_dir = NULL, *host_name = NULL, *machine_dir = NULL, *machine_name = NULL;
        _cleanup_close_ int host_fd = -EBADF;
        CopyJob j = { .context.to_machine = to_machine, .replace = flags & MACHINE_COPY_REPLACE };
        pid_t pid;
        int r;

        if (machine->class != MACHINE_CONTAINER)
                return -EOPNOTSUPP;
        if (flags & ~_MACHINE_COPY_KNOWN)
                return -EINVAL;
        r = machine_get_uid_shift(machine, &j.context.shift);
        if (r < 0)
                return r;
        r = path_split(to_machine ? source : destination, &host_dir, &host_name);
        if (r < 0)
                return r;
        r = path_split(to_machine ? destination : source, &machine_dir, &machine_name);
        if (r < 0)
                return r;
        host_fd = open(host_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (host_fd < 0)
                return -errno;
        j.host_dir = host_fd;
        j.host_name = host_name;
        j.machine_dir = machine_dir;
        j.machine_name = machine_name;
        r = machine_fork_inside(machine, CLONE_NEWNS, false, &pid);
        if (r == 0) {
                r = copy_job_run(&j);
                _exit(r < 0 ? (-r & 0xff) ?: EIO : 0);
        }
        if (r > 0)
                r = machine_operation_watch(machine->manager, pid, done, userdata);
        return r;
}

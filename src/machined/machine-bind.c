/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "machine-bind.h"
#include "machine-enter.h"
#include "manager.h"
#include "mount-util.h"

/* Runs in the helper, inside the machine's mount namespace and root. */
static int bind_attach(int tree, const char *destination, bool directory, bool make_directory) {
        _cleanup_close_ int root = -EBADF, target = -EBADF;
        struct stat st;

        root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return -errno;
        if (make_directory)
                target = directory ? mkdir_p_in_root(root, destination, 0755) : touch_in_root(root, destination, 0644);
        else
                target = open_in_root(root, destination, O_PATH, 0);
        if (target < 0)
                return target;
        if (fstat(target, &st) < 0)
                return -errno;
        if (directory && !S_ISDIR(st.st_mode))
                return -ENOTDIR;
        if (!directory && S_ISDIR(st.st_mode))
                return -EISDIR;
        return mount_attach(tree, target);
}

int machine_bind_mount(Machine *machine, const char *source, const char *destination, bool read_only,
                       bool make_directory, MachineOperationDone done, void *userdata) {
        _cleanup_close_ int tree = -EBADF;
        struct stat st;
        pid_t pid;
        int r;

        if (machine->class != MACHINE_CONTAINER)
                return -EOPNOTSUPP;
        r = mount_clone_tree(AT_FDCWD, source, true, &tree);
        if (r < 0)
                return r;
        if (read_only) {
                r = mount_set_attr(tree, MOUNT_ATTR_RDONLY, 0, true);
                if (r < 0)
                        return r;
        }
        if (fstat(tree, &st) < 0)
                return -errno;
        r = machine_fork_inside(machine, CLONE_NEWNS, false, &pid);
        if (r < 0)
                return r;
        if (r == 0) {
                r = bind_attach(tree, destination, S_ISDIR(st.st_mode), make_directory);
                _exit(r < 0 ? (-r & 0xff) ?: EIO : 0);
        }
        return machine_operation_watch(machine->manager, pid, done, userdata);
}

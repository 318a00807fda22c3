/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc-util.h"
#include "copy.h"
#include "fd-util.h"
#include "log.h"
#include "mount-util.h"
#include "path-util.h"
#include "rm-rf.h"
#include "spawn-template.h"
#include "string-util.h"

static bool is_os_tree(int fd) {
        static const char *const files[] = { "/etc/os-release", "/usr/lib/os-release" };

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_close_ int f = open_in_root(fd, files[i], O_PATH, 0);
                struct stat st;
                if (f >= 0 && fstat(f, &st) >= 0 && S_ISREG(st.st_mode))
                        return true;
        }
        return false;
}

/* Copies the template into a new sibling of dir, then renames it to dir. */
static int copy_template(const char *template, int template_fd, const char *dir) {
        _cleanup_free_ char *parent = NULL, *name = NULL, *tmp = NULL;
        _cleanup_close_ int dfd = -EBADF;
        CopyOptions o = { .flags = COPY_XATTRS | COPY_SAME_MOUNT };
        int r;

        r = path_split(dir, &parent, &name);
        if (r < 0)
                return log_error_errno(r, "Invalid directory %s: %m", dir);
        tmp = strjoin(parent, "/.#", name, ".template-XXXXXX");
        if (!tmp)
                return log_oom();
        if (!mkdtemp(tmp))
                return log_error_errno(errno, "Failed to make a directory next to %s: %m", dir);
        dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        r = dfd < 0 ? -errno : copy_directory_into(template_fd, dfd, &o);
        if (r >= 0 && rename(tmp, dir) < 0)
                r = -errno;
        if (r < 0) {
                (void) rm_rf(tmp);
                if (r == -EEXIST || r == -ENOTEMPTY)
                        return 0; /* another launcher made it meanwhile: use that one */
                return log_error_errno(r, "Failed to copy template %s to %s: %m", template, dir);
        }
        log_debug("Made %s from template %s.", dir, template);
        return 0;
}

int spawn_template_populate(SpawnConfig *c) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        if (c->image || c->ephemeral)
                return log_error_errno(-EINVAL, "--template= may not be combined with --image= or --ephemeral.");
        if (!c->directory)
                return log_error_errno(-EINVAL, "--template= needs --directory=: the tree to make from it.");
        fd = open(c->template_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 && errno == ENOTDIR)
                return log_error_errno(-ENOTDIR, "Template %s is not a directory.", c->template_dir);
        if (fd < 0)
                return log_error_errno(errno, "Template %s: %m", c->template_dir);
        if (!is_os_tree(fd))
                return log_error_errno(-EINVAL, "Template %s doesn't look like an OS tree (no /etc/os-release or "
                                                "/usr/lib/os-release). Refusing.", c->template_dir);
        if (lstat(c->directory, &st) >= 0)
                return 0; /* it exists: used as it is, as nspawn */
        if (errno != ENOENT)
                return log_error_errno(errno, "Failed to access directory %s: %m", c->directory);
        if (startswith(c->directory, c->template_dir) &&
            IN_SET(c->directory[strlen(c->template_dir)], 0, '/'))
                return log_error_errno(-EINVAL, "--directory=%s is inside its template %s.", c->directory,
                                       c->template_dir);
        return copy_template(c->template_dir, fd, c->directory);
}

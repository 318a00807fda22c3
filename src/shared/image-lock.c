/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "image-lock.h"
#include "string-util.h"

#define LOCK_DIR "/run/systemd/nspawn/locks"

/* systemd takes these as open file description (OFD) record locks over the whole file, which do not
 * interact with flock(): use the same kind. */
static int ofd_lock(int fd, int operation) {
        struct flock fl = {
                .l_type = operation == LOCK_SH ? F_RDLCK : F_WRLCK,
                .l_whence = SEEK_SET,
        };

        if (fcntl(fd, F_OFD_SETLK, &fl) < 0)
                return IN_SET(errno, EAGAIN, EACCES) ? -EBUSY : -errno;
        return 0;
}

/* berth's own: flock() without waiting. */
static int flock_nb(int fd, int operation) {
        if (flock(fd, operation | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? -EBUSY : -errno;
        return 0;
}

/* Opens path (made if missing) and locks it with lock(); again if a releaser unlinked it between our
 * open and lock. */
static int take_file(const char *path, int (*lock)(int fd, int operation), int operation, int *ret_fd) {
        for (;;) {
                _cleanup_close_ int fd = -EBADF;
                struct stat a, b;

                fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
                if (fd < 0)
                        return -errno;
                int r = lock(fd, operation);
                if (r < 0)
                        return r;
                if (fstat(fd, &a) < 0)
                        return -errno;
                if (stat(path, &b) >= 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
                        *ret_fd = TAKE_FD(fd);
                        return 0;
                }
        }
}

static int lock_file(const char *path, int operation, int *ret_fd) {
        return take_file(path, ofd_lock, operation, ret_fd);
}

static void unlock_file(int *fd, char **path) {
        /* Remove the file if nobody else holds it, as systemd does. */
        if (*fd >= 0 && *path && ofd_lock(*fd, LOCK_EX) >= 0)
                (void) unlink(*path);
        *fd = safe_close(*fd);
        *path = mfree(*path);
}

static int mkdir_parents(void) {
        static const char *const dirs[] = { "/run/systemd", "/run/systemd/nspawn", LOCK_DIR };

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                if (mkdir(dirs[i], 0755) < 0 && errno != EEXIST)
                        return -errno;
        return 0;
}

int image_lock(const char *path, int operation, ImageLock *ret) {
        ImageLock l = IMAGE_LOCK_NULL;
        struct stat st;
        int r;

        if (stat(path, &st) < 0)
                return -errno;
        r = mkdir_parents();
        if (r < 0)
                return r;
        if (S_ISBLK(st.st_mode))
                r = asprintf(&l.global_path, LOCK_DIR "/block-%u:%u", major(st.st_rdev), minor(st.st_rdev));
        else
                r = asprintf(&l.global_path, LOCK_DIR "/inode-%lu:%lu", (unsigned long) st.st_dev,
                             (unsigned long) st.st_ino);
        if (r < 0)
                return -ENOMEM;
        l.operation = operation;

        if (!S_ISBLK(st.st_mode)) {
                _cleanup_free_ char *copy = strdup(path);
                char *slash;
                if (!copy) {
                        free(l.global_path);
                        return -ENOMEM;
                }
                slash = strrchr(copy, '/');
                if (slash && slash[1]) {
                        *slash = 0;
                        l.local_path = strjoin(*copy ? copy : "", "/.#", slash + 1, ".lck");
                        if (!l.local_path) {
                                free(l.global_path);
                                return -ENOMEM;
                        }
                }
        }
        r = lock_file(l.global_path, operation, &l.global_fd);
        if (r >= 0 && l.local_path)
                r = lock_file(l.local_path, operation, &l.local_fd);
        if (r < 0) {
                if (l.global_fd < 0)
                        l.global_path = mfree(l.global_path); /* not ours to unlink */
                if (l.local_fd < 0)
                        l.local_path = mfree(l.local_path);
                image_lock_release(&l);
                return r;
        }
        *ret = l;
        return 0;
}

void image_lock_release(ImageLock *l) {
        unlock_file(&l->local_fd, &l->local_path);
        unlock_file(&l->global_fd, &l->global_path);
}

static char *name_lock_path(const char *name) {
        return strjoin(MACHINE_NAME_LOCK_DIR "/", name, ".lock");
}

int machine_name_lock_take(const char *name, int *ret_fd) {
        _cleanup_free_ char *p = name_lock_path(name);
        int r;

        *ret_fd = -EBADF;
        if (!p)
                return -ENOMEM;
        /* as the launcher makes them (spawn_lock()) */
        if ((mkdir("/run/berth", 0755) < 0 && errno != EEXIST) ||
            (mkdir(MACHINE_NAME_LOCK_DIR, 0700) < 0 && errno != EEXIST))
                return -errno;
        /* Made if missing: a launcher that starts the name now waits until we drop it, and does not
         * find its new cgroup emptied under it. */
        r = flock_file_take(p, ret_fd);
        return r < 0 ? r : 1;
}

int flock_file_take(const char *path, int *ret_fd) {
        return take_file(path, flock_nb, LOCK_EX, ret_fd);
}

void machine_name_lock_drop(const char *name, int fd) {
        _cleanup_free_ char *p = NULL;

        if (fd < 0)
                return;
        p = name_lock_path(name);
        if (p)
                (void) unlink(p);
        safe_close(fd);
}

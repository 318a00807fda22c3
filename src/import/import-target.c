/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/magic.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "image-lock.h"
#include "import-target.h"
#include "log.h"
#include "path-util.h"
#include "rm-rf.h"
#include "string-util.h"

int import_target_init(ImportTarget *t, const char *pool, const char *name, const char *replace) {
        uint32_t rnd;
        char hex[9];

        if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t) sizeof rnd)
                return -errno;
        (void) snprintf(hex, sizeof hex, "%08x", rnd);
        if (mkdir(pool, 0700) < 0 && errno != EEXIST)
                return -errno;
        t->pool_fd = open(pool, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (t->pool_fd < 0)
                return -errno;
        t->pool = strdup(pool);
        t->name = strdup(name);
        t->temp = strjoin(IMPORT_TEMP_PREFIX, name, "-", hex);
        t->replace = replace ? strdup(replace) : NULL;
        if (!t->pool || !t->name || !t->temp || (replace && !t->replace))
                return -ENOMEM;
        return 0;
}

static bool is_btrfs(int fd) {
        struct statfs sfs;
        return fstatfs(fd, &sfs) >= 0 && sfs.f_type == BTRFS_SUPER_MAGIC;
}

int import_target_make_tree(ImportTarget *t) {
        int fd;

        if (is_btrfs(t->pool_fd) && strlen(t->temp) <= BTRFS_PATH_NAME_MAX) {
                struct btrfs_ioctl_vol_args args = {};
                strncpy(args.name, t->temp, BTRFS_PATH_NAME_MAX);
                if (ioctl(t->pool_fd, BTRFS_IOC_SUBVOL_CREATE, &args) >= 0)
                        t->made = true;
        }
        if (!t->made) {
                if (mkdirat(t->pool_fd, t->temp, 0755) < 0)
                        return -errno;
                t->made = true;
        }
        fd = openat(t->pool_fd, t->temp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

int import_target_link_file(ImportTarget *t, int fd) {
        char proc[64];

        (void) snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        if (linkat(AT_FDCWD, proc, t->pool_fd, t->temp, AT_SYMLINK_FOLLOW) < 0)
                return -errno;
        t->made = true;
        return 0;
}

/* The image being replaced must not be running: take its lock for as long as we swap. */
static int finish_replace(ImportTarget *t) {
        _cleanup_free_ char *final = path_join(t->pool, t->name), *old = NULL;
        ImageLock lock = IMAGE_LOCK_NULL;
        int r;

        if (!final)
                return -ENOMEM;
        r = image_lock(t->replace, LOCK_EX, &lock);
        if (r < 0)
                return r;
        if (streq(final, t->replace))
                r = renameat2(t->pool_fd, t->temp, t->pool_fd, t->name, RENAME_EXCHANGE) < 0 ? -errno : 0;
        else
                r = renameat2(t->pool_fd, t->temp, t->pool_fd, t->name, RENAME_NOREPLACE) < 0 ? -errno : 0;
        if (r >= 0) {
                /* The new image is in place; the old one is now under the hidden name (or still at
                 * its own path). Removing it is best effort: berthd sweeps hidden names at start. */
                old = streq(final, t->replace) ? path_join(t->pool, t->temp) : strdup(t->replace);
                if (old && rm_rf(old) < 0)
                        log_debug("Failed to remove the replaced image %s.", old);
                t->made = false;
        }
        image_lock_release(&lock);
        return r;
}

int import_target_finish(ImportTarget *t) {
        if (t->replace)
                return finish_replace(t);
        if (renameat2(t->pool_fd, t->temp, t->pool_fd, t->name, RENAME_NOREPLACE) < 0)
                return -errno;
        t->made = false;
        return 0;
}

void import_target_done(ImportTarget *t) {
        if (t->made && t->pool && t->temp) {
                _cleanup_free_ char *p = path_join(t->pool, t->temp);
                if (p)
                        (void) rm_rf(p);
        }
        t->pool_fd = safe_close(t->pool_fd);
        free(t->pool);
        free(t->name);
        free(t->temp);
        free(t->replace);
        *t = IMPORT_TARGET_NULL;
}

volatile pid_t import_child_pid = 0;
volatile pid_t import_downloader_pid = 0;
volatile sig_atomic_t import_cancelled = 0;

int import_run_chrooted(int dir_fd, int (*fn)(void *userdata), void *userdata) {
        siginfo_t si = {};
        pid_t pid;

        pid_t parent = getpid();

        if (import_cancelled)
                return -ECANCELED;
        fflush(stderr);
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                int r = 0;
                /* dies with berth-import, which dies with berthd (even if that happened already) */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                        _exit(EXIT_FAILURE);
                if (fchdir(dir_fd) < 0 || chroot(".") < 0 || chdir("/") < 0)
                        r = -errno;
                if (r >= 0)
                        r = fn(userdata);
                fflush(stderr);
                _exit(r >= 0 ? 0 : MIN(-r, 255));
        }
        import_child_pid = pid;
        if (import_cancelled) /* SIGTERM came between the check above and now */
                (void) kill(pid, SIGKILL);
        while (waitid(P_PID, (id_t) pid, &si, WEXITED) < 0)
                if (errno != EINTR) {
                        import_child_pid = 0;
                        return -errno;
                }
        import_child_pid = 0;
        if (si.si_code != CLD_EXITED)
                return -EPROTO;
        return -si.si_status;
}

void log_replay(int fd) {
        char buf[4096];
        ssize_t n;

        fflush(stderr);
        for (off_t at = 0; fd >= 0 && ((n = pread(fd, buf, sizeof buf, at)) > 0 || (n < 0 && errno == EINTR));) {
                for (ssize_t done = 0, k; n > 0 && done < n; done += k) {
                        k = write(STDERR_FILENO, buf + done, (size_t) (n - done));
                        if (k < 0 && errno == EINTR)
                                k = 0;
                        else if (k <= 0)
                                return;
                }
                at += n > 0 ? n : 0;
        }
}

/* Our stderr into d->import_log_fd until downloader_finish(): the import's messages, and those of
 * the children it forks meanwhile. */
static int stderr_divert(Downloader *d) {
        d->import_log_fd = memfd_create("berth-import-log", MFD_CLOEXEC);
        if (d->import_log_fd < 0)
                return -errno;
        fflush(stderr);
        d->saved_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
        if (d->saved_stderr < 0 || dup2(d->import_log_fd, STDERR_FILENO) < 0) {
                int r = -errno;
                d->saved_stderr = safe_close(d->saved_stderr);
                return r;
        }
        return 0;
}

static void stderr_restore(Downloader *d) {
        fflush(stderr);
        if (d->saved_stderr >= 0)
                (void) dup2(d->saved_stderr, STDERR_FILENO);
        d->saved_stderr = safe_close(d->saved_stderr);
}

/* Forks the download into a pipe; returns the pipe's reading end. */
int downloader_start(Downloader *d, int (*download)(int out_fd, void *userdata), void *userdata) {
        int p[2];

        d->log_fd = memfd_create("berth-pull-log", MFD_CLOEXEC);
        if (d->log_fd < 0 || pipe2(p, O_CLOEXEC) < 0)
                return log_error_errno(-errno, "Failed to set up the download: %m");
        pid_t parent = getpid();
        fflush(stderr);
        d->pid = fork();
        if (d->pid < 0) {
                int r = log_error_errno(-errno, "Failed to start the download: %m");
                safe_close(p[0]);
                safe_close(p[1]);
                return r;
        }
        if (d->pid == 0) {
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent || dup2(d->log_fd, STDERR_FILENO) < 0)
                        _exit(EXIT_FAILURE);
                (void) signal(SIGTERM, SIG_DFL);
                safe_close(p[0]);
                int r = download(p[1], userdata);
                fflush(stderr);
                _exit(r < 0 ? MIN(-r, 255) : 0);
        }
        import_downloader_pid = d->pid;
        if (import_cancelled)
                (void) kill(d->pid, SIGKILL);
        safe_close(p[1]);
        int r = stderr_divert(d);
        if (r < 0)
                log_debug_errno(r, "Failed to keep the import's messages aside, showing them as they come: %m");
        return p[0];
}

int downloader_finish(Downloader *d, int import_result) {
        int status = 0, r;

        stderr_restore(d);
        while (d->pid > 0 && waitpid(d->pid, &status, 0) < 0)
                if (errno != EINTR)
                        break;
        import_downloader_pid = 0;
        if (import_cancelled) {
                log_error("The transfer was cancelled.");
                r = -ECANCELED;
        } else if (d->pid <= 0 || (WIFEXITED(status) && (WEXITSTATUS(status) == 0 ||
                                                        (WEXITSTATUS(status) == EPIPE && import_result < 0)))) {
                /* the download went well, or only lost its reader: the import says what it found */
                log_replay(d->import_log_fd);
                r = import_result;
        } else {
                /* the download failed: the cause (the import at most saw the stream end early) */
                off_t size = lseek(d->log_fd, 0, SEEK_END);
                if (size > 0)
                        log_replay(d->log_fd);
                else
                        log_error("The download died.");
                r = WIFEXITED(status) ? -WEXITSTATUS(status) : -EPROTO;
        }
        d->log_fd = safe_close(d->log_fd);
        d->import_log_fd = safe_close(d->import_log_fd);
        d->pid = 0;
        return r;
}

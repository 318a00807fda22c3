/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Where berth-import builds a new image: a hidden ".#import-NAME-XXXXXXXX" entry in the pool that
 * gets its final name only when complete (renameat2 RENAME_NOREPLACE, or RENAME_EXCHANGE with the
 * image it replaces). Whatever is left under a hidden name after a crash is removed when berthd
 * starts (image_pool_sweep()). Nothing here logs above debug. */

#include <stdbool.h>
#include <signal.h>
#include <sys/types.h>

#include "macro.h"

#define IMPORT_TEMP_PREFIX ".#import-"

typedef struct ImportTarget {
        int pool_fd;
        char *pool;    /* the pool directory, "/var/lib/machines" */
        char *name;    /* the final name: NAME, or NAME.raw */
        char *temp;    /* the hidden name it is built under */
        char *replace; /* the path of the image it replaces (--force), or NULL */
        bool made;     /* temp exists and is ours to remove */
} ImportTarget;

#define IMPORT_TARGET_NULL ((ImportTarget) { .pool_fd = -EBADF })

int import_target_init(ImportTarget *t, const char *pool, const char *name, const char *replace);
/* A directory (a subvolume on btrfs) under the hidden name; returns an O_DIRECTORY fd to it. */
int import_target_make_tree(ImportTarget *t);
/* Links an O_TMPFILE file under the hidden name. */
int import_target_link_file(ImportTarget *t, int fd);
/* Gives the hidden entry its final name; replaces t->replace (which must not be in use). */
int import_target_finish(ImportTarget *t);
/* Removes the hidden entry if it is still there and frees t's strings. */
void import_target_done(ImportTarget *t);

/* Runs fn(userdata) in a child whose root is dir_fd (chroot), so that no path an archive names
 * can reach outside the new image. The child's -errno comes back as the result. */
int import_run_chrooted(int dir_fd, int (*fn)(void *userdata), void *userdata);
/* The child import_run_chrooted() waits for (0: none), for a SIGTERM handler to kill; and whether
 * that handler ran (then no new child starts, and none is left running). */
extern volatile pid_t import_child_pid;
extern volatile sig_atomic_t import_cancelled;

/* A download in a child of its own (downloader_start(): download(out_fd) writes into a pipe whose
 * reading end is returned). Both sides' messages are kept aside until downloader_finish(): the
 * download's stderr, and ours (the import's, and its children's) meanwhile. When the download
 * failed, its message is the one shown: the import's complaint about a stream cut short is only its
 * consequence. Otherwise the import's is shown (it failed first; the download only lost its
 * reader). import_downloader_pid is for a SIGTERM handler to kill. */
typedef struct Downloader {
        pid_t pid;
        int log_fd;        /* the download's stderr */
        int import_log_fd; /* our stderr until downloader_finish() */
        int saved_stderr;  /* ... and the real one meanwhile */
} Downloader;

#define DOWNLOADER_NULL ((Downloader) { .log_fd = -EBADF, .import_log_fd = -EBADF, .saved_stderr = -EBADF })

int downloader_start(Downloader *d, int (*download)(int out_fd, void *userdata), void *userdata);
/* Waits for the download, shows the message that names the cause, and frees d's fds; returns
 * import_result, or the download's failure. */
int downloader_finish(Downloader *d, int import_result);
/* Copies what fd (a memfd of messages) holds to stderr. */
void log_replay(int fd);
extern volatile pid_t import_downloader_pid;

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "image-transfer.h"
#include "log.h"
#include "machine-copy.h"
#include "machine-start.h"
#include "string-util.h"
#include "strv.h"

#define TRANSFER_MESSAGE_MAX 4096

typedef struct Transfer {
        int log_fd; /* the helper's stderr */
        TransferDone done;
        void *userdata;
} Transfer;

/* The last non-empty line the helper wrote; earlier lines (warnings) go to our log. */
static char *read_last_line(int fd) {
        char buf[TRANSFER_MESSAGE_MAX];
        ssize_t n;
        off_t size = lseek(fd, 0, SEEK_END);
        off_t from = size > (off_t) sizeof buf - 1 ? size - (off_t) sizeof buf + 1 : 0;

        n = pread(fd, buf, sizeof buf - 1, from);
        if (n <= 0)
                return NULL;
        buf[n] = 0;
        (void) strstrip_trailing(buf);
        char *nl = strrchr(buf, '\n');
        if (nl)
                *nl = 0;
        if (buf[0])
                log_info("berth-import: %s", buf);
        return strdup(nl ? nl + 1 : buf);
}

static void on_transfer_exit(int result, void *userdata) {
        Transfer *t = userdata;
        _cleanup_free_ char *message = read_last_line(t->log_fd);

        safe_close(t->log_fd);
        t->done(result, result < 0 ? message : NULL, t->userdata);
        free(t);
}

static _noreturn_ void exec_helper(pid_t parent, const char *helper, char *const *args, int io_fd, int log_fd) {
        _cleanup_strv_free_ char **argv = NULL;
        sigset_t none;
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);

        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                _exit(EXIT_FAILURE);
        (void) sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        /* out of the way first, so that no dup2() below overwrites a source */
        null = null < 0 ? -1 : fcntl(null, F_DUPFD_CLOEXEC, 10);
        log_fd = fcntl(log_fd, F_DUPFD_CLOEXEC, 10);
        io_fd = fcntl(io_fd, F_DUPFD_CLOEXEC, 10);
        if (null < 0 || log_fd < 0 || io_fd < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(log_fd, 2) < 0 ||
            dup2(io_fd, 3) < 0)
                _exit(EXIT_FAILURE);
        {
                static const int keep[] = { 0, 1, 2, 3 };
                (void) close_all_fds(keep, ELEMENTSOF(keep));
        }
        if (strv_extend(&argv, helper) < 0)
                _exit(EXIT_FAILURE);
        STRV_FOREACH(a, (char **) args)
                if (strv_extend(&argv, *a) < 0)
                        _exit(EXIT_FAILURE);
        execv(helper, argv);
        fprintf(stderr, "Failed to run %s: %m\n", helper);
        _exit(EXIT_FAILURE);
}

int transfer_start(Manager *m, char *const *args, int io_fd, TransferDone done, void *userdata) {
        _cleanup_free_ char *helper = helper_binary("berth-import", "BERTH_IMPORT_BINARY");
        _cleanup_close_ int log_fd = -EBADF;
        Transfer *t;
        pid_t pid;
        int r;

        if (!helper)
                return -ENOMEM;
        log_fd = memfd_create("berth-import-log", MFD_CLOEXEC);
        if (log_fd < 0)
                return -errno;
        t = new0(Transfer, 1);
        if (!t)
                return -ENOMEM;
        pid_t parent = getpid();
        pid = fork();
        if (pid < 0) {
                free(t);
                return -errno;
        }
        if (pid == 0)
                exec_helper(parent, helper, args, io_fd, log_fd);
        *t = (Transfer) { .log_fd = TAKE_FD(log_fd), .done = done, .userdata = userdata };
        r = machine_operation_watch(m, pid, on_transfer_exit, t); /* reaps the helper if it fails */
        if (r < 0) {
                safe_close(t->log_fd);
                free(t);
                return r;
        }
        return 0;
}

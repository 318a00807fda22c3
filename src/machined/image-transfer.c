/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "image-ops.h"
#include "image-transfer.h"
#include "log.h"
#include "machine-copy.h"
#include "machine-start.h"
#include "string-util.h"
#include "strv.h"

#define TRANSFER_MESSAGE_MAX 4096

static const char *const transfer_type_table[_TRANSFER_TYPE_MAX] = {
        [TRANSFER_IMPORT_TAR] = "import-tar", [TRANSFER_IMPORT_RAW] = "import-raw",
        [TRANSFER_IMPORT_OCI] = "import-oci", [TRANSFER_EXPORT_TAR] = "export-tar",
        [TRANSFER_EXPORT_RAW] = "export-raw", [TRANSFER_PULL_TAR] = "pull-tar",
        [TRANSFER_PULL_RAW] = "pull-raw", [TRANSFER_PULL_OCI] = "pull-oci",
};

const char *transfer_type_to_string(TransferType t) {
        return t >= 0 && t < _TRANSFER_TYPE_MAX ? transfer_type_table[t] : NULL;
}

bool transfer_format_is_valid(const char *format) {
        return format && strv_find((char *const[]) { "uncompressed", "gzip", "xz", "zstd", "bzip2", NULL }, format);
}

bool transfer_verify_is_valid(const char *verify) {
        return verify && strv_find((char *const[]) { "no", "checksum", "signature", NULL }, verify);
}

bool transfer_url_is_valid(const char *url) {
        const char *rest = url ? startswith(url, "https://") ?: startswith(url, "http://") : NULL;
        const char *path = rest ? strchr(rest, '/') : NULL;

        if (!path || path == rest || string_has_cc(url) || strchr(url, ' ') || strlen(url) > 4096)
                return false;
        size_t n = strcspn(path, "?#");
        return n > 1 && path[n - 1] != '/';
}

bool transfer_reference_is_valid(const char *ref) {
        const char *slash = ref ? strchr(ref, '/') : NULL;
        return slash && slash != ref && slash[1] && !string_has_cc(ref) && !strchr(ref, ' ') && strlen(ref) < 1024 &&
               !startswith(ref, "http://") && !startswith(ref, "https://");
}

static bool is_pull(TransferType t) {
        return t == TRANSFER_PULL_TAR || t == TRANSFER_PULL_RAW || t == TRANSFER_PULL_OCI;
}

static bool is_export(TransferType t) {
        return t == TRANSFER_EXPORT_TAR || t == TRANSFER_EXPORT_RAW;
}

static int extend_option(char ***a, const char *option, const char *value) {
        _cleanup_free_ char *s = strjoin(option, value);
        return s ? strv_extend(a, s) : -ENOMEM;
}

/* berth-import's arguments (after argv[0]) for req. */
static int transfer_argv(const TransferRequest *req, char ***ret) {
        static const char *const modes[_TRANSFER_TYPE_MAX] = {
                [TRANSFER_IMPORT_TAR] = "tar", [TRANSFER_IMPORT_RAW] = "raw", [TRANSFER_IMPORT_OCI] = "oci",
                [TRANSFER_EXPORT_TAR] = "export-tar", [TRANSFER_EXPORT_RAW] = "export-raw",
                [TRANSFER_PULL_TAR] = "pull-tar", [TRANSFER_PULL_RAW] = "pull-raw",
                [TRANSFER_PULL_OCI] = "pull-oci",
        };
        _cleanup_strv_free_ char **a = NULL;
        int r;

        if (is_export(req->type))
                r = extend_option(&a, "--path=", req->path) < 0 || extend_option(&a, "--format=", req->format) < 0
                        ? -ENOMEM : 0;
        else {
                r = strv_extend(&a, "--pool=" IMAGE_POOL_PATH);
                if (r >= 0 && req->replace)
                        r = extend_option(&a, "--replace=", req->replace);
                if (r >= 0 && req->type == TRANSFER_PULL_OCI)
                        r = extend_option(&a, "--tls-verify=", req->tls_verify ? "yes" : "no");
                if (r >= 0 && req->type == TRANSFER_PULL_OCI)
                        r = extend_option(&a, "--layers=", req->stacked ? "stacked" : "flat");
                else if (r >= 0 && is_pull(req->type))
                        r = extend_option(&a, "--verify=", req->verify);
        }
        if (r >= 0)
                r = strv_extend(&a, modes[req->type]);
        if (r >= 0 && is_pull(req->type))
                r = strv_extend(&a, req->remote);
        if (r >= 0 && !is_export(req->type))
                r = strv_extend(&a, req->local);
        if (r < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(a);
        return 0;
}

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

static void transfer_unlink(Manager *m, Transfer *t) {
        for (Transfer **p = &m->transfers; *p; p = &(*p)->next)
                if (*p == t) {
                        *p = t->next;
                        break;
                }
}

static Transfer *transfer_free(Transfer *t);
DEFINE_POINTER_CLEANUP(Transfer *, transfer_free);

static Transfer *transfer_free(Transfer *t) {
        if (!t)
                return NULL;
        sd_event_source_disable_unref(t->progress);
        safe_close(t->log_fd);
        free(t->local);
        free(t->remote);
        return mfree(t);
}

static void on_transfer_exit(int result, void *userdata) {
        Transfer *t = userdata;
        _cleanup_free_ char *message = read_last_line(t->log_fd);

        transfer_unlink(t->manager, t);
        if (t->cancelled && result < 0)
                result = -ECANCELED;
        t->done(result, result < 0 ? message : NULL, t->userdata);
        transfer_free(t);
}

/* "BYTES TOTAL RATE\n" lines from a pull; a partial line waits for its end. */
static int on_progress(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Transfer *t = userdata;
        ssize_t n = read(fd, t->progress_buf + t->progress_len, sizeof t->progress_buf - 1 - t->progress_len);

        (void) revents;
        if (n <= 0) {
                if (n == 0 || !IN_SET(errno, EAGAIN, EINTR))
                        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
                return 0;
        }
        t->progress_len += (size_t) n;
        t->progress_buf[t->progress_len] = 0;
        char *line = t->progress_buf, *nl;
        while ((nl = strchr(line, '\n'))) {
                uint64_t b, tot, rate;
                *nl = 0;
                if (sscanf(line, "%" SCNu64 " %" SCNu64 " %" SCNu64, &b, &tot, &rate) == 3)
                        t->bytes = b, t->total = tot, t->rate = rate;
                line = nl + 1;
        }
        t->progress_len = strlen(line);
        memmove(t->progress_buf, line, t->progress_len + 1);
        if (t->progress_len == sizeof t->progress_buf - 1)
                t->progress_len = 0; /* no line is that long: garbage */
        return 0;
}

static _noreturn_ void exec_helper(pid_t parent, const char *helper, char *const *args, int io_fd, int log_fd) {
        _cleanup_strv_free_ char **argv = NULL;
        sigset_t none;
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);

        /* SIGTERM, not SIGKILL: berth-import removes its half-made image before it goes */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
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

static int transfer_new(Manager *m, const TransferRequest *req, TransferDone done, void *userdata, Transfer **ret) {
        _cleanup_(transfer_freep) Transfer *t = new0(Transfer, 1);

        if (!t)
                return -ENOMEM;
        *t = (Transfer) { .manager = m, .type = req->type, .log_fd = -EBADF, .done = done, .userdata = userdata };
        t->local = strdup(req->local);
        t->remote = req->remote ? strdup(req->remote) : NULL;
        if (!t->local || (req->remote && !t->remote))
                return -ENOMEM;
        t->log_fd = memfd_create("berth-import-log", MFD_CLOEXEC);
        if (t->log_fd < 0)
                return -errno;
        t->id = ++m->transfer_last_id;
        *ret = TAKE_PTR(t);
        return 0;
}

/* A pull's fd 3: a pipe whose reading end berthd watches for progress. */
static int transfer_progress_pipe(Manager *m, Transfer *t) {
        int p[2], r;

        if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
                return -errno;
        r = sd_event_add_io(m->event, &t->progress, p[0], EPOLLIN, on_progress, t);
        if (r < 0) {
                safe_close(p[0]);
                safe_close(p[1]);
                return r;
        }
        (void) sd_event_source_set_io_fd_own(t->progress, true);
        (void) sd_event_source_set_description(t->progress, "transfer-progress");
        return p[1];
}

int transfer_start(Manager *m, const TransferRequest *req, TransferDone done, void *userdata, uint32_t *ret_id) {
        _cleanup_free_ char *helper = helper_binary("berth-import", "BERTH_IMPORT_BINARY");
        _cleanup_strv_free_ char **args = NULL;
        _cleanup_(transfer_freep) Transfer *t = NULL;
        _cleanup_close_ int pipe_fd = -EBADF;
        int r, io_fd = req->fd;

        if (!helper)
                return -ENOMEM;
        r = transfer_argv(req, &args);
        if (r >= 0)
                r = transfer_new(m, req, done, userdata, &t);
        if (r < 0)
                return r;
        if (is_pull(req->type)) {
                io_fd = pipe_fd = transfer_progress_pipe(m, t);
                if (pipe_fd < 0)
                        return pipe_fd;
        }
        pid_t parent = getpid();
        t->pid = fork();
        if (t->pid < 0)
                return -errno;
        if (t->pid == 0)
                exec_helper(parent, helper, args, io_fd, t->log_fd);
        r = machine_operation_watch(m, t->pid, on_transfer_exit, t); /* reaps the helper if it fails */
        if (r < 0)
                return r;
        if (ret_id)
                *ret_id = t->id;
        t->next = m->transfers;
        m->transfers = TAKE_PTR(t);
        return 0;
}

int transfer_cancel(Manager *m, uint32_t id) {
        for (Transfer *t = m->transfers; t; t = t->next)
                if (t->id == id) {
                        t->cancelled = true;
                        return kill(t->pid, SIGTERM) < 0 ? -errno : 0;
                }
        return -ENOENT;
}

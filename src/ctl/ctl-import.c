/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* import-tar, import-raw, import-fs, import-oci, export-tar, export-raw, pull-tar, pull-raw,
 * list-transfers, cancel-transfer, set-limit: berth's transfer methods (berthd runs them in its
 * helper, berth-import), with a progress line on a terminal: for imports and exports the fd berthd
 * reads is ours too, so its offset is the helper's progress; pulls are asked ListTransfers. */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc-util.h"
#include "ctl-bus.h"
#include "ctl-output.h"
#include "ctl.h"
#include "fd-util.h"
#include "log.h"
#include "parse-util.h"
#include "path-util.h"
#include "string-util.h"

#define PROGRESS_INTERVAL_USEC (200 * 1000ULL)

static const char *const archive_suffixes[] = {
        ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.zst", ".tzst", ".tar.bz2", ".tbz2", ".tar",
        ".raw.gz", ".raw.xz", ".raw.zst", ".raw.bz2", ".raw", ".img", ".oci.tar", ".oci", NULL,
};

/* "debian-12.tar.xz" -> "debian-12", as machinectl derives a local name. */
static int name_from_path(const char *path, char **ret) {
        _cleanup_free_ char *base = NULL;
        int r = path_extract_filename(path, &base);

        if (r < 0)
                return r;
        for (const char *const *s = archive_suffixes; *s; s++) {
                char *e = endswith(base, *s);
                if (e && e != base) {
                        *e = 0;
                        break;
                }
        }
        *ret = TAKE_PTR(base);
        return 0;
}

/* From the file name: gzip, xz, zstd, bzip2, else uncompressed; --format= wins. */
static const char *format_from_path(const CtlArgs *args, const char *path) {
        static const struct { const char *suffix, *format; } table[] = {
                { ".gz", "gzip" }, { ".tgz", "gzip" }, { ".xz", "xz" }, { ".txz", "xz" },
                { ".zst", "zstd" }, { ".tzst", "zstd" }, { ".bz2", "bzip2" }, { ".tbz2", "bzip2" },
        };
        if (args->format)
                return args->format;
        for (size_t i = 0; path && i < ELEMENTSOF(table); i++)
                if (endswith(path, table[i].suffix))
                        return table[i].format;
        return "uncompressed";
}

typedef struct FdProgress {
        int fd;
        bool import;
        off_t total;
} FdProgress;

/* A progress line for an import or export: how far the helper got in our fd. */
static bool fd_progress(void *userdata, char *line, size_t size) {
        FdProgress *p = userdata;
        off_t now = p->import ? lseek(p->fd, 0, SEEK_CUR) : 0;
        struct stat st;

        if (!p->import && fstat(p->fd, &st) >= 0 && S_ISREG(st.st_mode))
                now = st.st_size;
        if (now <= 0)
                return false;
        if (p->import && p->total > 0)
                (void) snprintf(line, size, "%3d%% %10.1f MiB of %.1f MiB", (int) (now * 100 / p->total),
                                now / 1048576.0, p->total / 1048576.0);
        else
                (void) snprintf(line, size, "%10.1f MiB", now / 1048576.0);
        return true;
}

typedef struct CallResult {
        bool done;
        int r;
        sd_bus_error error;
} CallResult;

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        CallResult *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        c->done = true;
        if (e) {
                c->r = -(sd_bus_error_get_errno(e) ?: EIO);
                (void) sd_bus_error_copy(&c->error, e);
        }
        return 0;
}

typedef bool (*ProgressFn)(void *userdata, char *line, size_t size);
/* Called once when SIGINT interrupts the wait (only if given; else SIGINT kills as usual). */
typedef void (*CancelFn)(sd_bus *bus, void *userdata);

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
        (void) sig;
        interrupted = 1;
}

/* Sends the call and waits for its answer (as long as it takes), drawing a progress line meanwhile
 * when stderr is a terminal. */
static int transfer_call(sd_bus *bus, const CtlArgs *args, sd_bus_message *m, ProgressFn fn, CancelFn cancel,
                         void *userdata, const char *what) {
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        bool progress = !args->quiet && isatty(STDERR_FILENO), shown = false;
        CallResult c = { .error = SD_BUS_ERROR_NULL };
        char line[160];
        int r;

        r = sd_bus_call_async(bus, &slot, m, on_reply, &c, UINT64_MAX);
        while (r >= 0 && !c.done) {
                r = sd_bus_process(bus, NULL);
                if (r != 0)
                        continue;
                r = sd_bus_wait(bus, progress ? PROGRESS_INTERVAL_USEC : UINT64_MAX);
                if (r == -EINTR && interrupted && cancel) {
                        cancel(bus, userdata); /* then the call fails as cancelled */
                        cancel = NULL;
                        r = 0;
                }
                if (r >= 0 && progress && fn(userdata, line, sizeof line)) {
                        fprintf(stderr, "\r%s\033[K", line);
                        shown = true;
                }
        }
        if (shown)
                fputs("\r\033[K", stderr);
        if (r >= 0)
                r = c.r;
        if (r < 0)
                r = ctl_log_bus_error(&c.error, r, what);
        sd_bus_error_free(&c.error);
        return r;
}

static int new_call(sd_bus *bus, const char *member, sd_bus_message **ret) {
        int r = sd_bus_message_new_method_call(bus, ret, MACHINE1_BUS_NAME, MACHINE1_PATH, BERTH_MANAGER_IFACE,
                                               member);
        return r < 0 ? log_oom() : 0;
}

/* import-tar|import-raw|import-oci FILE|- [NAME], import-fs DIR [NAME] */
int verb_import(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *derived = NULL, *what = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *verb = argv[0], *path = argv[1], *name = argc > 2 ? argv[2] : NULL, *member;
        bool fs = streq(verb, "import-fs"), oci = streq(verb, "import-oci");
        int r;

        member = fs ? "ImportFileSystem" : oci ? "ImportOCI" : streq(verb, "import-tar") ? "ImportTar" : "ImportRaw";
        if (!name && streq(path, "-"))
                return log_error_errno(-EINVAL, "Reading from standard input needs a NAME: berthctl %s - NAME", verb);
        if (!name) {
                r = name_from_path(path, &derived);
                if (r < 0)
                        return log_error_errno(r, "Cannot derive an image name from '%s'; give one: berthctl %s %s NAME",
                                               path, verb, path);
                name = derived;
        }
        if (streq(path, "-"))
                fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
        else
                fd = open(path, (fs ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return log_error_errno(errno, "Failed to open %s: %m", path);
        if (new_call(bus, member, &m) < 0 || sd_bus_message_append(m, "hsbb", fd, name, args->force, args->read_only) < 0)
                return log_oom();
        what = strjoin("import image '", name, "'");
        struct stat st;
        FdProgress p = { .fd = fd, .import = true, .total = fstat(fd, &st) >= 0 && S_ISREG(st.st_mode) ? st.st_size : 0 };
        r = transfer_call(bus, args, m, fd_progress, NULL, &p, what ?: "import");
        if (r < 0)
                return r;
        if (!args->quiet)
                printf("Imported image '%s'.\n", name);
        return 0;
}

/* export-tar|export-raw NAME [FILE|-] */
int verb_export(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *what = strjoin("export image '", argv[1], "'");
        _cleanup_close_ int fd = -EBADF;
        const char *file = argc > 2 && !streq(argv[2], "-") ? argv[2] : NULL;
        int r;

        if (!file && isatty(STDOUT_FILENO))
                return log_error_errno(-EINVAL, "Refusing to write an image to a terminal; give a FILE or redirect "
                                                "standard output.");
        fd = file ? open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0644)
                  : fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return log_error_errno(errno, "Failed to create %s: %m", file ?: "standard output");
        if (new_call(bus, streq(argv[0], "export-tar") ? "ExportTar" : "ExportRaw", &m) < 0 ||
            sd_bus_message_append(m, "shs", argv[1], fd, format_from_path(args, file)) < 0)
                return log_oom();
        FdProgress p = { .fd = fd };
        r = transfer_call(bus, args, m, fd_progress, NULL, &p, what ?: "export");
        if (r < 0) {
                if (file)
                        (void) unlink(file); /* no partial archive under the name asked for */
                return r;
        }
        if (!args->quiet && file)
                fprintf(stderr, "Exported image '%s' to %s.\n", argv[1], file);
        return 0;
}

typedef struct PullProgress {
        sd_bus *bus;
        const char *type, *name;
} PullProgress;

static void format_rate(uint64_t bytes, char buf[static 16]) {
        if (bytes >= 1048576)
                (void) snprintf(buf, 16, "%.1f MiB", bytes / 1048576.0);
        else
                (void) snprintf(buf, 16, "%.1f KiB", bytes / 1024.0);
}

/* "ETA 1min 5s", "" when it cannot be known */
static void format_eta(uint64_t bytes, uint64_t total, uint64_t rate, char buf[static 32]) {
        buf[0] = 0;
        if (total == 0 || rate == 0 || bytes > total)
                return;
        uint64_t s = (total - bytes + rate - 1) / rate;
        if (s >= 60)
                (void) snprintf(buf, 32, ", ETA %" PRIu64 "min %" PRIu64 "s", s / 60, s % 60);
        else
                (void) snprintf(buf, 32, ", ETA %" PRIu64 "s", s);
}

typedef struct TransferRow {
        uint32_t id;
        const char *type, *remote, *local;
        double progress;
        uint64_t bytes, total, rate;
} TransferRow;

/* Reads the next row of a ListTransfers reply: > 0 a row, 0 the end. */
static int transfer_row_read(sd_bus_message *reply, TransferRow *t) {
        return sd_bus_message_read(reply, "(usssdttt)", &t->id, &t->type, &t->remote, &t->local, &t->progress,
                                   &t->bytes, &t->total, &t->rate);
}

static void transfer_row_format(const TransferRow *t, char *line, size_t size) {
        char done[16], total[16], rate[16], eta[32];

        format_rate(t->bytes, done);
        format_rate(t->total, total);
        format_rate(t->rate, rate);
        format_eta(t->bytes, t->total, t->rate, eta);
        if (t->total > 0)
                (void) snprintf(line, size, "%3d%% %s of %s, %s/s%s", (int) (t->progress * 100), done, total, rate, eta);
        else
                (void) snprintf(line, size, "%s, %s/s", done, rate);
}

/* The pull's row in ListTransfers; false if it is not (or no longer) there. */
static bool pull_find(PullProgress *p, TransferRow *t, sd_bus_message **reply) {
        bool found = false;

        if (ctl_call_berth(p->bus, "ListTransfers", NULL, reply, NULL) < 0 ||
            sd_bus_message_enter_container(*reply, 'a', "(usssdttt)") < 0)
                return false;
        while (!found && transfer_row_read(*reply, t) > 0)
                found = streq(t->type, p->type) && streq(t->local, p->name);
        return found;
}

/* A progress line for a pull. */
static bool pull_progress(void *userdata, char *line, size_t size) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        TransferRow t;

        if (!pull_find(userdata, &t, &reply) || t.bytes == 0)
                return false;
        transfer_row_format(&t, line, size);
        return true;
}

/* Ctrl-C during a pull cancels it, as machinectl's does. */
static void pull_cancel(sd_bus *bus, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        TransferRow t;

        if (pull_find(userdata, &t, &reply))
                (void) ctl_call_berth(bus, "CancelTransfer", NULL, NULL, "u", t.id);
}

/* "https://h/d/debian-12.tar.xz?x=1" -> "debian-12.tar.xz" */
static int url_filename(const char *url, char **ret) {
        const char *rest = startswith(url, "https://") ?: startswith(url, "http://");
        const char *path = rest ? strchr(rest, '/') : NULL;
        if (!path)
                return -EINVAL;
        size_t n = strcspn(path, "?#");
        const char *slash = memrchr(path, '/', n);
        if ((size_t) (slash + 1 - path) >= n)
                return -EINVAL;
        *ret = strndup(slash + 1, n - (size_t) (slash + 1 - path));
        return *ret ? 0 : -ENOMEM;
}

/* Sends a Pull* call and waits for the image, with the transfer's progress on a terminal. */
static int pull_call(sd_bus *bus, const CtlArgs *args, sd_bus_message *m, const char *type, const char *name) {
        _cleanup_free_ char *what = strjoin("pull image '", name, "'");
        PullProgress p = { .bus = bus, .type = type, .name = name };
        struct sigaction sa = { .sa_handler = on_sigint }, old;
        int r;

        (void) sigaction(SIGINT, &sa, &old);
        r = transfer_call(bus, args, m, pull_progress, pull_cancel, &p, what ?: "pull");
        (void) sigaction(SIGINT, &old, NULL);

        if (r < 0)
                return r;
        if (!args->quiet)
                printf("Pulled image '%s'.\n", name);
        return 0;
}

/* pull-tar|pull-raw URL [NAME] */
int verb_pull(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *file = NULL, *derived = NULL;
        const char *verb = argv[0], *url = argv[1], *name = argc > 2 ? argv[2] : NULL;
        int r;

        if (url_filename(url, &file) < 0)
                return log_error_errno(-EINVAL, "Invalid URL '%s': give an http:// or https:// URL naming a file.", url);
        if (!name) {
                r = name_from_path(file, &derived);
                if (r < 0)
                        return log_error_errno(r, "Cannot derive an image name from '%s'; give one: berthctl %s %s NAME",
                                               url, verb, url);
                name = derived;
        }
        if (new_call(bus, streq(verb, "pull-tar") ? "PullTar" : "PullRaw", &m) < 0 ||
            sd_bus_message_append(m, "sssbb", url, name, args->verify ?: "signature", args->force, args->read_only) < 0)
                return log_oom();
        return pull_call(bus, args, m, verb, name);
}

/* "localhost:5000/library/debian:bookworm" -> "debian" */
static int name_from_reference(const char *ref, char **ret) {
        const char *slash = strrchr(ref, '/');
        if (!slash || !slash[1])
                return -EINVAL;
        size_t n = strcspn(slash + 1, ":@");
        if (n == 0)
                return -EINVAL;
        *ret = strndup(slash + 1, n);
        return *ret ? 0 : -ENOMEM;
}

/* pull-oci REFERENCE [NAME] */
int verb_pull_oci(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *derived = NULL;
        const char *ref = argv[1], *name = argc > 2 ? argv[2] : NULL;
        int r;

        if (!name) {
                r = name_from_reference(ref, &derived);
                if (r < 0)
                        return log_error_errno(r, "Cannot derive an image name from '%s'; give one: berthctl pull-oci %s NAME",
                                               ref, ref);
                name = derived;
        }
        if (new_call(bus, "PullOCI", &m) < 0 ||
            sd_bus_message_append(m, "ssbbbs", ref, name, args->force, args->read_only, !args->tls_verify_off,
                                  args->stacked ? "stacked" : "flat") < 0)
                return log_oom();
        return pull_call(bus, args, m, "pull-oci", name);
}

/* list-transfers */
int verb_list_transfers(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]) {
        static const char *const cols[] = { "ID:number", "TYPE", "LOCAL", "PROGRESS", "REMOTE", NULL };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(scols_unref_tablep) struct libscols_table *t = ctl_table_new(args, "transfers", cols);
        TransferRow row;
        size_t n = 0;
        int r;

        if (!t)
                return log_oom();
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        r = ctl_call_berth(bus, "ListTransfers", &error, &reply, NULL);
        if (r < 0)
                return ctl_log_bus_error(&error, r, "list transfers");
        r = sd_bus_message_enter_container(reply, 'a', "(usssdttt)");
        while (r >= 0 && (r = transfer_row_read(reply, &row)) > 0) {
                char id[16], progress[160];
                (void) snprintf(id, sizeof id, "%" PRIu32, row.id);
                if (row.bytes > 0)
                        transfer_row_format(&row, progress, sizeof progress);
                const char *cells[] = { id, row.type, row.local, row.bytes > 0 ? progress : NULL,
                                        isempty(row.remote) ? NULL : row.remote };
                if (ctl_table_add_row(t, cells) < 0)
                        return log_oom();
                n++;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to parse the transfer list: %m");
        if (args->json == JSON_OFF && n == 0) {
                if (args->legend)
                        printf("No transfers.\n");
                return 0;
        }
        r = ctl_table_print(t);
        if (r >= 0 && args->json == JSON_OFF && args->legend)
                printf("\n%zu transfers listed.\n", n);
        return r;
}

/* cancel-transfer ID... */
int verb_cancel_transfer(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]) {
        int ret = 0;

        for (int i = 1; i < argc; i++) {
                unsigned id;
                int r = safe_atou(argv[i], &id);
                if (r < 0) {
                        ret = log_error_errno(r, "Invalid transfer ID '%s' (see list-transfers).", argv[i]);
                        continue;
                }
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                r = ctl_call_berth(bus, "CancelTransfer", &error, NULL, "u", (uint32_t) id);
                if (r < 0)
                        ret = ctl_log_bus_error(&error, r, "cancel the transfer");
        }
        return ret;
}

/* set-limit [NAME] BYTES: btrfs quota, as machinectl. */
int verb_set_limit(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]) {
        const char *size = argv[argc - 1];
        uint64_t limit;
        int r;

        if (streq(size, "-") || streq(size, "none") || streq(size, "infinity"))
                limit = UINT64_MAX;
        else {
                r = parse_size(size, &limit);
                if (r < 0)
                        return log_error_errno(r, "Invalid size '%s' (bytes, or with K, M, G, T).", size);
        }
        r = argc > 2 ? ctl_call(bus, "SetImageLimit", NULL, "st", argv[1], limit)
                     : ctl_call(bus, "SetPoolLimit", NULL, "t", limit);
        return MIN(r, 0);
}

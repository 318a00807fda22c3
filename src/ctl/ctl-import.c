/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* import-tar, import-raw, import-fs, import-oci, export-tar, export-raw, set-limit: berth's
 * transfer methods (berthd runs them in its helper, berth-import), with a progress line on a
 * terminal: the fd berthd reads is ours too, so its offset is the helper's progress. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc-util.h"
#include "ctl-bus.h"
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

static void show_progress(int fd, bool import, off_t total, bool *shown) {
        off_t now = import ? lseek(fd, 0, SEEK_CUR) : 0;
        struct stat st;
        char line[128];

        if (!import && fstat(fd, &st) >= 0 && S_ISREG(st.st_mode))
                now = st.st_size;
        if (now <= 0)
                return;
        if (import && total > 0)
                (void) snprintf(line, sizeof line, "%3d%% %10.1f MiB of %.1f MiB", (int) (now * 100 / total),
                                now / 1048576.0, total / 1048576.0);
        else
                (void) snprintf(line, sizeof line, "%10.1f MiB", now / 1048576.0);
        fprintf(stderr, "\r%s\033[K", line);
        *shown = true;
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

/* Sends the call and waits for its answer (as long as it takes), drawing progress from fd
 * meanwhile when stderr is a terminal. */
static int transfer_call(sd_bus *bus, const CtlArgs *args, sd_bus_message *m, int fd, bool import, const char *what) {
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        bool progress = !args->quiet && isatty(STDERR_FILENO), shown = false;
        CallResult c = { .error = SD_BUS_ERROR_NULL };
        struct stat st;
        off_t total = fstat(fd, &st) >= 0 && S_ISREG(st.st_mode) ? st.st_size : 0;
        int r;

        r = sd_bus_call_async(bus, &slot, m, on_reply, &c, UINT64_MAX);
        while (r >= 0 && !c.done) {
                r = sd_bus_process(bus, NULL);
                if (r != 0)
                        continue;
                r = sd_bus_wait(bus, progress ? PROGRESS_INTERVAL_USEC : UINT64_MAX);
                if (r >= 0 && progress)
                        show_progress(fd, import, total, &shown);
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
        r = transfer_call(bus, args, m, fd, true, what ?: "import");
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
        r = transfer_call(bus, args, m, fd, false, what ?: "export");
        if (r < 0) {
                if (file)
                        (void) unlink(file); /* no partial archive under the name asked for */
                return r;
        }
        if (!args->quiet && file)
                fprintf(stderr, "Exported image '%s' to %s.\n", argv[1], file);
        return 0;
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

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berth-import: berthd's helper for moving images in and out of the pool.
 *
 *   berth-import [--pool=DIR] [--replace=PATH] tar|raw|oci NAME      fd 3: the archive, image or layout
 *   berth-import --path=PATH [--format=COMPRESSION] export-tar|export-raw   fd 3: where to write
 *
 * A new image is built under a hidden name and appears under NAME only when complete; on any error
 * nothing is left. Errors go to stderr, which berthd passes on to its caller. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "image-lock.h"
#include "import-oci.h"
#include "import-raw.h"
#include "import-tar.h"
#include "import-target.h"
#include "log.h"
#include "path-util.h"
#include "string-util.h"

#define IO_FD 3

static const char *arg_pool = "/var/lib/machines";
static const char *arg_replace;
static const char *arg_path;
static const char *arg_format = "uncompressed";

/* A new tree under a hidden name in the pool; returns its fd. */
static int make_tree(ImportTarget *t, const char *name, const char *replace) {
        int r = import_target_init(t, arg_pool, name, replace);
        if (r < 0)
                return log_error_errno(r, "Failed to prepare %s/%s: %m", arg_pool, name);
        r = import_target_make_tree(t);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s/%s: %m", arg_pool, t->temp);
        return r;
}

static int import_tar(const char *name) {
        _cleanup_(import_target_done) ImportTarget t = IMPORT_TARGET_NULL;
        _cleanup_close_ int tree_fd = make_tree(&t, name, arg_replace);
        TarExtract x = { .fd = IO_FD };
        int r;

        if (tree_fd < 0)
                return tree_fd;
        r = import_run_chrooted(tree_fd, tar_extract, &x);
        if (r < 0)
                return r == -EPROTO ? log_error_errno(r, "The extraction died.") : r;
        r = import_target_finish(&t);
        if (r < 0)
                return log_error_errno(r, "Failed to move the image to %s/%s: %m", arg_pool, name);
        return 0;
}

static int import_raw(const char *name) {
        _cleanup_(import_target_done) ImportTarget t = IMPORT_TARGET_NULL;
        _cleanup_free_ char *file = strjoin(name, ".raw");
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (!file)
                return log_oom();
        r = import_target_init(&t, arg_pool, file, arg_replace);
        if (r < 0)
                return log_error_errno(r, "Failed to prepare %s/%s: %m", arg_pool, file);
        fd = openat(t.pool_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
        if (fd < 0)
                return log_error_errno(errno, "Failed to create a file in %s: %m", arg_pool);
        r = raw_import(IO_FD, fd);
        if (r < 0)
                return r;
        r = import_target_link_file(&t, fd);
        if (r >= 0)
                r = import_target_finish(&t);
        if (r < 0)
                return log_error_errno(r, "Failed to move the image to %s/%s: %m", arg_pool, file);
        return 0;
}

/* An OCI layout given as a tar archive is unpacked next to the new image first. */
static int oci_layout_open(ImportTarget *layout, const char *name) {
        _cleanup_free_ char *n = strjoin(name, ".oci-layout");
        struct stat st;
        int fd, r;

        if (fstat(IO_FD, &st) < 0)
                return log_error_errno(errno, "Failed to look at the OCI image: %m");
        if (S_ISDIR(st.st_mode))
                return fcntl(IO_FD, F_DUPFD_CLOEXEC, 3);
        if (!n)
                return log_oom();
        fd = make_tree(layout, n, NULL);
        if (fd < 0)
                return fd;
        TarExtract x = { .fd = IO_FD };
        r = import_run_chrooted(fd, tar_extract, &x);
        if (r < 0) {
                safe_close(fd);
                return r;
        }
        return fd;
}

static int import_oci(const char *name) {
        _cleanup_(import_target_done) ImportTarget t = IMPORT_TARGET_NULL, layout = IMPORT_TARGET_NULL;
        _cleanup_close_ int layout_fd = -EBADF, tree_fd = -EBADF;
        _cleanup_free_ char *settings = strjoin(name, ".nspawn");
        OciConfig config = {};
        int r;

        if (!settings)
                return log_oom();
        layout_fd = oci_layout_open(&layout, name);
        if (layout_fd < 0)
                return layout_fd;
        tree_fd = make_tree(&t, name, arg_replace);
        if (tree_fd < 0)
                return tree_fd;
        r = oci_import(layout_fd, tree_fd, &config);
        if (r >= 0) {
                r = import_target_finish(&t);
                if (r < 0)
                        log_error_errno(r, "Failed to move the image to %s/%s: %m", arg_pool, name);
        }
        if (r >= 0)
                (void) oci_config_write_settings(&config, t.pool_fd, settings, arg_replace);
        oci_config_done(&config);
        return r;
}

static int export_image(bool tar) {
        ImageLock lock = IMAGE_LOCK_NULL;
        _cleanup_close_ int dir_fd = -EBADF;
        int r;

        if (!arg_path)
                return log_error_errno(-EINVAL, "--path= is needed for an export.");
        r = image_lock(arg_path, LOCK_SH, &lock);
        if (r == -EBUSY)
                return log_error_errno(r, "The image is in use by a running machine; stop it first, or run it "
                                          "with --read-only or -x.");
        if (r < 0)
                return log_error_errno(r, "Failed to lock %s: %m", arg_path);
        if (tar) {
                dir_fd = open(arg_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                r = dir_fd < 0 ? log_error_errno(errno, "Failed to open %s: %m", arg_path)
                               : tar_export(dir_fd, IO_FD, arg_format);
        } else
                r = raw_export(arg_path, IO_FD, arg_format);
        image_lock_release(&lock);
        return r;
}

static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                { "pool", required_argument, NULL, 'p' },
                { "replace", required_argument, NULL, 'r' },
                { "path", required_argument, NULL, 'P' },
                { "format", required_argument, NULL, 'f' },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'p': arg_pool = optarg; break;
                case 'r': arg_replace = optarg; break;
                case 'P': arg_path = optarg; break;
                case 'f': arg_format = optarg; break;
                default: return -EINVAL;
                }
        if (optind >= argc) {
                log_error("Usage: berth-import [OPTIONS] tar|raw|oci NAME | export-tar|export-raw (fd 3 is the data)");
                return -EINVAL;
        }
        return optind;
}

int main(int argc, char *argv[]) {
        const char *mode, *name;
        struct stat st;
        int r;

        (void) signal(SIGPIPE, SIG_IGN);
        r = parse_argv(argc, argv);
        if (r < 0)
                return EXIT_FAILURE;
        mode = argv[r];
        name = argv[r + 1];
        if (fstat(IO_FD, &st) < 0) {
                log_error("berth-import reads or writes fd 3, which is not open.");
                return EXIT_FAILURE;
        }
        if (startswith(mode, "export-"))
                r = export_image(streq(mode, "export-tar"));
        else if (!name || !filename_is_valid(name))
                r = log_error_errno(-EINVAL, "Invalid image name '%s'.", strna(name));
        else if (streq(mode, "tar"))
                r = import_tar(name);
        else if (streq(mode, "raw"))
                r = import_raw(name);
        else if (streq(mode, "oci"))
                r = import_oci(name);
        else
                r = log_error_errno(-EINVAL, "Unknown mode '%s'.", mode);
        return r < 0 ? MIN(-r, 255) : EXIT_SUCCESS;
}

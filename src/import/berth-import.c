/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berth-import: berthd's helper for moving images in and out of the pool.
 *
 *   berth-import [--pool=DIR] [--replace=PATH] tar|raw|oci NAME      fd 3: the archive, image or layout
 *   berth-import --path=PATH [--format=COMPRESSION] export-tar|export-raw   fd 3: where to write
 *   berth-import [--pool=DIR] [--replace=PATH] [--verify=no|checksum|signature] pull-tar|pull-raw URL NAME
 *   berth-import [--pool=DIR] [--replace=PATH] [--tls-verify=no] [--layers=flat|stacked] pull-oci REF NAME
 *                                                          fd 3: progress lines "BYTES TOTAL RATE"
 *
 * A pull downloads in a child (libcurl) into a pipe that the import reads as it would a file; the
 * file is checked against SHA256SUMS (and that against its signature) as it arrives, and the image
 * gets its name only when the download was complete and matched. SIGTERM (berthd's cancel, or
 * berthd's death) kills the children and removes what was made.
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
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "image-lock.h"
#include "import-layers.h"
#include "import-oci.h"
#include "import-pull.h"
#include "import-registry.h"
#include "import-raw.h"
#include "import-tar.h"
#include "import-target.h"
#include "layer-store.h"
#include "log.h"
#include "path-util.h"
#include "string-util.h"

#define IO_FD 3

static const char *arg_pool = "/var/lib/machines";
static const char *arg_replace;
static const char *arg_path;
static const char *arg_format = "uncompressed";
static PullVerify arg_verify = PULL_VERIFY_SIGNATURE;
static bool arg_tls_verify = true;
static bool arg_stacked;

static void on_sigterm(int sig) {
        (void) sig;
        import_cancelled = 1;
        if (import_downloader_pid > 0)
                (void) kill(import_downloader_pid, SIGKILL);
        if (import_child_pid > 0)
                (void) kill(import_child_pid, SIGKILL);
}

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

/* Gives the new image its name, unless SIGTERM came meanwhile. */
static int finish_image(ImportTarget *t) {
        int r;

        if (import_cancelled)
                return log_error_errno(-ECANCELED, "The transfer was cancelled.");
        r = import_target_finish(t);
        if (r < 0)
                return log_error_errno(r, "Failed to move the image to %s/%s: %m", arg_pool, t->name);
        return 0;
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
                return r == -EPROTO && !import_cancelled ? log_error_errno(r, "The extraction died.") : r;
        return finish_image(&t);
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
        if (r < 0)
                return log_error_errno(r, "Failed to link the image into %s: %m", arg_pool);
        return finish_image(&t);
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

/* Applies the layout at layout_fd as image NAME (and its config as NAME.nspawn). */
static int import_oci_layout(int layout_fd, const char *name) {
        _cleanup_(import_target_done) ImportTarget t = IMPORT_TARGET_NULL;
        _cleanup_close_ int tree_fd = -EBADF;
        _cleanup_free_ char *settings = strjoin(name, ".nspawn");
        OciConfig config = {};
        int r;

        if (!settings)
                return log_oom();
        tree_fd = make_tree(&t, name, arg_replace);
        if (tree_fd < 0)
                return tree_fd;
        r = oci_import(layout_fd, tree_fd, &config);
        if (r >= 0)
                r = finish_image(&t);
        if (r >= 0)
                (void) oci_config_write_settings(&config, t.pool_fd, settings, arg_replace);
        oci_config_done(&config);
        return r;
}

static int import_oci(const char *name) {
        _cleanup_(import_target_done) ImportTarget layout = IMPORT_TARGET_NULL;
        _cleanup_close_ int layout_fd = oci_layout_open(&layout, name);

        if (layout_fd < 0)
                return layout_fd;
        return import_oci_layout(layout_fd, name);
}

/* pull-oci REFERENCE NAME: the layers go into the pool's layer store; the image is a stack of them
 * (--layers=stacked) or a tree copied from their merged view, after which the layers no stacked
 * image uses leave the store again. An interrupted pull leaves the layers it completed, which the
 * next pull of any image that has them does not fetch again. */
static int pull_oci(const char *reference, const char *name) {
        _cleanup_(import_target_done) ImportTarget t = IMPORT_TARGET_NULL;
        _cleanup_(registry_pull_done) RegistryPull p = {};
        _cleanup_free_ char *settings = NULL;
        _cleanup_close_ int store_fd = -EBADF, lock_fd = -EBADF, tree_fd = -EBADF;
        int r;

        if (!reference)
                return log_error_errno(-EINVAL, "pull-oci needs an image reference.");
        if (!name || !filename_is_valid(name) || !(settings = strjoin(name, ".nspawn")))
                return log_error_errno(-EINVAL, "Invalid image name '%s'.", strna(name));
        r = import_target_init(&t, arg_pool, name, arg_replace);
        if (r < 0)
                return log_error_errno(r, "Failed to prepare %s/%s: %m", arg_pool, name);
        store_fd = layer_store_open(t.pool_fd);
        if (store_fd < 0)
                return log_error_errno(store_fd, "Failed to open the layer store %s/" LAYER_STORE_NAME ": %m", arg_pool);
        lock_fd = layer_store_lock(store_fd, LOCK_SH); /* no clean-up removes what we fetch or use */
        if (lock_fd < 0)
                return log_error_errno(lock_fd, "Failed to lock the layer store: %m");
        r = registry_pull(reference, arg_tls_verify, store_fd, IO_FD, &p);
        if (r < 0)
                return r;
        tree_fd = import_target_make_tree(&t);
        if (tree_fd < 0)
                return log_error_errno(tree_fd, "Failed to create %s/%s: %m", arg_pool, t.temp);
        if (arg_stacked) {
                r = layer_stack_write(tree_fd, p.layers);
                if (r < 0)
                        return log_error_errno(r, "Failed to write the image's list of layers: %m");
        } else {
                lock_fd = safe_close(lock_fd);
                r = layer_flatten(arg_pool, t.pool_fd, store_fd, p.layers, tree_fd);
                if (r < 0)
                        return r;
        }
        r = finish_image(&t);
        if (r < 0)
                return r;
        (void) oci_config_write_settings(&p.config, t.pool_fd, settings, arg_replace);
        if (!arg_stacked) {
                r = layer_store_clean(t.pool_fd, p.layers, NULL, NULL);
                if (r < 0 && r != -EBUSY)
                        log_warning_errno(r, "Failed to remove the image's layers from the store (berthctl clean does): %m");
        }
        return 0;
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

/* ---- pull-tar, pull-raw ---- */

/* The "sha256:HEX" the file must have (NULL with --verify=no), from SHA256SUMS beside it, whose
 * signature SHA256SUMS.gpg is checked first with --verify=signature. */
static int pull_expected_digest(const char *url, char **ret) {
        _cleanup_free_ char *file = NULL, *sums_url = NULL, *sig_url = NULL, *sums = NULL, *sig = NULL;
        size_t sums_size, sig_size;
        int r;

        *ret = NULL;
        if (arg_verify == PULL_VERIFY_NO)
                return 0;
        if (pull_url_filename(url, &file) < 0 || pull_url_sibling(url, "SHA256SUMS", &sums_url) < 0 ||
            !(sig_url = strjoin(sums_url, ".gpg")))
                return log_oom();
        r = pull_fetch_small(sums_url, &sums, &sums_size);
        if (r < 0)
                return r;
        if (arg_verify == PULL_VERIFY_SIGNATURE) {
                r = pull_fetch_small(sig_url, &sig, &sig_size);
                if (r >= 0)
                        r = pull_verify_signature(sums, sums_size, sig, sig_size);
                if (r < 0)
                        return r;
        }
        return pull_checksum_find(sums, sums_url, file, ret);
}

struct PullArgs {
        const char *url, *expected;
};

static int download_url(int out_fd, void *userdata) {
        struct PullArgs *a = userdata;
        return pull_download(a->url, out_fd, a->expected, IO_FD);
}

static int pull_into(bool tar, ImportTarget *t, int in_fd) {
        if (tar) {
                _cleanup_close_ int tree_fd = import_target_make_tree(t);
                if (tree_fd < 0)
                        return log_error_errno(tree_fd, "Failed to create %s/%s: %m", arg_pool, t->temp);
                TarExtract x = { .fd = in_fd };
                int r = import_run_chrooted(tree_fd, tar_extract, &x);
                return r == -EPROTO && !import_cancelled ? log_error_errno(r, "The extraction died.") : r;
        }
        _cleanup_close_ int fd = openat(t->pool_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
        if (fd < 0)
                return log_error_errno(-errno, "Failed to create a file in %s: %m", arg_pool);
        int r = raw_import(in_fd, fd);
        if (r < 0)
                return r;
        r = import_target_link_file(t, fd);
        return r < 0 ? log_error_errno(r, "Failed to link the image into %s: %m", arg_pool) : 0;
}

static int pull(bool tar, const char *url, const char *name) {
        _cleanup_(import_target_done) ImportTarget t = IMPORT_TARGET_NULL;
        _cleanup_free_ char *expected = NULL, *file = NULL;
        Downloader d = DOWNLOADER_NULL;
        int r, in_fd;

        if (!url || !pull_url_is_valid(url))
                return log_error_errno(-EINVAL, "Invalid URL '%s' (http:// or https://, naming a file).", strna(url));
        if (!name || !filename_is_valid(name))
                return log_error_errno(-EINVAL, "Invalid image name '%s'.", strna(name));
        file = tar ? strdup(name) : strjoin(name, ".raw");
        if (!file)
                return log_oom();
        r = import_target_init(&t, arg_pool, file, arg_replace);
        if (r < 0)
                return log_error_errno(r, "Failed to prepare %s/%s: %m", arg_pool, file);
        r = pull_expected_digest(url, &expected);
        if (r < 0)
                return r;
        struct PullArgs a = { .url = url, .expected = expected };
        in_fd = downloader_start(&d, download_url, &a);
        r = in_fd < 0 ? in_fd : pull_into(tar, &t, in_fd);
        safe_close(in_fd); /* before waiting: a download whose reader failed must not block */
        r = downloader_finish(&d, r);
        return r < 0 ? r : finish_image(&t);
}

static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                { "pool", required_argument, NULL, 'p' },
                { "replace", required_argument, NULL, 'r' },
                { "path", required_argument, NULL, 'P' },
                { "format", required_argument, NULL, 'f' },
                { "verify", required_argument, NULL, 'v' },
                { "tls-verify", required_argument, NULL, 't' },
                { "layers", required_argument, NULL, 'l' },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'p': arg_pool = optarg; break;
                case 'r': arg_replace = optarg; break;
                case 'P': arg_path = optarg; break;
                case 'f': arg_format = optarg; break;
                case 't': arg_tls_verify = !streq(optarg, "no"); break;
                case 'l':
                        if (!streq(optarg, "flat") && !streq(optarg, "stacked")) {
                                log_error("Invalid --layers= '%s' (flat or stacked).", optarg);
                                return -EINVAL;
                        }
                        arg_stacked = streq(optarg, "stacked");
                        break;
                case 'v':
                        c = pull_verify_from_string(optarg);
                        if (c < 0) {
                                log_error("Invalid --verify= '%s' (no, checksum or signature).", optarg);
                                return -EINVAL;
                        }
                        arg_verify = c;
                        break;
                default: return -EINVAL;
                }
        if (optind >= argc) {
                log_error("Usage: berth-import [OPTIONS] tar|raw|oci NAME | export-tar|export-raw | pull-tar|pull-raw URL NAME");
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
        {
                struct sigaction sa = { .sa_handler = on_sigterm };
                (void) sigaction(SIGTERM, &sa, NULL);
        }
        if (startswith(mode, "export-"))
                r = export_image(streq(mode, "export-tar"));
        else if (streq(mode, "pull-oci"))
                r = pull_oci(name, argv[r + 2]);
        else if (startswith(mode, "pull-"))
                r = pull(streq(mode, "pull-tar"), name, argv[r + 2]);
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

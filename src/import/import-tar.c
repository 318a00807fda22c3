/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "import-tar.h"
#include "log.h"
#include "rm-rf.h"
#include "string-util.h"

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"

int tar_member_name_check(const char *name) {
        unsigned depth = 0;

        if (!name || name[0] == '/')
                return -EINVAL;
        for (const char *p = name; *p;) {
                size_t n = strcspn(p, "/");
                if (n == 2 && strneq(p, "..", 2))
                        return -EINVAL;
                if (n > 0 && !(n == 1 && p[0] == '.') && ++depth > TAR_DEPTH_MAX)
                        return -E2BIG;
                p += n;
                p += strspn(p, "/");
        }
        return 0;
}

static const char *skip_dot_slash(const char *p) {
        while (p[0] == '.' && p[1] == '/')
                p += 2 + strspn(p + 2, "/");
        return p;
}

static void archive_freep(struct archive **a) {
        if (*a)
                (void) archive_free(*a);
}

/* Only the decompressors built into libarchive: "all" would also let an archive pick lrzip or grzip,
 * which libarchive runs as outside programs found through $PATH, inside the tree being built. */
int archive_support_safe_filters(struct archive *a) {
        if (archive_read_support_filter_none(a) != ARCHIVE_OK || archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
            archive_read_support_filter_xz(a) != ARCHIVE_OK || archive_read_support_filter_zstd(a) != ARCHIVE_OK ||
            archive_read_support_filter_bzip2(a) != ARCHIVE_OK)
                return -EOPNOTSUPP;
        return 0;
}

static struct archive *tar_reader_new(void) {
        struct archive *a = archive_read_new();

        if (a) {
                (void) archive_support_safe_filters(a);
                (void) archive_read_support_format_tar(a);
                (void) archive_read_support_format_gnutar(a);
        }
        return a;
}

/* Takes a; r is what archive_read_open*() said. */
static int tar_reader_opened(struct archive *a, int r, struct archive **ret) {
        if (r != ARCHIVE_OK) {
                log_error("Not a tar archive: %s", archive_error_string(a) ?: "unknown format");
                (void) archive_free(a);
                return -EBADMSG;
        }
        *ret = a;
        return 0;
}

static int archive_open_reader(int fd, struct archive **ret) {
        struct archive *a = tar_reader_new();
        return a ? tar_reader_opened(a, archive_read_open_fd(a, fd, 128 * 1024), ret) : -ENOMEM;
}

static int check_entry(struct archive_entry *e) {
        const char *name = archive_entry_pathname(e), *link = archive_entry_hardlink(e);
        int r = tar_member_name_check(name);

        if (r == 0 && link)
                r = tar_member_name_check(link);
        if (r == -E2BIG)
                log_error("Archive member '%s' is nested deeper than %u directories; refusing.", strna(name),
                          TAR_DEPTH_MAX);
        else if (r < 0)
                log_error("Archive member '%s'%s%s%s points outside the image; refusing.", strna(name),
                          link ? " (a hard link to '" : "", link ?: "", link ? "')" : "");
        if (r >= 0 && link)
                log_debug("%s -> %s", name, link);
        return r < 0 ? -EBADMSG : 0;
}

/* ".wh.NAME" deletes NAME of the lower layers, ".wh..wh..opq" the whole content of its directory. */
static int apply_whiteout(const char *name) {
        _cleanup_free_ char *dir = strdup(skip_dot_slash(name));
        char *slash, *base;
        int r = 0;

        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        base = slash ? slash + 1 : dir;
        if (slash)
                *slash = 0;
        if (streq(base, WHITEOUT_OPAQUE)) {
                _cleanup_(closedirp) DIR *d = opendir(slash ? dir : "/");
                struct dirent *de;
                while (d && (de = readdir(d)))
                        if (!streq(de->d_name, ".") && !streq(de->d_name, "..")) {
                                _cleanup_free_ char *p = strjoin(slash ? dir : "", "/", de->d_name);
                                r = p ? rm_rf(p) : -ENOMEM;
                                if (r < 0)
                                        break;
                        }
        } else {
                _cleanup_free_ char *p = strjoin(slash ? dir : "", "/", base + strlen(WHITEOUT_PREFIX));
                r = p ? rm_rf(p) : -ENOMEM;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to apply whiteout '%s': %m", name);
        return 0;
}

static int mkdir_parents(char *path) {
        for (char *s = strchr(path, '/'); s; s = strchr(s + 1, '/')) {
                *s = 0;
                int r = mkdir(path, 0755) < 0 && errno != EEXIST ? -errno : 0;
                *s = '/';
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The layer store keeps a layer as overlayfs reads it: a whiteout is a 0/0 character device, an
 * opaque directory has trusted.overlay.opaque=y. */
static int make_overlay_whiteout(const char *name) {
        _cleanup_free_ char *p = strdup(skip_dot_slash(name));
        char *slash, *base;
        int r;

        if (!p)
                return -ENOMEM;
        slash = strrchr(p, '/');
        base = slash ? slash + 1 : p;
        r = mkdir_parents(p);
        if (r >= 0 && streq(base, WHITEOUT_OPAQUE)) {
                if (slash)
                        *slash = 0;
                r = setxattr(slash ? p : ".", "trusted.overlay.opaque", "y", 1, 0) < 0 ? -errno : 0;
        } else if (r >= 0) {
                memmove(base, base + strlen(WHITEOUT_PREFIX), strlen(base + strlen(WHITEOUT_PREFIX)) + 1);
                if (unlink(p) < 0 && !IN_SET(errno, ENOENT, EISDIR))
                        r = -errno;
                else if (mknod(p, S_IFCHR | 0000, makedev(0, 0)) < 0)
                        r = -errno;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to keep whiteout '%s' for overlayfs: %m", name);
        return 0;
}

/* What the archive says about overlayfs is not the archive's to say. */
static void drop_overlay_xattrs(struct archive_entry *e) {
        struct { char *name; void *value; size_t size; } keep[64];
        size_t n = 0;
        const char *name;
        const void *value;
        size_t size;
        bool dropped = false;

        if (archive_entry_xattr_reset(e) == 0)
                return;
        while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
                if (startswith(name, "trusted.overlay.")) {
                        dropped = true;
                        continue;
                }
                if (n >= ELEMENTSOF(keep) || !(keep[n].name = strdup(name)))
                        continue;
                keep[n].value = malloc(size ?: 1);
                if (!keep[n].value) {
                        free(keep[n].name);
                        continue;
                }
                memcpy(keep[n].value, value, size);
                keep[n++].size = size;
        }
        if (dropped) {
                archive_entry_xattr_clear(e);
                for (size_t i = 0; i < n; i++)
                        archive_entry_xattr_add_entry(e, keep[i].name, keep[i].value, keep[i].size);
        }
        for (size_t i = 0; i < n; i++) {
                free(keep[i].name);
                free(keep[i].value);
        }
}

static bool is_whiteout(struct archive_entry *e) {
        const char *base = strrchr(archive_entry_pathname(e), '/');
        base = base ? base + 1 : archive_entry_pathname(e);
        return startswith(base, WHITEOUT_PREFIX);
}

/* First pass over an OCI layer: whiteouts apply to the layers below, before this layer's files land. */
static int tar_apply_whiteouts(int fd) {
        _cleanup_(archive_freep) struct archive *a = NULL;
        struct archive_entry *e;
        int r;

        r = archive_open_reader(fd, &a);
        if (r < 0)
                return r;
        while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
                if (check_entry(e) < 0)
                        return -EBADMSG;
                if (is_whiteout(e) && (r = apply_whiteout(archive_entry_pathname(e))) < 0)
                        return r;
        }
        if (r != ARCHIVE_EOF) {
                log_error("Failed to read the archive: %s", archive_error_string(a));
                return -EBADMSG;
        }
        if (lseek(fd, 0, SEEK_SET) < 0)
                return log_error_errno(errno, "Failed to rewind the layer: %m");
        return 0;
}

static int copy_entry_data(struct archive *a, struct archive *w, const char *name) {
        const void *buf;
        size_t size;
        la_int64_t offset;
        int r;

        while ((r = archive_read_data_block(a, &buf, &size, &offset)) == ARCHIVE_OK)
                if (archive_write_data_block(w, buf, size, offset) != ARCHIVE_OK) { /* a failed write() is a WARN */
                        int e = archive_errno(w);
                        if (e > 0)
                                return log_error_errno(-e, "Failed to write '%s': %m", name);
                        log_error("Failed to write '%s': %s", name, archive_error_string(w));
                        return -EIO;
                }
        if (r != ARCHIVE_EOF) {
                log_error("Failed to read '%s' from the archive: %s", name, archive_error_string(a));
                return -EBADMSG;
        }
        return 0;
}

static struct archive *disk_writer_new(bool replace) {
        struct archive *w = archive_write_disk_new();
        int flags = ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR |
                    ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                    ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_SPARSE;

        if (replace)
                flags |= ARCHIVE_EXTRACT_UNLINK;
        if (w)
                (void) archive_write_disk_set_options(w, flags);
        /* no user lookup: owners stay numeric, as the machine sees them */
        return w;
}

static int extract_entries(struct archive *a, struct archive *w, TarExtract *x) {
        struct archive_entry *e;
        int r;

        while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
                const char *name = archive_entry_pathname(e);
                mode_t type = archive_entry_filetype(e);

                if (check_entry(e) < 0)
                        return -EBADMSG;
                if (isempty(skip_dot_slash(name)) && type != AE_IFDIR)
                        continue;
                if (x->overlay && is_whiteout(e)) {
                        r = make_overlay_whiteout(name);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (x->overlay)
                        drop_overlay_xattrs(e);
                if (type == AE_IFBLK || type == AE_IFCHR || (x->whiteouts && is_whiteout(e))) {
                        x->n_devices_skipped += type == AE_IFBLK || type == AE_IFCHR;
                        continue;
                }
                r = archive_write_header(w, e);
                if (r < ARCHIVE_WARN) {
                        int k = archive_errno(w);
                        log_error("Failed to extract '%s': %s", name, archive_error_string(w));
                        /* the disk's own errors pass; what libarchive refuses is the archive's fault */
                        return IN_SET(k, ENOSPC, EDQUOT, EIO, EROFS, ENOMEM) ? -k : -EBADMSG;
                }
                if (archive_entry_size(e) > 0 && (r = copy_entry_data(a, w, name)) < 0)
                        return r;
                if (archive_write_finish_entry(w) < ARCHIVE_WARN) {
                        int k = archive_errno(w);
                        log_error("Failed to finish '%s': %s", name, archive_error_string(w));
                        return k > 0 ? -k : -EIO;
                }
        }
        if (r != ARCHIVE_EOF) {
                log_error("Failed to read the archive: %s", archive_error_string(a));
                return -EBADMSG;
        }
        return 0;
}

static char observed_buf[128 * 1024];

static la_ssize_t observed_read(struct archive *a, void *userdata, const void **buf) {
        TarExtract *x = userdata;
        ssize_t n;

        do
                n = read(x->fd, observed_buf, sizeof observed_buf);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
                if (a)
                        archive_set_error(a, errno, "Read error");
                return -1;
        }
        if (n > 0)
                x->observe(observed_buf, (size_t) n, x->observer);
        *buf = observed_buf;
        return n;
}

/* The archive read through observed_read(), so the observer sees exactly what is extracted. */
static int archive_open_observed(TarExtract *x, struct archive **ret) {
        struct archive *a = tar_reader_new();
        return a ? tar_reader_opened(a, archive_read_open(a, x, NULL, observed_read, NULL), ret) : -ENOMEM;
}

static int observed_verdict(TarExtract *x) {
        const void *buf;

        while (observed_read(NULL, x, &buf) > 0) /* what follows the archive counts too */
                ;
        return x->verdict(x->observer);
}

int tar_extract(void *userdata) {
        TarExtract *x = userdata;
        _cleanup_(archive_freep) struct archive *a = NULL, *w = NULL;
        int r;

        if (x->whiteouts) {
                r = tar_apply_whiteouts(x->fd);
                if (r < 0)
                        return r;
        }
        r = x->observe ? archive_open_observed(x, &a) : archive_open_reader(x->fd, &a);
        if (r < 0)
                return r;
        w = disk_writer_new(x->whiteouts || x->overlay);
        if (!w)
                return log_oom();
        r = extract_entries(a, w, x);
        if (r < 0)
                return r;
        if (archive_write_close(w) != ARCHIVE_OK) {
                int k = archive_errno(w);
                log_error("Failed to finish the extraction: %s", archive_error_string(w));
                return k > 0 ? -k : -EIO;
        }
        if (x->observe && (r = observed_verdict(x)) < 0)
                return r;
        if (x->n_devices_skipped > 0)
                log_warning("Skipped %u device node(s): a machine's /dev is made when it boots.",
                            x->n_devices_skipped);
        return 0;
}

/* ---- export ---- */

static const struct {
        const char *name;
        int (*add)(struct archive *);
} filters[] = {
        { "uncompressed", archive_write_add_filter_none },
        { "gzip", archive_write_add_filter_gzip },
        { "xz", archive_write_add_filter_xz },
        { "zstd", archive_write_add_filter_zstd },
        { "bzip2", archive_write_add_filter_bzip2 },
};

int tar_format_check(const char *format) {
        for (size_t i = 0; i < ELEMENTSOF(filters); i++)
                if (streq(format, filters[i].name))
                        return (int) i;
        return -EINVAL;
}

int tar_add_filter(struct archive *w, const char *format) {
        int f = tar_format_check(format);
        if (f < 0)
                return f;
        return filters[f].add(w) == ARCHIVE_OK ? 0 : -EOPNOTSUPP;
}

/* The archive writer takes data in order, holes as zeros (it skips those the entry's sparse map
 * names, as bsdtar does). */
static int export_entry_data(struct archive *disk, struct archive *w, const char *name) {
        static const uint8_t zeros[64 * 1024];
        const void *buf;
        size_t size;
        la_int64_t offset, done = 0;
        int r;

        while ((r = archive_read_data_block(disk, &buf, &size, &offset)) == ARCHIVE_OK) {
                for (; done < offset; ) {
                        la_ssize_t n = archive_write_data(w, zeros, (size_t) MIN(offset - done, (la_int64_t) sizeof zeros));
                        if (n <= 0)
                                goto fail;
                        done += n;
                }
                if (size > 0 && archive_write_data(w, buf, size) != (la_ssize_t) size)
                        goto fail;
                done += (la_int64_t) size;
        }
        if (r == ARCHIVE_EOF)
                return 0;
        log_error("Failed to read '%s': %s", name, archive_error_string(disk));
        return -EIO;
fail:
        log_error("Failed to write '%s' to the archive: %s", name, archive_error_string(w));
        return archive_errno(w) > 0 ? -archive_errno(w) : -EIO;
}

static int write_disk_entries(struct archive *disk, struct archive *w) {
        struct archive_entry *e = archive_entry_new();
        int r, k = 0;

        if (!e)
                return log_oom();
        while ((r = archive_read_next_header2(disk, e)) == ARCHIVE_OK) {
                const char *name = archive_entry_pathname(e);
                (void) archive_read_disk_descend(disk);
                if (archive_entry_filetype(e) == AE_IFSOCK)
                        continue; /* tar cannot hold sockets; they are made anew by whoever listens */
                r = archive_write_header(w, e);
                if (r == ARCHIVE_FAILED) {
                        log_warning("Skipping '%s': %s", name, archive_error_string(w));
                        continue;
                }
                if (r < ARCHIVE_FAILED) {
                        log_error("Failed to write '%s' to the archive: %s", name, archive_error_string(w));
                        k = archive_errno(w) > 0 ? -archive_errno(w) : -EIO;
                        break;
                }
                if (archive_entry_size(e) > 0 && (k = export_entry_data(disk, w, name)) < 0)
                        break;
        }
        archive_entry_free(e);
        if (k < 0)
                return k;
        if (r != ARCHIVE_EOF) {
                log_error("Failed to read the image: %s", archive_error_string(disk));
                return -EIO;
        }
        return 0;
}

int tar_export(int dir_fd, int out_fd, const char *format) {
        _cleanup_(archive_freep) struct archive *disk = NULL, *w = NULL;
        int f = tar_format_check(format), r;

        if (f < 0)
                return log_error_errno(f, "Unknown compression '%s'.", format);
        if (fchdir(dir_fd) < 0)
                return log_error_errno(errno, "Failed to enter the image: %m");
        disk = archive_read_disk_new();
        w = archive_write_new();
        if (!disk || !w)
                return log_oom();
        (void) archive_read_disk_set_symlink_physical(disk);
        (void) archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS);
        (void) archive_write_set_format_pax_restricted(w);
        if (tar_add_filter(w, format) < 0)
                return log_error_errno(-EOPNOTSUPP, "This libarchive cannot write %s.", format);
        (void) archive_write_set_bytes_in_last_block(w, 1);
        if (archive_write_open_fd(w, out_fd) != ARCHIVE_OK || archive_read_disk_open(disk, ".") != ARCHIVE_OK) {
                log_error("Failed to start the archive: %s", archive_error_string(w) ?: archive_error_string(disk));
                return -EIO;
        }
        r = write_disk_entries(disk, w);
        if (r < 0)
                return r;
        if (archive_write_close(w) != ARCHIVE_OK) {
                log_error("Failed to finish the archive: %s", archive_error_string(w));
                return -EIO;
        }
        return 0;
}

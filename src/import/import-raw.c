/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "import-raw.h"
#include "import-tar.h"
#include "log.h"
#include "string-util.h"

#define HOLE_BLOCK 4096U

static void archive_freep(struct archive **a) {
        if (*a)
                (void) archive_free(*a);
}

static bool all_zero(const uint8_t *p, size_t n) {
        return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* Writes buf at the file position, leaving holes where whole blocks are zero. */
static int write_sparse(int fd, const uint8_t *buf, size_t size) {
        while (size > 0) {
                size_t n = MIN(size, (size_t) HOLE_BLOCK);
                if (n == HOLE_BLOCK && all_zero(buf, n)) {
                        if (lseek(fd, n, SEEK_CUR) < 0)
                                return -errno;
                } else {
                        ssize_t k = write(fd, buf, n);
                        if (k < 0)
                                return -errno;
                        n = (size_t) k;
                }
                buf += n;
                size -= n;
        }
        return 0;
}

static int check_not_qcow2(const void *buf, size_t size, bool *checked) {
        if (*checked)
                return 0;
        *checked = true;
        if (size >= 4 && memcmp(buf, "QFI\xfb", 4) == 0) {
                log_error("This is a qcow2 image; berth imports raw images only. "
                          "Convert it first: qemu-img convert -O raw IMAGE.qcow2 IMAGE.raw");
                return -EMEDIUMTYPE;
        }
        return 0;
}

int raw_import(int in_fd, int out_fd) {
        _cleanup_(archive_freep) struct archive *a = archive_read_new();
        struct archive_entry *e;
        bool checked = false;
        const void *buf;
        size_t size;
        la_int64_t offset;
        int r;

        if (!a)
                return log_oom();
        (void) archive_support_safe_filters(a);
        (void) archive_read_support_format_raw(a);
        if (archive_read_open_fd(a, in_fd, 1024 * 1024) != ARCHIVE_OK ||
            archive_read_next_header(a, &e) != ARCHIVE_OK) {
                log_error("Failed to read the image: %s", archive_error_string(a) ?: "empty input");
                return -EBADMSG;
        }
        while ((r = archive_read_data_block(a, &buf, &size, &offset)) == ARCHIVE_OK) {
                int k = check_not_qcow2(buf, size, &checked);
                if (k >= 0)
                        k = write_sparse(out_fd, buf, size);
                if (k == -EMEDIUMTYPE)
                        return k;
                if (k < 0)
                        return log_error_errno(k, "Failed to write the image: %m");
        }
        if (r != ARCHIVE_EOF) {
                log_error("Failed to read the image: %s", archive_error_string(a));
                return -EBADMSG;
        }
        offset = lseek(out_fd, 0, SEEK_CUR);
        if (offset == 0) {
                log_error("The image is empty.");
                return -EBADMSG;
        }
        if (offset < 0 || ftruncate(out_fd, offset) < 0 || fsync(out_fd) < 0)
                return log_error_errno(errno, "Failed to write the image: %m");
        return 0;
}

static int copy_plain(int in_fd, int out_fd) {
        for (;;) {
                ssize_t n = sendfile(out_fd, in_fd, NULL, 1U << 30);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return log_error_errno(errno, "Failed to write the image: %m");
                if (n == 0)
                        return 0;
        }
}

static int copy_compressed(int in_fd, int out_fd, const char *format) {
        _cleanup_(archive_freep) struct archive *w = archive_write_new();
        struct archive_entry *e = archive_entry_new();
        static uint8_t buf[1024 * 1024];
        struct stat st;
        int r = 0;

        if (!w || !e || fstat(in_fd, &st) < 0) {
                archive_entry_free(e);
                return log_oom();
        }
        (void) archive_write_set_format_raw(w);
        if (tar_add_filter(w, format) < 0) {
                archive_entry_free(e);
                return log_error_errno(-EOPNOTSUPP, "This libarchive cannot write %s.", format);
        }
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, st.st_size);
        archive_entry_set_pathname(e, "image.raw");
        if (archive_write_open_fd(w, out_fd) != ARCHIVE_OK || archive_write_header(w, e) != ARCHIVE_OK)
                r = -EIO;
        while (r >= 0) {
                ssize_t n = read(in_fd, buf, sizeof buf);
                if (n <= 0) {
                        r = n < 0 ? -errno : 0;
                        break;
                }
                if (archive_write_data(w, buf, n) != n)
                        r = -EIO;
        }
        archive_entry_free(e);
        if (r >= 0 && archive_write_close(w) != ARCHIVE_OK)
                r = -EIO;
        if (r < 0)
                log_error("Failed to write the image: %s", archive_error_string(w) ?: strerror(-r));
        return r;
}

int raw_export(const char *path, int out_fd, const char *format) {
        _cleanup_close_ int fd = -EBADF;
        int f = tar_format_check(format);

        if (f < 0)
                return log_error_errno(f, "Unknown compression '%s'.", format);
        fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(errno, "Failed to open %s: %m", path);
        return f == 0 ? copy_plain(fd, out_fd) : copy_compressed(fd, out_fd, format);
}

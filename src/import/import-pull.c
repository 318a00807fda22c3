/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "import-digest.h"
#include "import-pull.h"
#include "log.h"
#include "parse-util.h"
#include "string-util.h"

#define PULL_PROGRESS_INTERVAL_NSEC (250 * 1000 * 1000LL)

int pull_verify_from_string(const char *s) {
        static const char *const names[] = { "no", "checksum", "signature" };
        for (size_t i = 0; s && i < ELEMENTSOF(names); i++)
                if (streq(s, names[i]))
                        return (int) i;
        return -EINVAL;
}

static const char *url_path(const char *url) {
        const char *rest = startswith(url, "https://") ?: startswith(url, "http://");
        return rest ? strchr(rest, '/') : NULL;
}

bool pull_url_is_valid(const char *url) {
        const char *p = url ? url_path(url) : NULL;

        if (!p || p == strchr(url, ':') + 3 || string_has_cc(url) || strchr(url, ' '))
                return false;
        size_t n = strcspn(p, "?#");
        return n > 1 && p[n - 1] != '/';
}

int pull_url_filename(const char *url, char **ret) {
        const char *p = url_path(url);
        if (!p)
                return -EINVAL;
        size_t n = strcspn(p, "?#");
        const char *slash = memrchr(p, '/', n);
        size_t len = n - (size_t) (slash + 1 - p);
        if (len == 0)
                return -EINVAL;
        *ret = strndup(slash + 1, len);
        return *ret ? 0 : -ENOMEM;
}

int pull_url_sibling(const char *url, const char *name, char **ret) {
        const char *p = url_path(url);
        if (!p)
                return -EINVAL;
        const char *slash = memrchr(p, '/', strcspn(p, "?#"));
        _cleanup_free_ char *dir = strndup(url, (size_t) (slash + 1 - url));
        if (!dir)
                return -ENOMEM;
        *ret = strjoin(dir, name);
        return *ret ? 0 : -ENOMEM;
}

long pull_stall_timeout_sec(void) {
        const char *e = getenv("BERTH_PULL_TIMEOUT_SEC");
        unsigned v;
        return e && safe_atou(e, &v) >= 0 && v > 0 ? (long) v : 60;
}

static CURL *pull_curl_new(const char *url, char errbuf[static CURL_ERROR_SIZE]) {
        static bool initialized;
        CURL *c;

        if (!initialized && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return NULL;
        initialized = true;
        c = curl_easy_init();
        if (!c)
                return NULL;
        errbuf[0] = 0;
        if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long) PULL_REDIRECTS_MAX) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, pull_stall_timeout_sec()) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_USERAGENT, "berth-import/" PROJECT_VERSION) != CURLE_OK) {
                curl_easy_cleanup(c);
                return NULL;
        }
        return c;
}

static void curl_easy_cleanupp(CURL **c) {
        if (*c)
                curl_easy_cleanup(*c);
}

static int pull_error(CURLcode code, const char *errbuf, const char *url) {
        if (code == CURLE_OPERATION_TIMEDOUT)
                log_error("Failed to download %s: the server stalled (%s).", url, errbuf[0] ? errbuf : "timeout");
        else
                log_error("Failed to download %s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(code));
        return code == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : code == CURLE_HTTP_RETURNED_ERROR ? -ENOENT : -EIO;
}

typedef struct Buffer {
        char *data;
        size_t size;
        bool too_big;
} Buffer;

static size_t buffer_write(char *p, size_t size, size_t n, void *userdata) {
        Buffer *b = userdata;
        size_t len = size * n;

        if (b->size + len > PULL_SMALL_MAX) {
                b->too_big = true;
                return 0;
        }
        char *d = realloc(b->data, b->size + len + 1);
        if (!d)
                return 0;
        memcpy(d + b->size, p, len);
        b->data = d;
        b->size += len;
        d[b->size] = 0;
        return len;
}

int pull_fetch_small(const char *url, char **ret, size_t *ret_size) {
        char errbuf[CURL_ERROR_SIZE];
        _cleanup_(curl_easy_cleanupp) CURL *c = pull_curl_new(url, errbuf);
        Buffer b = {};
        CURLcode code;

        if (!c)
                return log_oom();
        if (curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, buffer_write) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_WRITEDATA, &b) != CURLE_OK)
                return log_oom();
        code = curl_easy_perform(c);
        if (b.too_big) {
                free(b.data);
                log_error("%s is larger than %d bytes; it cannot be a checksum list or a signature.", url,
                          PULL_SMALL_MAX);
                return -EFBIG;
        }
        if (code != CURLE_OK) {
                free(b.data);
                return pull_error(code, errbuf, url);
        }
        *ret = b.data ?: strdup("");
        *ret_size = b.size;
        return *ret ? 0 : log_oom();
}

typedef struct Download {
        int out_fd;
        int progress_fd;
        Hasher hasher;
        bool hashing;
        bool reader_gone;
        int64_t last_progress_nsec;
} Download;

static int64_t now_nsec(void) {
        struct timespec ts;
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static size_t download_write(char *p, size_t size, size_t n, void *userdata) {
        Download *d = userdata;
        size_t len = size * n, done = 0;

        if (d->hashing)
                hasher_update(p, len, &d->hasher);
        while (done < len) {
                ssize_t k = write(d->out_fd, p + done, len - done);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        d->reader_gone = errno == EPIPE;
                        if (!d->reader_gone)
                                log_error_errno(-errno, "Failed to pass the download on: %m");
                        return 0;
                }
                done += (size_t) k;
        }
        return len;
}

static void download_report(Download *d, CURL *c, curl_off_t now, curl_off_t total) {
        curl_off_t rate = 0;
        char line[96];

        if (d->progress_fd < 0)
                return;
        (void) curl_easy_getinfo(c, CURLINFO_SPEED_DOWNLOAD_T, &rate);
        int n = snprintf(line, sizeof line, "%" PRIu64 " %" PRIu64 " %" PRIu64 "\n", (uint64_t) now,
                         (uint64_t) MAX(total, 0), (uint64_t) MAX(rate, 0));
        /* non-blocking: a line berthd has no room for is dropped, never waited for */
        if (write(d->progress_fd, line, (size_t) n) < 0 && errno != EAGAIN)
                d->progress_fd = -1;
}

typedef struct ProgressContext {
        Download *download;
        CURL *curl;
} ProgressContext;

static int download_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                             curl_off_t ulnow) {
        ProgressContext *p = userdata;
        int64_t t = now_nsec();

        (void) ultotal;
        (void) ulnow;
        if (t - p->download->last_progress_nsec >= PULL_PROGRESS_INTERVAL_NSEC) {
                p->download->last_progress_nsec = t;
                download_report(p->download, p->curl, dlnow, dltotal);
        }
        return 0;
}

static int download_check(Download *d, const char *url, const char *expected) {
        char hex[DIGEST_HEX_MAX];

        if (!d->hashing)
                return 0;
        d->hashing = false;
        if (hasher_finish(&d->hasher, hex) <= 0) {
                log_error("The download of %s does not match SHA256SUMS (it lists %s, the file is sha256:%s); "
                          "it is damaged or tampered with.", url, expected, hex);
                return -EBADMSG;
        }
        return 0;
}

int pull_download(const char *url, int out_fd, const char *expected, int progress_fd) {
        char errbuf[CURL_ERROR_SIZE];
        _cleanup_(curl_easy_cleanupp) CURL *c = pull_curl_new(url, errbuf);
        Download d = { .out_fd = out_fd, .progress_fd = progress_fd };
        ProgressContext p = { .download = &d, .curl = c };
        CURLcode code;
        int r;

        if (!c)
                return log_oom();
        if (progress_fd >= 0)
                (void) fd_nonblock(progress_fd, true);
        if (expected) {
                r = hasher_init(&d.hasher, expected);
                if (r < 0)
                        return r;
                d.hashing = true;
        }
        if (curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, download_write) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_WRITEDATA, &d) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, download_progress) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_XFERINFODATA, &p) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L) != CURLE_OK) {
                if (d.hashing)
                        hasher_done(&d.hasher);
                return log_oom();
        }
        code = curl_easy_perform(c);
        if (code != CURLE_OK) {
                if (d.hashing)
                        hasher_done(&d.hasher);
                if (d.reader_gone)
                        return -EPIPE;
                return code == CURLE_WRITE_ERROR ? -EIO : pull_error(code, errbuf, url);
        }
        curl_off_t size = 0;
        (void) curl_easy_getinfo(c, CURLINFO_SIZE_DOWNLOAD_T, &size);
        download_report(&d, c, size, size);
        return download_check(&d, url, expected);
}

int pull_checksum_find(const char *sums, const char *sums_url, const char *name, char **ret) {
        size_t len = strlen(name);

        for (const char *l = sums; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                size_t hex = strspn(l, "0123456789abcdefABCDEF");
                if (hex != 64 || l[64] != ' ')
                        continue;
                const char *f = l + 65;
                if (*f == ' ' || *f == '*') /* "HEX  name" (text) or "HEX *name" (binary) */
                        f++;
                if (strncmp(f, name, len) == 0 && IN_SET(f[len], '\n', '\r', 0)) {
                        char *s = malloc(7 + 64 + 1);
                        if (!s)
                                return log_oom();
                        memcpy(s, "sha256:", 7);
                        for (size_t i = 0; i < 64; i++)
                                s[7 + i] = (char) (l[i] | 0x20); /* lowercase hex */
                        s[71] = 0;
                        *ret = s;
                        return 0;
                }
        }
        log_error("%s lists no checksum for '%s'; the file cannot be verified (--verify=no skips the check).",
                  sums_url, name);
        return -ENOENT;
}

static const char *find_keyring(void) {
        if (access(PULL_KEYRING_ETC, R_OK) >= 0)
                return PULL_KEYRING_ETC;
        if (access(PULL_KEYRING_LIB, R_OK) >= 0)
                return PULL_KEYRING_LIB;
        return NULL;
}

static int memfd_with(const char *name, const char *data, size_t size) {
        int fd = memfd_create(name, 0); /* inherited by gpgv */
        size_t done = 0;

        if (fd < 0)
                return -errno;
        while (done < size) {
                ssize_t k = write(fd, data + done, size - done);
                if (k < 0) {
                        safe_close(fd);
                        return -errno;
                }
                done += (size_t) k;
        }
        return fd;
}

int pull_verify_signature(const char *data, size_t data_size, const char *sig, size_t sig_size) {
        _cleanup_close_ int data_fd = -EBADF, sig_fd = -EBADF;
        const char *keyring = find_keyring();
        char data_path[64], sig_path[64];
        int status;
        pid_t pid;

        if (!keyring) {
                log_error("No keyring to check the signature against: put the trusted keys in %s "
                          "(or pull with --verify=checksum).", PULL_KEYRING_ETC);
                return -ENOKEY;
        }
        data_fd = memfd_with("SHA256SUMS", data, data_size);
        sig_fd = memfd_with("SHA256SUMS.gpg", sig, sig_size);
        if (data_fd < 0 || sig_fd < 0)
                return log_error_errno(data_fd < 0 ? data_fd : sig_fd, "Failed to hold the checksum list: %m");
        (void) snprintf(data_path, sizeof data_path, "/proc/self/fd/%d", data_fd);
        (void) snprintf(sig_path, sizeof sig_path, "/proc/self/fd/%d", sig_fd);
        fflush(stderr);
        pid = fork();
        if (pid < 0)
                return log_error_errno(-errno, "Failed to run gpgv: %m");
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR);
                if (null >= 0)
                        (void) dup2(null, STDIN_FILENO), (void) dup2(null, STDOUT_FILENO);
                execlp("gpgv", "gpgv", "--quiet", "--keyring", keyring, sig_path, data_path, (char *) NULL);
                fprintf(stderr, "Failed to run gpgv (Debian's gpgv package): %m\n");
                _exit(127);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return log_error_errno(-errno, "Failed to wait for gpgv: %m");
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
                return -ENOEXEC;
        log_error("The signature of SHA256SUMS does not verify against the keys in %s; the checksum list is "
                  "not trusted.", keyring);
        return -EBADMSG;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <inttypes.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "fileio.h"
#include "import-digest.h"
#include "import-oci.h"
#include "import-registry.h"
#include "import-layers.h"
#include "import-pull.h"
#include "import-target.h"
#include "layer-store.h"
#include "log.h"
#include "string-util.h"
#include "strv.h"

#define REGISTRY_JSON_MAX (4U * 1024 * 1024)
#define REGISTRY_PARALLEL 4
#define ACCEPT_MANIFESTS                                                                                          \
        "Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "         \
        "application/vnd.docker.distribution.manifest.list.v2+json, "                                             \
        "application/vnd.docker.distribution.manifest.v2+json"

typedef struct Registry {
        char *host, *repository, *reference;
        bool tls_verify;
        const char *scheme;  /* "https", or "http" once https failed with tls_verify off */
        char *authorization; /* "Bearer ..." or "Basic ...", once the registry asked */
        char *basic;         /* base64 "user:password" from auth.json, or NULL */
        uint64_t *received;  /* blob bytes so far, shared with the fetchers (MAP_SHARED) */
} Registry;

static void registry_done(Registry *r) {
        free(r->host);
        free(r->repository);
        free(r->reference);
        free(r->authorization);
        free(r->basic);
}

static void json_putp(json_object **j) {
        if (*j)
                (void) json_object_put(*j);
}

static const char *json_str(json_object *o, const char *key) {
        json_object *v;
        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
                       ? json_object_get_string(v) : NULL;
}

/* "host[:port]/repo/sitory[:tag|@sha256:HEX]"; the tag defaults to "latest". */
static int registry_parse(const char *s, Registry *r) {
        const char *slash = strchr(s, '/'), *at, *colon;

        if (!slash || slash == s || string_has_cc(s) || strchr(s, ' ') ||
            (!memchr(s, '.', (size_t) (slash - s)) && !memchr(s, ':', (size_t) (slash - s)) &&
             strncmp(s, "localhost/", 10) != 0)) {
                log_error("Invalid image reference '%s': give the registry, e.g. localhost:5000/debian:bookworm.", s);
                return -EINVAL;
        }
        r->host = strndup(s, (size_t) (slash - s));
        at = strchr(slash, '@');
        colon = strrchr(slash, ':');
        if (at) {
                r->repository = strndup(slash + 1, (size_t) (at - slash - 1));
                r->reference = strdup(at + 1);
        } else if (colon) {
                r->repository = strndup(slash + 1, (size_t) (colon - slash - 1));
                r->reference = strdup(colon + 1);
        } else {
                r->repository = strdup(slash + 1);
                r->reference = strdup("latest");
        }
        if (!r->host || !r->repository || !r->reference)
                return log_oom();
        if (isempty(r->repository) || isempty(r->reference) || strstr(r->repository, "..") ||
            strspn(r->repository, "abcdefghijklmnopqrstuvwxyz0123456789._/-") != strlen(r->repository) ||
            strspn(r->reference, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-") !=
                    strlen(r->reference)) {
                log_error("Invalid image reference '%s'.", s);
                return -EINVAL;
        }
        return 0;
}

/* Credentials for the host from the first auth.json that has them. */
static void registry_load_credentials(Registry *r) {
        const char *files[] = { getenv("REGISTRY_AUTH_FILE"), "/run/containers/0/auth.json", "/root/.docker/config.json" };

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *text = NULL, *https = strjoin("https://", r->host), *http = strjoin("http://", r->host);
                _cleanup_(json_putp) json_object *j = NULL;
                json_object *auths, *entry;

                if (!files[i] || read_full_file_at(AT_FDCWD, files[i], REGISTRY_JSON_MAX, &text, NULL) < 0)
                        continue;
                j = json_tokener_parse(text);
                if (!j || !json_object_object_get_ex(j, "auths", &auths))
                        continue;
                if (json_object_object_get_ex(auths, r->host, &entry) ||
                    (https && json_object_object_get_ex(auths, https, &entry)) ||
                    (http && json_object_object_get_ex(auths, http, &entry))) {
                        const char *a = json_str(entry, "auth");
                        if (a && (r->basic = strdup(a)))
                                log_debug("Using the credentials for %s in %s.", r->host, files[i]);
                        return;
                }
        }
}

/* Where a response goes: a file (a blob, hashed as it arrives) or memory (JSON, errors). */
typedef struct Response {
        CURL *curl;
        int fd;            /* -1: memory */
        char *data;
        size_t size;
        char *challenge;   /* WWW-Authenticate */
        char *content_type;
        uint64_t *received; /* counts what goes to fd */
        bool too_big, write_failed;
        int write_errno; /* the failed write's */
} Response;

static void response_done(Response *x) {
        free(x->data);
        free(x->challenge);
        free(x->content_type);
}

static size_t on_header(char *p, size_t size, size_t n, void *userdata) {
        Response *x = userdata;
        size_t len = size * n;
        char **dst = NULL;
        const char *v = NULL;

        if (len > 17 && strncasecmp(p, "WWW-Authenticate:", 17) == 0)
                dst = &x->challenge, v = p + 17;
        else if (len > 13 && strncasecmp(p, "Content-Type:", 13) == 0)
                dst = &x->content_type, v = p + 13;
        if (dst) {
                v += strspn(v, " ");
                free(*dst);
                *dst = strndup(v, len - (size_t) (v - p));
                if (*dst)
                        (void) strstrip_trailing(*dst);
        }
        return len;
}

static size_t on_data(char *p, size_t size, size_t n, void *userdata) {
        Response *x = userdata;
        size_t len = size * n;
        long status = 0;

        (void) curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
        if (x->fd >= 0 && status == 200) {
                if (x->received)
                        (void) __atomic_fetch_add(x->received, len, __ATOMIC_RELAXED);
                for (size_t done = 0; done < len;) {
                        ssize_t k = write(x->fd, p + done, len - done);
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k < 0) {
                                if (errno != EPIPE) /* else the extraction failed, and said why */
                                        log_error_errno(-errno, "Failed to write a blob: %m");
                                x->write_failed = true;
                                x->write_errno = errno;
                                return 0;
                        }
                        done += (size_t) k;
                }
                return len;
        }
        if (x->size + len > REGISTRY_JSON_MAX) {
                x->too_big = true;
                return 0;
        }
        char *d = realloc(x->data, x->size + len + 1);
        if (!d)
                return 0;
        memcpy(d + x->size, p, len);
        x->data = d;
        x->size += len;
        d[x->size] = 0;
        return len;
}

/* Stops the transfer once berth-import got SIGTERM. */
static int on_progress(void *userdata, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d) {
        (void) userdata, (void) a, (void) b, (void) c, (void) d;
        return import_cancelled ? 1 : 0;
}

static void curl_slist_free_allp(struct curl_slist **l) {
        curl_slist_free_all(*l);
}

static int registry_perform(Registry *r, const char *url, const char *accept, Response *x, long *ret_status) {
        _cleanup_(curl_slist_free_allp) struct curl_slist *headers = NULL;
        _cleanup_free_ char *auth = r->authorization ? strjoin("Authorization: ", r->authorization) : NULL;
        char errbuf[CURL_ERROR_SIZE] = "";
        CURL *c = curl_easy_init();
        CURLcode code;

        if (!c)
                return log_oom();
        x->curl = c;
        if (accept)
                headers = curl_slist_append(headers, accept);
        if (auth)
                headers = curl_slist_append(headers, auth);
        (void) curl_easy_setopt(c, CURLOPT_URL, url);
        (void) curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
        (void) curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        (void) curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        (void) curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        (void) curl_easy_setopt(c, CURLOPT_MAXREDIRS, 8L);
        (void) curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
        (void) curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        (void) curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, pull_stall_timeout_sec());
        (void) curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        (void) curl_easy_setopt(c, CURLOPT_USERAGENT, "berth-import/" PROJECT_VERSION);
        (void) curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
        (void) curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        (void) curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
        (void) curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        (void) curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
        (void) curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        (void) curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        if (!r->tls_verify) {
                (void) curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
                (void) curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        code = curl_easy_perform(c);
        (void) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, ret_status);
        curl_easy_cleanup(c);
        x->curl = NULL;
        if (code == CURLE_OK)
                return 0;
        if (x->write_failed)
                return x->write_errno == EPIPE ? -EPIPE : -EIO;
        if (code == CURLE_ABORTED_BY_CALLBACK)
                return log_error_errno(-ECANCELED, "The transfer was cancelled.");
        if (x->too_big) {
                log_error("The registry's answer for %s is larger than %u bytes.", url, REGISTRY_JSON_MAX);
                return -EFBIG;
        }
        log_error("Failed to fetch %s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(code));
        return code == CURLE_SSL_CONNECT_ERROR || code == CURLE_PEER_FAILED_VERIFICATION ? -EPROTONOSUPPORT : -EIO;
}

/* The value of key in a challenge's key="value" list. */
static char *challenge_param(const char *challenge, const char *key) {
        size_t len = strlen(key);
        for (const char *p = challenge; p && *p; p++) {
                if ((p == challenge || p[-1] == ' ' || p[-1] == ',') && strncmp(p, key, len) == 0 && p[len] == '=') {
                        const char *v = p + len + 1;
                        bool quoted = *v == '"';
                        v += quoted;
                        return strndup(v, strcspn(v, quoted ? "\"" : ", "));
                }
        }
        return NULL;
}

static char *url_escape(const char *s) {
        char *e = curl_easy_escape(NULL, s, 0), *copy = e ? strdup(e) : NULL;
        curl_free(e);
        return copy;
}

/* Answers a 401: Basic with auth.json's credentials, or a token from the Bearer realm. */
static int registry_authenticate(Registry *r, const char *challenge, const char *url) {
        if (!challenge) {
                log_error("The registry refused %s (401) without saying how to authenticate.", url);
                return -EKEYREJECTED;
        }
        if (strncasecmp(challenge, "Basic", 5) == 0) {
                if (!r->basic) {
                        log_error("The registry %s needs credentials; put them in /run/containers/0/auth.json "
                                  "(podman login, skopeo login) or $REGISTRY_AUTH_FILE.", r->host);
                        return -EKEYREJECTED;
                }
                free(r->authorization);
                r->authorization = strjoin("Basic ", r->basic);
                return r->authorization ? 0 : log_oom();
        }
        if (strncasecmp(challenge, "Bearer", 6) != 0) {
                log_error("The registry asks for an authentication berth does not speak: %s", challenge);
                return -EKEYREJECTED;
        }
        _cleanup_free_ char *realm = challenge_param(challenge, "realm"), *service = challenge_param(challenge, "service"),
                            *scope = challenge_param(challenge, "scope"), *es = NULL, *sc = NULL, *token_url = NULL;
        if (!realm || !(startswith(realm, "https://") || startswith(realm, "http://"))) {
                log_error("The registry's Bearer challenge names no usable realm: %s", challenge);
                return -EKEYREJECTED;
        }
        es = service ? url_escape(service) : strdup("");
        sc = scope ? url_escape(scope) : strdup("");
        token_url = strjoin(realm, strchr(realm, '?') ? "&" : "?", "service=", es ?: "", "&scope=", sc ?: "");
        if (!token_url)
                return log_oom();
        free(r->authorization);
        r->authorization = r->basic ? strjoin("Basic ", r->basic) : NULL;
        _cleanup_(response_done) Response x = { .fd = -1 };
        long status = 0;
        int k = registry_perform(r, token_url, NULL, &x, &status);
        if (k < 0)
                return k;
        _cleanup_(json_putp) json_object *j = status == 200 && x.data ? json_tokener_parse(x.data) : NULL;
        const char *token = j ? json_str(j, "token") ?: json_str(j, "access_token") : NULL;
        if (!token) {
                log_error("The token service %s refused a token (%ld)%s.", realm, status,
                          r->basic ? "" : "; if it needs credentials, put them in auth.json");
                return -EKEYREJECTED;
        }
        free(r->authorization);
        r->authorization = strjoin("Bearer ", token);
        return r->authorization ? 0 : log_oom();
}

/* The registry's own words from an error body: {"errors":[{"code":..,"message":..}]} */
static void log_registry_error(const char *url, long status, char *body) {
        _cleanup_(json_putp) json_object *j = body ? json_tokener_parse(body) : NULL;
        json_object *errors, *e;

        if (j && json_object_object_get_ex(j, "errors", &errors) && json_object_is_type(errors, json_type_array) &&
            (e = json_object_array_get_idx(errors, 0)))
                log_error("The registry refused %s: %ld %s (%s).", url, status, strna(json_str(e, "message")),
                          strna(json_str(e, "code")));
        else if (body && body[0] && !string_has_cc(strstrip_trailing(body)) && strlen(body) < 512)
                log_error("The registry refused %s: %ld %s", url, status, body);
        else
                log_error("The registry refused %s: %ld.", url, status);
}

/* GET /v2/REPOSITORY/KIND/REF, retrying once after authenticating and once over plain HTTP. */
static int registry_get(Registry *r, const char *kind, const char *ref, const char *accept, Response *x) {
        for (unsigned attempt = 0; attempt < 3; attempt++) {
                _cleanup_free_ char *url = strjoin(r->scheme, "://", r->host, "/v2/", r->repository, "/", kind, "/", ref);
                long status = 0;
                int k;

                if (!url)
                        return log_oom();
                x->size = 0;
                k = registry_perform(r, url, accept, x, &status);
                if (k == -EPROTONOSUPPORT && !r->tls_verify && streq(r->scheme, "https")) {
                        log_debug("%s does not speak TLS; trying plain HTTP (--tls-verify=no).", r->host);
                        r->scheme = "http";
                        continue;
                }
                if (k < 0)
                        return k;
                if (status == 200)
                        return 0;
                if (status == 401 && attempt < 2) {
                        k = registry_authenticate(r, x->challenge, url);
                        if (k < 0)
                                return k;
                        continue;
                }
                log_registry_error(url, status, x->data);
                return status == 404 ? -ENOENT : status == 401 || status == 403 ? -EKEYREJECTED : -EIO;
        }
        log_error("The registry %s keeps refusing the credentials.", r->host);
        return -EKEYREJECTED;
}

/* A blob into out_fd (a fetcher's pipe to the extraction, which checks the digest). */
static int download_blob(const char *digest, int out_fd, void *userdata) {
        Registry *r = userdata;
        _cleanup_(response_done) Response x = { .fd = out_fd, .received = r->received };
        return registry_get(r, "blobs", digest, NULL, &x);
}

/* A small JSON blob (a manifest, an image config) into memory, checked against digest if given
 * (else its digest is returned). */
static int fetch_json(Registry *r, const char *kind, const char *ref, const char *digest, json_object **ret,
                      char **ret_type, char **ret_digest) {
        _cleanup_(response_done) Response x = { .fd = -1 };
        Hasher h = {};
        char hex[DIGEST_HEX_MAX];
        int k;

        k = registry_get(r, kind, ref, streq(kind, "manifests") ? ACCEPT_MANIFESTS : NULL, &x);
        if (k < 0)
                return k;
        if (!x.data || hasher_init(&h, digest ?: "sha256:") < 0)
                return log_oom();
        hasher_update(x.data, x.size, &h);
        if (hasher_finish(&h, hex) <= 0 && digest) {
                log_error("%s %s from %s does not match its digest (it is sha256:%s); refusing it.",
                          streq(kind, "manifests") ? "The manifest" : "Blob", ref, r->host, hex);
                return -EBADMSG;
        }
        *ret = json_tokener_parse(x.data);
        if (!*ret || !json_object_is_type(*ret, json_type_object)) {
                json_putp(ret);
                log_error("%s from %s is not JSON.", ref, r->host);
                return -EBADMSG;
        }
        if (ret_type && !(*ret_type = strdup(json_str(*ret, "mediaType") ?: x.content_type ?: "")))
                return log_oom();
        if (ret_digest && !(*ret_digest = strjoin("sha256:", hex)))
                return log_oom();
        return 0;
}

/* A layer's download and extraction, its messages kept aside (log_fd, its stderr): shown when it
 * ends, dropped when it is killed because another failed (it would only say that its stream was
 * cut, and its last words would hide the first failure's cause). */
typedef struct Fetcher {
        pid_t pid;
        size_t layer;
        int log_fd;
} Fetcher;

static void fetchers_kill(Fetcher *f, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (f[i].pid > 0) {
                        (void) kill(f[i].pid, SIGKILL);
                        (void) waitpid(f[i].pid, NULL, 0);
                        f[i].pid = 0;
                }
                f[i].log_fd = safe_close(f[i].log_fd);
        }
}

#define USEC_PER_SEC 1000000ULL
#define USEC_PER_MSEC 1000ULL
typedef uint64_t usec_t;

static usec_t now_usec(void) {
        struct timespec ts;
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}

typedef struct Progress {
        int fd;              /* "BYTES TOTAL RATE" lines, as pull-tar's; -1: none */
        uint64_t total;
        uint64_t last_bytes;
        usec_t last_time;
} Progress;

static void progress_report(const Progress *p, const Registry *r, bool force) {
        static usec_t last;
        usec_t now = now_usec();
        uint64_t bytes = __atomic_load_n(r->received, __ATOMIC_RELAXED);
        char line[96];

        if (p->fd < 0 || (!force && now - last < 200 * USEC_PER_MSEC))
                return;
        uint64_t rate = now > p->last_time ? (bytes - p->last_bytes) * USEC_PER_SEC / (now - p->last_time) : 0;
        last = now;
        int n = snprintf(line, sizeof line, "%" PRIu64 " %" PRIu64 " %" PRIu64 "\n", bytes, MAX(p->total, bytes), rate);
        (void) !write(p->fd, line, (size_t) n);
}

/* Waits for one fetcher, reporting progress meanwhile; its -errno, or -ECANCELED after SIGTERM. */
static int fetchers_wait(Fetcher *f, size_t n, const Progress *p, const Registry *r) {
        for (;;) {
                int status;
                pid_t pid = waitpid(-1, &status, WNOHANG);

                if (pid < 0 && errno != EINTR)
                        return -errno;
                if (import_cancelled)
                        return log_error_errno(-ECANCELED, "The transfer was cancelled.");
                if (pid <= 0) {
                        progress_report(p, r, false);
                        (void) usleep(50 * 1000); /* a SIGTERM cuts it short */
                        continue;
                }
                for (size_t i = 0; i < n; i++)
                        if (f[i].pid == pid) {
                                f[i].pid = 0;
                                log_replay(f[i].log_fd);
                                f[i].log_fd = safe_close(f[i].log_fd);
                                if (WIFEXITED(status))
                                        return -WEXITSTATUS(status);
                                return log_error_errno(-EPROTO, "The download of layer %zu died.", f[i].layer);
                        }
        }
}

/* The layers the store lacks, REGISTRY_PARALLEL at a time, each in a child of its own (curl's easy
 * interface, the credentials already negotiated) that streams it into the store; the first failure
 * stops the others. */
static int fetch_layers(Registry *r, int store_fd, json_object *layers, int progress_fd) {
        Fetcher f[REGISTRY_PARALLEL];
        size_t n = json_object_array_length(layers), next = 0, running = 0;
        Progress p = { .fd = progress_fd, .last_time = now_usec() };
        int k = 0;

        for (size_t i = 0; i < ELEMENTSOF(f); i++)
                f[i] = (Fetcher) { .log_fd = -EBADF };
        for (size_t i = 0; i < n; i++) {
                json_object *l = json_object_array_get_idx(layers, i), *size;
                _cleanup_free_ char *path = NULL;
                if (layer_path_from_digest(json_str(l, "digest"), &path) >= 0 &&
                    faccessat(store_fd, path + strlen(LAYER_STORE_NAME "/"), F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
                    json_object_object_get_ex(l, "size", &size))
                        p.total += (uint64_t) MAX(json_object_get_int64(size), 0);
        }
        while (k >= 0 && (next < n || running > 0)) {
                if (next < n && running < REGISTRY_PARALLEL && !import_cancelled) {
                        json_object *l = json_object_array_get_idx(layers, next);
                        const char *d = json_str(l, "digest"), *type = json_str(l, "mediaType");
                        if (type && !strstr(type, "tar")) {
                                log_error("Layer %zu has media type %s; only tar layers can be applied.", next, type);
                                k = -EMEDIUMTYPE;
                                break;
                        }
                        size_t slot = 0;
                        while (f[slot].pid > 0)
                                slot++;
                        f[slot].log_fd = memfd_create("berth-layer-log", MFD_CLOEXEC);
                        fflush(stderr);
                        pid_t pid = f[slot].log_fd < 0 ? -1 : fork();
                        if (pid < 0) {
                                k = log_error_errno(-errno, "Failed to start a download: %m");
                                break;
                        }
                        if (pid == 0) {
                                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                                (void) dup2(f[slot].log_fd, STDERR_FILENO);
                                (void) signal(SIGTERM, SIG_DFL);
                                int e = d ? layer_fetch(store_fd, d, download_blob, r) : -EBADMSG;
                                if (!d)
                                        log_error("Layer %zu of the manifest has no digest.", next);
                                fflush(stderr);
                                _exit(e < 0 ? MIN(-e, 255) : 0);
                        }
                        f[slot].pid = pid;
                        f[slot].layer = next++;
                        running++;
                        continue;
                }
                if (import_cancelled) {
                        k = log_error_errno(-ECANCELED, "The transfer was cancelled.");
                        break;
                }
                k = fetchers_wait(f, ELEMENTSOF(f), &p, r);
                running--;
        }
        fetchers_kill(f, ELEMENTSOF(f));
        if (k >= 0)
                progress_report(&p, r, true);
        else /* what the killed fetchers were extracting; the layers they completed stay */
                layer_store_sweep(store_fd, 1000);
        return k;
}

void registry_pull_done(RegistryPull *p) {
        p->layers = strv_free(p->layers);
        oci_config_done(&p->config);
}

/* The image manifest for this platform (through an index if the reference names one). */
static int fetch_image_manifest(Registry *r, const char *reference, json_object **ret) {
        _cleanup_(json_putp) json_object *top = NULL;
        _cleanup_free_ char *type = NULL, *digest = NULL;
        int k;

        k = fetch_json(r, "manifests", r->reference, startswith(r->reference, "sha256:") ? r->reference : NULL, &top,
                       &type, &digest);
        if (k < 0)
                return k;
        if (!oci_media_type_is_index(type)) {
                *ret = TAKE_PTR(top);
                return 0;
        }
        json_object *d = oci_pick_manifest(top);
        if (!d || !json_str(d, "digest")) {
                log_error("%s has no image for linux/%s.", reference, oci_arch());
                return -ENOENT;
        }
        return fetch_json(r, "manifests", json_str(d, "digest"), json_str(d, "digest"), ret, NULL, NULL);
}

int registry_pull(const char *reference, bool tls_verify, int store_fd, int progress_fd, RegistryPull *ret) {
        _cleanup_(registry_done) Registry r = { .tls_verify = tls_verify, .scheme = "https" };
        _cleanup_(json_putp) json_object *m = NULL, *config = NULL;
        json_object *layers, *desc;
        int k;

        k = registry_parse(reference, &r);
        if (k < 0)
                return k;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return log_oom();
        r.received = mmap(NULL, sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (r.received == MAP_FAILED)
                return log_oom();
        registry_load_credentials(&r);
        k = fetch_image_manifest(&r, reference, &m);
        if (k >= 0 && json_object_object_get_ex(m, "config", &desc) && json_str(desc, "digest")) {
                k = fetch_json(&r, "blobs", json_str(desc, "digest"), json_str(desc, "digest"), &config, NULL, NULL);
                if (k >= 0)
                        k = oci_config_from_json(config, &ret->config) < 0 ? log_oom() : 0;
        }
        if (k >= 0 && (!json_object_object_get_ex(m, "layers", &layers) || !json_object_is_type(layers, json_type_array) ||
                       json_object_array_length(layers) == 0)) {
                log_error("The manifest of %s lists no layers (a Docker schema 1 manifest is not supported).", reference);
                k = -EBADMSG;
        }
        if (k >= 0 && json_object_array_length(layers) > LAYER_STACK_MAX) {
                log_error("%s has %zu layers; berth takes at most %u.", reference, json_object_array_length(layers),
                          LAYER_STACK_MAX);
                k = -E2BIG;
        }
        for (size_t i = 0; k >= 0 && i < json_object_array_length(layers); i++) {
                char *path = NULL;
                const char *d = json_str(json_object_array_get_idx(layers, i), "digest");
                if (layer_path_from_digest(d, &path) < 0) {
                        log_error("Layer %zu of %s has digest '%s'; berth takes sha256 layers only.", i, reference, strna(d));
                        k = -EBADMSG;
                } else
                        k = strv_consume(&ret->layers, path);
        }
        if (k >= 0)
                k = fetch_layers(&r, store_fd, layers, progress_fd);
        (void) munmap(r.received, sizeof(uint64_t));
        return k;
}

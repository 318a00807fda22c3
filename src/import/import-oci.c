/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "fileio.h"
#include "import-digest.h"
#include "import-oci.h"
#include "import-tar.h"
#include "import-target.h"
#include "log.h"
#include "string-util.h"
#include "strv.h"

#define OCI_JSON_MAX (4U * 1024 * 1024)

static void json_putp(json_object **j) {
        if (*j)
                (void) json_object_put(*j);
}
#define _cleanup_json_ _cleanup_(json_putp)

void oci_config_done(OciConfig *c) {
        c->command = strv_free(c->command);
        c->environment = strv_free(c->environment);
        c->working_directory = mfree(c->working_directory);
        c->user = mfree(c->user);
}

/* Opens a file of the layout without leaving it, following no symlink. */
static int layout_open(int layout_fd, const char *path) {
        struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
                                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
        int fd = (int) syscall(SYS_openat2, layout_fd, path, &how, sizeof how);
        return fd < 0 ? -errno : fd;
}

static int parse_json(const char *text, const char *path, json_object **ret) {
        *ret = json_tokener_parse(text);
        if (!*ret || !json_object_is_type(*ret, json_type_object)) {
                json_putp(ret);
                log_error("%s in the OCI layout is not a JSON object.", path);
                return -EBADMSG;
        }
        return 0;
}

static int read_json(int layout_fd, const char *path, json_object **ret) {
        _cleanup_close_ int fd = layout_open(layout_fd, path);
        _cleanup_free_ char *text = NULL;
        int r;

        if (fd < 0)
                return log_error_errno(fd, "Failed to open %s in the OCI layout: %m", path);
        r = read_full_fd(fd, OCI_JSON_MAX, &text, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s in the OCI layout: %m", path);
        return parse_json(text, path, ret);
}

static const char *json_str(json_object *o, const char *key) {
        json_object *v;
        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
                       ? json_object_get_string(v) : NULL;
}

static json_object *json_array(json_object *o, const char *key) {
        json_object *v;
        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_array) ? v : NULL;
}

/* "sha256:HEX" -> "blobs/sha256/HEX"; only lowercase algorithm names and hex digests. */
int oci_blob_path(const char *digest, char **ret) {
        const char *colon = digest ? strchr(digest, ':') : NULL;

        if (!colon || colon == digest || strspn(digest, "abcdefghijklmnopqrstuvwxyz0123456789+._-") != (size_t) (colon - digest) ||
            strlen(colon + 1) < 32 || strspn(colon + 1, "0123456789abcdef") != strlen(colon + 1)) {
                log_error("Invalid digest '%s' in the OCI layout.", strna(digest));
                return -EBADMSG;
        }
        *ret = malloc(strlen(digest) + 8);
        if (!*ret)
                return -ENOMEM;
        (void) sprintf(*ret, "blobs/%.*s/%s", (int) (colon - digest), digest, colon + 1);
        return 0;
}

/* A JSON blob: read once, checked, parsed from what was checked. */
static int read_blob_json(int layout_fd, const char *digest, json_object **ret) {
        _cleanup_free_ char *p = NULL, *text = NULL;
        _cleanup_close_ int fd = -EBADF;
        Hasher h = {};
        size_t n = 0;
        int r = oci_blob_path(digest, &p);

        if (r < 0)
                return r;
        fd = layout_open(layout_fd, p);
        if (fd < 0)
                return log_error_errno(fd, "Failed to open %s in the OCI layout: %m", p);
        r = read_full_fd(fd, OCI_JSON_MAX, &text, &n);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s in the OCI layout: %m", p);
        r = hasher_init(&h, digest);
        if (r < 0)
                return r;
        hasher_update(text, n, &h);
        r = hasher_verdict(&h);
        return r < 0 ? r : parse_json(text, p, ret);
}

const char *oci_arch(void) {
        static struct utsname u;
        if (uname(&u) < 0)
                return "amd64";
        if (streq(u.machine, "x86_64"))
                return "amd64";
        if (streq(u.machine, "aarch64"))
                return "arm64";
        if (streq(u.machine, "i686") || streq(u.machine, "i386"))
                return "386";
        return u.machine;
}

bool oci_media_type_is_index(const char *t) {
        return t && (streq(t, "application/vnd.oci.image.index.v1+json") ||
                     streq(t, "application/vnd.docker.distribution.manifest.list.v2+json"));
}

static bool descriptor_is_index(json_object *d) {
        return oci_media_type_is_index(json_str(d, "mediaType"));
}

/* The manifest descriptor for this architecture (or the only one without a platform). */
json_object *oci_pick_manifest(json_object *index) {
        json_object *manifests = json_array(index, "manifests"), *fallback = NULL;

        for (size_t i = 0; manifests && i < json_object_array_length(manifests); i++) {
                json_object *d = json_object_array_get_idx(manifests, i), *platform;
                if (!json_object_object_get_ex(d, "platform", &platform)) {
                        fallback = fallback ?: d;
                        continue;
                }
                const char *os = json_str(platform, "os"), *arch = json_str(platform, "architecture");
                if (os && arch && streq(os, "linux") && streq(arch, oci_arch()))
                        return d;
        }
        return fallback;
}

static int find_manifest(int layout_fd, json_object **ret) {
        _cleanup_json_ json_object *index = NULL;
        int r;

        r = read_json(layout_fd, "index.json", &index);
        if (r < 0)
                return r;
        for (unsigned depth = 0; depth < 4; depth++) {
                json_object *d = oci_pick_manifest(index), *next = NULL;
                if (!d) {
                        log_error("The OCI layout has no image for linux/%s.", oci_arch());
                        return -ENOENT;
                }
                r = read_blob_json(layout_fd, json_str(d, "digest"), &next);
                if (r < 0)
                        return r;
                if (!descriptor_is_index(d)) {
                        *ret = next;
                        return 0;
                }
                json_putp(&index);
                index = next;
        }
        log_error("The OCI layout nests image indexes too deeply.");
        return -ELOOP;
}

static int extract_layer(int layout_fd, int tree_fd, json_object *layer, size_t n) {
        _cleanup_free_ char *p = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *type = json_str(layer, "mediaType");
        int r;

        if (type && !strstr(type, "tar")) {
                log_error("Layer %zu has media type %s; only tar layers can be applied.", n, type);
                return -EMEDIUMTYPE;
        }
        r = oci_blob_path(json_str(layer, "digest"), &p);
        if (r < 0)
                return r;
        fd = layout_open(layout_fd, p);
        if (fd < 0)
                return log_error_errno(fd, "Failed to open layer %zu (%s): %m", n, p);
        Hasher h = {};
        r = hasher_init(&h, json_str(layer, "digest"));
        if (r < 0)
                return r;
        /* checked as it is extracted: what lands in the tree is what the digest names */
        TarExtract x = { .fd = fd, .whiteouts = true, .observe = hasher_update, .verdict = hasher_verdict,
                         .observer = &h };
        r = import_run_chrooted(tree_fd, tar_extract, &x);
        hasher_done(&h); /* ours; the child's copy is its own */
        if (r == -EPROTO)
                return log_error_errno(r, "The extraction of layer %zu (%s) died.", n, p);
        return r; /* 0, or the extraction said what went wrong */
}

static int strv_from_json(json_object *a, char ***l) {
        for (size_t i = 0; a && i < json_object_array_length(a); i++) {
                json_object *v = json_object_array_get_idx(a, i);
                if (json_object_is_type(v, json_type_string) && strv_extend(l, json_object_get_string(v)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int oci_config_from_json(json_object *config, OciConfig *c) {
        json_object *cfg;
        const char *s;

        if (!json_object_object_get_ex(config, "config", &cfg))
                return 0;
        if (strv_from_json(json_array(cfg, "Entrypoint"), &c->command) < 0 ||
            strv_from_json(json_array(cfg, "Cmd"), &c->command) < 0 ||
            strv_from_json(json_array(cfg, "Env"), &c->environment) < 0)
                return -ENOMEM;
        if ((s = json_str(cfg, "WorkingDir")) && s[0] == '/' && !(c->working_directory = strdup(s)))
                return -ENOMEM;
        if ((s = json_str(cfg, "User")) && !isempty(s) && !(c->user = strdup(s)))
                return -ENOMEM;
        return 0;
}

static int read_config(int layout_fd, json_object *manifest, OciConfig *c) {
        _cleanup_json_ json_object *config = NULL;
        json_object *desc;
        int r;

        if (!json_object_object_get_ex(manifest, "config", &desc))
                return 0;
        r = read_blob_json(layout_fd, json_str(desc, "digest"), &config);
        if (r < 0)
                return r;
        return oci_config_from_json(config, c);
}

int oci_import(int layout_fd, int tree_fd, OciConfig *config) {
        _cleanup_json_ json_object *manifest = NULL;
        json_object *layers;
        int r;

        r = find_manifest(layout_fd, &manifest);
        if (r < 0)
                return r;
        layers = json_array(manifest, "layers");
        if (!layers) {
                log_error("The OCI image manifest lists no layers.");
                return -EBADMSG;
        }
        for (size_t i = 0; i < json_object_array_length(layers); i++) {
                r = extract_layer(layout_fd, tree_fd, json_object_array_get_idx(layers, i), i);
                if (r < 0)
                        return r;
        }
        return read_config(layout_fd, manifest, config);
}

int oci_config_write_settings(const OciConfig *c, int dir_fd, const char *name, bool replace) {
        _cleanup_fclose_ FILE *f = NULL;
        int fd;

        if (!c->command || !c->command[0])
                return 0;
        STRV_FOREACH(w, c->command)
                if (strchr(*w, '\n')) {
                        log_warning("The image's command has a word with a newline; not writing %s.", name);
                        return 0;
                }
        if (replace && unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT)
                return log_error_errno(errno, "Failed to replace %s: %m", name);
        fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return errno == EEXIST ? 0 : log_error_errno(errno, "Failed to create %s: %m", name);
        f = fdopen(fd, "w");
        if (!f) {
                safe_close(fd);
                return log_oom();
        }
        fputs("# Made by berthctl import-oci from the image's config.\n[Exec]\nBoot=no\nParameters=", f);
        STRV_FOREACH(w, c->command) {
                _cleanup_free_ char *q = word_quote(*w);
                if (!q)
                        return log_oom();
                fprintf(f, "%s%s", w == c->command ? "" : " ", q);
        }
        fputc('\n', f);
        STRV_FOREACH(e, c->environment)
                if (!strchr(*e, '\n'))
                        fprintf(f, "Environment=%s\n", *e);
        if (c->working_directory && !strchr(c->working_directory, '\n'))
                fprintf(f, "WorkingDirectory=%s\n", c->working_directory);
        if (c->user && !strchr(c->user, '\n') && !strchr(c->user, ':'))
                fprintf(f, "User=%s\n", c->user);
        return fflush(f) == 0 ? 1 : log_error_errno(errno, "Failed to write %s: %m", name);
}

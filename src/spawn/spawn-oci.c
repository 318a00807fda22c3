/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "fileio.h"
#include "hostname-util.h"
#include "log.h"
#include "path-util.h"
#include "spawn-oci.h"
#include "spawn-settings.h"
#include "string-util.h"
#include "strv.h"

typedef struct OciContext {
        SpawnConfig *config;
        const char *bundle;
        SettingMask cli; /* what the command line set: it wins */
} OciContext;

static void json_putp(json_object **j) {
        if (*j)
                json_object_put(*j);
}

/* obj.key as a string (NULL if absent); -EBADMSG if it is not one or too long. */
static int get_string(json_object *obj, const char *key, const char **ret) {
        json_object *v;

        *ret = NULL;
        if (!obj || !json_object_object_get_ex(obj, key, &v) || json_object_get_type(v) == json_type_null)
                return 0;
        if (json_object_get_type(v) != json_type_string)
                return log_error_errno(-EBADMSG, "OCI config.json: \"%s\" must be a string.", key);
        if ((size_t) json_object_get_string_len(v) > OCI_FIELD_MAX)
                return log_error_errno(-E2BIG, "OCI config.json: \"%s\" is longer than %u bytes.", key, OCI_FIELD_MAX);
        if (strlen(json_object_get_string(v)) != (size_t) json_object_get_string_len(v))
                return log_error_errno(-EBADMSG, "OCI config.json: \"%s\" holds a NUL byte.", key);
        *ret = json_object_get_string(v);
        return 0;
}

static int get_object(json_object *obj, const char *key, json_type type, json_object **ret) {
        json_object *v;

        *ret = NULL;
        if (!obj || !json_object_object_get_ex(obj, key, &v) || json_object_get_type(v) == json_type_null)
                return 0;
        if (json_object_get_type(v) != type)
                return log_error_errno(-EBADMSG, "OCI config.json: \"%s\" must be %s.", key,
                                       type == json_type_array ? "an array" : type == json_type_object ? "an object"
                                       : type == json_type_boolean ? "true or false" : "a number");
        if (type == json_type_array && json_object_array_length(v) > OCI_LIST_MAX)
                return log_error_errno(-E2BIG, "OCI config.json: \"%s\" has more than %u entries.", key, OCI_LIST_MAX);
        *ret = v;
        return 0;
}

/* A list of strings ("args", "env", mount "options"). */
static int get_strv(json_object *obj, const char *key, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        json_object *a;
        int r;

        r = get_object(obj, key, json_type_array, &a);
        if (r < 0 || !a) {
                *ret = NULL;
                return r;
        }
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                json_object *e = json_object_array_get_idx(a, i);
                if (json_object_get_type(e) != json_type_string)
                        return log_error_errno(-EBADMSG, "OCI config.json: \"%s\" must hold strings.", key);
                if ((size_t) json_object_get_string_len(e) > OCI_FIELD_MAX ||
                    strlen(json_object_get_string(e)) != (size_t) json_object_get_string_len(e))
                        return log_error_errno(-E2BIG, "OCI config.json: an entry of \"%s\" is longer than %u bytes "
                                                       "or holds a NUL byte.", key, OCI_FIELD_MAX);
                if (strv_extend(&l, json_object_get_string(e)) < 0)
                        return log_oom();
        }
        *ret = TAKE_PTR(l);
        return 0;
}

/* A path inside the bundle: relative, without "..". */
static int bundle_path(const OciContext *o, const char *what, const char *p, char **ret) {
        if (isempty(p) || path_is_absolute(p) || !path_is_normalized(p) || streq(p, "..") || startswith(p, "../") ||
            strstr(p, "/../") || endswith(p, "/..") || string_has_cc(p))
                return log_error_errno(-EPERM, "OCI config.json: %s \"%s\" must be a relative path inside the bundle "
                                               "(not absolute, no \"..\").", what, p ?: "");
        *ret = path_join(o->bundle, p);
        return *ret ? 0 : log_oom();
}

static int parse_root(OciContext *o, json_object *cfg) {
        SpawnConfig *c = o->config;
        json_object *root, *ro;
        const char *path;
        int r;

        r = get_object(cfg, "root", json_type_object, &root);
        if (r < 0)
                return r;
        r = get_string(root, "path", &path);
        if (r < 0)
                return r;
        if (!path)
                return log_error_errno(-EBADMSG, "OCI config.json: \"root\": {\"path\": ...} is missing.");
        if (c->directory || c->image)
                return log_error_errno(-EINVAL, "--oci-bundle= may not be combined with --directory= or --image=.");
        r = bundle_path(o, "root.path", path, &c->directory);
        if (r < 0)
                return r;
        r = get_object(root, "readonly", json_type_boolean, &ro);
        if (r < 0)
                return r;
        if (ro && !(o->cli & SETTING_READ_ONLY))
                c->read_only = json_object_get_boolean(ro);
        return 0;
}

static int parse_env(OciContext *o, json_object *process) {
        _cleanup_strv_free_ char **env = NULL;
        SpawnConfig *c = o->config;
        int r;

        r = get_strv(process, "env", &env);
        if (r < 0)
                return r;
        STRV_FOREACH(e, env) {
                _cleanup_free_ char *key = NULL;
                if (!env_assignment_is_valid(*e))
                        return log_error_errno(-EBADMSG, "OCI config.json: \"%s\" is not a valid environment assignment.", *e);
                key = strndup(*e, strchr(*e, '=') - *e);
                if (!key)
                        return log_oom();
                if (strv_env_get(c->setenv, key))
                        continue; /* -E wins */
                if (strv_env_replace(&c->setenv, *e) < 0)
                        return log_oom();
        }
        return 0;
}

static int parse_process(OciContext *o, json_object *cfg) {
        SpawnConfig *c = o->config;
        json_object *process, *user, *uid, *nnp;
        _cleanup_strv_free_ char **args = NULL;
        const char *cwd;
        int r;

        r = get_object(cfg, "process", json_type_object, &process);
        if (r < 0 || !process)
                return r;
        r = get_strv(process, "args", &args);
        if (r < 0)
                return r;
        if (args && !(o->cli & SETTING_COMMAND)) {
                strv_free(c->command);
                c->command = TAKE_PTR(args);
        }
        r = parse_env(o, process);
        if (r < 0)
                return r;
        r = get_string(process, "cwd", &cwd);
        if (r < 0)
                return r;
        if (cwd && (!path_is_absolute(cwd) || !path_is_normalized(cwd)))
                return log_error_errno(-EBADMSG, "OCI config.json: process.cwd \"%s\" must be an absolute, normalized path.", cwd);
        if (cwd && !streq(cwd, "/") && !(o->cli & SETTING_WORKING_DIRECTORY) && free_and_strdup(&c->working_directory, cwd) < 0)
                return log_oom();
        r = get_object(process, "user", json_type_object, &user);
        if (r >= 0)
                r = get_object(user, "uid", json_type_int, &uid);
        if (r < 0)
                return r;
        if (uid && json_object_get_int64(uid) != 0 && !(o->cli & SETTING_USER))
                return log_error_errno(-EOPNOTSUPP, "OCI config.json: process.user.uid %" PRIi64 " is not supported "
                                                    "(only 0; use --user= with a user name of the tree).",
                                       (int64_t) json_object_get_int64(uid));
        r = get_object(process, "noNewPrivileges", json_type_boolean, &nnp);
        if (r < 0)
                return r;
        if (nnp && !(o->cli & SETTING_NO_NEW_PRIVILEGES))
                c->no_new_privileges = json_object_get_boolean(nnp);
        return 0;
}

static int parse_hostname(OciContext *o, json_object *cfg) {
        SpawnConfig *c = o->config;
        const char *h;
        int r = get_string(cfg, "hostname", &h);

        if (r < 0 || !h || (o->cli & SETTING_HOSTNAME))
                return r;
        if (!hostname_is_valid(h))
                return log_error_errno(-EBADMSG, "OCI config.json: \"hostname\" is not a valid hostname.");
        return free_and_strdup(&c->hostname, h) < 0 ? log_oom() : 0;
}

/* berth makes these itself; a config.json lists them too. */
static bool is_api_path(const char *dest, bool below) {
        static const char *const api[] = { "/proc", "/sys", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys/fs/cgroup" };

        for (size_t i = 0; i < ELEMENTSOF(api); i++) {
                const char *rest = startswith(dest, api[i]);
                if (rest && (*rest == 0 || (below && *rest == '/' && i < 2)))
                        return true;
        }
        return false;
}

static int add_bind(OciContext *o, const char *dest, const char *source, char **options) {
        BindMount b = { .destination = (char *) dest, .read_only = strv_find(options, "ro") != NULL,
                        .recursive = strv_find(options, "rbind") != NULL };
        _cleanup_free_ char *abs = NULL;
        int r;

        if (is_api_path(dest, true))
                return log_error_errno(-EPERM, "OCI config.json: refusing to bind over %s, one of the machine's API "
                                               "file systems.", dest);
        r = bundle_path(o, "mount source", source, &abs);
        if (r < 0)
                return r;
        if (access(abs, F_OK) < 0)
                return log_error_errno(errno, "OCI config.json: mount source %s: %m", abs);
        b.source = abs;
        return spawn_config_add_bind(o->config, &b) < 0 ? log_oom() : 0;
}

static int add_tmpfs(OciContext *o, const char *dest, char **options) {
        _cleanup_strv_free_ char **keep = NULL;
        _cleanup_free_ char *opts = NULL;
        TmpfsMount t = { .destination = (char *) dest };

        STRV_FOREACH(opt, options)
                if ((startswith(*opt, "mode=") || startswith(*opt, "size=") || startswith(*opt, "nr_inodes=")) &&
                    !strchr(*opt, ',') && strv_extend(&keep, *opt) < 0)
                        return log_oom();
        if (keep && !(opts = strv_join(keep, ",")))
                return log_oom();
        t.options = opts;
        if (is_api_path(dest, true))
                return log_error_errno(-EPERM, "OCI config.json: refusing to mount over %s, one of the machine's API "
                                               "file systems.", dest);
        return spawn_config_add_tmpfs(o->config, &t) < 0 ? log_oom() : 0;
}

static int parse_mount(OciContext *o, json_object *m) {
        _cleanup_strv_free_ char **options = NULL;
        const char *dest, *type, *source;
        int r;

        if (json_object_get_type(m) != json_type_object)
                return log_error_errno(-EBADMSG, "OCI config.json: \"mounts\" must hold objects.");
        r = get_string(m, "destination", &dest);
        if (r >= 0)
                r = get_string(m, "type", &type);
        if (r >= 0)
                r = get_string(m, "source", &source);
        if (r >= 0)
                r = get_strv(m, "options", &options);
        if (r < 0)
                return r;
        if (!dest || !path_is_absolute(dest) || !path_is_normalized(dest) || streq(dest, "/") || string_has_cc(dest))
                return log_error_errno(-EPERM, "OCI config.json: mount destination \"%s\" must be an absolute, "
                                               "normalized path other than / (no \"..\").", strna(dest));
        if (streq_ptr(type, "bind") || strv_find(options, "bind") || strv_find(options, "rbind"))
                return add_bind(o, dest, source, options);
        if (is_api_path(dest, false) || (type && strv_find((char **) (const char *const[]) {
                        "proc", "sysfs", "devpts", "mqueue", "cgroup", "cgroup2", NULL }, type)))
                return 0; /* ours */
        if (streq_ptr(type, "tmpfs"))
                return add_tmpfs(o, dest, options);
        return log_error_errno(-EOPNOTSUPP, "OCI config.json: mounts of type \"%s\" (at %s) are not supported "
                                            "(bind and tmpfs are).", strna(type), dest);
}

static int parse_mounts(OciContext *o, json_object *cfg) {
        json_object *mounts;
        int r = get_object(cfg, "mounts", json_type_array, &mounts);

        for (size_t i = 0; r >= 0 && mounts && i < json_object_array_length(mounts); i++)
                r = parse_mount(o, json_object_array_get_idx(mounts, i));
        return r;
}

int spawn_oci_parse(SpawnConfig *c, const char *bundle, const char *json, size_t size) {
        _cleanup_(json_putp) json_object *cfg = NULL;
        OciContext o = { .config = c, .bundle = bundle, .cli = c->set_mask };
        json_tokener *tok = json_tokener_new_ex(32);
        const char *version;
        int r;

        if (!tok)
                return log_oom();
        cfg = json_tokener_parse_ex(tok, json, (int) size);
        if (!cfg || json_tokener_get_parse_end(tok) != size) {
                r = log_error_errno(-EBADMSG, "Failed to parse %s/config.json: %s.", bundle,
                                    json_tokener_error_desc(json_tokener_get_error(tok)));
                json_tokener_free(tok);
                return r;
        }
        json_tokener_free(tok);
        if (json_object_get_type(cfg) != json_type_object)
                return log_error_errno(-EBADMSG, "OCI config.json: not a JSON object.");
        r = get_string(cfg, "ociVersion", &version);
        if (r < 0)
                return r;
        if (!version || !startswith(version, "1."))
                return log_error_errno(-EOPNOTSUPP, "OCI config.json: ociVersion \"%s\" is not supported (1.x is).",
                                       strna(version));
        r = parse_root(&o, cfg);
        if (r >= 0)
                r = parse_process(&o, cfg);
        if (r >= 0)
                r = parse_hostname(&o, cfg);
        if (r >= 0)
                r = parse_mounts(&o, cfg);
        if (r < 0)
                return r;
        c->settings_mode = SETTINGS_NO; /* as nspawn: the bundle is the settings */
        return 0;
}

int spawn_oci_load(SpawnConfig *c) {
        _cleanup_close_ int dir = -EBADF, fd = -EBADF;
        _cleanup_free_ char *json = NULL, *name = NULL;
        struct stat st;
        size_t size;
        int r;

        dir = open(c->oci_bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
                return log_error_errno(errno, "OCI bundle %s: %m", c->oci_bundle);
        fd = openat(dir, "config.json", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return log_error_errno(errno, "OCI bundle %s: config.json: %m", c->oci_bundle);
        if (fstat(fd, &st) < 0)
                return log_error_errno(errno, "OCI bundle %s: config.json: %m", c->oci_bundle);
        if (!S_ISREG(st.st_mode))
                return log_error_errno(-EBADFD, "OCI bundle %s: config.json is not a regular file.", c->oci_bundle);
        r = read_full_fd(fd, OCI_CONFIG_MAX, &json, &size);
        if (r == -E2BIG)
                return log_error_errno(r, "OCI bundle %s: config.json is larger than %u bytes.", c->oci_bundle,
                                       OCI_CONFIG_MAX);
        if (r < 0)
                return log_error_errno(r, "OCI bundle %s: failed to read config.json: %m", c->oci_bundle);
        r = spawn_oci_parse(c, c->oci_bundle, json, size);
        if (r < 0)
                return r;
        /* The machine is named after the bundle (its root is usually "rootfs"). */
        if (!c->machine_name && path_extract_filename(c->oci_bundle, &name) >= 0)
                (void) hostname_cleanup(name, &c->machine_name);
        return 0;
}

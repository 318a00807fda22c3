/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc-util.h"
#include "hostname-util.h"
#include "layer-store.h"
#include "log.h"
#include "spawn-options.h"
#include "spawn-seccomp.h"
#include "parse-util.h"
#include "path-util.h"
#include "spawn-config.h"
#include "spawn-settings.h"
#include "string-util.h"
#include "strv.h"

#define DEFAULT_CAPS UINT64_C(0xfcecafff)
#define CAP_BIT(c) (UINT64_C(1) << (c))

static const char *const start_mode_table[_START_MODE_MAX] = {
        [START_PID1] = "pid1", [START_PID2] = "pid2", [START_BOOT] = "boot",
};
static const char *const console_mode_table[_CONSOLE_MODE_MAX] = {
        [CONSOLE_INTERACTIVE] = "interactive", [CONSOLE_READ_ONLY] = "read-only",
        [CONSOLE_PASSIVE] = "passive",         [CONSOLE_PIPE] = "pipe",
};
static const char *const register_table[_SPAWN_REGISTER_MAX] = {
        [SPAWN_REGISTER_NO] = "no", [SPAWN_REGISTER_YES] = "yes", [SPAWN_REGISTER_AUTO] = "auto",
};

static const char *const volatile_table[_VOLATILE_MODE_MAX] = {
        [VOLATILE_NO] = "no", [VOLATILE_YES] = "yes", [VOLATILE_STATE] = "state", [VOLATILE_OVERLAY] = "overlay",
};

const char *volatile_mode_to_string(VolatileMode m) {
        return m >= 0 && m < _VOLATILE_MODE_MAX ? volatile_table[m] : NULL;
}

VolatileMode volatile_mode_from_string(const char *s) {
        int b;

        for (int i = 0; i < _VOLATILE_MODE_MAX; i++)
                if (s && streq(s, volatile_table[i]))
                        return i;
        b = parse_boolean(s);
        if (b < 0)
                return _VOLATILE_MODE_INVALID;
        return b ? VOLATILE_YES : VOLATILE_NO;
}

const char *start_mode_to_string(StartMode m) {
        return m >= 0 && m < _START_MODE_MAX ? start_mode_table[m] : NULL;
}

const char *console_mode_to_string(ConsoleMode m) {
        return m >= 0 && m < _CONSOLE_MODE_MAX ? console_mode_table[m] : NULL;
}

ConsoleMode console_mode_from_string(const char *s) {
        for (int i = 0; i < _CONSOLE_MODE_MAX; i++)
                if (s && streq(s, console_mode_table[i]))
                        return i;
        return _CONSOLE_MODE_INVALID;
}

const char *spawn_register_to_string(SpawnRegister m) {
        return m >= 0 && m < _SPAWN_REGISTER_MAX ? register_table[m] : NULL;
}

SpawnRegister spawn_register_from_string(const char *s) {
        int b;

        if (s && streq(s, "auto"))
                return SPAWN_REGISTER_AUTO;
        b = parse_boolean(s);
        if (b < 0)
                return _SPAWN_REGISTER_INVALID;
        return b ? SPAWN_REGISTER_YES : SPAWN_REGISTER_NO;
}

void spawn_config_done(SpawnConfig *c) {
        for (size_t i = 0; i < c->n_binds; i++) {
                free(c->binds[i].source);
                free(c->binds[i].destination);
        }
        free(c->binds);
        for (size_t i = 0; i < c->n_tmpfs; i++) {
                free(c->tmpfs[i].destination);
                free(c->tmpfs[i].options);
        }
        free(c->tmpfs);
        free(c->directory);
        free(c->image);
        free(c->machine_name);
        free(c->hostname);
        free(c->working_directory);
        free(c->user);
        strv_free(c->setenv);
        strv_free(c->syscall_allow);
        strv_free(c->syscall_deny);
        strv_free(c->command);
        spawn_options_done(c);
        spawn_limits_done(&c->limits);
        *c = (SpawnConfig) {};
}

/* Splits "a:b:c" at unescaped colons ("\:" is a literal colon). */
static int split_colons(const char *spec, char *parts[3]) {
        size_t n = 0;
        char *cur = malloc(strlen(spec) + 1), *w;

        if (!cur)
                return -ENOMEM;
        parts[0] = parts[1] = parts[2] = NULL;
        w = cur;
        for (const char *p = spec;; p++) {
                if (*p == '\\' && p[1] == ':') {
                        *w++ = ':';
                        p++;
                        continue;
                }
                if (*p == ':' || *p == 0) {
                        *w = 0;
                        if (n >= 3) {
                                free(cur);
                                for (size_t i = 0; i < 3; i++)
                                        parts[i] = mfree(parts[i]);
                                return -EINVAL;
                        }
                        parts[n++] = cur;
                        if (*p == 0)
                                return (int) n;
                        cur = malloc(strlen(p) + 1);
                        if (!cur)
                                return -ENOMEM;
                        w = cur;
                        continue;
                }
                *w++ = *p;
        }
}

/* The API file systems are ours: nothing may be mounted on /proc, /sys or below, or on /dev itself
 * (a single device node below /dev is fine: --bind=/dev/fuse). */
static bool destination_is_allowed(const char *dst) {
        const char *rest;

        if (streq(dst, "/dev"))
                return false;
        for (const char *const *api = (const char *const[]) { "/proc", "/sys", NULL }; *api; api++)
                if ((rest = startswith(dst, *api)) && (*rest == 0 || *rest == '/'))
                        return false;
        return true;
}

int bind_mount_parse(const char *spec, bool read_only, BindMount *ret) {
        _cleanup_free_ char *src = NULL, *dst = NULL, *opts = NULL, *abs_src = NULL;
        char *parts[3];
        bool recursive = true, idmap = false, root_idmap = false;
        int n, r;

        n = split_colons(spec, parts);
        if (n < 0)
                return n;
        src = parts[0];
        dst = parts[1];
        opts = parts[2];
        if (isempty(src) || (n >= 2 && isempty(dst)))
                return -EINVAL;
        r = path_make_absolute_cwd(src, &abs_src);
        if (r < 0)
                return r;
        if (!dst && !(dst = strdup(abs_src)))
                return -ENOMEM;
        if (!path_is_absolute(dst) || !path_is_normalized(dst) || streq(dst, "/"))
                return -EINVAL;
        if (!destination_is_allowed(dst))
                return -EPERM;
        if (opts) {
                char *save = NULL;
                for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
                        if (streq(o, "rbind"))
                                recursive = true;
                        else if (streq(o, "norbind"))
                                recursive = false;
                        else if (streq(o, "idmap") || streq(o, "noidmap") || streq(o, "rootidmap")) {
                                idmap = !streq(o, "noidmap");
                                root_idmap = streq(o, "rootidmap");
                        }
                        else
                                return -EOPNOTSUPP;
                }
        }
        *ret = (BindMount) { .source = TAKE_PTR(abs_src), .destination = TAKE_PTR(dst),
                             .read_only = read_only, .recursive = recursive, .idmap = idmap,
                             .root_idmap = root_idmap };
        return 0;
}

int tmpfs_mount_parse(const char *spec, TmpfsMount *ret) {
        _cleanup_free_ char *dst = NULL, *opts = NULL;
        const char *colon = strchr(spec, ':');

        dst = colon ? strndup(spec, colon - spec) : strdup(spec);
        if (!dst)
                return -ENOMEM;
        if (!path_is_absolute(dst) || !path_is_normalized(dst) || streq(dst, "/"))
                return -EINVAL;
        if (!destination_is_allowed(dst))
                return -EPERM;
        if (colon) {
                if (isempty(colon + 1) || string_has_cc(colon + 1))
                        return -EINVAL;
                opts = strdup(colon + 1);
                if (!opts)
                        return -ENOMEM;
        }
        *ret = (TmpfsMount) { .destination = TAKE_PTR(dst), .options = TAKE_PTR(opts) };
        return 0;
}

int capability_list_parse(const char *spec, uint64_t *ret) {
        _cleanup_free_ char *copy = strdup(spec);
        uint64_t m = 0;
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        if (isempty(spec))
                return -EINVAL;
        for (char *n = strtok_r(copy, ",", &save); n; n = strtok_r(NULL, ",", &save)) {
                cap_value_t v;
                if (streq(n, "all")) {
                        m = UINT64_MAX;
                        continue;
                }
                if (cap_from_name(n, &v) < 0 || v < 0 || v > 63)
                        return -EINVAL;
                m |= CAP_BIT(v);
        }
        *ret = m;
        return 0;
}

/* As nspawn's --capability=help: every capability name this kernel knows, one a line. */
void capability_list_print(FILE *f) {
        for (cap_value_t v = 0; v < (cap_value_t) cap_max_bits(); v++) {
                char *n = cap_to_name(v);
                if (n)
                        fprintf(f, "%s\n", n);
                cap_free(n);
        }
}

uint64_t spawn_config_capabilities(const SpawnConfig *c) {
        uint64_t m = DEFAULT_CAPS;

        if (c->private_network)
                m |= CAP_BIT(CAP_NET_ADMIN);
        return (m | c->caps_add) & ~c->caps_drop;
}

static const char *const machine_search_path[] = {
        "/etc/machines", "/run/machines", "/var/lib/machines", "/usr/local/lib/machines", "/usr/lib/machines",
};

/* Without -D or -i: the image named like the machine in the search path (a directory NAME or a
 * disk image NAME.raw, as nspawn), else the cwd. */
static int default_directory(SpawnConfig *c) {
        char cwd[4096];

        if (c->machine_name)
                for (size_t i = 0; i < ELEMENTSOF(machine_search_path); i++) {
                        _cleanup_free_ char *p = path_join(machine_search_path[i], c->machine_name);
                        _cleanup_free_ char *raw = p ? strjoin(p, ".raw") : NULL;
                        struct stat st;
                        if (!p || !raw)
                                return log_oom();
                        if (stat(p, &st) >= 0 && S_ISDIR(st.st_mode)) {
                                c->directory = TAKE_PTR(p);
                                return 0;
                        }
                        if (stat(raw, &st) >= 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
                                c->image = TAKE_PTR(raw);
                                return 0;
                        }
                }
        if (!getcwd(cwd, sizeof cwd))
                return log_error_errno(errno, "Failed to determine the current directory: %m");
        c->directory = strdup(cwd);
        return c->directory ? 0 : log_oom();
}

static int verify_image(SpawnConfig *c) {
        struct stat st;

        if (stat(c->image, &st) < 0)
                return log_error_errno(errno, "Failed to access image %s: %m", c->image);
        if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
                return log_error_errno(-EBADFD, "Image %s is not a regular file or block device.", c->image);
        return 0;
}

static int verify_directory(SpawnConfig *c) {
        struct stat st;
        int r;

        if (c->directory && c->image)
                return log_error_errno(-EINVAL, "--directory= and --image= may not be combined.");
        if (!c->directory && !c->image) {
                r = default_directory(c);
                if (r < 0)
                        return r;
        }
        if (c->image)
                return verify_image(c);
        if (stat(c->directory, &st) < 0)
                return log_error_errno(errno, "Failed to access directory %s: %m", c->directory);
        if (!S_ISDIR(st.st_mode))
                return log_error_errno(-ENOTDIR, "%s is not a directory.", c->directory);
        if (streq(c->directory, "/"))
                return log_error_errno(-EINVAL, "Refusing to boot the host's root directory as a machine.");
        return 0;
}

/* Also returns the name the settings file goes by: the machine's, before -x adds its random suffix
 * (as nspawn: /run/systemd/nspawn/NAME.nspawn applies to "-D …/NAME -x"). */
static int verify_machine_name(SpawnConfig *c, char **ret_settings_name) {
        _cleanup_free_ char *base = NULL;
        int r;

        if (c->machine_name)
                return (*ret_settings_name = strdup(c->machine_name)) ? 0 : log_oom();
        r = path_extract_filename(c->directory ?: c->image, &base);
        if (r >= 0 && c->image && endswith(base, ".raw"))
                *endswith(base, ".raw") = 0;
        if (r >= 0)
                r = hostname_cleanup(base, &c->machine_name);
        if (r < 0)
                return log_error_errno(r, "Failed to determine a machine name from %s, please use -M.",
                                       c->directory ?: c->image);
        *ret_settings_name = strdup(c->machine_name);
        if (!*ret_settings_name)
                return log_oom();
        if (c->ephemeral) {
                /* As nspawn: many ephemeral machines may run from one image at once. */
                Id128 rnd;
                char hex[ID128_STRING_MAX], *n;
                if (id128_randomize(&rnd) < 0)
                        return log_error_errno(-EIO, "Failed to generate a random machine name suffix.");
                n = strjoin(c->machine_name, "-", id128_to_string(rnd, hex));
                if (!n)
                        return log_oom();
                n[MIN(strlen(n), (size_t) 64)] = 0;
                free(c->machine_name);
                c->machine_name = n;
        }
        return 0;
}

/* --private-users=yes takes the base from the tree's owner, as nspawn does (0: identity); an image
 * gets a picked range. chown changes a directory tree in place, so never an overlay or an image. */
static int verify_private_users(SpawnConfig *c) {
        struct stat st;

        /* A stacked image's upper layer stores the machine's shifted IDs: the range it was made with
         * is the machine's again. */
        if (c->private_users == PRIVATE_USERS_PICK && !c->ephemeral && c->directory) {
                _cleanup_free_ char *stack = path_join(c->directory, LAYER_STACK_FILE),
                                    *upper = path_join(c->directory, "upper");
                if (stack && upper && lstat(stack, &st) >= 0 && S_ISREG(st.st_mode) && lstat(upper, &st) >= 0 &&
                    S_ISDIR(st.st_mode) && (st.st_uid & 0xffff0000U) != 0) {
                        c->private_users = PRIVATE_USERS_FIXED;
                        c->uid_shift = st.st_uid & 0xffff0000U;
                        c->uid_range = 0x10000;
                }
        }

        if (c->private_users == PRIVATE_USERS_TREE) {
                if (!c->directory)
                        c->private_users = PRIVATE_USERS_PICK;
                else if (stat(c->directory, &st) < 0)
                        return log_error_errno(errno, "Failed to look at %s: %m", c->directory);
                else if ((st.st_uid & 0xffff0000U) != (st.st_gid & 0xffff0000U))
                        return log_error_errno(-EINVAL, "The UID and GID bases of %s (its owner %u:%u) differ; "
                                                        "use --private-users=pick.", c->directory,
                                               (unsigned) st.st_uid, (unsigned) st.st_gid);
                else if ((st.st_uid & 0xffff0000U) == 0)
                        c->private_users = PRIVATE_USERS_IDENTITY;
                else {
                        c->private_users = PRIVATE_USERS_FIXED;
                        c->uid_shift = st.st_uid & 0xffff0000U;
                        c->uid_range = 0x10000;
                }
        }
        /* A host device node bound in is owned by host root, whom a shifted machine does not map:
         * idmapped, its root can open it (as the root of the machine owns the machine's tree). */
        for (size_t i = 0; i < c->n_binds && IN_SET(c->private_users, PRIVATE_USERS_PICK, PRIVATE_USERS_FIXED); i++)
                if (stat(c->binds[i].source, &st) >= 0 && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)))
                        c->binds[i].idmap = true;
        if (c->user_ownership == USER_OWNERSHIP_CHOWN && c->private_users != PRIVATE_USERS_NO &&
            (!c->directory || c->ephemeral || c->volatile_mode != VOLATILE_NO || c->read_only))
                return log_error_errno(-EINVAL, "--private-users-ownership=chown changes a directory tree in place: "
                                                "not with -i, -x, --volatile= or --read-only (use map).");
        return 0;
}

/* The option wins; then nspawn's $SYSTEMD_NSPAWN_UNIFIED_HIERARCHY (a boolean, formerly
 * $UNIFIED_CGROUP_HIERARCHY); else the tree decides (auto). */
static int verify_cgroup_view(SpawnConfig *c) {
        static const char *const vars[] = { "SYSTEMD_NSPAWN_UNIFIED_HIERARCHY", "UNIFIED_CGROUP_HIERARCHY" };
        int r;

        if (c->cgroup_view >= 0)
                return 0;
        c->cgroup_view = CGROUP_VIEW_AUTO;
        for (size_t i = 0; i < ELEMENTSOF(vars); i++) {
                const char *e = getenv(vars[i]);
                if (isempty(e))
                        continue;
                r = parse_boolean(e);
                if (r < 0)
                        return log_error_errno(r, "Failed to parse $%s='%s': use yes or no.", vars[i], e);
                c->cgroup_view = r ? CGROUP_VIEW_UNIFIED : CGROUP_VIEW_HOST;
                return 0;
        }
        return 0;
}

/* The $SYSTEMD_NSPAWN_* knobs nspawn 252 reads that berth honours (the others: berth-spawn(1)). */
static int verify_environment_knobs(SpawnConfig *c) {
        const char *e = getenv("SYSTEMD_NSPAWN_TMPFS_TMP");
        int r;

        if (!isempty(e)) {
                r = parse_boolean(e);
                if (r < 0)
                        return log_error_errno(r, "Failed to parse $SYSTEMD_NSPAWN_TMPFS_TMP='%s': use yes or no.", e);
                c->no_tmpfs_tmp = !r;
        }
        /* nspawn's debugging knob: true leaves /sys, /proc/sys and the rest writable, "network" only
         * /proc/sys/net (which a private network gets anyway). */
        e = getenv("SYSTEMD_NSPAWN_API_VFS_WRITABLE");
        if (streq_ptr(e, "network"))
                c->api_vfs_net_writable = true;
        else if (!isempty(e)) {
                r = parse_boolean(e);
                if (r < 0)
                        return log_error_errno(r, "Failed to parse $SYSTEMD_NSPAWN_API_VFS_WRITABLE='%s': use yes, no or network.", e);
                c->api_vfs_writable = r;
        }
        e = getenv("SYSTEMD_NSPAWN_LOCK");
        if (!isempty(e)) {
                r = parse_boolean(e);
                if (r < 0)
                        return log_error_errno(r, "Failed to parse $SYSTEMD_NSPAWN_LOCK='%s': use yes or no.", e);
                c->no_image_lock = !r;
        }
        e = getenv("SYSTEMD_NSPAWN_CONTAINER_SERVICE");
        c->container_service = isempty(e) ? "berth" : e;
        return 0;
}

int spawn_config_verify(SpawnConfig *c) {
        int r;

        r = spawn_options_prepare(c);
        if (r < 0)
                return r;
        r = verify_directory(c);
        if (r < 0)
                return r;
        {
                _cleanup_free_ char *settings_name = NULL;
                r = verify_machine_name(c, &settings_name);
                if (r < 0)
                        return r;
                r = spawn_settings_load(c, settings_name, c->settings_mode);
                if (r < 0)
                        return r;
        }

        if (c->start_mode == START_BOOT && c->user)
                return log_error_errno(-EINVAL, "--boot and --user= may not be combined.");
        if (c->start_mode == START_BOOT && c->working_directory)
                return log_error_errno(-EINVAL, "--boot and --chdir= may not be combined.");

        if (c->ephemeral && c->volatile_mode != VOLATILE_NO)
                return log_error_errno(-EINVAL, "--ephemeral and --volatile= may not be combined.");
        if (c->ephemeral && c->read_only)
                return log_error_errno(-EINVAL, "--ephemeral and --read-only may not be combined.");
        r = verify_private_users(c);
        if (r < 0)
                return r;
        r = spawn_options_verify(c);
        if (r < 0)
                return r;
        r = verify_cgroup_view(c);
        if (r < 0)
                return r;
        r = verify_environment_knobs(c);
        if (r < 0)
                return r;

        if (c->console_mode < 0)
                /* Both terminals: interactive. A terminal on stdin only: read-only, so the machine never
                 * gets our terminal itself (where TIOCSTI could type into the invoking shell). */
                c->console_mode = !isatty(STDIN_FILENO) ? CONSOLE_PIPE
                                  : isatty(STDOUT_FILENO) ? CONSOLE_INTERACTIVE : CONSOLE_READ_ONLY;
        else if (c->console_mode == CONSOLE_INTERACTIVE && !isatty(STDIN_FILENO))
                return log_error_errno(-ENOTTY, "--console=interactive needs standard input to be a "
                                                "terminal; use --console=pipe or --console=passive.");

        if (c->register_mode < 0)
                c->register_mode = SPAWN_REGISTER_AUTO;
        if (c->shutdown_timeout_usec == 0)
                c->shutdown_timeout_usec = 30 * UINT64_C(1000000);
        return 0;
}

int spawn_config_add_bind(SpawnConfig *c, const BindMount *b) {
        BindMount *l = realloc(c->binds, sizeof(BindMount) * (c->n_binds + 1));

        if (!l)
                return -ENOMEM;
        c->binds = l;
        c->binds[c->n_binds] = (BindMount) { .source = strdup(b->source), .destination = strdup(b->destination),
                                             .read_only = b->read_only, .recursive = b->recursive,
                                             .idmap = b->idmap, .root_idmap = b->root_idmap };
        if (!c->binds[c->n_binds].source || !c->binds[c->n_binds].destination) {
                free(c->binds[c->n_binds].source);
                free(c->binds[c->n_binds].destination);
                return -ENOMEM;
        }
        c->n_binds++;
        return 0;
}

int spawn_config_add_tmpfs(SpawnConfig *c, const TmpfsMount *t) {
        TmpfsMount *l = realloc(c->tmpfs, sizeof(TmpfsMount) * (c->n_tmpfs + 1));

        if (!l)
                return -ENOMEM;
        c->tmpfs = l;
        c->tmpfs[c->n_tmpfs] = (TmpfsMount) { .destination = strdup(t->destination),
                                              .options = t->options ? strdup(t->options) : NULL };
        if (!c->tmpfs[c->n_tmpfs].destination || (t->options && !c->tmpfs[c->n_tmpfs].options)) {
                free(c->tmpfs[c->n_tmpfs].destination);
                free(c->tmpfs[c->n_tmpfs].options);
                return -ENOMEM;
        }
        c->n_tmpfs++;
        return 0;
}

int syscall_filter_parse(const char *s, char ***allow, char ***deny) {
        bool d = s[0] == '~';
        _cleanup_free_ char *copy = strdup(d ? s + 1 : s);
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *w = strtok_r(copy, " ,", &save); w; w = strtok_r(NULL, " ,", &save)) {
                if (!spawn_seccomp_name_is_valid(w))
                        return -EINVAL;
                if (strv_extend(d ? deny : allow, w) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static const char *const user_ownership_table[_USER_OWNERSHIP_MAX] = {
        [USER_OWNERSHIP_AUTO] = "auto", [USER_OWNERSHIP_MAP] = "map",
        [USER_OWNERSHIP_CHOWN] = "chown", [USER_OWNERSHIP_OFF] = "off",
};

const char *user_ownership_to_string(UserOwnership m) {
        return m >= 0 && m < _USER_OWNERSHIP_MAX ? user_ownership_table[m] : NULL;
}

UserOwnership user_ownership_from_string(const char *s) {
        for (int i = 0; i < _USER_OWNERSHIP_MAX; i++)
                if (s && streq(s, user_ownership_table[i]))
                        return i;
        return _USER_OWNERSHIP_INVALID;
}

static const char *const cgroup_view_table[_CGROUP_VIEW_MAX] = {
        [CGROUP_VIEW_AUTO] = "auto",
        [CGROUP_VIEW_HOST] = "no",
        [CGROUP_VIEW_UNIFIED] = "yes",
};

const char *cgroup_view_to_string(CgroupView v) {
        return v >= 0 && v < _CGROUP_VIEW_MAX ? cgroup_view_table[v] : NULL;
}

CgroupView cgroup_view_from_string(const char *s) {
        int b;

        if (!s)
                return _CGROUP_VIEW_INVALID;
        if (streq(s, "auto"))
                return CGROUP_VIEW_AUTO;
        b = parse_boolean(s);
        if (b < 0)
                return _CGROUP_VIEW_INVALID;
        return b ? CGROUP_VIEW_UNIFIED : CGROUP_VIEW_HOST;
}

int private_users_parse(const char *s, PrivateUsers *ret_mode, uint32_t *ret_shift, uint32_t *ret_range) {
        unsigned base, range = 0x10000;
        const char *colon;
        int b;

        if (isempty(s))
                return -EINVAL;
        if (streq(s, "pick")) {
                *ret_mode = PRIVATE_USERS_PICK;
                return 0;
        }
        if (streq(s, "identity")) {
                *ret_mode = PRIVATE_USERS_IDENTITY;
                return 0;
        }
        b = parse_boolean(s);
        if (b >= 0) {
                *ret_mode = b ? PRIVATE_USERS_TREE : PRIVATE_USERS_NO;
                return 0;
        }
        colon = strchr(s, ':');
        {
                _cleanup_free_ char *head = colon ? strndup(s, colon - s) : strdup(s);
                if (!head)
                        return -ENOMEM;
                if (safe_atou(head, &base) < 0 || (colon && safe_atou(colon + 1, &range) < 0))
                        return -EINVAL;
        }
        if (range != 0x10000 || base == 0 || base % 0x10000 != 0 || (uint64_t) base + range > UINT32_MAX)
                return -ERANGE;
        *ret_mode = PRIVATE_USERS_FIXED;
        *ret_shift = base;
        *ret_range = range;
        return 0;
}

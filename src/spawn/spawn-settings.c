/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "hostname-util.h"
#include "log.h"
#include "parse-util.h"
#include "path-util.h"
#include "spawn-settings.h"
#include "string-util.h"
#include "strv.h"

#define SETTINGS_LINE_MAX (64 * 1024)

static const char *const settings_mode_table[_SETTINGS_MODE_MAX] = {
        [SETTINGS_NO] = "no", [SETTINGS_YES] = "yes", [SETTINGS_TRUSTED] = "trusted", [SETTINGS_OVERRIDE] = "override",
};

const char *settings_mode_to_string(SettingsMode m) {
        return m >= 0 && m < _SETTINGS_MODE_MAX ? settings_mode_table[m] : NULL;
}

SettingsMode settings_mode_from_string(const char *s) {
        for (int i = 0; i < _SETTINGS_MODE_MAX; i++)
                if (s && streq(s, settings_mode_table[i]))
                        return i;
        return _SETTINGS_MODE_INVALID;
}

typedef struct SettingsLine {
        const char *file;
        unsigned line;
        bool trusted;
} SettingsLine;

static int parse_bool_into(const char *v, bool *ret) {
        int b = parse_boolean(v);
        if (b < 0)
                return b;
        *ret = b;
        return 0;
}

/* Each handler parses one value into s; returns the mask bit it set, or <0 if the value is bad. */
static int set_exec(SpawnConfig *s, const char *key, const char *v) {
        bool b;
        int r;

        if (streq(key, "Boot")) {
                if (parse_bool_into(v, &b) < 0)
                        return -EINVAL;
                s->start_mode = b ? START_BOOT : START_PID1;
                return SETTING_START_MODE;
        }
        if (streq(key, "ProcessTwo")) {
                if (parse_bool_into(v, &b) < 0)
                        return -EINVAL;
                s->start_mode = b ? START_PID2 : START_PID1;
                return SETTING_START_MODE;
        }
        if (streq(key, "Parameters")) {
                char **l = NULL;
                r = strv_split_quoted(v, &l);
                if (r < 0)
                        return r;
                strv_free(s->command);
                s->command = l;
                return SETTING_COMMAND;
        }
        if (streq(key, "Environment")) {
                if (!env_assignment_is_valid(v))
                        return -EINVAL;
                return strv_env_replace(&s->setenv, v) < 0 ? -ENOMEM : SETTING_ENVIRONMENT;
        }
        if (streq(key, "User")) {
                if (isempty(v) || string_has_cc(v) || strchr(v, ':') || strchr(v, '/'))
                        return -EINVAL;
                return free_and_strdup(&s->user, v) < 0 ? -ENOMEM : SETTING_USER;
        }
        if (streq(key, "WorkingDirectory")) {
                if (!path_is_safe_absolute(v))
                        return -EINVAL;
                return free_and_strdup(&s->working_directory, v) < 0 ? -ENOMEM : SETTING_WORKING_DIRECTORY;
        }
        if (streq(key, "Hostname")) {
                if (!hostname_is_valid(v))
                        return -EINVAL;
                return free_and_strdup(&s->hostname, v) < 0 ? -ENOMEM : SETTING_HOSTNAME;
        }
        if (streq(key, "KillSignal")) {
                r = signal_from_string(v);
                if (r < 0)
                        return -EINVAL;
                s->kill_signal = r;
                return SETTING_KILL_SIGNAL;
        }
        if (streq(key, "NotifyReady"))
                return parse_bool_into(v, &s->notify_ready) < 0 ? -EINVAL : SETTING_NOTIFY_READY;
        if (streq(key, "NoNewPrivileges"))
                return parse_bool_into(v, &s->no_new_privileges) < 0 ? -EINVAL : SETTING_NO_NEW_PRIVILEGES;
        if (streq(key, "Capability")) {
                uint64_t m;
                if (capability_list_parse(v, &m) < 0)
                        return -EINVAL;
                s->caps_add |= m;
                return SETTING_CAPABILITY;
        }
        if (streq(key, "DropCapability")) {
                uint64_t m;
                if (capability_list_parse(v, &m) < 0)
                        return -EINVAL;
                s->caps_drop |= m;
                return SETTING_DROP_CAPABILITY;
        }
        if (streq(key, "PrivateUsers")) {
                if (private_users_parse(v, &s->private_users, &s->uid_shift, &s->uid_range) < 0)
                        return -EINVAL;
                return SETTING_PRIVATE_USERS;
        }
        if (streq(key, "SystemCallFilter")) {
                r = syscall_filter_parse(v, &s->syscall_allow, &s->syscall_deny);
                return r < 0 ? r : SETTING_SYSCALL_FILTER;
        }
        if (streq(key, "AmbientCapability")) {
                uint64_t m;
                if (capability_list_parse(v, &m) < 0)
                        return -EINVAL;
                s->caps_ambient |= m;
                return SETTING_AMBIENT_CAPABILITY;
        }
        if (streq(key, "MachineID")) {
                if (id128_from_string(v, &s->uuid) < 0 || id128_is_null(s->uuid))
                        return -EINVAL;
                return SETTING_UUID;
        }
        return -ENOENT;
}

static int set_files(SpawnConfig *s, const char *key, const char *v) {
        if (streq(key, "PrivateUsersOwnership")) {
                s->user_ownership = user_ownership_from_string(v);
                return s->user_ownership < 0 ? -EINVAL : SETTING_USER_OWNERSHIP;
        }
        if (streq(key, "PrivateUsersChown")) { /* the older name */
                int b = parse_boolean(v);
                if (b < 0)
                        return -EINVAL;
                s->user_ownership = b ? USER_OWNERSHIP_CHOWN : USER_OWNERSHIP_AUTO;
                return SETTING_USER_OWNERSHIP;
        }
        if (streq(key, "ReadOnly"))
                return parse_bool_into(v, &s->read_only) < 0 ? -EINVAL : SETTING_READ_ONLY;
        if (streq(key, "Volatile")) {
                VolatileMode m = volatile_mode_from_string(v);
                if (m < 0)
                        return -EINVAL;
                s->volatile_mode = m;
                return SETTING_VOLATILE;
        }
        if (streq(key, "Bind") || streq(key, "BindReadOnly")) {
                BindMount b;
                int r = bind_mount_parse(v, streq(key, "BindReadOnly"), &b);
                if (r < 0 || !path_is_absolute(v))
                        return r < 0 ? r : -EINVAL;
                r = spawn_config_add_bind(s, &b);
                free(b.source);
                free(b.destination);
                return r < 0 ? r : SETTING_BIND;
        }
        if (streq(key, "TemporaryFileSystem")) {
                TmpfsMount t;
                int r = tmpfs_mount_parse(v, &t);
                if (r < 0)
                        return r;
                r = spawn_config_add_tmpfs(s, &t);
                free(t.destination);
                free(t.options);
                return r < 0 ? r : SETTING_TMPFS;
        }
        return -ENOENT;
}

static int set_network(SpawnConfig *s, const char *key, const char *v) {
        if (streq(key, "Private"))
                return parse_bool_into(v, &s->private_network) < 0 ? -EINVAL : SETTING_PRIVATE_NETWORK;
        return -ENOENT;
}

/* Keys a file beside an image may not set: they would give the machine more than the admin gave. */
static bool key_is_privileged(const char *section, const char *key) {
        static const char *const privileged[] = {
                "Exec/Capability", "Exec/AmbientCapability", "Exec/SystemCallFilter", "Exec/PrivateUsers",
                "Files/Bind", "Files/BindReadOnly", "Files/PrivateUsersOwnership", "Files/PrivateUsersChown",
        };
        for (size_t i = 0; i < ELEMENTSOF(privileged); i++) {
                size_t l = strlen(section);
                if (strneq(privileged[i], section, l) && privileged[i][l] == '/' && streq(privileged[i] + l + 1, key))
                        return true;
        }
        return false;
}

static int parse_assignment(SpawnConfig *s, const SettingsLine *at, const char *section, char *line) {
        char *eq = strchr(line, '='), *key = line, *value;
        int r;

        if (!eq) {
                log_warning("%s:%u: not a KEY=VALUE line, ignoring.", at->file, at->line);
                return 0;
        }
        *eq = 0;
        value = eq + 1;
        strstrip_trailing(key);
        while (*value == ' ' || *value == '\t')
                value++;
        if (!section) {
                log_warning("%s:%u: assignment outside of a section, ignoring.", at->file, at->line);
                return 0;
        }
        if (!at->trusted && key_is_privileged(section, key)) {
                log_warning("%s:%u: %s= is ignored in a settings file that is not in /etc/systemd/nspawn or "
                            "/run/systemd/nspawn.", at->file, at->line, key);
                return 0;
        }
        if (streq(section, "Exec"))
                r = set_exec(s, key, value);
        else if (streq(section, "Files"))
                r = set_files(s, key, value);
        else if (streq(section, "Network"))
                r = set_network(s, key, value);
        else
                r = -ENOENT;
        if (r == -ENOMEM)
                return log_oom();
        if (r == -ENOENT)
                log_warning("%s:%u: unknown or unsupported setting [%s] %s=, ignoring.", at->file, at->line,
                            section, key);
        else if (r < 0)
                log_warning("%s:%u: invalid value for %s=, ignoring: %s", at->file, at->line, key, value);
        else
                s->set_mask |= (SettingMask) r;
        return 0;
}

int settings_parse(FILE *f, const char *filename, bool trusted, SpawnConfig *s) {
        _cleanup_free_ char *buf = NULL, *section = NULL;
        SettingsLine at = { .file = filename, .trusted = trusted };
        size_t cap = 0;
        ssize_t n;
        int r;

        while ((n = getline(&buf, &cap, f)) >= 0) {
                char *l = buf;

                at.line++;
                if ((size_t) n > SETTINGS_LINE_MAX)
                        return log_error_errno(-E2BIG, "%s:%u: line too long.", filename, at.line);
                if (strlen(buf) != (size_t) n)
                        return log_error_errno(-EBADMSG, "%s:%u: NUL byte in settings file.", filename, at.line);
                strstrip_trailing(l);
                while (*l == ' ' || *l == '\t')
                        l++;
                if (*l == 0 || *l == '#' || *l == ';')
                        continue;
                if (*l == '[') {
                        char *end = strchr(l, ']');
                        if (!end || end[1]) {
                                log_warning("%s:%u: bad section header, ignoring.", filename, at.line);
                                continue;
                        }
                        *end = 0;
                        if (free_and_strdup(&section, l + 1) < 0)
                                return log_oom();
                        continue;
                }
                r = parse_assignment(s, &at, section, l);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int merge_strv(char ***dst, char *const *src) {
        STRV_FOREACH(e, (char **) src)
                if (strv_env_replace(dst, *e) < 0)
                        return -ENOMEM;
        return 0;
}

int spawn_settings_merge(SpawnConfig *c, const SpawnConfig *s, bool override) {
        SettingMask take = override ? s->set_mask : s->set_mask & ~c->set_mask;
        int r = 0;

        if (take & SETTING_START_MODE)
                c->start_mode = s->start_mode;
        if (take & SETTING_COMMAND) {
                strv_free(c->command);
                c->command = strv_copy(s->command);
                if (s->command && !c->command)
                        return -ENOMEM;
        }
        if (take & SETTING_ENVIRONMENT)
                r = r ?: merge_strv(&c->setenv, s->setenv);
        if (take & SETTING_USER)
                r = r ?: free_and_strdup(&c->user, s->user);
        if (take & SETTING_WORKING_DIRECTORY)
                r = r ?: free_and_strdup(&c->working_directory, s->working_directory);
        if (take & SETTING_HOSTNAME)
                r = r ?: free_and_strdup(&c->hostname, s->hostname);
        if (take & SETTING_KILL_SIGNAL)
                c->kill_signal = s->kill_signal;
        if (take & SETTING_NOTIFY_READY)
                c->notify_ready = s->notify_ready;
        if (take & SETTING_NO_NEW_PRIVILEGES)
                c->no_new_privileges = s->no_new_privileges;
        if (take & SETTING_CAPABILITY)
                c->caps_add |= s->caps_add;
        if (take & SETTING_DROP_CAPABILITY)
                c->caps_drop |= s->caps_drop;
        if (take & SETTING_READ_ONLY)
                c->read_only = s->read_only;
        if (take & SETTING_VOLATILE)
                c->volatile_mode = s->volatile_mode;
        if (take & SETTING_PRIVATE_NETWORK)
                c->private_network = s->private_network;
        if (take & SETTING_UUID)
                c->uuid = s->uuid;
        if (take & SETTING_PRIVATE_USERS) {
                c->private_users = s->private_users;
                c->uid_shift = s->uid_shift;
                c->uid_range = s->uid_range;
        }
        if (take & SETTING_USER_OWNERSHIP)
                c->user_ownership = s->user_ownership;
        if (take & SETTING_AMBIENT_CAPABILITY) {
                c->caps_ambient |= s->caps_ambient;
                c->caps_add |= s->caps_ambient; /* as nspawn: ambient implies the bounding set */
        }
        for (size_t i = 0; (take & SETTING_SYSCALL_FILTER) && s->syscall_allow && s->syscall_allow[i] && r >= 0; i++)
                r = strv_extend(&c->syscall_allow, s->syscall_allow[i]);
        for (size_t i = 0; (take & SETTING_SYSCALL_FILTER) && s->syscall_deny && s->syscall_deny[i] && r >= 0; i++)
                r = strv_extend(&c->syscall_deny, s->syscall_deny[i]);
        for (size_t i = 0; (take & SETTING_BIND) && i < s->n_binds && r >= 0; i++)
                r = spawn_config_add_bind(c, &s->binds[i]);
        for (size_t i = 0; (take & SETTING_TMPFS) && i < s->n_tmpfs && r >= 0; i++)
                r = spawn_config_add_tmpfs(c, &s->tmpfs[i]);
        return r;
}

static int load_file(const char *path, bool trusted, SpawnConfig *s) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        struct stat st;

        if (fd < 0)
                return errno == ENOENT ? 0 : log_error_errno(errno, "Failed to open %s: %m", path);
        if (fstat(fd, &st) < 0)
                return log_error_errno(errno, "Failed to stat %s: %m", path);
        if (!S_ISREG(st.st_mode))
                return log_error_errno(-EBADFD, "%s is not a regular file.", path);
        f = fdopen(fd, "r");
        if (!f)
                return log_oom();
        TAKE_FD(fd);
        log_debug("Reading settings from %s (%s).", path, trusted ? "trusted" : "untrusted");
        return settings_parse(f, path, trusted, s) < 0 ? -EINVAL : 1;
}

int spawn_settings_load(SpawnConfig *c, SettingsMode mode) {
        static const char *const trusted_dirs[] = { "/etc/systemd/nspawn", "/run/systemd/nspawn" };
        _cleanup_free_ char *name = NULL, *beside = NULL;
        SpawnConfig s = {};
        const char *image = c->directory ?: c->image;
        int r = 0;

        if (mode == SETTINGS_NO)
                return 0;
        name = strjoin(c->machine_name, ".nspawn");
        if (!name)
                return log_oom();
        for (size_t i = 0; i < ELEMENTSOF(trusted_dirs) && r == 0; i++) {
                _cleanup_free_ char *p = path_join(trusted_dirs[i], name);
                if (!p)
                        return log_oom();
                r = load_file(p, true, &s);
        }
        if (r == 0 && image) {
                /* Beside the image: /var/lib/machines/NAME.nspawn for /var/lib/machines/NAME(.raw). */
                _cleanup_free_ char *dir = strdup(image);
                char *slash = dir ? strrchr(dir, '/') : NULL;
                if (!dir)
                        return log_oom();
                if (slash) {
                        *slash = 0;
                        beside = path_join(*dir ? dir : "/", name);
                        if (!beside)
                                return log_oom();
                        r = load_file(beside, mode == SETTINGS_TRUSTED, &s);
                }
        }
        if (r > 0)
                r = spawn_settings_merge(c, &s, mode == SETTINGS_OVERRIDE) < 0 ? log_oom() : 0;
        spawn_config_done(&s);
        return r < 0 ? r : 0;
}

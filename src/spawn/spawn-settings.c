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
#include "spawn-options.h"
#include "spawn-overlay.h"
#include "spawn-settings.h"
#include "spawn-zone.h"
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

/* One parser a key: reads value into s; 0, or a negative errno (-EINVAL: a bad value). */
typedef int (*SettingParser)(SpawnConfig *s, const char *key, const char *value);

static int parse_boot(SpawnConfig *s, const char *key, const char *v) {
        bool b;

        if (parse_bool_into(v, &b) < 0)
                return -EINVAL;
        s->start_mode = b ? START_BOOT : START_PID1;
        return 0;
}

static int parse_process_two(SpawnConfig *s, const char *key, const char *v) {
        bool b;

        if (parse_bool_into(v, &b) < 0)
                return -EINVAL;
        s->start_mode = b ? START_PID2 : START_PID1;
        return 0;
}

static int parse_parameters(SpawnConfig *s, const char *key, const char *v) {
        char **l = NULL;
        int r;

        r = strv_split_quoted(v, &l);
        if (r < 0)
                return r;
        strv_free(s->command);
        s->command = l;
        return 0;
}

/* As nspawn: one or more assignments, unquoted like Parameters= (BAZ="hello world" is BAZ=hello world). */
static int parse_environment(SpawnConfig *s, const char *key, const char *v) {
        _cleanup_strv_free_ char **l = NULL;
        int r;

        r = strv_split_quoted(v, &l);
        if (r < 0)
                return r;
        if (strv_length(l) == 0)
                return -EINVAL;
        STRV_FOREACH(a, l)
                if (!env_assignment_is_valid(*a))
                        return -EINVAL;
        STRV_FOREACH(a, l)
                if (strv_env_replace(&s->setenv, *a) < 0)
                        return -ENOMEM;
        return 0;
}

static int parse_user(SpawnConfig *s, const char *key, const char *v) {
        if (isempty(v) || string_has_cc(v) || strchr(v, ':') || strchr(v, '/'))
                return -EINVAL;
        return free_and_strdup(&s->user, v) < 0 ? -ENOMEM : 0;
}

static int parse_working_directory(SpawnConfig *s, const char *key, const char *v) {
        if (!path_is_safe_absolute(v))
                return -EINVAL;
        return free_and_strdup(&s->working_directory, v) < 0 ? -ENOMEM : 0;
}

static int parse_hostname(SpawnConfig *s, const char *key, const char *v) {
        if (!hostname_is_valid(v))
                return -EINVAL;
        return free_and_strdup(&s->hostname, v) < 0 ? -ENOMEM : 0;
}

static int parse_kill_signal(SpawnConfig *s, const char *key, const char *v) {
        int sig = signal_from_string(v);

        if (sig < 0)
                return -EINVAL;
        s->kill_signal = sig;
        return 0;
}

static int parse_notify_ready(SpawnConfig *s, const char *key, const char *v) {
        return parse_bool_into(v, &s->notify_ready) < 0 ? -EINVAL : 0;
}

static int parse_no_new_privileges(SpawnConfig *s, const char *key, const char *v) {
        return parse_bool_into(v, &s->no_new_privileges) < 0 ? -EINVAL : 0;
}

/* Capability=, DropCapability=, AmbientCapability=: each adds to its own set. */
static int parse_capabilities(SpawnConfig *s, const char *key, const char *v) {
        uint64_t m;

        if (capability_list_parse(v, &m) < 0)
                return -EINVAL;
        if (streq(key, "Capability"))
                s->caps_add |= m;
        else if (streq(key, "DropCapability"))
                s->caps_drop |= m;
        else
                s->caps_ambient |= m;
        return 0;
}

static int parse_private_users(SpawnConfig *s, const char *key, const char *v) {
        return private_users_parse(v, &s->private_users, &s->uid_shift, &s->uid_range) < 0 ? -EINVAL : 0;
}

static int parse_system_call_filter(SpawnConfig *s, const char *key, const char *v) {
        return syscall_filter_parse(v, &s->syscall_allow, &s->syscall_deny);
}

static int parse_machine_id(SpawnConfig *s, const char *key, const char *v) {
        if (id128_from_string(v, &s->uuid) < 0 || id128_is_null(s->uuid))
                return -EINVAL;
        return 0;
}

static int parse_private_users_ownership(SpawnConfig *s, const char *key, const char *v) {
        s->user_ownership = user_ownership_from_string(v);
        return s->user_ownership < 0 ? -EINVAL : 0;
}

static int parse_private_users_chown(SpawnConfig *s, const char *key, const char *v) {
        int b = parse_boolean(v);

        if (b < 0)
                return -EINVAL;
        s->user_ownership = b ? USER_OWNERSHIP_CHOWN : USER_OWNERSHIP_AUTO;
        return 0;
}

static int parse_read_only(SpawnConfig *s, const char *key, const char *v) {
        return parse_bool_into(v, &s->read_only) < 0 ? -EINVAL : 0;
}

static int parse_volatile(SpawnConfig *s, const char *key, const char *v) {
        VolatileMode m = volatile_mode_from_string(v);

        if (m < 0)
                return -EINVAL;
        s->volatile_mode = m;
        return 0;
}

static int parse_bind(SpawnConfig *s, const char *key, const char *v) {
        BindMount b;
        int r;

        r = bind_mount_parse(v, streq(key, "BindReadOnly"), &b);
        if (r < 0 || !path_is_absolute(v))
                return r < 0 ? r : -EINVAL;
        r = spawn_config_add_bind(s, &b);
        free(b.source);
        free(b.destination);
        return r;
}

static int parse_temporary_file_system(SpawnConfig *s, const char *key, const char *v) {
        TmpfsMount t;
        int r;

        r = tmpfs_mount_parse(v, &t);
        if (r < 0)
                return r;
        r = spawn_config_add_tmpfs(s, &t);
        free(t.destination);
        free(t.options);
        return r;
}

static int parse_private_network(SpawnConfig *s, const char *key, const char *v) {
        return parse_bool_into(v, &s->private_network) < 0 ? -EINVAL : 0;
}

static int parse_pivot_root(SpawnConfig *s, const char *key, const char *v) {
        return pivot_root_parse(v, &s->pivot_root_new, &s->pivot_root_old);
}

static int parse_personality(SpawnConfig *s, const char *key, const char *v) {
        int p = personality_from_string(v);

        if (p < 0)
                return p;
        s->personality = p;
        return 0;
}

static int parse_timezone(SpawnConfig *s, const char *key, const char *v) {
        TimezoneMode m = timezone_mode_from_string(v);

        if (m < 0)
                return -EINVAL;
        s->timezone_mode = m;
        return 0;
}

static int parse_link_journal(SpawnConfig *s, const char *key, const char *v) {
        LinkJournal m = link_journal_from_string(v);

        if (m < 0)
                return -EINVAL;
        s->link_journal = m;
        return 0;
}

static int parse_suppress_sync(SpawnConfig *s, const char *key, const char *v) {
        return parse_bool_into(v, &s->suppress_sync) < 0 ? -EINVAL : 0;
}

static int parse_inaccessible(SpawnConfig *s, const char *key, const char *v) {
        char *p = NULL;
        int r = inaccessible_parse(v, &p);

        return r < 0 ? r : strv_consume(&s->inaccessible, p);
}

static int parse_port(SpawnConfig *s, const char *key, const char *v) {
        return expose_ports_add(&s->ports, v);
}

static int parse_bridge(SpawnConfig *s, const char *key, const char *v) {
        if (isempty(v) || strlen(v) >= IFNAMSIZ || strchr(v, '/'))
                return -EINVAL;
        strcpy(s->network_bridge, v);
        s->network_veth = true;
        return 0;
}

static int parse_zone(SpawnConfig *s, const char *key, const char *v) {
        if (spawn_network_zone_name_check(v) < 0)
                return -EINVAL;
        strcpy(s->network_zone, v);
        s->network_veth = true;
        return 0;
}

static int parse_network_link(SpawnConfig *s, const char *key, const char *v) {
        int r = 0;

        /* space-separated, as in nspawn's files */
        for (const char *p = v; r >= 0 && *p;) {
                size_t l = strcspn(p, " \t");
                char one[64];
                if (l > 0 && l < sizeof one) {
                        memcpy(one, p, l);
                        one[l] = 0;
                        r = network_links_add(streq(key, "Interface") ? &s->network_interfaces :
                                              streq(key, "MACVLAN") ? &s->network_macvlan :
                                              streq(key, "IPVLAN") ? &s->network_ipvlan : &s->network_veth_extra, one,
                                              streq(key, "MACVLAN") ? "mv-" : streq(key, "IPVLAN") ? "iv-" : NULL);
                } else if (l > 0)
                        r = -EINVAL;
                p += l;
                p += strspn(p, " \t");
        }
        return r;
}

static int parse_network_namespace_path(SpawnConfig *s, const char *key, const char *v) {
        if (!path_is_absolute(v) || strlen(v) >= sizeof s->network_namespace_path)
                return -EINVAL;
        strcpy(s->network_namespace_path, v);
        return 0;
}

static int parse_resolv_conf(SpawnConfig *s, const char *key, const char *v) {
        ResolvConfMode m = resolv_conf_mode_from_string(v);

        if (m < 0)
                return -EINVAL;
        s->resolv_conf = m;
        return 0;
}

static int parse_virtual_ethernet(SpawnConfig *s, const char *key, const char *v) {
        return parse_bool_into(v, &s->network_veth) < 0 ? -EINVAL : 0;
}

static int parse_overlay(SpawnConfig *s, const char *key, const char *v) {
        OverlayMount o;
        int r = overlay_mount_parse(v, streq(key, "OverlayReadOnly"), &o);

        if (r < 0)
                return r;
        r = spawn_config_add_overlay(s, &o);
        overlay_mount_done(&o);
        return r;
}

/* LimitXXX=, OOMScoreAdjust=, CPUAffinity= (spawn-limits.c) */
static int parse_resource(SpawnConfig *s, const char *key, const char *v) {
        int r = spawn_limits_parse_setting(&s->limits, key, v);
        return r < 0 ? r : r == 0 ? -EINVAL : 0;
}

static int parse_bind_user(SpawnConfig *s, const char *key, const char *v) {
        if (isempty(v) || string_has_cc(v) || strchr(v, ':') || strchr(v, '/'))
                return -EINVAL;
        return strv_extend(&s->bind_users, v);
}

typedef struct SettingKey {
        const char *section;
        const char *key;
        SettingParser parse;
        SettingMask mask;  /* recorded in set_mask, so the command line and merging know it was set */
        bool privileged;   /* it would give the machine more than the admin gave: only from a trusted
                            * directory (/etc/systemd/nspawn, /run/systemd/nspawn), never beside an image */
} SettingKey;

static const SettingKey setting_keys[] = {
        { "Exec",    "Boot",                  parse_boot,                    SETTING_START_MODE },
        { "Exec",    "ProcessTwo",            parse_process_two,             SETTING_START_MODE },
        { "Exec",    "Parameters",            parse_parameters,              SETTING_COMMAND },
        { "Exec",    "Environment",           parse_environment,             SETTING_ENVIRONMENT },
        { "Exec",    "User",                  parse_user,                    SETTING_USER },
        { "Exec",    "WorkingDirectory",      parse_working_directory,       SETTING_WORKING_DIRECTORY },
        { "Exec",    "Hostname",              parse_hostname,                SETTING_HOSTNAME },
        { "Exec",    "KillSignal",            parse_kill_signal,             SETTING_KILL_SIGNAL },
        { "Exec",    "NotifyReady",           parse_notify_ready,            SETTING_NOTIFY_READY },
        { "Exec",    "NoNewPrivileges",       parse_no_new_privileges,       SETTING_NO_NEW_PRIVILEGES },
        { "Exec",    "Capability",            parse_capabilities,            SETTING_CAPABILITY,            true },
        { "Exec",    "DropCapability",        parse_capabilities,            SETTING_DROP_CAPABILITY },
        { "Exec",    "AmbientCapability",     parse_capabilities,            SETTING_AMBIENT_CAPABILITY,    true },
        { "Exec",    "PrivateUsers",          parse_private_users,           SETTING_PRIVATE_USERS,         true },
        { "Exec",    "SystemCallFilter",      parse_system_call_filter,      SETTING_SYSCALL_FILTER,        true },
        { "Exec",    "MachineID",             parse_machine_id,              SETTING_UUID },
        { "Exec",    "PivotRoot",             parse_pivot_root,              SETTING_PIVOT_ROOT },
        { "Exec",    "Personality",           parse_personality,             SETTING_PERSONALITY },
        { "Exec",    "Timezone",              parse_timezone,                SETTING_TIMEZONE },
        { "Exec",    "LinkJournal",           parse_link_journal,            SETTING_LINK_JOURNAL },
        { "Exec",    "SuppressSync",          parse_suppress_sync,           SETTING_SUPPRESS_SYNC },
        { "Exec",    "LimitCPU",              parse_resource,                SETTING_RESOURCES,             true },
        { "Exec",    "LimitFSIZE",            parse_resource,                SETTING_RESOURCES,             true },
        { "Exec",    "LimitDATA",             parse_resource,                SETTING_RESOURCES,             true },
        { "Exec",    "LimitSTACK",            parse_resource,                SETTING_RESOURCES,             true },
        { "Exec",    "LimitCORE",             parse_resource,                SETTING_RESOURCES,             true },
        { "Exec",    "LimitRSS",              parse_resource,                SETTING_RESOURCES,             true },
        { "Exec",    "LimitNPROC",            parse_resource,                SETTING_RESOURCES,             true },
        { "Exec",    "LimitNOFILE",           parse_resource,                SETTING_RESOURCES,             true },
        { "Exec",    "LimitMEMLOCK",          parse_resource,                SETTING_RESOURCES,             true },
        { "Exec",    "LimitAS",               parse_resource,                SETTING_RESOURCES,             true },
        { "Exec",    "LimitLOCKS",            parse_resource,                SETTING_RESOURCES,             true },
        { "Exec",    "LimitSIGPENDING",       parse_resource,                SETTING_RESOURCES,             true },
        { "Exec",    "LimitMSGQUEUE",         parse_resource,                SETTING_RESOURCES,             true },
        { "Exec",    "LimitNICE",             parse_resource,                SETTING_RESOURCES,             true },
        { "Exec",    "LimitRTPRIO",           parse_resource,                SETTING_RESOURCES,             true },
        { "Exec",    "LimitRTTIME",           parse_resource,                SETTING_RESOURCES,             true },
        { "Exec",    "OOMScoreAdjust",        parse_resource,                SETTING_RESOURCES,             true },
        { "Exec",    "CPUAffinity",           parse_resource,                SETTING_RESOURCES,             true },
        { "Files",   "PrivateUsersOwnership", parse_private_users_ownership, SETTING_USER_OWNERSHIP,        true },
        { "Files",   "PrivateUsersChown",     parse_private_users_chown,     SETTING_USER_OWNERSHIP,        true }, /* the older name */
        { "Files",   "ReadOnly",              parse_read_only,               SETTING_READ_ONLY },
        { "Files",   "Volatile",              parse_volatile,                SETTING_VOLATILE },
        { "Files",   "Bind",                  parse_bind,                    SETTING_BIND,                  true },
        { "Files",   "BindReadOnly",          parse_bind,                    SETTING_BIND,                  true },
        { "Files",   "TemporaryFileSystem",   parse_temporary_file_system,   SETTING_TMPFS },
        { "Files",   "Inaccessible",          parse_inaccessible,            SETTING_INACCESSIBLE,          true },
        { "Files",   "Overlay",               parse_overlay,                 SETTING_OVERLAY,               true },
        { "Files",   "BindUser",              parse_bind_user,               SETTING_BIND_USER,             true },
        { "Files",   "OverlayReadOnly",       parse_overlay,                 SETTING_OVERLAY,               true },
        { "Network", "Private",               parse_private_network,         SETTING_PRIVATE_NETWORK },
        { "Network", "VirtualEthernet",       parse_virtual_ethernet,        SETTING_PRIVATE_NETWORK,       true },
        { "Network", "Port",                  parse_port,                    SETTING_EXPOSE_PORTS,          true },
        { "Network", "Bridge",                parse_bridge,                  SETTING_PRIVATE_NETWORK,       true },
        { "Network", "Zone",                  parse_zone,                    SETTING_PRIVATE_NETWORK,       true },
        { "Network", "Interface",             parse_network_link,            SETTING_PRIVATE_NETWORK,       true },
        { "Network", "MACVLAN",               parse_network_link,            SETTING_PRIVATE_NETWORK,       true },
        { "Network", "IPVLAN",                parse_network_link,            SETTING_PRIVATE_NETWORK,       true },
        { "Network", "VirtualEthernetExtra",  parse_network_link,            SETTING_PRIVATE_NETWORK,       true },
        { "Network", "NetworkNamespacePath",  parse_network_namespace_path,  SETTING_PRIVATE_NETWORK,       true },
        { "Exec",    "ResolvConf",            parse_resolv_conf,             SETTING_RESOLV_CONF },
};

static const SettingKey *setting_key_find(const char *section, const char *key) {
        for (size_t i = 0; i < ELEMENTSOF(setting_keys); i++)
                if (streq(setting_keys[i].section, section) && streq(setting_keys[i].key, key))
                        return &setting_keys[i];
        return NULL;
}

static int parse_assignment(SpawnConfig *s, const SettingsLine *at, const char *section, char *line) {
        char *eq = strchr(line, '='), *key = line, *value;
        const SettingKey *k;
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
        k = setting_key_find(section, key);
        if (!k) {
                log_warning("%s:%u: unknown or unsupported setting [%s] %s=, ignoring.", at->file, at->line,
                            section, key);
                return 0;
        }
        if (!at->trusted && k->privileged) {
                log_warning("%s:%u: %s= is ignored in a settings file that is not in /etc/systemd/nspawn or "
                            "/run/systemd/nspawn.", at->file, at->line, key);
                return 0;
        }
        r = k->parse(s, key, value);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                log_warning("%s:%u: invalid value for %s=, ignoring: %s", at->file, at->line, key, value);
        else
                s->set_mask |= k->mask;
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
        if (take & SETTING_PRIVATE_NETWORK) {
                c->network_veth = s->network_veth;
                memcpy(c->network_bridge, s->network_bridge, sizeof c->network_bridge);
                memcpy(c->network_zone, s->network_zone, sizeof c->network_zone);
                c->network_interfaces = s->network_interfaces;
                c->network_macvlan = s->network_macvlan;
                c->network_ipvlan = s->network_ipvlan;
                c->network_veth_extra = s->network_veth_extra;
                memcpy(c->network_namespace_path, s->network_namespace_path, sizeof c->network_namespace_path);
                c->private_network = s->private_network || s->network_veth || s->network_interfaces.n > 0 ||
                                     s->network_macvlan.n > 0 || s->network_ipvlan.n > 0 || s->network_veth_extra.n > 0;
        }
        if (take & SETTING_RESOLV_CONF)
                c->resolv_conf = s->resolv_conf;
        if (take & SETTING_EXPOSE_PORTS)
                c->ports = s->ports;
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
        if (take & SETTING_PIVOT_ROOT) {
                r = r ?: free_and_strdup(&c->pivot_root_new, s->pivot_root_new);
                r = r ?: free_and_strdup(&c->pivot_root_old, s->pivot_root_old);
        }
        if (take & SETTING_PERSONALITY)
                c->personality = s->personality;
        if (take & SETTING_TIMEZONE)
                c->timezone_mode = s->timezone_mode;
        if (take & SETTING_LINK_JOURNAL)
                c->link_journal = s->link_journal;
        if (take & SETTING_SUPPRESS_SYNC)
                c->suppress_sync = s->suppress_sync;
        for (size_t i = 0; (take & SETTING_INACCESSIBLE) && s->inaccessible && s->inaccessible[i] && r >= 0; i++)
                r = strv_extend(&c->inaccessible, s->inaccessible[i]);
        for (size_t i = 0; (take & SETTING_BIND_USER) && s->bind_users && s->bind_users[i] && r >= 0; i++)
                r = strv_extend(&c->bind_users, s->bind_users[i]);
        for (size_t i = 0; (take & SETTING_OVERLAY) && i < s->n_overlays && r >= 0; i++)
                r = spawn_config_add_overlay(c, &s->overlays[i]);
        for (size_t i = 0; (take & SETTING_SYSCALL_FILTER) && s->syscall_allow && s->syscall_allow[i] && r >= 0; i++)
                r = strv_extend(&c->syscall_allow, s->syscall_allow[i]);
        for (size_t i = 0; (take & SETTING_SYSCALL_FILTER) && s->syscall_deny && s->syscall_deny[i] && r >= 0; i++)
                r = strv_extend(&c->syscall_deny, s->syscall_deny[i]);
        for (size_t i = 0; (take & SETTING_BIND) && i < s->n_binds && r >= 0; i++)
                r = spawn_config_add_bind(c, &s->binds[i]);
        for (size_t i = 0; (take & SETTING_TMPFS) && i < s->n_tmpfs && r >= 0; i++)
                r = spawn_config_add_tmpfs(c, &s->tmpfs[i]);
        if (r >= 0 && (s->set_mask & SETTING_RESOURCES))
                r = spawn_limits_merge_setting(&c->limits, &s->limits); /* per key: the command line wins */
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

int spawn_settings_load(SpawnConfig *c, const char *machine_name, SettingsMode mode) {
        static const char *const trusted_dirs[] = { "/etc/systemd/nspawn", "/run/systemd/nspawn" };
        _cleanup_free_ char *name = NULL, *beside = NULL;
        SpawnConfig s = {};
        const char *image = c->directory ?: c->image;
        int r = 0;

        if (mode == SETTINGS_NO)
                return 0;
        name = strjoin(machine_name, ".nspawn");
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

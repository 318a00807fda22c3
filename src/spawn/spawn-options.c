/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fileio.h"
#include "log.h"
#include "parse-util.h"
#include "path-util.h"
#include "spawn-credentials.h"
#include "spawn-oci.h"
#include "spawn-options.h"
#include "spawn-overlay.h"
#include "spawn-settings.h"
#include "spawn-template.h"
#include "string-util.h"
#include "strv.h"

enum {
        ARG_OVERLAY = 0x200,
        ARG_OVERLAY_RO,
        ARG_INACCESSIBLE,
        ARG_BIND_USER,
        ARG_SET_CREDENTIAL,
        ARG_LOAD_CREDENTIAL,
        ARG_LINK_JOURNAL,
        ARG_TIMEZONE,
        ARG_TEMPLATE,
        ARG_PERSONALITY,
        ARG_PIVOT_ROOT,
        ARG_OCI_BUNDLE,
        ARG_SUPPRESS_SYNC,
        ARG_NO_PAGER,
        ARG_ROOT_HASH,
        ARG_ROOT_HASH_SIG,
        ARG_VERITY_DATA,
        ARG_NETWORK_SETUP,
};

const struct option spawn_options_long[] = {
        { "overlay", required_argument, NULL, ARG_OVERLAY },
        { "overlay-ro", required_argument, NULL, ARG_OVERLAY_RO },
        { "inaccessible", required_argument, NULL, ARG_INACCESSIBLE },
        { "bind-user", required_argument, NULL, ARG_BIND_USER },
        { "set-credential", required_argument, NULL, ARG_SET_CREDENTIAL },
        { "load-credential", required_argument, NULL, ARG_LOAD_CREDENTIAL },
        { "link-journal", required_argument, NULL, ARG_LINK_JOURNAL },
        { "timezone", required_argument, NULL, ARG_TIMEZONE },
        { "template", required_argument, NULL, ARG_TEMPLATE },
        { "oci-bundle", required_argument, NULL, ARG_OCI_BUNDLE },
        { "personality", required_argument, NULL, ARG_PERSONALITY },
        { "pivot-root", required_argument, NULL, ARG_PIVOT_ROOT },
        { "suppress-sync", required_argument, NULL, ARG_SUPPRESS_SYNC },
        { "no-pager", no_argument, NULL, ARG_NO_PAGER },
        { "root-hash", required_argument, NULL, ARG_ROOT_HASH },
        { "root-hash-sig", required_argument, NULL, ARG_ROOT_HASH_SIG },
        { "verity-data", required_argument, NULL, ARG_VERITY_DATA },
        { "network-setup", required_argument, NULL, ARG_NETWORK_SETUP },
        { "selinux-context", required_argument, NULL, 'Z' },
        { "selinux-apifs-context", required_argument, NULL, 'L' },
        {}
};

static const char *const timezone_table[_TIMEZONE_MODE_MAX] = {
        [TIMEZONE_AUTO] = "auto", [TIMEZONE_OFF] = "off",         [TIMEZONE_COPY] = "copy",
        [TIMEZONE_BIND] = "bind", [TIMEZONE_SYMLINK] = "symlink", [TIMEZONE_DELETE] = "delete",
};

static const char *const link_journal_table[_LINK_JOURNAL_MAX] = {
        [LINK_JOURNAL_AUTO] = "auto",   [LINK_JOURNAL_NO] = "no",           [LINK_JOURNAL_HOST] = "host",
        [LINK_JOURNAL_TRY_HOST] = "try-host", [LINK_JOURNAL_GUEST] = "guest", [LINK_JOURNAL_TRY_GUEST] = "try-guest",
};

const char *timezone_mode_to_string(TimezoneMode m) {
        return m >= 0 && m < _TIMEZONE_MODE_MAX ? timezone_table[m] : NULL;
}

TimezoneMode timezone_mode_from_string(const char *s) {
        for (int i = 0; i < _TIMEZONE_MODE_MAX; i++)
                if (s && streq(s, timezone_table[i]))
                        return i;
        return _TIMEZONE_MODE_INVALID;
}

const char *link_journal_to_string(LinkJournal m) {
        return m >= 0 && m < _LINK_JOURNAL_MAX ? link_journal_table[m] : NULL;
}

LinkJournal link_journal_from_string(const char *s) {
        for (int i = 0; i < _LINK_JOURNAL_MAX; i++)
                if (s && streq(s, link_journal_table[i]))
                        return i;
        return _LINK_JOURNAL_INVALID;
}

int personality_from_string(const char *s) {
        struct utsname u;

        /* Like nspawn, only what this host's kernel can run: the 32-bit personality of an x86-64 kernel. */
        if (!s || uname(&u) < 0 || !streq(u.machine, "x86_64"))
                return -EINVAL;
        if (streq(s, "x86"))
                return PERSONALITY_X86;
        if (streq(s, "x86-64"))
                return PERSONALITY_X86_64;
        return -EINVAL;
}

static bool is_machine_path(const char *p) {
        return p && path_is_absolute(p) && path_is_normalized(p) && !string_has_cc(p);
}

int pivot_root_parse(const char *s, char **ret_new, char **ret_old) {
        _cleanup_free_ char *n = NULL, *o = NULL;
        const char *colon = strchr(s, ':');

        n = colon ? strndup(s, colon - s) : strdup(s);
        if (!n || (colon && !(o = strdup(colon + 1))))
                return -ENOMEM;
        if (!is_machine_path(n) || (o && (!is_machine_path(o) || streq(o, "/"))))
                return -EINVAL;
        free_and_replace(*ret_new, n);
        free_and_replace(*ret_old, o);
        return 0;
}

int inaccessible_parse(const char *s, char **ret) {
        if (!is_machine_path(s) || streq(s, "/"))
                return -EINVAL;
        return (*ret = strdup(s)) ? 0 : -ENOMEM;
}

static int parse_bool_option(const char *name, const char *arg, bool *ret) {
        int r = parse_boolean(arg);
        if (r < 0)
                return log_error_errno(-EINVAL, "Invalid --%s= value '%s': use yes or no.", name, arg);
        *ret = r;
        return 0;
}

static int parse_path_option(const char *name, const char *arg, char **ret) {
        _cleanup_free_ char *p = NULL;
        int r;

        if (isempty(arg))
                return log_error_errno(-EINVAL, "--%s= needs a path.", name);
        r = path_make_absolute_cwd(arg, &p);
        if (r < 0)
                return log_error_errno(r, "Invalid path '%s' for --%s=: %m", arg, name);
        free_and_replace(*ret, p);
        return 0;
}

/* The machine's files: overlays, masks, users, credentials. Returns 1 for an option of another group. */
static int parse_files_option(SpawnConfig *c, int opt, const char *arg) {
        _cleanup_free_ char *p = NULL;
        int r;

        switch (opt) {
        case ARG_OVERLAY:
        case ARG_OVERLAY_RO:
                return spawn_overlay_add_spec(c, arg, opt == ARG_OVERLAY_RO);
        case ARG_INACCESSIBLE:
                r = inaccessible_parse(arg, &p);
                if (r == -ENOMEM)
                        return log_oom();
                if (r < 0)
                        return log_error_errno(r, "Invalid --inaccessible= path '%s': use an absolute, normalized "
                                                  "path other than /.", arg);
                return strv_consume(&c->inaccessible, TAKE_PTR(p)) < 0 ? log_oom() : 0;
        case ARG_BIND_USER:
                if (isempty(arg) || string_has_cc(arg) || strchr(arg, ':') || strchr(arg, '/'))
                        return log_error_errno(-EINVAL, "Invalid user name '%s' for --bind-user=.", arg);
                return strv_extend(&c->bind_users, arg) < 0 ? log_oom() : 0;
        case ARG_SET_CREDENTIAL:
        case ARG_LOAD_CREDENTIAL:
                return spawn_credential_add_spec(c, arg, opt == ARG_LOAD_CREDENTIAL);
        }
        return 1;
}

/* How the machine meets the host: journal, time zone, personality, sync. Returns 1 for another group. */
static int parse_integration_option(SpawnConfig *c, int opt, const char *arg) {
        int r;

        switch (opt) {
        case 'j':
                c->link_journal = LINK_JOURNAL_TRY_GUEST;
                return 0;
        case ARG_LINK_JOURNAL:
                c->link_journal = link_journal_from_string(arg);
                if (c->link_journal < 0)
                        return log_error_errno(-EINVAL, "Invalid --link-journal= mode '%s': use no, auto, host, "
                                                        "try-host, guest or try-guest.", arg);
                return 0;
        case ARG_TIMEZONE:
                c->timezone_mode = timezone_mode_from_string(arg);
                if (c->timezone_mode < 0)
                        return log_error_errno(-EINVAL, "Invalid --timezone= mode '%s': use off, copy, bind, "
                                                        "symlink, delete or auto.", arg);
                return 0;
        case ARG_PERSONALITY:
                r = personality_from_string(arg);
                if (r < 0)
                        return log_error_errno(r, "Unknown or unsupported personality '%s': use x86 or x86-64 "
                                                  "(on an x86-64 host).", arg);
                c->personality = r;
                return 0;
        case ARG_SUPPRESS_SYNC:
                return parse_bool_option("suppress-sync", arg, &c->suppress_sync);
        case ARG_PIVOT_ROOT:
                r = pivot_root_parse(arg, &c->pivot_root_new, &c->pivot_root_old);
                if (r == -ENOMEM)
                        return log_oom();
                if (r < 0)
                        return log_error_errno(r, "Invalid --pivot-root= value '%s': use PATH or PATH:OLDROOT, "
                                                  "absolute and normalized.", arg);
                return 0;
        case ARG_NO_PAGER:
                return 0; /* nothing of ours pages */
        case ARG_NETWORK_SETUP:
                c->network_setup = network_setup_from_string(arg);
                if (c->network_setup < 0)
                        return log_error_errno(-EINVAL, "Invalid --network-setup= '%s': use auto, berth or "
                                                        "networkd.", arg);
                return 0;
        }
        return 1;
}

/* Where the root comes from, and what would check or label it. Returns 1 for another group. */
static int parse_image_source_option(SpawnConfig *c, int opt, const char *arg) {
        switch (opt) {
        case ARG_TEMPLATE:
                return parse_path_option("template", arg, &c->template_dir);
        case ARG_OCI_BUNDLE:
                return parse_path_option("oci-bundle", arg, &c->oci_bundle);
        case ARG_ROOT_HASH:
                if (isempty(arg) || strlen(arg) < 32 || strlen(arg) % 2 || strspn(arg, "0123456789abcdefABCDEF") != strlen(arg))
                        return log_error_errno(-EINVAL, "Invalid --root-hash= '%s': use at least 128 bits in hexadecimal.", arg);
                return free_and_strdup(&c->root_hash, arg) < 0 ? log_oom() : 0;
        case ARG_ROOT_HASH_SIG:
                if (startswith(arg, "base64:"))
                        return free_and_strdup(&c->root_hash_sig, arg) < 0 ? log_oom() : 0;
                return parse_path_option("root-hash-sig", arg, &c->root_hash_sig);
        case ARG_VERITY_DATA:
                return parse_path_option("verity-data", arg, &c->verity_data);
        case 'Z':
        case 'L':
                if (isempty(arg) || string_has_cc(arg))
                        return log_error_errno(-EINVAL, "Invalid SELinux context '%s'.", arg);
                return free_and_strdup(opt == 'Z' ? &c->selinux_context : &c->selinux_apifs_context, arg) < 0 ? log_oom() : 0;
        }
        return 1;
}

int spawn_options_parse(SpawnConfig *c, int opt, const char *arg) {
        int (*const parsers[])(SpawnConfig *, int, const char *) = {
                parse_files_option, parse_integration_option, parse_image_source_option,
        };

        for (size_t i = 0; i < ELEMENTSOF(parsers); i++) {
                int r = parsers[i](c, opt, arg);
                if (r != 1)
                        return r;
        }
        return 1;
}

SettingMask spawn_options_setting(int opt) {
        switch (opt) {
        case ARG_OVERLAY: case ARG_OVERLAY_RO: return SETTING_OVERLAY;
        case ARG_INACCESSIBLE: return SETTING_INACCESSIBLE;
        case ARG_BIND_USER: return SETTING_BIND_USER;
        case 'j': case ARG_LINK_JOURNAL: return SETTING_LINK_JOURNAL;
        case ARG_TIMEZONE: return SETTING_TIMEZONE;
        case ARG_PERSONALITY: return SETTING_PERSONALITY;
        case ARG_SUPPRESS_SYNC: return SETTING_SUPPRESS_SYNC;
        case ARG_PIVOT_ROOT: return SETTING_PIVOT_ROOT;
        default: return 0;
        }
}

/* dm-verity needs device-mapper: say plainly when this kernel has none. */
static int verify_verity(const SpawnConfig *c) {
        _cleanup_free_ char *misc = NULL;

        if (!c->root_hash && !c->root_hash_sig && !c->verity_data)
                return 0;
        if (c->verity_data && access(c->verity_data, F_OK) < 0)
                return log_error_errno(errno, "Verity data %s: %m", c->verity_data);
        if (c->root_hash_sig && !startswith(c->root_hash_sig, "base64:") && access(c->root_hash_sig, F_OK) < 0)
                return log_error_errno(errno, "Root hash signature %s: %m", c->root_hash_sig);
        if (access("/dev/mapper/control", F_OK) < 0 &&
            (read_full_file_at(AT_FDCWD, "/proc/misc", 64 * 1024, &misc, NULL) < 0 || !strstr(misc, " device-mapper\n")))
                return log_error_errno(-EOPNOTSUPP, "--root-hash=, --root-hash-sig= and --verity-data= need dm-verity, "
                                                    "but this kernel has no device-mapper (no /dev/mapper/control, no "
                                                    "device-mapper in /proc/misc).");
        return log_error_errno(-EOPNOTSUPP, "dm-verity checked images are not supported by berth-spawn yet "
                                            "(--root-hash=, --root-hash-sig=, --verity-data=).");
}

static int verify_selinux(const SpawnConfig *c) {
        if (!c->selinux_context && !c->selinux_apifs_context)
                return 0;
        if (access("/sys/fs/selinux/enforce", F_OK) < 0)
                return log_error_errno(-EOPNOTSUPP, "--selinux-context= and --selinux-apifs-context= need SELinux, "
                                                    "which is not enabled on this host (no /sys/fs/selinux).");
        if (c->selinux_apifs_context)
                return log_error_errno(-EOPNOTSUPP, "--selinux-apifs-context= is not supported by berth-spawn yet.");
        return 0;
}

int spawn_options_prepare(SpawnConfig *c) {
        int r;

        if (c->oci_bundle) {
                r = spawn_oci_load(c);
                if (r < 0)
                        return r;
        }
        if (c->template_dir)
                return spawn_template_populate(c);
        return 0;
}

int spawn_options_verify(SpawnConfig *c) {
        int r;

        r = verify_verity(c);
        if (r < 0)
                return r;
        r = verify_selinux(c);
        if (r < 0)
                return r;
        if (c->pivot_root_new && c->volatile_mode == VOLATILE_YES)
                return log_error_errno(-EINVAL, "--pivot-root= and --volatile=yes may not be combined.");
        if (!c->ephemeral && c->link_journal == LINK_JOURNAL_GUEST && (c->image || c->volatile_mode != VOLATILE_NO))
                return log_error_errno(-EINVAL, "--link-journal=guest needs a directory tree that persists "
                                                "(not -i or --volatile=); use try-guest or host.");
        if (c->ephemeral && IN_SET(c->link_journal, LINK_JOURNAL_GUEST))
                return log_error_errno(-EINVAL, "--link-journal=guest and --ephemeral may not be combined "
                                                "(the journal would go with the machine); use try-guest or host.");
        r = spawn_overlay_verify(c);
        if (r < 0)
                return r;
        return spawn_credentials_load(c);
}

void spawn_options_done(SpawnConfig *c) {
        spawn_credentials_free(c->credentials, c->n_credentials);
        spawn_overlays_free(c->overlays, c->n_overlays);
        free(c->pivot_root_new);
        free(c->pivot_root_old);
        strv_free(c->inaccessible);
        strv_free(c->bind_users);
        free(c->template_dir);
        free(c->oci_bundle);
        free(c->root_hash);
        free(c->root_hash_sig);
        free(c->verity_data);
        free(c->selinux_context);
        free(c->selinux_apifs_context);
}

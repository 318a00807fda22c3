/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berth-spawn: boot an OS tree as a machine. Options and exit codes are systemd-nspawn's. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <sys/file.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "hostname-util.h"
#include "log.h"
#include "parse-util.h"
#include "path-util.h"
#include "image-lock.h"
#include "spawn-config.h"
#include "spawn-network.h"
#include "spawn-zone.h"
#include "spawn-options.h"
#include "spawn-pipeline.h"
#include "spawn-root.h"
#include "spawn-seccomp.h"
#include "spawn-settings.h"
#include "spawn-userns.h"
#include "spawn-supervise.h"
#include "spawn-tree.h"
#include "string-util.h"
#include "strv.h"

static void help(void) {
        printf("%s [OPTIONS...] [COMMAND [ARGS...]]\n\n"
               "Boot an OS tree as a machine, or run a command in it.\n\n"
               "  -h --help                 Show this help\n"
               "     --version              Print version string\n"
               "  -q --quiet                Do not show status information\n"
               "     --no-pager             Accepted for compatibility; nothing is paged\n\n"
               "Image:\n"
               "  -D --directory=PATH       Root directory for the machine\n"
               "     --template=PATH        Make the --directory= tree as a copy of PATH if it\n"
               "                            does not exist yet\n"
               "  -i --image=PATH           Disk image for the machine (a filesystem, MBR or GPT)\n"
               "     --oci-bundle=PATH      Run an OCI runtime bundle (its config.json's root,\n"
               "                            process, hostname and mounts)\n"
               "  -x --ephemeral            Run on an overlay that is thrown away on exit\n"
               "     --volatile[=MODE]      yes, state or overlay: run on a volatile root\n"
               "     --read-only            Mount the root directory read-only\n"
               "     --pivot-root=PATH[:PATH]  Pivot to PATH of the image as the root (the old root\n"
               "                            goes to the second PATH, or away)\n"
               "     --root-hash=HASH       dm-verity root hash (needs device-mapper)\n"
               "     --root-hash-sig=SIG    dm-verity root hash signature (base64:... or a path)\n"
               "     --verity-data=PATH     dm-verity data file\n\n"
               "Execution:\n"
               "  -a --as-pid2              Run the command as PID 2, under a stub init\n"
               "  -b --boot                 Boot the tree's init; COMMAND ARGS are passed to it\n"
               "     --chdir=PATH           Working directory of the command\n"
               "  -E --setenv=NAME[=VALUE]  Pass an environment variable to PID 1\n"
               "  -u --user=USER            Run the command as this user of the machine\n"
               "     --kill-signal=SIGNAL   Signal sent to PID 1 when we get SIGTERM/SIGINT\n"
               "                            (default: the guest init's shutdown signal with -b,\n"
               "                            SIGKILL otherwise)\n"
               "     --shutdown-timeout=SEC Kill the machine if it has not shut down after\n"
               "                            SEC (default 30s, \"infinity\" to wait forever)\n"
               "     --notify-ready=BOOL    Wait for the guest's READY=1 before telling our\n"
               "                            service manager that we are ready\n"
               "     --suppress-sync=BOOL   Make sync(), fsync() ... do nothing in the machine\n\n"
               "System identity:\n"
               "  -M --machine=NAME         Machine name (default: the directory's name)\n"
               "     --hostname=NAME        Hostname inside the machine (default: machine name)\n"
               "     --uuid=UUID            Machine UUID ($container_uuid)\n"
               "     --personality=ARCH     What uname reports: x86 or x86-64\n\n"
               "Properties:\n"
               "     --register=BOOL|auto   Register with org.freedesktop.machine1 (default: auto)\n"
               "     --keep-unit            Accepted for compatibility; berth never creates units\n"
               "     --settings=MODE        Read the .nspawn settings file: yes, no, trusted,\n"
               "                            override (default: yes)\n"
               "     --unified-cgroup-hierarchy=BOOL|auto  On a hybrid host: yes gives the\n"
               "                            machine a cgroup2-only /sys/fs/cgroup, no the host's\n"
               "                            layout, auto (default) cgroup2 for systemd >= 256\n\n"
               "Networking:\n"
               "     --private-network      Give the machine its own network (loopback only)\n"
               "  -n --network-veth         A virtual Ethernet link to the host (ve-NAME/host0)\n"
               "                            with an address, DHCP, DNS and NAT\n"
               "     --network-interface=HOSTIF[:CONTAINERIF]\n"
               "                            Move a host interface into the machine (and back)\n"
               "     --network-macvlan=HOSTIF[:CONTAINERIF]\n"
               "                            A macvlan link on a host interface in the machine\n"
               "     --network-ipvlan=HOSTIF[:CONTAINERIF]\n"
               "                            An ipvlan link on a host interface in the machine\n"
               "     --network-veth-extra=HOSTIF[:CONTAINERIF]\n"
               "                            Another veth pair between host and machine\n"
               "     --network-namespace-path=PATH\n"
               "                            Run the machine in this network namespace\n"
               "     --resolv-conf=MODE     What /etc/resolv.conf becomes: off, copy-host,\n"
               "                            replace-host, bind-host (and -static, -uplink, -stub),\n"
               "                            delete, auto (default)\n"
               "     --network-bridge=INTERFACE\n"
               "                            The veth's host side (vb-NAME) joins this bridge\n"
               "     --network-zone=NAME    The veth joins the zone's bridge vz-NAME, which berth\n"
               "                            makes (addresses, DHCP, DNS by machine name, NAT) with\n"
               "                            the zone's first machine and removes with its last\n"
               "     --network-setup=auto|berth|networkd\n"
               "                            Who addresses ve-NAME and zone bridges: networkd\n"
               "                            where it runs and configures them (auto), or berth\n"
               "  -p --port=[PROTOCOL:]HOSTPORT[:CONTAINERPORT]\n"
               "                            Expose a container IP port on the host (also on\n"
               "                            localhost)\n\n"
               "Security:\n"
               "     --capability=CAP       Keep CAP in the bounding set (\"all\" for all)\n"
               "     --drop-capability=CAP  Drop CAP from the bounding set\n"
               "     --ambient-capability=CAP  Give the -u user CAP as an ambient capability\n"
               "     --no-new-privileges=BOOL  Set the no_new_privs flag for PID 1\n"
               "     --system-call-filter=[~]NAME...  Allow (or with ~, deny) system calls or\n"
               "                            groups (@clock, @module, @keyring, @debug, ...)\n"
               "  -U                        Same as --private-users=pick\n"
               "     --private-users=MODE   Own user namespace: pick, yes (the tree's owner is the\n"
               "                            base), no, identity, BASE[:65536]\n"
               "     --private-users-ownership=MODE  map (idmapped mounts, the default), chown\n"
               "                            (shift the tree in place), off, auto\n"
               "  -Z --selinux-context=SECLABEL  SELinux label of the machine's processes\n"
               "  -L --selinux-apifs-context=SECLABEL  SELinux label of its API file systems\n\n"
               "Mounts:\n"
               "     --bind=PATH[:PATH[:OPTS]]     Bind-mount a host path into the machine\n"
               "                                   (OPTS: rbind, norbind, idmap, rootidmap)\n"
               "     --bind-ro=PATH[:PATH[:OPTS]]  The same, read-only\n"
               "     --tmpfs=PATH[:OPTIONS]        Mount an empty tmpfs on PATH\n"
               "     --inaccessible=PATH           Over-mount PATH with an inaccessible node\n"
               "     --bind-user=NAME              Map a host user into the machine (needs -U): its\n"
               "                                   home in /run/host/home, its records for userdb\n"
               "     --overlay=PATH[:PATH...]:PATH  Stack host directories (\"+\" for the image's)\n"
               "                                   into an overlay on the last PATH; the rightmost\n"
               "                                   source takes the writes (\"\": a temporary one)\n"
               "     --overlay-ro=PATH[:PATH...]:PATH  The same, read-only\n\n"
               "Integration:\n"
               "     --timezone=MODE        /etc/localtime in the machine: off, copy, bind,\n"
               "                            symlink, delete or auto (the default)\n"
               "     --link-journal=MODE    Link the machine's journal to the host: no, auto,\n"
               "                            host, try-host, guest, try-guest\n"
               "  -j                        Same as --link-journal=try-guest\n"
               "     --set-credential=ID:VALUE  Pass a credential with this value to PID 1\n"
               "                            ($CREDENTIALS_DIRECTORY, C escapes in VALUE)\n"
               "     --load-credential=ID:PATH  The same, read from a file of the host\n\n"
               SPAWN_LIMITS_HELP
               "Input/Output:\n"
               "     --console=MODE         interactive, read-only, passive or pipe\n"
               "                            (default: interactive on a terminal, read-only\n"
               "                            with a terminal on stdin only, else pipe)\n"
               "  -P --pipe                 Same as --console=pipe\n\n"
               "Press Ctrl-] three times within a second to kill an interactive machine.\n"
               "See berth-spawn(1) for details.\n",
               program_invocation_short_name);
}

enum {
        ARG_VERSION = 0x100,
        ARG_READ_ONLY,
        ARG_CHDIR,
        ARG_KILL_SIGNAL,
        ARG_SHUTDOWN_TIMEOUT,
        ARG_NOTIFY_READY,
        ARG_HOSTNAME,
        ARG_UUID,
        ARG_REGISTER,
        ARG_KEEP_UNIT,
        ARG_PRIVATE_NETWORK,
        ARG_NETWORK_BRIDGE,
        ARG_NETWORK_ZONE,
        ARG_NETWORK_INTERFACE,
        ARG_NETWORK_MACVLAN,
        ARG_NETWORK_IPVLAN,
        ARG_NETWORK_VETH_EXTRA,
        ARG_NETWORK_NAMESPACE_PATH,
        ARG_RESOLV_CONF,
        ARG_CAPABILITY,
        ARG_DROP_CAPABILITY,
        ARG_BIND,
        ARG_BIND_RO,
        ARG_TMPFS,
        ARG_CONSOLE,
        ARG_VOLATILE,
        ARG_NO_NEW_PRIVILEGES,
        ARG_SETTINGS,
        ARG_PRIVATE_USERS,
        ARG_PRIVATE_USERS_OWNERSHIP,
        ARG_SYSTEM_CALL_FILTER,
        ARG_AMBIENT_CAPABILITY,
        ARG_UNIFIED_CGROUP_HIERARCHY,
};

static int add_bind(SpawnConfig *c, const char *spec, bool ro) {
        BindMount b;
        int r = bind_mount_parse(spec, ro, &b);

        if (r == -EOPNOTSUPP)
                return log_error_errno(r, "Unsupported bind mount option in '%s' (supported: rbind, norbind, idmap, noidmap, rootidmap).", spec);
        if (r == -EPERM)
                return log_error_errno(r, "Refusing to mount over /proc, /sys or /dev in '%s'.", spec);
        if (r < 0)
                return log_error_errno(r, "Invalid bind mount specification '%s': use SOURCE[:DESTINATION[:OPTIONS]] "
                                          "with an absolute destination.", spec);
        r = spawn_config_add_bind(c, &b);
        free(b.source);
        free(b.destination);
        return r < 0 ? log_oom() : 0;
}

static int add_tmpfs(SpawnConfig *c, const char *spec) {
        TmpfsMount t;
        int r = tmpfs_mount_parse(spec, &t);

        if (r == -EPERM)
                return log_error_errno(r, "Refusing to mount over /proc, /sys or /dev in '%s'.", spec);
        if (r < 0)
                return log_error_errno(r, "Invalid tmpfs specification '%s': use PATH[:OPTIONS] with an absolute path.", spec);
        r = spawn_config_add_tmpfs(c, &t);
        free(t.destination);
        free(t.options);
        return r < 0 ? log_oom() : 0;
}

static int parse_setenv(SpawnConfig *c, const char *arg) {
        if (!strchr(arg, '=')) {
                /* -E NAME passes our own value, as nspawn. */
                const char *v = getenv(arg);
                _cleanup_free_ char *a = v ? strjoin(arg, "=", v) : NULL;
                if (!v)
                        return 0;
                if (!a)
                        return log_oom();
                return strv_env_replace(&c->setenv, a) < 0 ? log_oom() : 0;
        }
        if (!env_assignment_is_valid(arg))
                return log_error_errno(-EINVAL, "Environment assignment '%s' is not valid.", arg);
        return strv_env_replace(&c->setenv, arg) < 0 ? log_oom() : 0;
}

static int parse_syscall_filter(SpawnConfig *c, const char *arg) {
        int r = syscall_filter_parse(arg, &c->syscall_allow, &c->syscall_deny);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0) {
                _cleanup_free_ char *copy = strdup(arg[0] == '~' ? arg + 1 : arg);
                char *save = NULL, *w = copy ? strtok_r(copy, " ,", &save) : NULL;
                while (w && spawn_seccomp_name_is_valid(w))
                        w = strtok_r(NULL, " ,", &save);
                return log_error_errno(r, "Unknown system call or group '%s' in --system-call-filter=.", strna(w));
        }
        return 0;
}

static int parse_caps(uint64_t *mask, const char *arg) {
        uint64_t m;
        if (capability_list_parse(arg, &m) < 0)
                return log_error_errno(-EINVAL, "Failed to parse capability list '%s'.", arg);
        *mask |= m;
        return 0;
}

/* The machine's root: -D, -i, -x, --volatile, --read-only, mounts. Returns 1 for an option of another group. */
static int parse_image_option(SpawnConfig *c, int opt, const char *arg) {
        int r;

        switch (opt) {
        case 'D': {
                _cleanup_free_ char *p = NULL;
                r = path_make_absolute_cwd(arg, &p);
                if (r < 0)
                        return log_error_errno(r, "Invalid directory '%s'.", arg);
                return free_and_strdup(&c->directory, p) < 0 ? log_oom() : 0;
        }
        case ARG_BIND:
        case ARG_BIND_RO:
                return add_bind(c, arg, opt == ARG_BIND_RO);
        case ARG_TMPFS:
                return add_tmpfs(c, arg);
        case 'i': {
                _cleanup_free_ char *p = NULL;
                r = path_make_absolute_cwd(arg, &p);
                if (r < 0)
                        return log_error_errno(r, "Invalid image path '%s'.", arg);
                return free_and_strdup(&c->image, p) < 0 ? log_oom() : 0;
        }
        case 'x':
                c->ephemeral = true;
                return 0;
        case ARG_VOLATILE:
                c->volatile_mode = arg ? volatile_mode_from_string(arg) : VOLATILE_YES;
                if (c->volatile_mode < 0)
                        return log_error_errno(-EINVAL, "Invalid --volatile= mode '%s': use yes, no, state or overlay.", arg);
                return 0;
        case ARG_READ_ONLY:
                c->read_only = true;
                return 0;
        }
        return 1;
}

/* What runs and how it is stopped. Returns 1 for an option of another group. */
static int parse_exec_option(SpawnConfig *c, int opt, const char *arg) {
        int r;

        switch (opt) {
        case 'b':
        case 'a':
                if (c->start_mode != START_PID1 && c->start_mode != (opt == 'b' ? START_BOOT : START_PID2))
                        return log_error_errno(-EINVAL, "--boot and --as-pid2 may not be combined.");
                c->start_mode = opt == 'b' ? START_BOOT : START_PID2;
                return 0;
        case ARG_CHDIR:
                if (!path_is_absolute(arg) || !path_is_normalized(arg))
                        return log_error_errno(-EINVAL, "Working directory '%s' is not an absolute, normalized path.", arg);
                return free_and_strdup(&c->working_directory, arg) < 0 ? log_oom() : 0;
        case 'E':
                return parse_setenv(c, arg);
        case 'u':
                if (isempty(arg) || string_has_cc(arg) || strchr(arg, ':') || strchr(arg, '/'))
                        return log_error_errno(-EINVAL, "Invalid user name '%s'.", arg);
                return free_and_strdup(&c->user, arg) < 0 ? log_oom() : 0;
        case ARG_KILL_SIGNAL:
                c->kill_signal = signal_from_string(arg);
                if (c->kill_signal < 0)
                        return log_error_errno(-EINVAL, "Unknown signal '%s'.", arg);
                return 0;
        case ARG_SHUTDOWN_TIMEOUT:
                if (parse_sec(arg, &c->shutdown_timeout_usec) < 0 || c->shutdown_timeout_usec == 0)
                        return log_error_errno(-EINVAL, "Invalid shutdown timeout '%s'.", arg);
                return 0;
        case ARG_NOTIFY_READY:
                r = parse_boolean(arg);
                if (r < 0)
                        return log_error_errno(r, "Invalid --notify-ready= value '%s': use yes or no.", arg);
                c->notify_ready = r;
                return 0;
        }
        return 1;
}

/* User namespace, capabilities, system call filter. Returns 1 for an option of another group. */
static int parse_security_option(SpawnConfig *c, int opt, const char *arg) {
        int r;

        switch (opt) {
        case 'U':
                c->private_users = PRIVATE_USERS_PICK;
                return 0;
        case ARG_PRIVATE_USERS:
                arg = arg ?: "yes"; /* a bare --private-users, as nspawn */
                r = private_users_parse(arg, &c->private_users, &c->uid_shift, &c->uid_range);
                if (r == -ERANGE)
                        return log_error_errno(r, "Invalid UID range '%s': the base must be a non-zero multiple of "
                                                  "65536, and the size 65536.", arg);
                if (r < 0)
                        return log_error_errno(r, "Invalid --private-users= value '%s': use pick, yes, no, identity "
                                                  "or BASE[:65536].", arg);
                return 0;
        case ARG_PRIVATE_USERS_OWNERSHIP:
                c->user_ownership = user_ownership_from_string(arg);
                if (c->user_ownership < 0)
                        return log_error_errno(-EINVAL, "Invalid --private-users-ownership= value '%s': use map, "
                                                        "chown, off or auto.", arg);
                return 0;
        case ARG_SYSTEM_CALL_FILTER:
                return parse_syscall_filter(c, arg);
        case ARG_NO_NEW_PRIVILEGES:
                r = parse_boolean(arg);
                if (r < 0)
                        return log_error_errno(r, "Invalid --no-new-privileges= value '%s': use yes or no.", arg);
                c->no_new_privileges = r;
                return 0;
        case ARG_CAPABILITY:
                return parse_caps(&c->caps_add, arg);
        case ARG_DROP_CAPABILITY:
                return parse_caps(&c->caps_drop, arg);
        case ARG_AMBIENT_CAPABILITY:
                r = parse_caps(&c->caps_ambient, arg);
                if (r < 0)
                        return r;
                c->caps_add |= c->caps_ambient; /* as nspawn: ambient implies the bounding set */
                return 0;
        }
        return 1;
}

/* Name, identity, registration, settings, console. Returns 1 for an option of another group. */
static int parse_identity_option(SpawnConfig *c, int opt, const char *arg) {
        int r;

        switch (opt) {
        case 'M':
                if (isempty(arg))
                        return free_and_strdup(&c->machine_name, NULL);
                if (!machine_name_is_valid(arg))
                        return log_error_errno(-EINVAL, "Invalid machine name '%s': use 1-64 characters of "
                                                        "a-z, A-Z, 0-9 and '-', in labels split by '.'.", arg);
                return free_and_strdup(&c->machine_name, arg) < 0 ? log_oom() : 0;
        case ARG_HOSTNAME:
                if (!hostname_is_valid(arg))
                        return log_error_errno(-EINVAL, "Invalid hostname '%s'.", arg);
                return free_and_strdup(&c->hostname, arg) < 0 ? log_oom() : 0;
        case ARG_UUID:
                if (id128_from_string(arg, &c->uuid) < 0 || id128_is_null(c->uuid))
                        return log_error_errno(-EINVAL, "Invalid UUID '%s'.", arg);
                return 0;
        case ARG_REGISTER:
                c->register_mode = spawn_register_from_string(arg);
                if (c->register_mode < 0)
                        return log_error_errno(-EINVAL, "Invalid --register= value '%s': use yes, no or auto.", arg);
                return 0;
        case ARG_UNIFIED_CGROUP_HIERARCHY:
                c->cgroup_view = cgroup_view_from_string(arg);
                if (c->cgroup_view < 0)
                        return log_error_errno(-EINVAL, "Invalid --unified-cgroup-hierarchy= value '%s': use yes, no "
                                                        "or auto.", arg);
                return 0;
        case ARG_SETTINGS:
                c->settings_mode = settings_mode_from_string(arg);
                if (c->settings_mode < 0) {
                        r = parse_boolean(arg);
                        if (r < 0)
                                return log_error_errno(-EINVAL, "Invalid --settings= value '%s': use yes, no, "
                                                                "trusted or override.", arg);
                        c->settings_mode = r ? SETTINGS_YES : SETTINGS_NO;
                }
                return 0;
        case ARG_PRIVATE_NETWORK:
                c->private_network = true;
                return 0;
        case 'n':
                c->network_veth = c->private_network = true;
                return 0;
        case ARG_NETWORK_BRIDGE:
                if (isempty(arg) || strlen(arg) >= IFNAMSIZ || strchr(arg, '/'))
                        return log_error_errno(-EINVAL, "Invalid bridge name '%s'.", arg);
                strcpy(c->network_bridge, arg);
                c->network_veth = c->private_network = true;
                return 0;
        case ARG_NETWORK_ZONE:
                r = spawn_network_zone_name_check(arg);
                if (r < 0)
                        return log_error_errno(r, "Invalid zone name '%s': use up to 12 letters, digits, '-', '_' or '.'.", arg);
                strcpy(c->network_zone, arg);
                c->network_veth = c->private_network = true;
                return 0;
        case ARG_RESOLV_CONF:
                if (streq(arg, "help")) {
                        for (int i = 0; i < _RESOLV_CONF_MAX; i++)
                                puts(resolv_conf_mode_to_string(i));
                        exit(EXIT_SUCCESS);
                }
                c->resolv_conf = resolv_conf_mode_from_string(arg);
                if (c->resolv_conf < 0)
                        return log_error_errno(-EINVAL, "Invalid --resolv-conf= mode '%s': see --resolv-conf=help.", arg);
                return 0;
        case ARG_NETWORK_NAMESPACE_PATH:
                if (!path_is_absolute(arg) || strlen(arg) >= sizeof c->network_namespace_path)
                        return log_error_errno(-EINVAL, "Invalid --network-namespace-path= '%s': an absolute path "
                                                        "is needed.", arg);
                strcpy(c->network_namespace_path, arg);
                return 0;
        case ARG_NETWORK_INTERFACE:
        case ARG_NETWORK_MACVLAN:
        case ARG_NETWORK_IPVLAN:
        case ARG_NETWORK_VETH_EXTRA:
                r = network_links_add(opt == ARG_NETWORK_INTERFACE ? &c->network_interfaces :
                                      opt == ARG_NETWORK_MACVLAN ? &c->network_macvlan :
                                      opt == ARG_NETWORK_IPVLAN ? &c->network_ipvlan : &c->network_veth_extra, arg,
                                      opt == ARG_NETWORK_MACVLAN ? "mv-" : opt == ARG_NETWORK_IPVLAN ? "iv-" : NULL);
                if (r == -EEXIST)
                        return log_error_errno(r, "Interface '%s' is given twice.", arg);
                if (r == -E2BIG)
                        return log_error_errno(r, "Too many interfaces (at most %d of a kind).", NETWORK_LINKS_MAX);
                if (r < 0)
                        return log_error_errno(r, "Invalid interface specification '%s': use INTERFACE[:NAME] with "
                                                  "names of 1-15 characters.", arg);
                c->private_network = true;
                return 0;
        case 'p':
                r = expose_ports_add(&c->ports, arg);
                if (r == -EEXIST)
                        return log_error_errno(r, "Duplicate port specification '%s': its host port is already "
                                                  "forwarded.", arg);
                if (r == -E2BIG)
                        return log_error_errno(r, "Too many ports (at most %d).", EXPOSE_PORTS_MAX);
                if (r < 0)
                        return log_error_errno(r, "Invalid port specification '%s': use [tcp|udp:]HOST[:GUEST] "
                                                  "with ports 1-65535.", arg);
                return 0;
        case ARG_CONSOLE:
                c->console_mode = console_mode_from_string(arg);
                if (c->console_mode < 0)
                        return log_error_errno(-EINVAL, "Invalid console mode '%s': use interactive, read-only, "
                                                        "passive or pipe.", arg);
                if (c->console_mode == CONSOLE_PIPE)
                        c->quiet = true; /* as nspawn 252: pipe mode prints nothing of its own */
                return 0;
        case 'P':
                c->console_mode = CONSOLE_PIPE;
                c->quiet = true;
                return 0;
        case 'q':
                c->quiet = true;
                return 0;
        case ARG_KEEP_UNIT:
                return 0;
        }
        return 1;
}

static int parse_limits_option(SpawnConfig *c, int opt, const char *arg) {
        return spawn_limits_parse_option(&c->limits, opt, arg);
}

static int parse_one(SpawnConfig *c, int opt, const char *arg) {
        int (*const parsers[])(SpawnConfig *, int, const char *) = {
                parse_image_option, parse_exec_option, parse_security_option, parse_identity_option,
                parse_limits_option,
        };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(parsers); i++) {
                r = parsers[i](c, opt, arg);
                if (r != 1)
                        return r;
        }
        r = spawn_options_parse(c, opt, arg);
        return r == 1 ? -EINVAL : r;
}

/* Which setting an option sets, so a settings file does not override it. */
static SettingMask option_setting(int opt) {
        switch (opt) {
        case 'b': case 'a': return SETTING_START_MODE;
        case 'E': return SETTING_ENVIRONMENT;
        case 'u': return SETTING_USER;
        case ARG_CHDIR: return SETTING_WORKING_DIRECTORY;
        case ARG_HOSTNAME: return SETTING_HOSTNAME;
        case ARG_KILL_SIGNAL: return SETTING_KILL_SIGNAL;
        case ARG_NOTIFY_READY: return SETTING_NOTIFY_READY;
        case ARG_CAPABILITY: return SETTING_CAPABILITY;
        case ARG_DROP_CAPABILITY: return SETTING_DROP_CAPABILITY;
        case ARG_NO_NEW_PRIVILEGES: return SETTING_NO_NEW_PRIVILEGES;
        case ARG_READ_ONLY: return SETTING_READ_ONLY;
        case ARG_VOLATILE: return SETTING_VOLATILE;
        case ARG_BIND: case ARG_BIND_RO: return SETTING_BIND;
        case ARG_TMPFS: return SETTING_TMPFS;
        case ARG_PRIVATE_NETWORK: case 'n': case ARG_NETWORK_BRIDGE: case ARG_NETWORK_ZONE: case ARG_NETWORK_INTERFACE:
        case ARG_NETWORK_MACVLAN: case ARG_NETWORK_IPVLAN: case ARG_NETWORK_VETH_EXTRA:
        case ARG_NETWORK_NAMESPACE_PATH: return SETTING_PRIVATE_NETWORK;
        case 'p': return SETTING_EXPOSE_PORTS;
        case ARG_RESOLV_CONF: return SETTING_RESOLV_CONF;
        case ARG_UUID: return SETTING_UUID;
        case 'U': case ARG_PRIVATE_USERS: return SETTING_PRIVATE_USERS;
        case ARG_PRIVATE_USERS_OWNERSHIP: return SETTING_USER_OWNERSHIP;
        case ARG_SYSTEM_CALL_FILTER: return SETTING_SYSCALL_FILTER;
        case ARG_AMBIENT_CAPABILITY: return SETTING_AMBIENT_CAPABILITY;
        default: return spawn_options_setting(opt);
        }
}

int spawn_config_parse_argv(SpawnConfig *c, int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "directory", required_argument, NULL, 'D' },
                { "image", required_argument, NULL, 'i' },
                { "ephemeral", no_argument, NULL, 'x' },
                { "volatile", optional_argument, NULL, ARG_VOLATILE },
                { "machine", required_argument, NULL, 'M' },
                { "boot", no_argument, NULL, 'b' },
                { "as-pid2", no_argument, NULL, 'a' },
                { "quiet", no_argument, NULL, 'q' },
                { "read-only", no_argument, NULL, ARG_READ_ONLY },
                { "bind", required_argument, NULL, ARG_BIND },
                { "bind-ro", required_argument, NULL, ARG_BIND_RO },
                { "tmpfs", required_argument, NULL, ARG_TMPFS },
                { "setenv", required_argument, NULL, 'E' },
                { "chdir", required_argument, NULL, ARG_CHDIR },
                { "user", required_argument, NULL, 'u' },
                { "hostname", required_argument, NULL, ARG_HOSTNAME },
                { "uuid", required_argument, NULL, ARG_UUID },
                { "console", required_argument, NULL, ARG_CONSOLE },
                { "pipe", no_argument, NULL, 'P' },
                { "kill-signal", required_argument, NULL, ARG_KILL_SIGNAL },
                { "shutdown-timeout", required_argument, NULL, ARG_SHUTDOWN_TIMEOUT },
                { "private-network", no_argument, NULL, ARG_PRIVATE_NETWORK },
                { "network-veth", no_argument, NULL, 'n' },
                { "port", required_argument, NULL, 'p' },
                { "network-bridge", required_argument, NULL, ARG_NETWORK_BRIDGE },
                { "network-zone", required_argument, NULL, ARG_NETWORK_ZONE },
                { "network-interface", required_argument, NULL, ARG_NETWORK_INTERFACE },
                { "network-macvlan", required_argument, NULL, ARG_NETWORK_MACVLAN },
                { "network-ipvlan", required_argument, NULL, ARG_NETWORK_IPVLAN },
                { "network-veth-extra", required_argument, NULL, ARG_NETWORK_VETH_EXTRA },
                { "network-namespace-path", required_argument, NULL, ARG_NETWORK_NAMESPACE_PATH },
                { "resolv-conf", required_argument, NULL, ARG_RESOLV_CONF },
                { "capability", required_argument, NULL, ARG_CAPABILITY },
                { "drop-capability", required_argument, NULL, ARG_DROP_CAPABILITY },
                { "ambient-capability", required_argument, NULL, ARG_AMBIENT_CAPABILITY },
                { "notify-ready", required_argument, NULL, ARG_NOTIFY_READY },
                { "register", required_argument, NULL, ARG_REGISTER },
                { "keep-unit", no_argument, NULL, ARG_KEEP_UNIT },
                { "no-new-privileges", required_argument, NULL, ARG_NO_NEW_PRIVILEGES },
                { "settings", required_argument, NULL, ARG_SETTINGS },
                { "private-users", optional_argument, NULL, ARG_PRIVATE_USERS },
                { "system-call-filter", required_argument, NULL, ARG_SYSTEM_CALL_FILTER },
                { "private-users-ownership", required_argument, NULL, ARG_PRIVATE_USERS_OWNERSHIP },
                { "unified-cgroup-hierarchy", required_argument, NULL, ARG_UNIFIED_CGROUP_HIERARCHY },
                SPAWN_LIMITS_OPTIONS,
                {}
        };
        struct option all[ELEMENTSOF(options) + 32];
        size_t n = 0;
        int opt, r;

        /* Ours, then those of spawn-options.c. */
        for (const struct option *o = options; o->name; o++)
                all[n++] = *o;
        for (const struct option *o = spawn_options_long; o->name && n < ELEMENTSOF(all) - 1; o++)
                all[n++] = *o;
        all[n] = (struct option) {};

        c->console_mode = _CONSOLE_MODE_INVALID;
        c->settings_mode = SETTINGS_YES;
        c->register_mode = _SPAWN_REGISTER_INVALID;
        c->cgroup_view = _CGROUP_VIEW_INVALID; /* unless given: $SYSTEMD_NSPAWN_UNIFIED_HIERARCHY or auto */
        /* '+': options end at the first non-option, which starts the command line. */
        while ((opt = getopt_long(argc, argv, "+hD:i:xM:baqE:u:PUnp:S:" SPAWN_OPTIONS_SHORT, all, NULL)) >= 0) {
                if (opt == 'h') {
                        help();
                        return 0;
                }
                if (opt == ARG_VERSION) {
                        printf("berth-spawn %s\n", PROJECT_VERSION);
                        return 0;
                }
                if (opt == '?')
                        return -EINVAL; /* getopt said what is wrong */
                if (opt == 'S')
                        opt = ARG_SLICE; /* nspawn's short form */
                if (IN_SET(opt, ARG_CAPABILITY, ARG_DROP_CAPABILITY, ARG_AMBIENT_CAPABILITY) && streq(optarg, "help")) {
                        capability_list_print(stdout);
                        return 0;
                }
                r = parse_one(c, opt, optarg);
                if (r < 0)
                        return r;
                c->set_mask |= option_setting(opt);
        }
        if (optind < argc) {
                c->command = strv_copy(argv + optind);
                if (!c->command)
                        return log_oom();
                c->set_mask |= SETTING_COMMAND;
        }
        return 1;
}

static int check_bind_sources(const SpawnConfig *c) {
        for (size_t i = 0; i < c->n_binds; i++)
                if (access(c->binds[i].source, F_OK) < 0)
                        return log_error_errno(errno, "Bind mount source %s: %m", c->binds[i].source);
        return 0;
}

static void print_outcome(const SpawnConfig *c, const SpawnResult *res) {
        char sig[16];

        switch (res->outcome) {
        case OUTCOME_EXITED:
                if (res->status == 0)
                        log_info("Container %s exited successfully.", c->machine_name);
                else
                        log_info("Container %s failed with error code %i.", c->machine_name, res->status);
                break;
        case OUTCOME_POWEROFF:
                log_info("Container %s has been shut down.", c->machine_name);
                break;
        case OUTCOME_REBOOT:
                log_info("Container %s is being rebooted.", c->machine_name);
                break;
        case OUTCOME_SIGNALED:
                log_info("Container %s terminated by signal %s.", c->machine_name, signal_to_string(res->status, sig));
                break;
        case OUTCOME_ESCAPED:
                log_info("Container %s terminated by pressing ^] three times.", c->machine_name);
                break;
        default:
                break;
        }
}

static int shutdown_signal(const SpawnConfig *c, const SpawnTree *t) {
        if (c->kill_signal > 0)
                return c->kill_signal;
        if (c->start_mode != START_BOOT)
                return SIGKILL; /* as nspawn: a command has no way to shut down cleanly */
        return guest_init_halt_signal(t->init);
}

/* nspawn's image locks: a machine that writes its tree holds it exclusively; readers share it.
 * $SYSTEMD_NSPAWN_LOCK=0 takes none (the per-name lock stays). */
static int lock_image(const SpawnConfig *c, ImageLock *ret) {
        const char *path = c->directory ?: c->image;
        bool shared = c->read_only || c->ephemeral || c->volatile_mode != VOLATILE_NO;
        int r;

        if (c->no_image_lock)
                return 0;
        r = image_lock(path, shared ? LOCK_SH : LOCK_EX, ret);

        if (r == -EBUSY)
                return log_error_errno(r, "%s %s is currently busy (in use by another machine).",
                                       c->directory ? "Directory tree" : "Disk image", path);
        if (r < 0)
                return log_error_errno(r, "Failed to lock %s: %m", path);
        return 0;
}

/* With -U and an overlay, the overlay's layers are idmapped (through a namespace with the machine's
 * maps, made before the machine) instead of the root, which an overlay does not allow. */
static int prepare_root(SpawnContext *c, SpawnRoot *root) {
        const SpawnConfig *config = c->config;
        _cleanup_close_ int userns_fd = -EBADF;
        int r;

        if (c->idmap_root && (config->ephemeral || config->volatile_mode != VOLATILE_NO || spawn_root_is_stacked(config))) {
                r = spawn_acquire_uid_range(c);
                if (r < 0)
                        return r;
                r = userns_fd_for_range(c->uid_shift, USERNS_RANGE, &userns_fd);
                if (r < 0)
                        return log_error_errno(r, "Failed to make a user namespace for idmapping: %m");
        }
        r = spawn_root_prepare(config, userns_fd, c->uid_shift, root);
        if (r >= 0 && root->idmapped)
                c->idmap_root = false;
        return r;
}

static int run_machine(SpawnContext *c, SpawnTree *tree, SpawnResult *res) {
        const SpawnConfig *config = c->config;
        int r;

        c->uuid = config->uuid;
        if (id128_is_null(c->uuid))
                c->uuid = tree->machine_id;
        if (id128_is_null(c->uuid)) {
                r = id128_randomize(&c->uuid);
                if (r < 0)
                        return log_error_errno(r, "Failed to generate a machine UUID: %m");
                c->uuid_transient = true;
        }
        c->shutdown_signal = shutdown_signal(config, tree);

        if (!config->quiet) {
                log_info("Spawning container %s on %s.", config->machine_name, config->directory ?: config->image);
                if (config->console_mode == CONSOLE_INTERACTIVE)
                        log_info("Press Ctrl-] three times within 1s to kill container.");
        }
        r = spawn_start(c);
        if (r >= 0)
                r = spawn_supervise(c, res);
        spawn_teardown(c);
        return r;
}

static int run(SpawnConfig *config) {
        SpawnTree tree = { .root_fd = -EBADF };
        SpawnRoot root = {};
        ImageLock image_lock_held = IMAGE_LOCK_NULL;
        SpawnContext c;
        SpawnResult res = {};
        int r;

        r = spawn_config_verify(config);
        if (r < 0)
                return r;
        r = check_bind_sources(config);
        if (r < 0)
                return r;
        r = spawn_network_verify(config);
        if (r < 0)
                return r;

        spawn_context_init(&c, config, &tree);
        r = spawn_lock(&c);
        if (r < 0)
                return r;
        spawn_root_collect_stale(config->machine_name);
        spawn_network_collect_stale(config->machine_name);
        r = lock_image(config, &image_lock_held);
        if (r >= 0)
                r = prepare_root(&c, &root);
        if (r >= 0) {
                c.root_path = root.path;
                r = spawn_tree_open(config, root.path, &tree);
        }
        if (r >= 0)
                r = run_machine(&c, &tree, &res);
        spawn_tree_done(&tree);
        spawn_root_release(&root);
        image_lock_release(&image_lock_held);
        spawn_unlock(&c);
        if (r < 0)
                return r;
        if (!config->quiet)
                print_outcome(config, &res);
        return spawn_result_exit_code(&res);
}


int main(int argc, char *argv[]) {
        SpawnConfig config = {};
        sigset_t ss;
        int r;

        log_parse_environment();
        const char *kill_at = getenv("BERTH_DEBUG_KILL_AT");
        if (kill_at && streq(kill_at, "help")) {
                spawn_list_parent_steps(stdout);
                return EXIT_SUCCESS;
        }
        /* Until the supervisor listens, signals wait: no half-made machine is left behind. */
        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigaddset(&ss, SIGHUP);
        (void) sigprocmask(SIG_BLOCK, &ss, NULL);
        (void) signal(SIGPIPE, SIG_IGN);

        r = spawn_config_parse_argv(&config, argc, argv);
        if (r <= 0) {
                spawn_config_done(&config);
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        }
        if (geteuid() != 0) {
                log_error("Need to be root.");
                spawn_config_done(&config);
                return EXIT_FAILURE;
        }
        r = run(&config);
        spawn_config_done(&config);
        return r < 0 ? EXIT_FAILURE : r;
}

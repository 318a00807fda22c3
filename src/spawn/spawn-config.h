/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "spawn-links.h"
#include "spawn-networkd.h"
#include "spawn-port.h"
#include "spawn-resolv.h"
#include "id128.h"
#include "macro.h"
#include "spawn-limits.h"

typedef enum StartMode {
        START_PID1, /* the command is PID 1 */
        START_PID2, /* a stub init is PID 1, the command PID 2 (--as-pid2) */
        START_BOOT, /* the tree's init is PID 1 (-b) */
        _START_MODE_MAX,
        _START_MODE_INVALID = -EINVAL,
} StartMode;

typedef enum ConsoleMode {
        CONSOLE_INTERACTIVE,
        CONSOLE_READ_ONLY,
        CONSOLE_PASSIVE,
        CONSOLE_PIPE,
        _CONSOLE_MODE_MAX,
        _CONSOLE_MODE_INVALID = -EINVAL,
} ConsoleMode;

typedef enum SpawnRegister {
        SPAWN_REGISTER_NO,
        SPAWN_REGISTER_YES,
        SPAWN_REGISTER_AUTO,
        _SPAWN_REGISTER_MAX,
        _SPAWN_REGISTER_INVALID = -EINVAL,
} SpawnRegister;

typedef enum VolatileMode {
        VOLATILE_NO,
        VOLATILE_YES,     /* an empty tmpfs root, with the image's /usr read-only in it */
        VOLATILE_STATE,   /* the image read-only, with a tmpfs on /var */
        VOLATILE_OVERLAY, /* the image under an overlay whose upper layer is a tmpfs */
        _VOLATILE_MODE_MAX,
        _VOLATILE_MODE_INVALID = -EINVAL,
} VolatileMode;

typedef enum PrivateUsers {
        PRIVATE_USERS_NO,
        PRIVATE_USERS_PICK,     /* -U: a free 65536-id range, picked per machine */
        PRIVATE_USERS_FIXED,    /* --private-users=BASE[:N] */
        PRIVATE_USERS_IDENTITY, /* a user namespace mapping 0..65535 to itself */
        PRIVATE_USERS_TREE,     /* yes: the base is the tree's owner (resolved by spawn_config_verify()) */
        _PRIVATE_USERS_MAX,
        _PRIVATE_USERS_INVALID = -EINVAL,
} PrivateUsers;

typedef struct BindMount {
        char *source;      /* absolute host path */
        char *destination; /* absolute path inside the machine */
        bool read_only;
        bool recursive;
        bool idmap;        /* with -U: the source's owners are the machine's (":idmap"; device nodes) */
        bool root_idmap;   /* with idmap: the source's owner is the machine's root, all others nobody */
} BindMount;

typedef struct TmpfsMount {
        char *destination;
        char *options; /* "mode=755,size=10M" or NULL */
} TmpfsMount;

/* Which fields were set (on the command line, or by a settings file): the command line wins. */
typedef enum SettingMask {
        SETTING_START_MODE        = 1 << 0,  /* -b, --as-pid2, Boot=, ProcessTwo= */
        SETTING_COMMAND           = 1 << 1,  /* the command line after the options, Parameters= */
        SETTING_ENVIRONMENT       = 1 << 2,
        SETTING_USER              = 1 << 3,
        SETTING_WORKING_DIRECTORY = 1 << 4,
        SETTING_HOSTNAME          = 1 << 5,
        SETTING_KILL_SIGNAL       = 1 << 6,
        SETTING_NOTIFY_READY      = 1 << 7,
        SETTING_CAPABILITY        = 1 << 8,
        SETTING_DROP_CAPABILITY   = 1 << 9,
        SETTING_NO_NEW_PRIVILEGES = 1 << 10,
        SETTING_READ_ONLY         = 1 << 11,
        SETTING_VOLATILE          = 1 << 12,
        SETTING_BIND              = 1 << 13,
        SETTING_TMPFS             = 1 << 14,
        SETTING_PRIVATE_NETWORK   = 1 << 15,
        SETTING_UUID              = 1 << 16,
        SETTING_PRIVATE_USERS     = 1 << 17, /* -U, --private-users=, PrivateUsers= */
        SETTING_USER_OWNERSHIP    = 1 << 18, /* --private-users-ownership=, PrivateUsersOwnership= */
        SETTING_SYSCALL_FILTER    = 1 << 19,
        SETTING_AMBIENT_CAPABILITY = 1 << 20,
        SETTING_PIVOT_ROOT        = 1 << 21,
        SETTING_PERSONALITY       = 1 << 22,
        SETTING_TIMEZONE          = 1 << 23,
        SETTING_LINK_JOURNAL      = 1 << 24,
        SETTING_SUPPRESS_SYNC     = 1 << 25,
        SETTING_INACCESSIBLE      = 1 << 26,
        SETTING_OVERLAY           = 1 << 27,
        SETTING_BIND_USER         = 1 << 28,
        SETTING_RESOURCES         = 1 << 29, /* LimitXXX=, OOMScoreAdjust=, CPUAffinity= */
        SETTING_EXPOSE_PORTS      = 1 << 30, /* -p, Port= */
        SETTING_RESOLV_CONF       = 1u << 31, /* --resolv-conf=, ResolvConf= */
} SettingMask;

/* How a -U machine sees the tree's on-disk ownership (nspawn's --private-users-ownership=). */
typedef enum UserOwnership {
        USER_OWNERSHIP_AUTO,  /* map */
        USER_OWNERSHIP_MAP,   /* an idmapped mount: on-disk IDs are the machine's IDs */
        USER_OWNERSHIP_CHOWN, /* the tree is chowned into the machine's range (once; remembered by its owner) */
        USER_OWNERSHIP_OFF,   /* neither: files show as owned by the overflow user inside */
        _USER_OWNERSHIP_MAX,
        _USER_OWNERSHIP_INVALID = -EINVAL,
} UserOwnership;

/* --timezone= (nspawn's modes): what /etc/localtime in the machine becomes. */
typedef enum TimezoneMode {
        TIMEZONE_AUTO,    /* symlink if the host's is a symlink, else copy; bind with a read-only root */
        TIMEZONE_OFF,     /* left as the tree has it */
        TIMEZONE_COPY,
        TIMEZONE_BIND,
        TIMEZONE_SYMLINK,
        TIMEZONE_DELETE,
        _TIMEZONE_MODE_MAX,
        _TIMEZONE_MODE_INVALID = -EINVAL,
} TimezoneMode;

/* --link-journal= */
typedef enum LinkJournal {
        LINK_JOURNAL_AUTO,      /* bind the host's /var/log/journal/ID in if it exists */
        LINK_JOURNAL_NO,
        LINK_JOURNAL_HOST,      /* the journal lives on the host, bound into the machine */
        LINK_JOURNAL_TRY_HOST,
        LINK_JOURNAL_GUEST,     /* the journal lives in the tree, the host has a symlink to it */
        LINK_JOURNAL_TRY_GUEST,
        _LINK_JOURNAL_MAX,
        _LINK_JOURNAL_INVALID = -EINVAL,
} LinkJournal;

/* --overlay=, --overlay-ro=: host (or "+": image) directories stacked onto a path in the machine. */
typedef struct OverlayMount {
        char **sources;    /* lowest first; with a writable overlay the last one is the upper ("": a temporary one) */
        char *destination; /* absolute path inside the machine */
        bool read_only;
} OverlayMount;

/* --set-credential=, --load-credential=: for the machine's PID 1 ($CREDENTIALS_DIRECTORY). */
typedef struct Credential {
        char *id;
        char *path; /* --load-credential=: read when the config is verified */
        char *data;
        size_t size;
} Credential;

/* The /sys/fs/cgroup a machine sees on a hybrid host (--unified-cgroup-hierarchy=,
 * $SYSTEMD_NSPAWN_UNIFIED_HIERARCHY). A pure cgroup2 host shows every machine cgroup2. */
typedef enum CgroupView {
        CGROUP_VIEW_AUTO,    /* cgroup2-only if the tree's systemd needs it, else the host's layout */
        CGROUP_VIEW_HOST,    /* "no": the host's layout */
        CGROUP_VIEW_UNIFIED, /* "yes": cgroup2 only, rooted at the machine's own v2 cgroup */
        _CGROUP_VIEW_MAX,
        _CGROUP_VIEW_INVALID = -EINVAL,
} CgroupView;

typedef struct SpawnConfig {
        char *directory;    /* absolute; NULL with an image */
        char *image;        /* absolute path of a disk image (-i) */
        bool ephemeral;     /* -x: an overlay thrown away on exit */
        VolatileMode volatile_mode;
        char *machine_name; /* valid hostname */
        char *hostname;     /* NULL: the machine name */
        Id128 uuid;         /* null: from the tree's machine-id or random */
        StartMode start_mode;
        ConsoleMode console_mode;
        SpawnRegister register_mode;
        bool quiet;
        bool read_only;
        bool private_network;
        bool network_veth;  /* -n: a veth with address, DHCP, DNS and NAT (implies private_network) */
        ExposePorts ports;  /* -p */
        char network_bridge[IFNAMSIZ]; /* --network-bridge= (implies network_veth: vb-NAME joins it) */
        char network_zone[IFNAMSIZ];   /* --network-zone= (implies network_veth: vb-NAME joins vz-ZONE) */
        NetworkLinks network_interfaces, network_macvlan, network_ipvlan, network_veth_extra;
        char network_namespace_path[256]; /* --network-namespace-path= */
        ResolvConfMode resolv_conf;
        NetworkSetup network_setup; /* --network-setup=: who addresses ve-NAME/vz-ZONE */
        bool notify_ready;
        bool no_new_privileges;
        char **syscall_allow, **syscall_deny; /* --system-call-filter= */
        PrivateUsers private_users;
        uint32_t uid_shift, uid_range; /* with PRIVATE_USERS_FIXED */
        UserOwnership user_ownership;
        CgroupView cgroup_view;
        bool no_tmpfs_tmp;          /* $SYSTEMD_NSPAWN_TMPFS_TMP=0: the tree's own /tmp */
        bool api_vfs_writable;      /* $SYSTEMD_NSPAWN_API_VFS_WRITABLE=1: /sys, /proc/sys… writable */
        bool api_vfs_net_writable;  /* …=network: /proc/sys/net writable (also shared network) */
        bool no_image_lock;         /* $SYSTEMD_NSPAWN_LOCK=0: the tree or image is not locked */
        const char *container_service; /* $container and the registered service: "berth", or
                                        * $SYSTEMD_NSPAWN_CONTAINER_SERVICE */
        BindMount *binds;
        size_t n_binds;
        TmpfsMount *tmpfs;
        size_t n_tmpfs;
        char **setenv;
        char *working_directory;
        char *user;
        int kill_signal;        /* 0: the guest's own shutdown signal */
        uint64_t caps_add, caps_drop, caps_ambient;
        uint64_t shutdown_timeout_usec;
        char **command;
        /* nspawn's integration, file and image options (spawn-options.c) */
        bool suppress_sync;
        int personality;          /* -1: the host's */
        TimezoneMode timezone_mode;
        LinkJournal link_journal;
        char *pivot_root_new, *pivot_root_old;
        char **inaccessible;
        OverlayMount *overlays;
        size_t n_overlays;
        Credential *credentials;
        size_t n_credentials;
        char **bind_users;
        char *template_dir;
        char *oci_bundle;
        char *root_hash, *root_hash_sig, *verity_data;
        char *selinux_context, *selinux_apifs_context;
        SettingMask set_mask;
        int settings_mode; /* SettingsMode, see spawn-settings.h */
        SpawnLimits limits; /* --property=, --slice=, --rlimit=, ... (spawn-limits.h) */
} SpawnConfig;

const char *start_mode_to_string(StartMode m) _pure_;
const char *console_mode_to_string(ConsoleMode m) _pure_;
ConsoleMode console_mode_from_string(const char *s) _pure_;
const char *spawn_register_to_string(SpawnRegister m) _pure_;
const char *volatile_mode_to_string(VolatileMode m) _pure_;
const char *user_ownership_to_string(UserOwnership m) _pure_;
UserOwnership user_ownership_from_string(const char *s) _pure_;
const char *cgroup_view_to_string(CgroupView v) _pure_;
/* "auto", or a boolean ("yes": cgroup2 only, "no": the host's layout). */
CgroupView cgroup_view_from_string(const char *s) _pure_;
VolatileMode volatile_mode_from_string(const char *s) _pure_;
SpawnRegister spawn_register_from_string(const char *s) _pure_;

void spawn_config_done(SpawnConfig *c);

/* Parses argv into c. Returns 1 to go on, 0 to exit successfully (--help), <0 on bad input (logged). */
int spawn_config_parse_argv(SpawnConfig *c, int argc, char *argv[]);
/* Fills defaults (machine name, console mode, directory) and checks the combination; logs. */
int spawn_config_verify(SpawnConfig *c);

/* nspawn's default bounding set: CapBnd 00000000fcecafff (+ CAP_NET_ADMIN with a private network). */
uint64_t spawn_config_capabilities(const SpawnConfig *c) _pure_;

/* Parsers, exported for the unit tests. */
int bind_mount_parse(const char *spec, bool read_only, BindMount *ret);
int tmpfs_mount_parse(const char *spec, TmpfsMount *ret);
int capability_list_parse(const char *spec, uint64_t *ret);
void capability_list_print(FILE *f);
int spawn_config_add_bind(SpawnConfig *c, const BindMount *b);
/* "pick", "yes", "no", "identity", "BASE[:N]" (N must be 65536 for now). */
int private_users_parse(const char *s, PrivateUsers *ret_mode, uint32_t *ret_shift, uint32_t *ret_range);
/* nspawn's syntax: "NAME..." lets these through the default filter, "~NAME..." denies them too.
 * -EINVAL for an unknown name or group. */
int syscall_filter_parse(const char *s, char ***allow, char ***deny);
int spawn_config_add_tmpfs(SpawnConfig *c, const TmpfsMount *t);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "id128.h"

#include "spawn-config.h"

typedef enum GuestInit {
        GUEST_INIT_SYSTEMD,
        GUEST_INIT_SYSVINIT,
        GUEST_INIT_BUSYBOX,
        GUEST_INIT_RUNIT,   /* runit: stage 3 through /run/runit.stopit (+ .reboot) and SIGCONT */
        GUEST_INIT_OTHER,   /* some other init (openrc-init, s6, a shell script) */
        GUEST_INIT_COMMAND, /* not booted: a command is PID 1 (or PID 2) */
        _GUEST_INIT_MAX,
        _GUEST_INIT_INVALID = -EINVAL,
} GuestInit;

const char *guest_init_to_string(GuestInit g) _pure_;
GuestInit guest_init_from_string(const char *s) _pure_;

/* What the guest's init understands: the signal that powers it off, and the one that reboots it.
 * 0 means "no signal does it" (sysvinit is asked through /run/initctl instead). */
int guest_init_poweroff_signal(GuestInit g) _pure_;
int guest_init_reboot_signal(GuestInit g) _pure_;
int guest_init_halt_signal(GuestInit g) _pure_;

typedef struct SpawnTree {
        int root_fd;          /* O_PATH fd of the tree */
        char *init_path;      /* with -b: the init, as a path inside the machine */
        GuestInit init;
        Id128 machine_id;     /* from the tree's /etc/machine-id, or null */
        bool machine_id_file;  /* /etc/machine-id exists (possibly empty) */
        unsigned systemd_version; /* N of the tree's libsystemd-shared-N.so (the newest), 0 if none */
} SpawnTree;

void spawn_tree_done(SpawnTree *t);
/* Opens the tree and checks it is an OS tree with an init we can run; logs what is wrong. */
int spawn_tree_open(const SpawnConfig *c, const char *path, SpawnTree *ret);
/* The version of the systemd installed in the tree, as nspawn guesses it: the N of
 * libsystemd-shared-N.so in /lib, /lib64, /usr/lib, /usr/lib64 or /usr/lib/TRIPLET (systemd/ below
 * each), resolved inside the tree. 0 if there is none. */
unsigned tree_systemd_version(int root_fd);
/* "252" -> 252, "257.9-1" -> 257 (the name between "libsystemd-shared-" and ".so"); 0 if not a number. */
unsigned systemd_version_from_library_name(const char *name) _pure_;
/* Classifies an init binary from the name it resolves to ("systemd", "busybox", "init"...). */
GuestInit guest_init_classify(const char *resolved_path, bool has_inittab) _pure_;

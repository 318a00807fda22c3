/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "image-lock.h"
#include "loop-util.h"
#include "spawn-config.h"

/* The root the machine is built from. For a plain directory that is the directory itself. For a disk
 * image, --ephemeral or --volatile= the launcher makes a private mount namespace of its own and
 * assembles the root there (loop devices, partitions, overlay, tmpfs): nothing of it is ever
 * visible on the host, and all of it goes away with the launcher and its machine, even after SIGKILL.
 * What stays on disk after a crash (an ephemeral upper layer, empty staging directories) is
 * collected by the next launcher. */
typedef struct SpawnRoot {
        char *path;          /* the machine's root: the directory, or the staging directory */
        char *staging;       /* /run/berth/spawn/NAME.root */
        char *lower;         /* /run/berth/spawn/NAME.lower: an image under an overlay */
        char *scratch;       /* /run/berth/spawn/NAME.scratch: tmpfs for --volatile upper layers */
        char *ephemeral_dir; /* /var/lib/berth/ephemeral/NAME: upper and work layers of -x */
        char *lower_idmap;   /* /run/berth/spawn/NAME.lowerid: the lower layer, idmapped (-U) */
        char **idmaps;       /* /run/berth/spawn/NAME.idmapN: a stacked image's layers, idmapped (-U) */
        uint32_t uid_shift_for_upper; /* -U with an overlay: the machine's UID 0 on the host */
        bool idmapped;       /* the layers are idmapped already: the root itself needs no idmap */
        LoopDevice **loops;
        size_t n_loops;
        bool read_only;      /* the root filesystem cannot be written */
} SpawnRoot;

/* Logs what went wrong. Everything made so far is released by spawn_root_release(). */
/* userns_fd: with -U and an overlay, the layers are idmapped through it (-EBADF otherwise). */
int spawn_root_prepare(const SpawnConfig *c, int userns_fd, uint32_t uid_shift, SpawnRoot *root);
void spawn_root_release(SpawnRoot *root);
/* Is the machine's directory a stacked image (layer-store.h)? */
bool spawn_root_is_stacked(const SpawnConfig *c);
/* Removes ephemeral layers, staging directories and UID range locks whose launcher is gone (its
 * name lock is free). own_name is ours: we hold its lock, so whatever it left is stale. */
void spawn_root_collect_stale(const char *own_name);

#define SPAWN_RUN_DIR MACHINE_NAME_LOCK_DIR

/* Is a launcher for this machine name alive? It holds SPAWN_RUN_DIR/NAME.lock. */
bool spawn_name_is_live(const char *name);
#define SPAWN_EPHEMERAL_DIR "/var/lib/berth/ephemeral"
#define SPAWN_RUN_UID_DIR "/run/berth/uid"

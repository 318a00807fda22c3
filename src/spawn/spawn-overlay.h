/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "spawn-context.h"

/* "[+]PATH:[+]PATH[:...]:DEST" as nspawn's --overlay=: "\:" is a colon; "+" takes a path inside the
 * image; with a writable overlay the last source is the upper layer ("" for a temporary one); with two
 * paths the second is both the upper (or top) layer on the host and the destination. */
int overlay_mount_parse(const char *spec, bool read_only, OverlayMount *ret);
void overlay_mount_done(OverlayMount *o);
void spawn_overlays_free(OverlayMount *l, size_t n);
/* Parses and adds one; logs. */
int spawn_overlay_add_spec(SpawnConfig *c, const char *spec, bool read_only);
int spawn_config_add_overlay(SpawnConfig *c, const OverlayMount *o);
/* The host sources exist; logs. */
int spawn_overlay_verify(const SpawnConfig *c);

/* Parent step: each overlay is assembled as a detached mount (with host privileges, so its layers
 * are the host's), kept in c->overlay_fds for the child; temporary upper and work directories are
 * noted in c->overlay_dirs and removed by spawn_overlay_cleanup(). Logs. */
int spawn_overlay_prepare(SpawnContext *c);
/* Child step: attaches them at their destinations in the machine. */
int spawn_overlay_mount(SpawnContext *c);
/* Parent: closes the mounts it kept and removes the temporary directories. */
void spawn_overlay_cleanup(SpawnContext *c);

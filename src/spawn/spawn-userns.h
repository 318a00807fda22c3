/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* -U: the machine gets a user namespace of its own, mapping its UIDs/GIDs 0..65535 to a range on
 * the host that no other running machine uses. The tree keeps its on-disk ownership: the parent
 * hands the child an idmapped copy of the root (mount_setattr MOUNT_ATTR_IDMAP), so nothing is
 * chowned. Root in the machine is nobody on the host. */

#include <stdint.h>
#include <sys/types.h>

#include "spawn-context.h"

#define USERNS_RANGE UINT32_C(0x10000)
#define USERNS_BASE_MIN UINT32_C(0x00080000)
#define USERNS_BASE_MAX UINT32_C(0x6fff0000)

/* Picks (or, with a fixed base, takes) a range and holds /run/berth/uid/BASE.lock for our lifetime. */
int userns_range_acquire(const SpawnConfig *c, uint32_t *ret_base, int *ret_lock_fd);
void userns_range_release(uint32_t base, int lock_fd);
/* Writes uid_map/gid_map of pid: "0 BASE RANGE". */
int userns_write_maps(pid_t pid, uint32_t base, uint32_t range);
/* Writes these maps (several lines each) to pid. */
int userns_write_map_text(pid_t pid, const char *uid_map, const char *gid_map);
/* Hands the delegated cgroups (cgroup2 and name=systemd) to the machine's root user. */
int userns_chown_cgroups(const CgroupSet *s, const char *rel, uint32_t base);
/* A detached, recursive copy of path, idmapped through pid's user namespace (read-only if asked). */
int userns_idmapped_tree(const char *path, pid_t pid, bool read_only, bool recursive, int *ret_tree_fd);
/* The same through the user namespace userns_fd refers to. */
int userns_idmapped_tree_fd(const char *path, int userns_fd, bool read_only, bool recursive, int *ret_tree_fd);
/* --private-users-ownership=chown: moves the ownership of the tree at path from the 65536-ID range
 * it is in now (its top directory's owner tells) into [base, base+65536), in place, never crossing
 * into another file system or following a symlink; setuid/setgid bits are kept. IDs outside the old
 * range become the machine's nobody. Nothing to do when the tree is in that range already. */
int userns_chown_tree(const char *path, uint32_t base);
/* A host device node for a shifted machine: a new node of the same type, device number and mode on a
 * small tmpfs of our own (devices work there, unlike on a tmpfs mounted in the machine's user
 * namespace), owned by the machine's mapping of the host owner (host root: the machine's root),
 * returned as a detached bind mount of that node. The host's node is not touched. */
int userns_device_node_tree(const char *source, uint32_t base, int *ret_tree_fd);
/* The base of the range the tree at path is owned in (its top directory's owner, rounded down). */
int userns_tree_base(const char *path, uint32_t *ret_base);
/* The same, only for a range a machine may get (owner and group in the same range, within
 * USERNS_BASE_MIN..USERNS_BASE_MAX); -ERANGE otherwise (host root's tree, for one). */
int userns_tree_range(const char *path, uint32_t *ret_base);
/* A user namespace with the maps "0 BASE RANGE", before the machine exists: for idmapping the layers
 * of an overlay (an overlay itself cannot be idmapped). Its fd keeps it alive. */
int userns_fd_for_range(uint32_t base, uint32_t range, int *ret_fd);
/* The same, with these maps (several lines each). */
int userns_fd_with_maps(const char *uid_map, const char *gid_map, int *ret_fd);
/* ':rootidmap': a detached copy of path, idmapped so its owner is the machine's root (host ID base)
 * and all other IDs show as nobody. */
int userns_root_idmapped_tree(const char *path, uint32_t base, bool read_only, bool recursive, int *ret_tree_fd);
/* idmaps a recursive copy of path through userns_fd and mounts it on target. */
int userns_idmap_onto(const char *path, int userns_fd, const char *target);

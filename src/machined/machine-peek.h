/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What berthd reads about a machine in its own process, without forking a helper into it: the OS
 * release through the leader's root (openat2() with RESOLVE_IN_ROOT, so the guest's symlinks cannot
 * lead out of it; regular, world-readable files only, opened O_NONBLOCK), kept in the Machine and
 * read again only when the file's identity or times change; and the addresses, from a netlink
 * socket made in the leader's network namespace (setns() on its pidfd for that one moment). */

#include <stddef.h>

#include "machine.h"
#include "netlink-util.h"

#define OS_RELEASE_MAX (64 * 1024)

/* The guest's /etc/os-release (or /usr/lib/os-release) as a strv of key, value, key, value …;
 * -ENOENT if it has none, -EACCES for a file only root may read, -EBADFD for one that is not a
 * regular file, -EREMOTE if finding it means crossing a mount point while a FUSE file system is
 * mounted in the machine (whose daemon could make the lookup wait forever). */
int machine_get_os_release(Machine *machine, char ***ret);
/* Its addresses, IPv4 first, then by bytes; -ENONET if the machine shares our network namespace. */
int machine_get_addresses(Machine *machine, NetlinkAddress **ret, size_t *ret_n);
/* Drops what machine_get_os_release() remembered. */
void machine_forget_os_release(Machine *machine);

/* Parses os-release text (changed in place) into a strv of key, value, key, value … */
int os_release_parse(char *buf, char ***ret);

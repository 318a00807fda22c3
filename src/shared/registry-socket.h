/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* berthd's registration socket: berth-spawn registers its machine with one SOCK_SEQPACKET
 * message instead of a D-Bus round trip through a helper. berthd listens on one socket per system
 * bus address, so the berthd of a test bus never answers a launcher meant for the host's bus.
 *
 * Requests (fields separated by NUL bytes):
 *   register NAME UUID(32 hex or empty) LEADER ROOT SERVICE CLASS [NETIFS]
 *     NETIFS: the host-side interface indices, separated by spaces (as CreateMachineWithNetwork's)
 *   unregister NAME
 * Reply: "0" done, or "-ERRNO" NUL MESSAGE. The peer must be root (SO_PEERCRED). */

#include <stddef.h>
#include <sys/types.h>

#define REGISTRY_SOCKET_DIR "/run/berth/registry"
#define REGISTRY_MESSAGE_MAX 8192

/* REGISTRY_SOCKET_DIR/<hash of $DBUS_SYSTEM_BUS_ADDRESS or the default address>. */
int registry_socket_path(char *buf, size_t size);

/* berthd's Varlink socket (io.systemd.Machine, read-only, open to everyone, as systemd-machined's
 * /run/systemd/machine/io.systemd.Machine): MACHINE_VARLINK_DIR/io.systemd.Machine for the default
 * system bus, with ".<hash of the bus address>" after it for any other bus. */
#define MACHINE_VARLINK_DIR "/run/berth/machine"
int machine_varlink_socket_path(char *buf, size_t size);

/* A listening, non-blocking socket of type at path (replacing a killed berthd's), its directory
 * made with dir_mode (under /run/berth), the socket given mode. */
int berth_socket_listen(const char *path, int type, mode_t dir_mode, mode_t mode);

/* Removes the sockets in dir that nobody listens on any more (berthds of other buses, killed): a
 * machine's sockets are replaced by the next berthd of the same bus, but a bus that is gone for good
 * leaves its own. Returns how many went. */
int berth_sockets_collect(const char *dir, int type);

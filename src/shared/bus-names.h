/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Names on the system bus that berthd, berth-spawn and berthctl agree on. */

#define MACHINE1_BUS_NAME "org.freedesktop.machine1"
#define MACHINE1_PATH "/org/freedesktop/machine1"
#define MACHINE1_MACHINE_PREFIX "/org/freedesktop/machine1/machine"
#define MACHINE1_IMAGE_PREFIX "/org/freedesktop/machine1/image"
#define MACHINE1_MANAGER_IFACE "org.freedesktop.machine1.Manager"
#define MACHINE1_MACHINE_IFACE "org.freedesktop.machine1.Machine"
#define MACHINE1_IMAGE_IFACE "org.freedesktop.machine1.Image"

/* berth's extension interface, served on MACHINE1_PATH next to the Manager. Its presence tells a
 * client that the owner of org.freedesktop.machine1 is berthd (and not systemd-machined). */
#define BERTH_MANAGER_IFACE "io.berth.Machine1.Manager"

/* Where machine state files live: systemd 252's format and location, read by libsystemd. */
#define MACHINE_STATE_DIR "/run/systemd/machines"

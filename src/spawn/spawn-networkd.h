/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>

/* Who addresses a machine's ve-NAME link or a zone's vz-ZONE bridge: berth (a subnet, dnsmasq,
 * NAT) or systemd-networkd, whose stock 80-container-ve.network / 80-container-vz.network do the
 * same on a systemd host. --network-setup=auto (the default) leaves it to networkd when networkd
 * runs in the launcher's network namespace and the matching file is not masked. */
typedef enum NetworkSetup {
        NETWORK_SETUP_AUTO,
        NETWORK_SETUP_BERTH,
        NETWORK_SETUP_NETWORKD,
        _NETWORK_SETUP_MAX,
        _NETWORK_SETUP_INVALID = -EINVAL,
} NetworkSetup;

const char *network_setup_to_string(NetworkSetup s);
NetworkSetup network_setup_from_string(const char *s);

/* The stock file networkd configures PREFIX ("ve-" or "vz-") links with, "" for other prefixes. */
const char *spawn_networkd_file_for(const char *prefix);

/* Does networkd configure PREFIX links here? The file (first found of networkd's search path
 * under ROOT, "" for the host) exists and is not masked (a link to /dev/null or empty). */
bool spawn_networkd_file_active(const char *root, const char *prefix);

/* Is a systemd-networkd process running in the caller's network namespace? */
bool spawn_networkd_running_here(void);

/* The setup in effect for a link with PREFIX under MODE (never AUTO). With NETWORK_SETUP_BERTH
 * while networkd configures such links too, warns that both will. */
NetworkSetup spawn_network_setup_resolve(NetworkSetup mode, const char *prefix);

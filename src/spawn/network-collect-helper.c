/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berth-network-collect: removes what launchers that are gone left of their machines' networks —
 * the host-side links, a zone's membership (and the zone with its last member), the dnsmasq, the
 * lease files, the entries in berth's nftables tables — exactly as the next berth-spawn would at
 * its start (spawn_network_collect_stale()). berthd runs it when it notices a machine whose
 * launcher is gone, so that nothing waits for another machine to start.
 *
 * Exit status: 0 (what it cannot remove it logs, as a launcher does). */
#include <stdlib.h>

#include "log.h"
#include "spawn-network.h"

int main(int argc, char *argv[]) {
        if (argc != 1) {
                log_error("Usage: berth-network-collect (no arguments; berthd runs it).");
                return EXIT_FAILURE;
        }
        spawn_network_collect_stale(""); /* no launcher of its own: every record's is checked */
        return EXIT_SUCCESS;
}

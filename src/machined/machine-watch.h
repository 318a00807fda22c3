/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What tells berthd that a machine's remembered OS release or addresses may be stale, so that a list
 * of a hundred machines asks the kernel once, not once per machine: every machine's address watch
 * (a netlink socket in its network namespace) and one inotify instance (on the os-release file each
 * machine was read from and on the directories that could get a new one) sit in one epoll set; a
 * question first takes what that set has (machine_metadata_flush()), one epoll_wait() when nothing
 * changed. inotify marks do not hold a mount busy: a machine's file system goes when it ends. */

#include <stdbool.h>

#include "machine.h"
#include "manager.h"

#define MACHINE_OS_RELEASE_WATCHES 3

/* Brings every remembered OS release and address list up to what the kernel has said so far (a
 * change made just before the question included). Between manager_metadata_begin() and _end() it
 * is done once, for a whole list. */
void machine_metadata_flush(Manager *m);
void manager_metadata_begin(Manager *m);
void manager_metadata_end(Manager *m);

/* Watches the addresses in netns_fd's network namespace (-EBADF: ours), so that a list reads them
 * only after they changed; without a watch every question reads them. */
void machine_watch_addresses(Machine *machine, int netns_fd);
/* Reads the machine's address watch: its addresses are read again at the next question. */
void machine_address_event(Machine *machine);
/* Watches the os-release file fd was opened as, and the directories /etc and /usr/lib of root, for
 * changes; machine->os_release_watched is true when every watch is in place. */
void machine_watch_os_release(Machine *machine, int root, int fd);
/* Drops the machine's inotify watches (the ones no other machine shares). */
void machine_unwatch_os_release(Machine *machine);

/* Makes the epoll set and the inotify instance (at start: a daemon's fds stay the same after). */
int manager_watch_init(Manager *m);
void manager_watch_done(Manager *m);

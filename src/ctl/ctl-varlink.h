/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "ctl-list.h"

/* Fills the list from berthd's Varlink socket (io.systemd.Machine.List with acquireMetadata, one
 * reply per machine). 1 when listed; 0 when that way is not open here (no socket: no berthd, or
 * systemd-machined owns the bus name; a refused connection; any error or malformed reply), which
 * leaves the list to the D-Bus path with its own messages. */
int ctl_varlink_list(ListState *s);

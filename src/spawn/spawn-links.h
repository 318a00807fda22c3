/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <net/if.h>
#include <stddef.h>

/* --network-interface=, --network-macvlan=, --network-ipvlan= (IF[:NAME], repeatable): host links
 * moved into the machine, or macvlan/ipvlan links made on them in the machine. */
typedef struct NetworkLink {
        char host[IFNAMSIZ];  /* the host's link */
        char guest[IFNAMSIZ]; /* its name in the machine */
} NetworkLink;

#define NETWORK_LINKS_MAX 16

typedef struct NetworkLinks {
        NetworkLink items[NETWORK_LINKS_MAX];
        size_t n;
} NetworkLinks;

/* Parses IF[:NAME]; without NAME the machine's name is PREFIX + IF (shortened as nspawn does), or
 * IF when prefix is NULL. -EINVAL: not a valid interface name; -EEXIST: IF twice; -E2BIG: full. */
int network_links_add(NetworkLinks *l, const char *spec, const char *prefix);

typedef struct SpawnContext SpawnContext;
typedef struct SpawnConfig SpawnConfig;

/* --network-namespace-path=: the launcher steps into that namespace around the clone (the machine
 * inherits it) and back. Returns the fd of our own namespace to go back to, or -EBADF without the
 * option. */
int spawn_network_namespace_enter(const SpawnConfig *config);
void spawn_network_namespace_leave(int saved_fd);
/* Checks the path names a network namespace; logs. */
int spawn_network_namespace_verify(const SpawnConfig *config);

/* Parent step: moves and makes the links (the machine's network namespace exists). */
int spawn_network_links_setup(SpawnContext *c);
/* Moves the interfaces back to the host under their names (every exit path). */
void spawn_network_links_teardown(SpawnContext *c);

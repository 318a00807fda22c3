/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The methods behind berthd's Varlink socket (varlink-listen.c is the transport): each takes the
 * request's parameters and fills *ret with one or more reply objects (a json-c array), or names an
 * error. No sockets here. */

#include <json-c/json.h>
#include <stdbool.h>
#include <sys/types.h>

#include "manager.h"

typedef struct VarlinkCall {
        const char *method;
        json_object *parameters; /* an object; never NULL */
        bool more;
        pid_t peer_pid;
} VarlinkCall;

/* 0 with *ret an array of reply parameter objects (more than one only when call->more), or <0
 * with *ret_error the Varlink error's name and *ret a parameters object for it (or NULL). */
int varlink_machine_dispatch(Manager *m, const VarlinkCall *call, json_object **ret, const char **ret_error);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A SOCK_SEQPACKET channel between a launcher and its child. Every message carries a named sync
 * point that the receiver checks, an optional errno + step name (for SYNC_FAILED), and at most one
 * fd. A failure in the child reaches the parent as data, so the parent prints one good message. */

#include <stdint.h>

#include "macro.h"

typedef enum SyncPoint {
        SYNC_ATTACHED,      /* child  -> parent: I moved myself into my v1 cgroups                */
        SYNC_CGROUP_READY,  /* parent -> child: you are in your cgroups (and id maps), go on     */
        SYNC_ROOTFS_FD,     /* parent -> child: the idmapped root tree (-U), via SCM_RIGHTS      */
        SYNC_BIND_FD,       /* parent -> child: an idmapped --bind source (-U), one per such bind */
        SYNC_CONSOLE_FD,    /* child  -> parent: pty master of /dev/console (SCM_RIGHTS)        */
        SYNC_NOTIFY_FD,     /* child  -> parent: bound notify socket /run/host/notify           */
        SYNC_ROOTFS_READY,  /* child  -> parent: root is built and pivoted, register me          */
        SYNC_GO,            /* parent -> child: exec init                                        */
        SYNC_FAILED,        /* either way: payload is errno + step name                          */
        _SYNC_POINT_MAX,
        _SYNC_POINT_INVALID = -EINVAL,
} SyncPoint;

const char *sync_point_to_string(SyncPoint p) _pure_;
SyncPoint sync_point_from_string(const char *s) _pure_;

typedef struct SyncMessage {
        SyncPoint point;
        int error;      /* positive errno, with SYNC_FAILED */
        char step[64];  /* the step that failed, with SYNC_FAILED */
        int fd;         /* received fd or -EBADF */
} SyncMessage;

/* Creates the socketpair: [0] for the parent, [1] for the child; both CLOEXEC. */
int sync_channel_new(int ret[2]);
int sync_send(int sock, SyncPoint point, int fd);
int sync_send_failure(int sock, const char *step, int error);
/* Receives one message. -EPIPE if the other side closed the channel (for the child's exec: success). */
int sync_receive(int sock, SyncMessage *ret);
/* Receives one message and checks it is 'expected'. A SYNC_FAILED message from the other side is
 * returned as its negative errno, with *ret_failed_step set. */
int sync_expect(int sock, SyncPoint expected, int *ret_fd, char ret_failed_step[static 64]);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A very small epoll loop for the launcher, which watches a handful of fds for the lifetime of a
 * machine and must stay small in memory (sd-event would pull libsystemd and its compression and
 * crypto libraries into every running launcher). The daemon uses sd-event. */

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

typedef struct EventLoop EventLoop;
typedef struct EventSource EventSource;
typedef void (*event_io_fn)(EventSource *s, int fd, uint32_t events, void *userdata);

int event_loop_new(EventLoop **ret);
EventLoop *event_loop_free(EventLoop *l);
DEFINE_POINTER_CLEANUP(EventLoop *, event_loop_free);

/* Watches fd (not owned) for events (EPOLLIN, EPOLLOUT). */
int event_add_io(EventLoop *l, int fd, uint32_t events, event_io_fn fn, void *userdata, EventSource **ret);
int event_source_set_events(EventSource *s, uint32_t events);
/* Disabled sources are not watched until enabled again. */
int event_source_set_enabled(EventSource *s, bool enabled);
/* Blocks the signal and calls fn (with the signal number as fd argument) when it arrives. */
int event_add_signal(EventLoop *l, int sig, event_io_fn fn, void *userdata);
/* One-shot timer, usec from now (CLOCK_MONOTONIC). */
int event_add_timer(EventLoop *l, uint64_t usec, event_io_fn fn, void *userdata);

/* Runs until event_loop_exit(). */
int event_loop_run(EventLoop *l);
void event_loop_exit(EventLoop *l, int code);

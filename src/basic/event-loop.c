/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "alloc-util.h"
#include "event-loop.h"
#include "fd-util.h"

typedef enum SourceKind { SOURCE_IO, SOURCE_SIGNAL, SOURCE_TIMER } SourceKind;

struct EventSource {
        EventLoop *loop;
        SourceKind kind;
        int fd;
        int owned_fd; /* signalfd/timerfd we made */
        int sig;
        uint32_t events;
        bool enabled;
        event_io_fn fn;
        void *userdata;
        EventSource *next;
};

struct EventLoop {
        int epoll_fd;
        EventSource *sources;
        bool exit;
        int exit_code;
};

int event_loop_new(EventLoop **ret) {
        EventLoop *l = new0(EventLoop, 1);

        if (!l)
                return -ENOMEM;
        l->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (l->epoll_fd < 0) {
                free(l);
                return -errno;
        }
        *ret = l;
        return 0;
}

EventLoop *event_loop_free(EventLoop *l) {
        if (!l)
                return NULL;
        while (l->sources) {
                EventSource *s = l->sources;
                l->sources = s->next;
                safe_close(s->owned_fd);
                free(s);
        }
        safe_close(l->epoll_fd);
        free(l);
        return NULL;
}

static int source_new(EventLoop *l, SourceKind kind, int fd, uint32_t events, event_io_fn fn, void *userdata,
                      EventSource **ret) {
        EventSource *s = new0(EventSource, 1);
        struct epoll_event ev = { .events = events, .data.ptr = NULL };

        if (!s)
                return -ENOMEM;
        *s = (EventSource) { .loop = l, .kind = kind, .fd = fd, .owned_fd = -EBADF, .events = events,
                             .enabled = true, .fn = fn, .userdata = userdata, .next = l->sources };
        ev.data.ptr = s;
        if (epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
                int r = -errno;
                free(s);
                return r;
        }
        l->sources = s;
        if (ret)
                *ret = s;
        return 0;
}

int event_add_io(EventLoop *l, int fd, uint32_t events, event_io_fn fn, void *userdata, EventSource **ret) {
        return source_new(l, SOURCE_IO, fd, events, fn, userdata, ret);
}

/* A disabled source leaves the epoll set: with no events asked for, epoll would still report
 * EPOLLHUP and EPOLLERR (a pidfd of a reaped process, a hung-up pty) on every wait. */
static int source_update(EventSource *s) {
        struct epoll_event ev = { .events = s->events, .data.ptr = s };

        if (!s->enabled) {
                if (epoll_ctl(s->loop->epoll_fd, EPOLL_CTL_DEL, s->fd, NULL) < 0 && errno != ENOENT)
                        return -errno;
                return 0;
        }
        if (epoll_ctl(s->loop->epoll_fd, EPOLL_CTL_MOD, s->fd, &ev) < 0 &&
            (errno != ENOENT || epoll_ctl(s->loop->epoll_fd, EPOLL_CTL_ADD, s->fd, &ev) < 0))
                return -errno;
        return 0;
}

int event_source_set_events(EventSource *s, uint32_t events) {
        if (!s)
                return 0;
        s->events = events;
        return source_update(s);
}

int event_source_set_enabled(EventSource *s, bool enabled) {
        if (!s)
                return 0;
        s->enabled = enabled;
        return source_update(s);
}

int event_add_signal(EventLoop *l, int sig, event_io_fn fn, void *userdata) {
        EventSource *s = NULL;
        sigset_t ss;
        int fd, r;

        sigemptyset(&ss);
        sigaddset(&ss, sig);
        if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0)
                return -errno;
        fd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
        if (fd < 0)
                return -errno;
        r = source_new(l, SOURCE_SIGNAL, fd, EPOLLIN, fn, userdata, &s);
        if (r < 0) {
                safe_close(fd);
                return r;
        }
        s->owned_fd = fd;
        s->sig = sig;
        return 0;
}

int event_add_timer(EventLoop *l, uint64_t usec, event_io_fn fn, void *userdata) {
        struct itimerspec its = { .it_value = { .tv_sec = (time_t) (usec / 1000000),
                                                .tv_nsec = (long) (usec % 1000000) * 1000 } };
        EventSource *s = NULL;
        int fd, r;

        if (usec == 0)
                its.it_value.tv_nsec = 1;
        /* a timer that has fired is used again: a repeating timer keeps one fd */
        for (s = l->sources; s; s = s->next)
                if (s->kind == SOURCE_TIMER && !s->enabled) {
                        if (timerfd_settime(s->fd, 0, &its, NULL) < 0)
                                return -errno;
                        s->fn = fn;
                        s->userdata = userdata;
                        return event_source_set_enabled(s, true);
                }
        fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (timerfd_settime(fd, 0, &its, NULL) < 0) {
                r = -errno;
                safe_close(fd);
                return r;
        }
        r = source_new(l, SOURCE_TIMER, fd, EPOLLIN, fn, userdata, &s);
        if (r < 0) {
                safe_close(fd);
                return r;
        }
        s->owned_fd = fd;
        return 0;
}

static void dispatch(EventSource *s, uint32_t events) {
        if (s->kind == SOURCE_SIGNAL) {
                struct signalfd_siginfo si;
                while (read(s->fd, &si, sizeof si) == (ssize_t) sizeof si)
                        s->fn(s, (int) si.ssi_signo, events, s->userdata);
                return;
        }
        if (s->kind == SOURCE_TIMER) {
                uint64_t expirations;
                if (read(s->fd, &expirations, sizeof expirations) != (ssize_t) sizeof expirations)
                        return;
                (void) event_source_set_enabled(s, false); /* one-shot */
        }
        s->fn(s, s->fd, events, s->userdata);
}

int event_loop_run(EventLoop *l) {
        while (!l->exit) {
                struct epoll_event ev[16];
                int n = epoll_wait(l->epoll_fd, ev, (int) ELEMENTSOF(ev), -1);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                for (int i = 0; i < n && !l->exit; i++)
                        dispatch(ev[i].data.ptr, ev[i].events);
        }
        return l->exit_code;
}

void event_loop_exit(EventLoop *l, int code) {
        l->exit = true;
        l->exit_code = code;
}

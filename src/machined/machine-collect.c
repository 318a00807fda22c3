/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "log.h"
#include "machine-collect.h"
#include "machine-enter.h"
#include "manager.h"

#define COLLECT_TIMEOUT_USEC (5 * 1000000ULL)

typedef struct Collect {
        Manager *manager;
        pid_t pid;
        int fd;
        sd_event_source *io, *timer;
        char *buf;
        size_t size, max;
        MachineCollectDone done;
        void *userdata;
} Collect;

static void collect_finish(Collect *c, int r) {
        int k = machine_wait_helper(c->pid, r < 0); /* it is done writing, or we kill it */

        if (r >= 0 && k < 0)
                r = k;
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->timer);
        safe_close(c->fd);
        c->manager->n_operations--;
        c->buf[MIN(c->size, c->max)] = 0;
        c->done(r, c->buf, c->size, c->userdata);
        free(c->buf);
        free(c);
}

static int on_collect_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Collect *c = userdata;
        ssize_t l = read(fd, c->buf + c->size, c->max + 1 - c->size);

        if (l < 0 && IN_SET(errno, EAGAIN, EINTR))
                return 0;
        if (l < 0)
                collect_finish(c, -errno);
        else if (l == 0)
                collect_finish(c, 0);
        else if ((c->size += (size_t) l) > c->max)
                collect_finish(c, -E2BIG);
        return 0;
}

static int on_collect_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        collect_finish(userdata, -ETIMEDOUT);
        return 0;
}

int machine_collect_async(Machine *machine, int wanted, int (*fn)(int fd, void *ud), void *ud, size_t max,
                          MachineCollectDone done, void *userdata) {
        Manager *m = machine->manager;
        _cleanup_close_ int rfd = -EBADF, wfd = -EBADF;
        Collect *c;
        int p[2], r;
        pid_t pid;

        if (m->n_operations >= MANAGER_OPERATIONS_MAX)
                return -EBUSY;
        if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
                return -errno;
        rfd = p[0];
        wfd = p[1];
        r = machine_fork_inside(machine, wanted, false, &pid);
        if (r < 0)
                return r;
        if (r == 0) {
                rfd = safe_close(rfd);
                (void) fd_nonblock(wfd, false);
                r = fn(wfd, ud);
                _exit(r < 0 ? (-r & 0xff) ?: EIO : 0);
        }
        wfd = safe_close(wfd);
        c = new0(Collect, 1);
        if (c)
                c->buf = malloc(max + 2);
        if (!c || !c->buf) {
                if (c)
                        free(c);
                (void) machine_wait_helper(pid, true);
                return -ENOMEM;
        }
        *c = (Collect) { .manager = m, .pid = pid, .fd = TAKE_FD(rfd), .buf = c->buf, .max = max, .done = done,
                         .userdata = userdata };
        r = sd_event_add_io(m->event, &c->io, c->fd, EPOLLIN, on_collect_io, c);
        if (r >= 0)
                r = sd_event_add_time_relative(m->event, &c->timer, CLOCK_MONOTONIC, COLLECT_TIMEOUT_USEC, 0,
                                               on_collect_timeout, c);
        if (r < 0) {
                sd_event_source_disable_unref(c->io);
                safe_close(c->fd);
                free(c->buf);
                free(c);
                (void) machine_wait_helper(pid, true);
                return r;
        }
        m->n_operations++;
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/inotify.h>
#include <linux/openat2.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"
#include "machine-watch.h"
#include "mount-util.h"
#include "netlink-util.h"

#define OS_RELEASE_FILE_EVENTS (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF)
#define OS_RELEASE_DIR_EVENTS (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF)

static int metadata_epoll(Manager *m) {
        if (m->metadata_epoll_fd < 0) {
                m->metadata_epoll_fd = epoll_create1(EPOLL_CLOEXEC);
                if (m->metadata_epoll_fd < 0)
                        return -errno;
        }
        return m->metadata_epoll_fd;
}

static int watch_address_fd(Machine *machine, int fd) {
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = machine };
        int epfd = metadata_epoll(machine->manager);

        if (epfd < 0)
                return epfd;
        return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* Something changed in the machine's addresses: read them again at the next question. */
void machine_address_event(Machine *machine) {
        int fd = machine->address_watch ? sd_event_source_get_io_fd(machine->address_watch) : -EBADF;
        char buf[4096];

        machine->addresses_current = machine->addresses_current && fd >= 0;
        for (; fd >= 0;) {
                ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
                if (n > 0 || (n < 0 && (errno == EINTR || errno == ENOBUFS))) {
                        machine->addresses_current = false; /* ENOBUFS: we missed some, the same for us */
                        continue;
                }
                if (n < 0 && errno == EAGAIN)
                        return;
                break;
        }
        machine->addresses_current = false;
        /* the socket broke: no more watching (and no more keeping) until the next question */
        machine->address_watch = sd_event_source_disable_unref(machine->address_watch);
}

static int on_address_event(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        machine_address_event(userdata);
        return 0;
}

/* Watches the machine's addresses, so that a list reads them only after they changed. Without a
 * watch every question reads them. */
void machine_watch_addresses(Machine *machine, int netns_fd) {
        int fd, r;

        if (machine->address_watch || !machine->manager->event)
                return;
        fd = netlink_open_address_watch(netns_fd);
        if (fd < 0) {
                log_debug_errno(fd, "Failed to watch the addresses of machine %s: %m", machine->name);
                return;
        }
        r = sd_event_add_io(machine->manager->event, &machine->address_watch, fd, EPOLLIN, on_address_event, machine);
        if (r < 0) {
                close(fd);
                return;
        }
        (void) sd_event_source_set_io_fd_own(machine->address_watch, true);
        if (watch_address_fd(machine, fd) < 0) /* then every question reads them */
                machine->address_watch = sd_event_source_disable_unref(machine->address_watch);
}

/* Every machine with watch wd (a file or directory several machines share has one wd) is read again
 * at the next question; wd < 0: every machine. */
static void os_release_changed(Manager *m, int wd, bool gone) {
        for (Machine *i = m->machines; i; i = i->next)
                for (size_t k = 0; k < i->n_os_release_wds; k++)
                        if (wd < 0 || i->os_release_wds[k] == wd) {
                                i->os_release_watched = false;
                                if (gone) /* the kernel dropped it: not ours to remove any more */
                                        i->os_release_wds[k] = -1;
                        }
}

static void inotify_drain(Manager *m) {
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t n;

        while ((n = read(m->os_release_inotify_fd, buf, sizeof buf)) > 0)
                for (char *p = buf; p < buf + n; p += sizeof(struct inotify_event) + ((struct inotify_event *) p)->len) {
                        const struct inotify_event *e = (const struct inotify_event *) p;
                        os_release_changed(m, e->mask & IN_Q_OVERFLOW ? -1 : e->wd, e->mask & IN_IGNORED);
                }
}

static int on_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        inotify_drain(userdata);
        return 0;
}

static int os_release_inotify(Manager *m) {
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = m };
        int epfd, fd, r;

        if (m->os_release_inotify_fd >= 0)
                return m->os_release_inotify_fd;
        epfd = metadata_epoll(m);
        if (epfd < 0)
                return epfd;
        fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        m->os_release_inotify_fd = fd;
        /* drained by the loop too, so that its queue never overflows between questions */
        if (m->event && sd_event_add_io(m->event, &m->os_release_inotify_source, fd, EPOLLIN, on_inotify, m) < 0)
                log_debug("Failed to watch the inotify instance in the loop; questions drain it.");
        return fd;
}

/* A watch on what fd is (through its /proc/self/fd link: the guest's inode, whatever its path is on
 * the host); the wd, or -errno. */
static int watch_fd(int inotify_fd, int fd, uint32_t mask) {
        char path[64];
        int wd;

        (void) snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        wd = inotify_add_watch(inotify_fd, path, mask);
        return wd < 0 ? -errno : wd;
}

static bool wd_shared(Manager *m, const Machine *self, int wd) {
        for (Machine *i = m->machines; i; i = i->next)
                if (i != self)
                        for (size_t k = 0; k < i->n_os_release_wds; k++)
                                if (i->os_release_wds[k] == wd)
                                        return true;
        return false;
}

void machine_unwatch_os_release(Machine *machine) {
        Manager *m = machine->manager;

        for (size_t k = 0; k < machine->n_os_release_wds; k++)
                if (machine->os_release_wds[k] >= 0 && m->os_release_inotify_fd >= 0 &&
                    !wd_shared(m, machine, machine->os_release_wds[k]))
                        (void) inotify_rm_watch(m->os_release_inotify_fd, machine->os_release_wds[k]);
        machine->n_os_release_wds = 0;
        machine->os_release_watched = false;
}

void machine_watch_os_release(Machine *machine, int root, int fd) {
        static const char *const dirs[] = { "/etc", "/usr/lib" };
        int ifd = os_release_inotify(machine->manager), wd;

        machine_unwatch_os_release(machine);
        if (ifd < 0)
                return;
        wd = watch_fd(ifd, fd, OS_RELEASE_FILE_EVENTS);
        if (wd < 0)
                return;
        machine->os_release_wds[machine->n_os_release_wds++] = wd;
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                /* within the root's own mount: a lookup across mounts could meet a FUSE daemon */
                _cleanup_close_ int d = open_in_root_resolve(root, dirs[i], O_PATH | O_DIRECTORY, 0, RESOLVE_NO_XDEV);
                if (d < 0)
                        return; /* not watched (a missing directory too): every question looks again */
                wd = watch_fd(ifd, d, OS_RELEASE_DIR_EVENTS);
                if (wd < 0)
                        return;
                machine->os_release_wds[machine->n_os_release_wds++] = wd;
        }
        machine->os_release_watched = true;
}

void machine_metadata_flush(Manager *m) {
        struct epoll_event ev[64];
        int n;

        if (m->metadata_fresh || m->metadata_epoll_fd < 0)
                return;
        do {
                n = epoll_wait(m->metadata_epoll_fd, ev, ELEMENTSOF(ev), 0);
                for (int i = 0; i < n; i++) {
                        if (ev[i].data.ptr == m)
                                inotify_drain(m);
                        else
                                machine_address_event(ev[i].data.ptr);
                }
        } while (n == (int) ELEMENTSOF(ev));
}

void manager_metadata_begin(Manager *m) {
        machine_metadata_flush(m);
        m->metadata_fresh = true;
}

void manager_metadata_end(Manager *m) {
        m->metadata_fresh = false;
}

int manager_watch_init(Manager *m) {
        int r = os_release_inotify(m);
        return r < 0 ? r : 0;
}

void manager_watch_done(Manager *m) {
        m->os_release_inotify_source = sd_event_source_disable_unref(m->os_release_inotify_source);
        m->os_release_inotify_fd = safe_close(m->os_release_inotify_fd);
        m->metadata_epoll_fd = safe_close(m->metadata_epoll_fd);
}

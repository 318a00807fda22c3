/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "loop-util.h"

LoopDevice *loop_device_free(LoopDevice *d) {
        if (!d)
                return NULL;
        safe_close(d->fd);
        free(d->node);
        free(d);
        return NULL;
}

static int configure(int loop_fd, int backing_fd, uint64_t offset, uint64_t size, bool read_only) {
        struct loop_config cfg = {
                .fd = (uint32_t) backing_fd,
                .block_size = 0,
                .info = {
                        .lo_offset = offset,
                        .lo_sizelimit = size,
                        .lo_flags = LO_FLAGS_AUTOCLEAR | (read_only ? LO_FLAGS_READ_ONLY : 0),
                },
        };

        if (ioctl(loop_fd, LOOP_CONFIGURE, &cfg) < 0)
                return -errno;
        return 0;
}

int loop_device_attach(int backing_fd, uint64_t offset, uint64_t size, bool read_only, LoopDevice **ret) {
        _cleanup_close_ int control = -EBADF;
        int r;

        control = open("/dev/loop-control", O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (control < 0)
                return -errno;

        /* Another process may grab the free device between GET_FREE and CONFIGURE: retry. */
        for (int attempt = 0; attempt < 64; attempt++) {
                _cleanup_close_ int fd = -EBADF;
                char node[32];
                int nr;
                LoopDevice *d;

                nr = ioctl(control, LOOP_CTL_GET_FREE);
                if (nr < 0)
                        return -errno;
                (void) snprintf(node, sizeof node, "/dev/loop%d", nr);
                fd = open(node, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        return -errno;
                /* Hold a lock while configuring, as udev and systemd do, so probers keep out. */
                (void) flock(fd, LOCK_EX);
                r = configure(fd, backing_fd, offset, size, read_only);
                if (r == -EBUSY)
                        continue;
                if (r < 0)
                        return r;
                (void) flock(fd, LOCK_UN);
                d = new0(LoopDevice, 1);
                if (!d)
                        return -ENOMEM;
                *d = (LoopDevice) { .fd = TAKE_FD(fd), .nr = nr, .node = strdup(node), .offset = offset,
                                    .size = size, .read_only = read_only };
                if (!d->node) {
                        loop_device_free(d);
                        return -ENOMEM;
                }
                *ret = d;
                return 0;
        }
        return -EBUSY;
}

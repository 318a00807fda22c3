/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sys/personality.h>

#include "fd-util.h"
#include "mount-util.h"
#include "spawn-options.h"
#include "spawn-pivot.h"

int spawn_pivot_root_setup(SpawnContext *c) {
        const SpawnConfig *cfg = c->config;
        _cleanup_close_ int dir = -EBADF, tree = -EBADF, old = -EBADF, target = -EBADF;
        int r;

        if (!cfg->pivot_root_new)
                return 0;
        dir = open_in_root(c->root_fd, cfg->pivot_root_new, O_PATH | O_DIRECTORY, 0);
        if (dir < 0)
                return dir;
        r = mount_clone_tree(dir, NULL, true, &tree);
        if (r < 0)
                return r;
        if (cfg->pivot_root_old) {
                r = mount_clone_tree(c->root_fd, NULL, true, &old);
                if (r < 0)
                        return r;
        }
        /* Stacked on the tree's own mount: the tree is no longer reachable but through OLD. */
        r = mount_attach(tree, c->root_fd);
        if (r < 0)
                return r;
        safe_close(c->root_fd);
        c->root_fd = TAKE_FD(tree);
        if (old < 0)
                return 0;
        target = mkdir_p_in_root(c->root_fd, cfg->pivot_root_old, 0755);
        if (target < 0)
                return target;
        return mount_attach(old, target);
}

int spawn_personality_set(SpawnContext *c) {
        switch (c->config->personality) {
        case PERSONALITY_X86:
                return personality(PER_LINUX32) < 0 ? -errno : 0;
        case PERSONALITY_X86_64:
                return personality(PER_LINUX) < 0 ? -errno : 0;
        default:
                return 0;
        }
}

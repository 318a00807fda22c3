/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "image-dissect.h"
#include "layer-store.h"
#include "log.h"
#include "macro.h"
#include "mount-util.h"
#include "path-util.h"
#include "rm-rf.h"
#include "spawn-root.h"
#include "spawn-userns.h"
#include "string-util.h"
#include "strv.h"

static int make_dir(const char *p, mode_t mode) {
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int make_private_namespace(void) {
        if (unshare(CLONE_NEWNS) < 0)
                return log_error_errno(errno, "Failed to create a private mount namespace: %m");
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                return log_error_errno(errno, "Failed to make our mounts private: %m");
        return 0;
}

static int staging_path(const SpawnConfig *c, const char *suffix, char **ret) {
        char *p = strjoin(SPAWN_RUN_DIR "/", c->machine_name, suffix);
        int r;

        if (!p)
                return log_oom();
        r = make_dir(p, 0700);
        if (r < 0) {
                free(p);
                return log_error_errno(r, "Failed to create %s: %m", SPAWN_RUN_DIR);
        }
        *ret = p;
        return 0;
}

static int add_loop(SpawnRoot *root, LoopDevice *d) {
        LoopDevice **l = realloc(root->loops, sizeof(LoopDevice *) * (root->n_loops + 1));

        if (!l) {
                loop_device_free(d);
                return -ENOMEM;
        }
        root->loops = l;
        root->loops[root->n_loops++] = d;
        return 0;
}

static int mount_partition(SpawnRoot *root, int image_fd, const DissectedPartition *p, const char *base,
                           PartitionDesignator d, bool read_only) {
        _cleanup_close_ int base_fd = -EBADF, target = -EBADF, m = -EBADF;
        LoopDevice *loop = NULL;
        bool ro = read_only || p->read_only;
        int r;

        r = loop_device_attach(image_fd, p->offset, p->size, ro, &loop);
        if (r < 0)
                return log_error_errno(r, "Failed to attach a loop device for the %s partition: %m",
                                       partition_designator_to_string(d));
        r = add_loop(root, loop);
        if (r < 0)
                return log_oom();
        base_fd = open(base, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (base_fd < 0)
                return log_error_errno(errno, "Failed to open %s: %m", base);
        target = open_in_root(base_fd, partition_designator_mount_point(d), O_PATH | O_DIRECTORY, 0);
        if (target < 0)
                return log_error_errno(target, "The image has a %s partition but no %s directory to mount it on: %m",
                                       partition_designator_to_string(d), partition_designator_mount_point(d));
        /* A read-only device needs a read-only superblock, not just a read-only mount. */
        static const char *const ro_opts[] = { "ro", NULL };
        r = mount_new_fs(p->fstype, loop->node, ro ? ro_opts : NULL,
                         MOUNT_ATTR_NODEV | (ro ? MOUNT_ATTR_RDONLY : 0), &m);
        if (r < 0)
                return log_error_errno(r, "Failed to mount the %s partition (%s) of the image: %m",
                                       partition_designator_to_string(d), p->fstype);
        r = mount_attach(m, target);
        if (r < 0)
                return log_error_errno(r, "Failed to mount the %s partition: %m", partition_designator_to_string(d));
        return 0;
}

static int mount_image(const SpawnConfig *c, SpawnRoot *root, const char *base) {
        _cleanup_(dissected_image_done) DissectedImage m = {};
        _cleanup_close_ int fd = -EBADF;
        bool ro = c->read_only || c->ephemeral || c->volatile_mode != VOLATILE_NO;
        int r;

        fd = open(c->image, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 && errno == EROFS && !ro) {
                ro = true;
                fd = open(c->image, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        }
        if (fd < 0)
                return log_error_errno(errno, "Failed to open image %s: %m", c->image);
        r = image_dissect(fd, &m);
        if (r == -ENOTUNIQ)
                return log_error_errno(r, "Image %s is ambiguous: two partitions (or filesystem signatures) "
                                          "claim the same role. Refusing.", c->image);
        if (r == -ERANGE)
                return log_error_errno(r, "Image %s has a partition table whose partitions overlap or reach past "
                                          "the end of the image. Refusing.", c->image);
        if (r == -EPROTONOSUPPORT)
                return log_error_errno(r, "Image %s holds a filesystem berth does not mount (allowed: ext2/3/4, "
                                          "btrfs, xfs, squashfs, erofs, vfat).", c->image);
        if (r < 0)
                return log_error_errno(r, "Image %s has no root filesystem berth can find (a bare filesystem, "
                                          "an MBR disk with a Linux partition, or a GPT disk with a root "
                                          "partition for this architecture).", c->image);

        /* Root first, then the partitions mounted inside it. */
        r = mount_partition(root, fd, &m.partitions[PARTITION_ROOT], base, PARTITION_ROOT, ro);
        if (r < 0)
                return r;
        root->read_only = ro || m.partitions[PARTITION_ROOT].read_only;
        for (PartitionDesignator d = PARTITION_ROOT + 1; d < _PARTITION_DESIGNATOR_MAX; d++) {
                if (!m.partitions[d].found)
                        continue;
                if (d == PARTITION_ESP && m.partitions[PARTITION_XBOOTLDR].found)
                        continue; /* /boot is XBOOTLDR's then; the ESP would go to /efi, if there is one */
                r = mount_partition(root, fd, &m.partitions[d], base, d, ro);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int overlay_lowerdir_ok(const char *p) {
        return !strpbrk(p, ":,\\");
}

static int mount_overlay(const char *lower, const char *upper, const char *work, const char *target) {
        _cleanup_free_ char *l = strjoin("lowerdir=", lower), *u = strjoin("upperdir=", upper),
                            *w = strjoin("workdir=", work);
        const char *opts[] = { l, u, w, NULL };
        _cleanup_close_ int m = -EBADF, t = -EBADF;
        int r;

        if (!l || !u || !w)
                return -ENOMEM;
        if (!overlay_lowerdir_ok(lower))
                return -EINVAL;
        r = mount_new_fs("overlay", "overlay", opts, MOUNT_ATTR_NODEV, &m);
        if (r < 0)
                return r;
        t = open(target, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (t < 0)
                return -errno;
        return mount_attach(m, t);
}

/* Gives dir the mode and (shifted) owner of the directory 'like', so the root of an overlay or of a
 * volatile tmpfs looks to a -U machine as the tree's own root does. shift 0: nothing to do. */
static int take_over_root_dir(const char *dir, const char *like, uint32_t shift) {
        struct stat st;

        if (shift == 0)
                return 0;
        if (stat(like, &st) < 0)
                return -errno;
        if (chown(dir, shift + (st.st_uid % USERNS_RANGE), shift + (st.st_gid % USERNS_RANGE)) < 0 ||
            chmod(dir, st.st_mode & 07777) < 0)
                return -errno;
        return 0;
}

/* A private mount namespace, and the directory the root is assembled on. */
static int begin_assembly(const SpawnConfig *c, SpawnRoot *root) {
        int r = make_private_namespace();
        return r < 0 ? r : staging_path(c, ".root", &root->staging);
}

/* SPAWN_EPHEMERAL_DIR/NAME, empty: the machine's throw-away layers go there. */
static int make_ephemeral_dir(const SpawnConfig *c, SpawnRoot *root) {
        if (make_dir("/var/lib/berth", 0755) < 0 || make_dir(SPAWN_EPHEMERAL_DIR, 0700) < 0)
                return log_error_errno(errno, "Failed to create " SPAWN_EPHEMERAL_DIR ": %m");
        root->ephemeral_dir = strjoin(SPAWN_EPHEMERAL_DIR "/", c->machine_name);
        if (!root->ephemeral_dir)
                return log_oom();
        (void) rm_rf(root->ephemeral_dir); /* ours by the name lock: anything there is stale */
        if (make_dir(root->ephemeral_dir, 0700) < 0)
                return log_error_errno(errno, "Failed to create %s: %m", root->ephemeral_dir);
        return 0;
}

static int prepare_ephemeral(const SpawnConfig *c, SpawnRoot *root, const char *lower, int userns_fd) {
        _cleanup_free_ char *upper = NULL, *work = NULL;
        int r;

        r = make_ephemeral_dir(c, root);
        if (r < 0)
                return r;
        upper = path_join(root->ephemeral_dir, "upper");
        work = path_join(root->ephemeral_dir, "work");
        if (!upper || !work)
                return log_oom();
        if (make_dir(upper, 0755) < 0 || make_dir(work, 0700) < 0)
                return log_error_errno(errno, "Failed to create the ephemeral layer in %s: %m", root->ephemeral_dir);
        /* With -U the upper layer is not idmapped (overlayfs works in it with our credentials): it
         * stores the shifted IDs, and is thrown away anyway. Its top directory must look like the
         * tree's own root to the machine. */
        r = take_over_root_dir(upper, lower, root->uid_shift_for_upper);
        if (r < 0)
                return log_error_errno(r, "Failed to prepare the ephemeral layer: %m");
        r = mount_overlay(lower, upper, work, root->staging);
        if (r < 0)
                return log_error_errno(r, "Failed to mount an overlay over %s: %m", lower);
        return 0;
}

/* On a usr-merged tree /bin, /sbin, /lib… are symlinks into /usr: the volatile root gets the same
 * links, or nothing dynamically linked can run (the loader is /lib64/ld-linux… by its ELF header). Only
 * links that point into usr are taken; anything else in the tree's root is not part of /usr. */
static int copy_usr_merge_links(int lower_fd, int root_fd, uint32_t shift) {
        static const char *const names[] = { "bin", "sbin", "lib", "lib32", "lib64", "libx32" };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                char target[PATH_MAX];
                ssize_t n = readlinkat(lower_fd, names[i], target, sizeof target - 1);
                if (n < 0) {
                        if (errno == ENOENT || errno == EINVAL) /* absent, or a real directory */
                                continue;
                        return -errno;
                }
                target[n] = 0;
                const char *t = target[0] == '/' ? target + 1 : target;
                if (!startswith(t, "usr/"))
                        continue;
                if (symlinkat(target, root_fd, names[i]) < 0)
                        return -errno;
                if (shift != 0 && fchownat(root_fd, names[i], shift, shift, AT_SYMLINK_NOFOLLOW) < 0)
                        return -errno;
        }
        return 0;
}

/* --volatile=yes: an empty root; the tree's /usr read-only inside it. */
static int prepare_volatile_yes(SpawnRoot *root, const char *lower) {
        _cleanup_free_ char *usr = NULL;
        _cleanup_close_ int lower_fd = -EBADF, root_fd = -EBADF, usr_src = -EBADF;
        int r;

        if (mount("tmpfs", root->staging, "tmpfs", MS_NODEV | MS_NOSUID, "mode=755") < 0)
                return log_error_errno(errno, "Failed to mount a tmpfs on %s: %m", root->staging);
        r = take_over_root_dir(root->staging, lower, root->uid_shift_for_upper);
        if (r < 0)
                return log_error_errno(r, "Failed to prepare the volatile root: %m");
        usr = strjoin(root->staging, "/usr");
        if (!usr)
                return log_oom();
        if (make_dir(usr, 0755) < 0)
                return log_error_errno(errno, "Failed to create %s: %m", usr);
        lower_fd = open(lower, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (lower_fd < 0)
                return log_error_errno(errno, "Failed to open %s: %m", lower);
        root_fd = open(root->staging, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return log_error_errno(errno, "Failed to open %s: %m", root->staging);
        r = copy_usr_merge_links(lower_fd, root_fd, root->uid_shift_for_upper);
        if (r < 0)
                return log_error_errno(r, "Failed to link /bin, /sbin and /lib* into the volatile root: %m");
        r = mount_clone_tree(lower_fd, "usr", true, &usr_src);
        if (r >= 0)
                r = mount_set_attr(usr_src, MOUNT_ATTR_RDONLY, 0, true);
        if (r >= 0) {
                _cleanup_close_ int t = open(usr, O_PATH | O_DIRECTORY | O_CLOEXEC);
                r = t < 0 ? -errno : mount_attach(usr_src, t);
        }
        if (r < 0)
                return log_error_errno(r, "Failed to mount the tree's /usr read-only: %m");
        return 0;
}

static int prepare_volatile(const SpawnConfig *c, SpawnRoot *root, const char *lower) {
        static const char *const tmpfs_opts[] = { "mode=755", NULL };
        _cleanup_free_ char *upper = NULL, *work = NULL, *var = NULL;
        _cleanup_close_ int m = -EBADF;
        int r;

        r = staging_path(c, ".scratch", &root->scratch);
        if (r < 0)
                return r;
        switch (c->volatile_mode) {
        case VOLATILE_OVERLAY:
                if (mount("tmpfs", root->scratch, "tmpfs", MS_NODEV | MS_NOSUID, "mode=700") < 0)
                        return log_error_errno(errno, "Failed to mount a tmpfs on %s: %m", root->scratch);
                upper = strjoin(root->scratch, "/upper");
                work = strjoin(root->scratch, "/work");
                if (!upper || !work)
                        return log_oom();
                if (make_dir(upper, 0755) < 0 || make_dir(work, 0700) < 0)
                        return log_error_errno(errno, "Failed to create the overlay layers: %m");
                r = take_over_root_dir(upper, lower, root->uid_shift_for_upper);
                if (r < 0)
                        return log_error_errno(r, "Failed to prepare the overlay's upper layer: %m");
                r = mount_overlay(lower, upper, work, root->staging);
                if (r < 0)
                        return log_error_errno(r, "Failed to mount an overlay over %s: %m", lower);
                return 0;
        case VOLATILE_YES:
                return prepare_volatile_yes(root, lower);
        case VOLATILE_STATE:
                /* The tree read-only, /var a tmpfs. */
                if (mount(lower, root->staging, NULL, MS_BIND | MS_REC, NULL) < 0 ||
                    mount(NULL, root->staging, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
                        return log_error_errno(errno, "Failed to mount %s read-only: %m", lower);
                var = strjoin(root->staging, "/var");
                if (!var)
                        return log_oom();
                r = mount_new_fs("tmpfs", "tmpfs", tmpfs_opts, MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID, &m);
                if (r >= 0) {
                        _cleanup_close_ int t = open(var, O_PATH | O_DIRECTORY | O_CLOEXEC);
                        r = t < 0 ? -errno : mount_attach(m, t);
                }
                if (r < 0)
                        return log_error_errno(r, "Failed to mount a tmpfs on /var: %m");
                r = take_over_root_dir(var, lower, root->uid_shift_for_upper);
                if (r < 0)
                        return log_error_errno(r, "Failed to prepare the volatile /var: %m");
                return 0;
        default:
                return 0;
        }
}

/* path idmapped through userns_fd onto a staging directory of its own, which *ret names. */
static int idmap_onto_staging(const SpawnConfig *c, SpawnRoot *root, const char *path, int userns_fd, char **ret) {
        char suffix[32];
        char *target = NULL;
        int r;

        (void) snprintf(suffix, sizeof suffix, ".idmap%zu", strv_length(root->idmaps));
        r = staging_path(c, suffix, &target);
        if (r < 0)
                return r;
        if (strv_consume(&root->idmaps, target) < 0)
                return log_oom();
        r = userns_idmap_onto(path, userns_fd, target);
        if (r < 0)
                return log_error_errno(r, "Failed to idmap %s: %m", path);
        *ret = target;
        return 0;
}

/* -U: every layer idmapped (the machine sees the IDs the image has); the upper layer, which overlayfs
 * writes with our credentials, stores the machine's shifted IDs, as -x's does. Rewrites *lowerdir
 * (absolute paths then). */
static int idmap_stack(const SpawnConfig *c, SpawnRoot *root, const char *pool, int userns_fd, char **lowerdir) {
        _cleanup_strv_free_ char **lowers = NULL;
        _cleanup_free_ char *joined = NULL;
        char *t = NULL;
        int r;

        for (const char *p = *lowerdir; p && *p;) {
                size_t n = strcspn(p, ":");
                _cleanup_free_ char *rel = strndup(p, n), *abs = rel ? path_join(pool, rel) : NULL;
                if (!abs)
                        return log_oom();
                r = idmap_onto_staging(c, root, abs, userns_fd, &t);
                if (r < 0)
                        return r;
                if (strv_extend(&lowers, t) < 0)
                        return log_oom();
                p += n + (p[n] == ':');
        }
        joined = strv_join(lowers, ":");
        if (!joined)
                return log_oom();
        free_and_replace(*lowerdir, joined);
        root->idmapped = true;
        return 0;
}

/* A stacked image (layer-store.h): its layers read-only under the machine's own upper layer, which
 * is the image's NAME/upper for a persistent machine and a throw-away one with -x. */
static int prepare_stacked(const SpawnConfig *c, SpawnRoot *root, const char *pool, char *lowerdir_in,
                           int userns_fd) {
        _cleanup_free_ char *upper = NULL, *work = NULL, *dir = NULL, *lowerdir = strdup(lowerdir_in);
        int r;

        if (!lowerdir)
                return log_oom();
        if (c->volatile_mode != VOLATILE_NO)
                return log_error_errno(-EOPNOTSUPP, "%s is a stacked image, which berth-spawn runs without "
                                                    "--volatile=; pull it with --layers=flat for that.",
                                       c->directory);
        r = begin_assembly(c, root);
        if (r < 0)
                return r;
        if (c->ephemeral) {
                r = make_ephemeral_dir(c, root);
                if (r < 0)
                        return r;
        }
        dir = strdup(root->ephemeral_dir ?: c->directory);
        if (!dir)
                return log_oom();
        if (!c->read_only) {
                upper = path_join(dir, "upper");
                work = path_join(dir, "work");
                if (!upper || !work)
                        return log_oom();
                if (make_dir(upper, 0755) < 0 || make_dir(work, 0700) < 0)
                        return log_error_errno(errno, "Failed to create the machine's layer in %s: %m", dir);
        }
        if (userns_fd >= 0) {
                r = idmap_stack(c, root, pool, userns_fd, &lowerdir);
                if (r < 0)
                        return r;
                /* its top directory looks like the top layer's root to the machine */
                _cleanup_free_ char *top = strndup(lowerdir, strcspn(lowerdir, ":"));
                r = !top ? -ENOMEM : upper ? take_over_root_dir(upper, top, root->uid_shift_for_upper) : 0;
                if (r < 0)
                        return log_error_errno(r, "Failed to prepare the machine's layer in %s: %m", dir);
        }
        if (c->read_only && !strchr(lowerdir, ':')) {
                /* overlayfs wants two lowers without an upper: the one layer, bound read-only */
                _cleanup_free_ char *p = lowerdir[0] == '/' ? strdup(lowerdir) : path_join(pool, lowerdir);
                if (!p)
                        return log_oom();
                if (mount(p, root->staging, NULL, MS_BIND, NULL) < 0 ||
                    mount(NULL, root->staging, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
                        return log_error_errno(errno, "Failed to mount %s read-only: %m", p);
                goto done;
        }
        r = layer_overlay_mount(pool, lowerdir, upper, work, root->staging);
        if (r < 0)
                return log_error_errno(r, "Failed to mount the layers of %s: %m", c->directory);
done:
        root->read_only = c->read_only;
        root->path = strdup(root->staging);
        return root->path ? 0 : log_oom();
}

bool spawn_root_is_stacked(const SpawnConfig *c) {
        _cleanup_free_ char *p = c->image || !c->directory ? NULL : path_join(c->directory, LAYER_STACK_FILE);
        struct stat st;
        return p && lstat(p, &st) >= 0 && S_ISREG(st.st_mode);
}

/* Is c->directory a stacked image? 1 and its pool and lowerdir, 0 if not. */
static int stacked_image(const SpawnConfig *c, char **ret_pool, char **ret_lowerdir) {
        _cleanup_free_ char *missing = NULL;
        int r;

        if (c->image || !c->directory)
                return 0;
        r = layer_stack_lowerdir(c->directory, ret_pool, ret_lowerdir, &missing);
        if (r == -ENOENT)
                return 0;
        if (r == -ENOTDIR)
                return log_error_errno(r, "Layer %s of the stacked image %s is missing; pull the image again.",
                                       missing, c->directory);
        if (r == -EBADMSG)
                return log_error_errno(r, "%s/" LAYER_STACK_FILE " is damaged (one layer path in the pool a line).",
                                       c->directory);
        if (r < 0)
                return log_error_errno(r, "Failed to read the layers of %s: %m", c->directory);
        return 1;
}

int spawn_root_prepare(const SpawnConfig *c, int userns_fd, uint32_t uid_shift, SpawnRoot *root) {
        bool layered = c->ephemeral || c->volatile_mode != VOLATILE_NO;
        _cleanup_free_ char *pool = NULL, *lowerdir = NULL;
        const char *lower;
        int r;

        *root = (SpawnRoot) { .uid_shift_for_upper = userns_fd >= 0 ? uid_shift : 0 };
        r = stacked_image(c, &pool, &lowerdir);
        if (r < 0)
                return r;
        if (r > 0)
                return prepare_stacked(c, root, pool, lowerdir, userns_fd);
        if (!c->image && !layered) {
                root->path = strdup(c->directory);
                root->read_only = c->read_only;
                return root->path ? 0 : log_oom();
        }
        r = begin_assembly(c, root);
        if (r < 0)
                return r;
        lower = c->directory;
        if (c->image) {
                if (layered) {
                        r = staging_path(c, ".lower", &root->lower);
                        if (r < 0)
                                return r;
                }
                r = mount_image(c, root, root->lower ?: root->staging);
                if (r < 0)
                        return r;
                lower = root->lower ?: root->staging;
        } else if (!overlay_lowerdir_ok(c->directory))
                return log_error_errno(-EINVAL, "Directory %s has ':', ',' or '\\' in its path, which overlayfs "
                                                "cannot take as a lower layer.", c->directory);
        if (layered && userns_fd >= 0) {
                /* An overlay cannot be idmapped, its layers can: the machine sees on-disk IDs. */
                r = staging_path(c, ".lowerid", &root->lower_idmap);
                if (r < 0)
                        return r;
                r = userns_idmap_onto(lower, userns_fd, root->lower_idmap);
                if (IN_SET(r, -EINVAL, -EOPNOTSUPP))
                        return log_error_errno(r, "Failed to idmap %s: its filesystem does not support idmapped "
                                                  "mounts: %m", lower);
                if (r < 0)
                        return log_error_errno(r, "Failed to idmap %s: %m", lower);
                lower = root->lower_idmap;
                root->idmapped = true;
        }
        if (c->ephemeral)
                r = prepare_ephemeral(c, root, lower, userns_fd);
        else if (layered)
                r = prepare_volatile(c, root, lower);
        if (r < 0)
                return r;
        if (layered)
                root->read_only = c->volatile_mode == VOLATILE_STATE;
        root->path = strdup(root->staging);
        return root->path ? 0 : log_oom();
}

void spawn_root_release(SpawnRoot *root) {
        /* Detach our mounts first: the ephemeral layer can only go once nothing uses it. */
        if (root->staging)
                (void) umount2(root->staging, MNT_DETACH);
        if (root->scratch)
                (void) umount2(root->scratch, MNT_DETACH);
        if (root->lower_idmap)
                (void) umount2(root->lower_idmap, MNT_DETACH);
        if (root->lower)
                (void) umount2(root->lower, MNT_DETACH);
        STRV_FOREACH(i, root->idmaps)
                (void) umount2(*i, MNT_DETACH);
        for (size_t i = 0; i < root->n_loops; i++)
                loop_device_free(root->loops[i]);
        root->loops = mfree(root->loops);
        root->n_loops = 0;
        if (root->ephemeral_dir) {
                int r = rm_rf(root->ephemeral_dir);
                if (r < 0)
                        log_warning_errno(r, "Failed to remove the ephemeral layer %s: %m", root->ephemeral_dir);
        }
        if (root->staging)
                (void) rmdir(root->staging);
        if (root->scratch)
                (void) rmdir(root->scratch);
        if (root->lower)
                (void) rmdir(root->lower);
        if (root->lower_idmap)
                (void) rmdir(root->lower_idmap);
        STRV_FOREACH(i, root->idmaps)
                (void) rmdir(*i);
        root->idmaps = strv_free(root->idmaps);
        root->lower_idmap = mfree(root->lower_idmap);
        root->path = mfree(root->path);
        root->staging = mfree(root->staging);
        root->scratch = mfree(root->scratch);
        root->lower = mfree(root->lower);
        root->ephemeral_dir = mfree(root->ephemeral_dir);
}

bool spawn_name_is_live(const char *name) {
        _cleanup_free_ char *p = strjoin(SPAWN_RUN_DIR "/", name, ".lock");
        _cleanup_close_ int fd = -EBADF;

        if (!p)
                return true;
        fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return false;
        return flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
}

static void collect_dir(const char *dir, bool staging, const char *own_name) {
        DIR *d = opendir(dir);
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d))) {
                _cleanup_free_ char *name = NULL, *p = NULL;
                char *dot;

                if (de->d_name[0] == '.' || de->d_type != DT_DIR)
                        continue;
                name = strdup(de->d_name);
                if (!name)
                        break;
                if (staging) {
                        dot = strrchr(name, '.');
                        if (!dot)
                                continue;
                        *dot = 0;
                }
                if (!streq(name, own_name) && spawn_name_is_live(name))
                        continue;
                p = strjoin(dir, "/", de->d_name);
                if (!p)
                        break;
                if (staging)
                        (void) rmdir(p); /* empty: the mounts died with their namespace */
                else
                        (void) rm_rf(p);
                log_debug("Removed %s, left behind by a launcher that is gone.", p);
        }
        (void) closedir(d);
}

/* A UID range lock nobody holds belongs to a dead launcher. */
static void collect_uid_locks(void) {
        DIR *d = opendir(SPAWN_RUN_UID_DIR);
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d))) {
                _cleanup_close_ int fd = -EBADF;
                if (de->d_type != DT_REG || !endswith(de->d_name, ".lock"))
                        continue;
                fd = openat(dirfd(d), de->d_name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
                if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) >= 0)
                        (void) unlinkat(dirfd(d), de->d_name, 0);
        }
        (void) closedir(d);
}

void spawn_root_collect_stale(const char *own_name) {
        collect_dir(SPAWN_RUN_DIR, true, own_name);
        collect_dir(SPAWN_EPHEMERAL_DIR, false, own_name);
        collect_uid_locks();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <json-c/json.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "fileio.h"
#include "log.h"
#include "mount-util.h"
#include "path-util.h"
#include "spawn-bind-user.h"
#include "string-util.h"
#include "strv.h"

static int bound_user_lookup(const char *name, uint32_t uid, BoundUser *ret) {
        struct passwd *pw;
        struct group *gr;
        struct stat st;

        errno = 0;
        pw = getpwnam(name);
        if (!pw)
                return log_error_errno(errno > 0 ? -errno : -ESRCH, "--bind-user=%s: no such user on the host.", name);
        if (pw->pw_uid == 0 || pw->pw_gid == 0)
                return log_error_errno(-EPERM, "--bind-user=%s: refusing to bind root (UID or GID 0) into a machine.", name);
        if (!pw->pw_dir || !path_is_absolute(pw->pw_dir) || stat(pw->pw_dir, &st) < 0 || !S_ISDIR(st.st_mode))
                return log_error_errno(-ENOENT, "--bind-user=%s: the user's home %s is not a directory on the host.",
                                       name, strna(pw->pw_dir));
        gr = getgrgid(pw->pw_gid);
        *ret = (BoundUser) {
                .name = strdup(pw->pw_name), .group_name = strdup(gr ? gr->gr_name : pw->pw_name),
                .real_name = strdup(pw->pw_gecos ? pw->pw_gecos : ""), .home = strdup(pw->pw_dir),
                .shell = strdup(!isempty(pw->pw_shell) ? pw->pw_shell : "/bin/sh"),
                .host_uid = pw->pw_uid, .host_gid = pw->pw_gid, .uid = uid,
        };
        if (!ret->name || !ret->group_name || !ret->real_name || !ret->home || !ret->shell)
                return log_oom();
        return 0;
}

/* Looks for name or id in the machine's passwd or group file (fields 1 and 3). Returns 1 and the
 * name that holds it, 0 if free (also without the file), or a negative errno. */
static int etc_entry_taken(int root_fd, const char *file, const char *name, uint32_t id, char **ret_holder) {
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = open_in_root(root_fd, file, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
        char *save = NULL;
        struct stat st;
        int r;

        if (fd == -ENOENT)
                return 0;
        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        r = read_full_fd(fd, 16 * 1024 * 1024, &text, NULL);
        if (r < 0)
                return r;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *colon = strchr(line, ':'), *idf;
                if (!colon || !(idf = strchr(colon + 1, ':')))
                        continue;
                *colon = 0;
                if (streq(line, name) || (idf[1] >= '0' && idf[1] <= '9' && strtoul(idf + 1, NULL, 10) == id)) {
                        *ret_holder = strdup(line);
                        return *ret_holder ? 1 : -ENOMEM;
                }
        }
        return 0;
}

/* As nspawn: a bound user or group must not exist in the machine already, by name or by ID; the
 * machine's own entry would win over the record and the home would belong to someone else. */
static int bound_user_check_collisions(int root_fd, const BoundUser *u) {
        _cleanup_free_ char *holder = NULL;
        int r;

        r = etc_entry_taken(root_fd, "/etc/passwd", u->name, u->uid, &holder);
        if (r < 0)
                return log_error_errno(r, "--bind-user=%s: failed to read the machine's /etc/passwd: %m", u->name);
        if (r > 0)
                return log_error_errno(-EBUSY, "--bind-user=%s: the machine has a user '%s' with that name or "
                                               "UID %u already.", u->name, holder, u->uid);
        r = etc_entry_taken(root_fd, "/etc/group", u->group_name, u->uid, &holder);
        if (r < 0)
                return log_error_errno(r, "--bind-user=%s: failed to read the machine's /etc/group: %m", u->name);
        if (r > 0)
                return log_error_errno(-EBUSY, "--bind-user=%s: the machine has a group '%s' with the name '%s' or "
                                               "GID %u already.", u->name, holder, u->group_name, u->uid);
        return 0;
}

int spawn_bind_users_resolve(SpawnContext *c) {
        const SpawnConfig *cfg = c->config;
        size_t n = strv_length(cfg->bind_users);
        _cleanup_close_ int root_fd = -EBADF;

        if (n == 0)
                return 0;
        if (!c->userns || cfg->private_users == PRIVATE_USERS_IDENTITY)
                return log_error_errno(-EINVAL, "--bind-user= needs a user namespace of the machine's own "
                                                "(-U or --private-users=pick|yes|BASE).");
        if (n > BIND_USER_MAX)
                return log_error_errno(-E2BIG, "--bind-user= given %zu times: at most %u.", n, BIND_USER_MAX);
        root_fd = open(c->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return log_error_errno(errno, "Failed to open %s: %m", c->root_path);
        c->bound_users = new(BoundUser, n);
        if (!c->bound_users)
                return log_oom();
        for (size_t i = 0; i < n; i++) {
                int r;
                for (size_t j = 0; j < i; j++)
                        if (streq(cfg->bind_users[i], cfg->bind_users[j]))
                                return log_error_errno(-EEXIST, "--bind-user=%s given twice.", cfg->bind_users[i]);
                r = bound_user_lookup(cfg->bind_users[i], BIND_USER_UID_MIN + (uint32_t) i, &c->bound_users[i]);
                c->n_bound_users = i + (r >= 0);
                if (r < 0)
                        return r;
                c->bound_users[i].home_fd = -EBADF;
                r = bound_user_check_collisions(root_fd, &c->bound_users[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

void spawn_bind_users_done(SpawnContext *c) {
        for (size_t i = 0; i < c->n_bound_users; i++) {
                BoundUser *u = &c->bound_users[i];
                free(u->name);
                free(u->group_name);
                free(u->real_name);
                free(u->home);
                free(u->shell);
        }
        c->bound_users = mfree(c->bound_users);
        c->n_bound_users = 0;
}

int spawn_bind_users_map(const SpawnContext *c, uint32_t base, uint32_t range, bool gid, char **ret) {
        size_t n = c->n_bound_users, size = 64 * (n + 2);
        char *m = malloc(size), *p = m;
        uint32_t first = BIND_USER_UID_MIN, after = BIND_USER_UID_MIN + (uint32_t) n;

        if (!m)
                return -ENOMEM;
        if (n == 0 || range <= after) {
                (void) snprintf(m, size, "0 %u %u\n", base, range);
                *ret = m;
                return 0;
        }
        p += snprintf(p, size - (p - m), "0 %u %u\n", base, first);
        for (size_t i = 0; i < n; i++)
                p += snprintf(p, size - (p - m), "%u %u 1\n", c->bound_users[i].uid,
                              gid ? (unsigned) c->bound_users[i].host_gid : (unsigned) c->bound_users[i].host_uid);
        (void) snprintf(p, size - (p - m), "%u %u %u\n", after, base + after, range - after);
        *ret = m;
        return 0;
}

int spawn_bind_users_open(SpawnContext *c) {
        for (size_t i = 0; i < c->n_bound_users; i++) {
                int r = mount_clone_tree(AT_FDCWD, c->bound_users[i].home, true, &c->bound_users[i].home_fd);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int write_json(const char *dir, const char *name, json_object *j) {
        _cleanup_free_ char *path = path_join(dir, name);
        const char *text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        _cleanup_close_ int fd = -EBADF;
        size_t l = strlen(text);

        if (!path)
                return -ENOMEM;
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        return write(fd, text, l) == (ssize_t) l ? 0 : -EIO;
}

/* nss-systemd's drop-in records: NAME.user and UID.user, NAME.group and GID.group. */
static int write_records(const BoundUser *u, const char *home) {
        json_object *user = json_object_new_object(), *group = json_object_new_object();
        char id[32];
        int r = user && group ? 0 : -ENOMEM;

        if (r >= 0) {
                json_object_object_add(user, "userName", json_object_new_string(u->name));
                json_object_object_add(user, "uid", json_object_new_int64(u->uid));
                json_object_object_add(user, "gid", json_object_new_int64(u->uid));
                if (*u->real_name)
                        json_object_object_add(user, "realName", json_object_new_string(u->real_name));
                json_object_object_add(user, "homeDirectory", json_object_new_string(home));
                json_object_object_add(user, "shell", json_object_new_string(u->shell));
                json_object_object_add(user, "disposition", json_object_new_string("regular"));
                json_object_object_add(group, "groupName", json_object_new_string(u->group_name));
                json_object_object_add(group, "gid", json_object_new_int64(u->uid));
                json_object_object_add(group, "disposition", json_object_new_string("regular"));
        }
        (void) snprintf(id, sizeof id, "%u.user", u->uid);
        if (r >= 0) {
                _cleanup_free_ char *n = strjoin(u->name, ".user");
                r = n ? write_json("/run/host/userdb", n, user) : -ENOMEM;
        }
        if (r >= 0)
                r = write_json("/run/host/userdb", id, user);
        if (r >= 0) {
                _cleanup_free_ char *n = strjoin(u->group_name, ".group");
                r = n ? write_json("/run/host/userdb", n, group) : -ENOMEM;
        }
        (void) snprintf(id, sizeof id, "%u.group", u->uid);
        if (r >= 0)
                r = write_json("/run/host/userdb", id, group);
        if (user)
                json_object_put(user);
        if (group)
                json_object_put(group);
        return r;
}

int spawn_bind_users_setup(SpawnContext *c) {
        int r;

        if (c->n_bound_users == 0)
                return 0;
        if ((mkdir("/run/host/home", 0755) < 0 && errno != EEXIST) || (mkdir("/run/host/userdb", 0755) < 0 && errno != EEXIST))
                return -errno;
        for (size_t i = 0; i < c->n_bound_users; i++) {
                BoundUser *u = &c->bound_users[i];
                _cleanup_free_ char *home = path_join("/run/host/home", u->name);
                _cleanup_close_ int target = -EBADF, tree = TAKE_FD(u->home_fd);

                if (!home)
                        return -ENOMEM;
                if (mkdir(home, 0755) < 0)
                        return -errno;
                target = open(home, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (target < 0)
                        return -errno;
                r = mount_attach(tree, target);
                if (r < 0)
                        return r;
                r = write_records(u, home);
                if (r < 0)
                        return r;
        }
        return 0;
}

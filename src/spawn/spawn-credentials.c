/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "fileio.h"
#include "log.h"
#include "path-util.h"
#include "spawn-credentials.h"
#include "string-util.h"

void credential_done(Credential *c) {
        c->id = mfree(c->id);
        c->path = mfree(c->path);
        c->data = mfree(c->data);
        c->size = 0;
}

void spawn_credentials_free(Credential *l, size_t n) {
        for (size_t i = 0; i < n; i++)
                credential_done(&l[i]);
        free(l);
}

/* As systemd's credential names: a valid file name, printable. */
static bool credential_id_is_valid(const char *id) {
        return filename_is_valid(id) && !string_has_cc(id) && utf8_is_valid(id);
}

int credential_parse(const char *spec, bool load, Credential *ret) {
        const char *colon = strchr(spec, ':');
        Credential c = {};
        int r;

        if (!colon)
                return -EINVAL;
        c.id = strndup(spec, colon - spec);
        if (!c.id)
                return -ENOMEM;
        if (!credential_id_is_valid(c.id)) {
                credential_done(&c);
                return -EINVAL;
        }
        if (load)
                r = isempty(colon + 1) ? -EINVAL : path_make_absolute_cwd(colon + 1, &c.path);
        else
                r = cunescape(colon + 1, &c.data, &c.size);
        if (r < 0) {
                credential_done(&c);
                return r;
        }
        *ret = c;
        return 0;
}

int spawn_credential_add_spec(SpawnConfig *c, const char *spec, bool load) {
        const char *opt = load ? "--load-credential" : "--set-credential";
        Credential cred, *l;
        int r;

        r = credential_parse(spec, load, &cred);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(r, "Invalid %s= '%s': use ID:%s, with an ID that is a valid file name%s.", opt,
                                       spec, load ? "PATH" : "VALUE", load ? "" : " and C escapes in VALUE");
        for (size_t i = 0; i < c->n_credentials; i++)
                if (streq(c->credentials[i].id, cred.id)) {
                        r = log_error_errno(-EEXIST, "Duplicate credential '%s', refusing.", cred.id);
                        credential_done(&cred);
                        return r;
                }
        l = realloc(c->credentials, sizeof(Credential) * (c->n_credentials + 1));
        if (!l) {
                credential_done(&cred);
                return log_oom();
        }
        c->credentials = l;
        c->credentials[c->n_credentials++] = cred;
        return 0;
}

int spawn_credentials_load(SpawnConfig *c) {
        size_t total = 0;

        for (size_t i = 0; i < c->n_credentials; i++) {
                Credential *cred = &c->credentials[i];
                int r;

                if (cred->path && !cred->data) {
                        r = read_full_file_at(AT_FDCWD, cred->path, CREDENTIAL_SIZE_MAX, &cred->data, &cred->size);
                        if (r == -E2BIG || r == -EFBIG)
                                return log_error_errno(r, "Credential '%s' (%s) is larger than %u bytes.", cred->id,
                                                       cred->path, CREDENTIAL_SIZE_MAX);
                        if (r < 0)
                                return log_error_errno(r, "Failed to read credential '%s' from %s: %m", cred->id, cred->path);
                }
                if (cred->size > CREDENTIAL_SIZE_MAX)
                        return log_error_errno(-E2BIG, "Credential '%s' is larger than %u bytes.", cred->id,
                                               CREDENTIAL_SIZE_MAX);
                total += cred->size;
        }
        if (total > CREDENTIALS_TOTAL_SIZE_MAX)
                return log_error_errno(-E2BIG, "The credentials together are larger than %u bytes.",
                                       CREDENTIALS_TOTAL_SIZE_MAX);
        return 0;
}

static int write_credential(int dir_fd, const Credential *cred) {
        _cleanup_close_ int fd = openat(dir_fd, cred->id, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);

        if (fd < 0)
                return -errno;
        if (cred->size > 0 && write(fd, cred->data, cred->size) != (ssize_t) cred->size)
                return errno ? -errno : -EIO;
        return fchmod(fd, 0400) < 0 ? -errno : 0;
}

int spawn_credentials_setup(SpawnContext *c) {
        const SpawnConfig *cfg = c->config;
        _cleanup_close_ int dir = -EBADF;
        char opts[64];
        int r;

        if (cfg->n_credentials == 0)
                return 0;
        if (mkdir(CREDENTIALS_DIRECTORY, 0500) < 0 && errno != EEXIST)
                return -errno;
        (void) snprintf(opts, sizeof opts, "mode=0700,size=%u", CREDENTIALS_TOTAL_SIZE_MAX + 64U * 1024U);
        if (mount("credentials", CREDENTIALS_DIRECTORY, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) < 0)
                return -errno;
        dir = open(CREDENTIALS_DIRECTORY, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dir < 0)
                return -errno;
        for (size_t i = 0; i < cfg->n_credentials; i++) {
                r = write_credential(dir, &cfg->credentials[i]);
                if (r < 0)
                        return r;
        }
        if (fchmod(dir, 0500) < 0)
                return -errno;
        if (mount(NULL, CREDENTIALS_DIRECTORY, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  NULL) < 0)
                return -errno;
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* State files in systemd 252's format (/run/systemd/machines/NAME and unit:UNIT links), which
 * libsystemd reads (ps -o machine, -M, nss-mymachines), plus private keys for re-adoption. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "fileio.h"
#include "hostname-util.h"
#include "machine.h"
#include "manager.h"
#include "path-util.h"
#include "string-util.h"

static int write_atomic(const char *dir, const char *name, const char *content) {
        _cleanup_free_ char *tmp = NULL, *dst = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t len = strlen(content);

        tmp = strjoin(dir, "/.#", name, "XXXXXX");
        dst = path_join(dir, name);
        if (!tmp || !dst)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fchmod(fd, 0644) < 0 || write(fd, content, len) != (ssize_t) len || rename(tmp, dst) < 0) {
                int r = negative_errno();
                (void) unlink(tmp);
                return r;
        }
        return 0;
}

static int symlink_atomic(const char *target, const char *dir, const char *name) {
        _cleanup_free_ char *tmp = NULL, *dst = NULL;
        char rnd[16];

        (void) snprintf(rnd, sizeof rnd, "%08x", (unsigned) random());
        tmp = strjoin(dir, "/.#", rnd, "link");
        dst = path_join(dir, name);
        if (!tmp || !dst)
                return -ENOMEM;
        if (symlink(target, tmp) < 0)
                return -errno;
        if (rename(tmp, dst) < 0) {
                int r = -errno;
                (void) unlink(tmp);
                return r;
        }
        return 0;
}

static int append(char **buf, size_t *size, FILE *f, const char *key, const char *value, bool escape) {
        _cleanup_free_ char *e = NULL;

        if (escape) {
                e = cescape(value);
                if (!e)
                        return -ENOMEM;
        }
        fprintf(f, "%s=%s\n", key, e ?: value);
        return 0;
}

int machine_save(Machine *machine) {
        Manager *m = machine->manager;
        _cleanup_free_ char *buf = NULL;
        char num[32];
        size_t size = 0;
        FILE *f;
        int r;

        (void) mkdir(m->state_dir, 0755);
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fputs("# This is private data. Do not parse.\n", f);
        (void) append(&buf, &size, f, "NAME", machine->name, false);
        if (!isempty(machine->unit))
                (void) append(&buf, &size, f, "SCOPE", machine->unit, true);
        if (!isempty(machine->service))
                (void) append(&buf, &size, f, "SERVICE", machine->service, true);
        if (!isempty(machine->root_directory))
                (void) append(&buf, &size, f, "ROOT", machine->root_directory, true);
        if (!sd_id128_is_null(machine->id))
                fprintf(f, "ID=" SD_ID128_FORMAT_STR "\n", SD_ID128_FORMAT_VAL(machine->id));
        if (machine->leader > 0)
                fprintf(f, "LEADER=%d\n", (int) machine->leader);
        fprintf(f, "CLASS=%s\n", machine_class_to_string(machine->class));
        fprintf(f, "REALTIME=%" PRIu64 "\nMONOTONIC=%" PRIu64 "\n", machine->timestamp_realtime,
                machine->timestamp_monotonic);
        if (machine->n_netifs > 0) {
                fputs("NETIF=", f);
                for (size_t i = 0; i < machine->n_netifs; i++)
                        fprintf(f, "%s%d", i > 0 ? " " : "", machine->netifs[i]);
                fputc('\n', f);
        }
        /* berth's own keys; libsystemd ignores what it does not know */
        fprintf(f, "LEADER_STARTTIME=%" PRIu64 "\n", machine->leader_start_time);
        if (machine->leader_pidfd_id != 0)
                fprintf(f, "LEADER_PIDFDID=%" PRIu64 "\n", machine->leader_pidfd_id);
        if (machine->supervisor > 0)
                fprintf(f, "SUPERVISOR=%d\nSUPERVISOR_STARTTIME=%" PRIu64 "\n", (int) machine->supervisor,
                        machine->supervisor_start_time);
        if (machine->cgroup)
                (void) append(&buf, &size, f, "BERTH_CGROUP", machine->cgroup, true);
        if (machine->own_scope)
                fputs("BERTH_OWN_SCOPE=1\n", f);
        if (machine->kill_signal > 0) {
                (void) snprintf(num, sizeof num, "%d", machine->kill_signal);
                (void) append(&buf, &size, f, "BERTH_KILL_SIGNAL", num, false);
        }
        if (fclose(f) != 0)
                return -ENOMEM;

        r = write_atomic(m->state_dir, machine->name, buf);
        if (r < 0)
                return r;
        if (!isempty(machine->unit)) {
                _cleanup_free_ char *link = strjoin("unit:", machine->unit);
                if (!link)
                        return -ENOMEM;
                r = symlink_atomic(machine->name, m->state_dir, link);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Undoes cescape() and the env-file backslash rule: "\\" -> "\", "\n", "\t", "\xNN". */
static char *unescape(const char *s) {
        char *r = malloc(strlen(s) + 1), *p = r;

        if (!r)
                return NULL;
        for (; *s; s++) {
                if (*s != '\\' || !s[1]) {
                        *p++ = *s;
                        continue;
                }
                s++;
                if (*s == 'n')
                        *p++ = '\n';
                else if (*s == 't')
                        *p++ = '\t';
                else if (*s == 'x' && s[1] && s[2]) {
                        char hex[3] = { s[1], s[2], 0 };
                        *p++ = (char) strtoul(hex, NULL, 16);
                        s += 2;
                } else
                        *p++ = *s;
        }
        *p = 0;
        return r;
}

static int parse_u64(const char *v, uint64_t *ret) {
        char *end;

        errno = 0;
        unsigned long long x = strtoull(v, &end, 10);
        if (errno != 0 || end == v || *end)
                return -EINVAL;
        *ret = x;
        return 0;
}

static int set_string(char **field, const char *value) {
        char *u = unescape(value);
        if (!u)
                return -ENOMEM;
        free(*field);
        *field = u;
        return 0;
}

static int parse_netifs(Machine *machine, const char *v) {
        char *save = NULL;
        _cleanup_free_ char *copy = strdup(v);

        if (!copy)
                return -ENOMEM;
        for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
                int *n = realloc(machine->netifs, (machine->n_netifs + 1) * sizeof(int));
                if (!n)
                        return -ENOMEM;
                machine->netifs = n;
                machine->netifs[machine->n_netifs++] = atoi(w);
        }
        return 0;
}

static int machine_load_key(Machine *machine, const char *key, const char *v, uint64_t *leader, uint64_t *sup) {
        uint64_t u = 0;

        if (streq(key, "SCOPE"))
                return set_string(&machine->unit, v);
        if (streq(key, "SERVICE"))
                return set_string(&machine->service, v);
        if (streq(key, "ROOT"))
                return set_string(&machine->root_directory, v);
        if (streq(key, "BERTH_CGROUP"))
                return set_string(&machine->cgroup, v);
        if (streq(key, "ID"))
                return sd_id128_from_string(v, &machine->id);
        if (streq(key, "CLASS")) {
                machine->class = machine_class_from_string(v);
                return machine->class < 0 || machine->class == MACHINE_HOST ? -EINVAL : 0;
        }
        if (streq(key, "NETIF"))
                return parse_netifs(machine, v);
        if (streq(key, "BERTH_OWN_SCOPE")) {
                machine->own_scope = streq(v, "1");
                return 0;
        }
        if (parse_u64(v, &u) < 0)
                return 0; /* ignore what we do not understand */
        if (streq(key, "LEADER"))
                *leader = u;
        else if (streq(key, "SUPERVISOR"))
                *sup = u;
        else if (streq(key, "REALTIME"))
                machine->timestamp_realtime = u;
        else if (streq(key, "MONOTONIC"))
                machine->timestamp_monotonic = u;
        else if (streq(key, "LEADER_STARTTIME"))
                machine->leader_start_time = u;
        else if (streq(key, "LEADER_PIDFDID"))
                machine->leader_pidfd_id = u;
        else if (streq(key, "SUPERVISOR_STARTTIME"))
                machine->supervisor_start_time = u;
        else if (streq(key, "BERTH_KILL_SIGNAL"))
                machine->kill_signal = (int) u;
        return 0;
}

/* Reads the file into a machine; the caller proves the leader. */
int machine_load(Manager *m, const char *name, Machine **ret) {
        _cleanup_(machine_freep) Machine *machine = NULL;
        _cleanup_free_ char *path = NULL, *buf = NULL;
        uint64_t leader = 0, sup = 0;
        char *save = NULL;
        int r;

        if (!machine_name_is_valid(name))
                return -EINVAL;
        path = path_join(m->state_dir, name);
        if (!path)
                return -ENOMEM;
        r = read_full_file_at(AT_FDCWD, path, 64 * 1024, &buf, NULL);
        if (r < 0)
                return r;
        r = machine_new(m, MACHINE_CONTAINER, name, &machine);
        if (r < 0)
                return r;
        for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char *eq = strchr(l, '=');
                if (l[0] == '#' || !eq)
                        continue;
                *eq = 0;
                r = machine_load_key(machine, l, eq + 1, &leader, &sup);
                if (r < 0)
                        return r;
        }
        if (leader <= 1 || leader > INT32_MAX)
                return -EINVAL;
        machine->leader = (pid_t) leader;
        machine->supervisor = (pid_t) sup;
        *ret = TAKE_PTR(machine);
        return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "registry-socket.h"
#include "siphash24.h"
#include "string-util.h"

#define DEFAULT_SYSTEM_BUS_ADDRESS "unix:path=/run/dbus/system_bus_socket"

static const char *bus_address(void) {
        const char *a = getenv("DBUS_SYSTEM_BUS_ADDRESS");
        return isempty(a) ? DEFAULT_SYSTEM_BUS_ADDRESS : a;
}

static uint64_t bus_address_hash(void) {
        static const uint8_t key[16] = { 0x62, 0x65, 0x72, 0x74, 0x68, 0x2d, 0x72, 0x65,
                                         0x67, 0x69, 0x73, 0x74, 0x72, 0x79, 0x2d, 0x31 };
        const char *a = bus_address();
        return siphash24(a, strlen(a), key);
}

int registry_socket_path(char *buf, size_t size) {
        int n = snprintf(buf, size, REGISTRY_SOCKET_DIR "/%016" PRIx64, bus_address_hash());
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

int machine_varlink_socket_path(char *buf, size_t size) {
        int n;

        if (streq(bus_address(), DEFAULT_SYSTEM_BUS_ADDRESS))
                n = snprintf(buf, size, MACHINE_VARLINK_DIR "/io.systemd.Machine");
        else
                n = snprintf(buf, size, MACHINE_VARLINK_DIR "/io.systemd.Machine.%016" PRIx64, bus_address_hash());
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

int berth_socket_listen(const char *path, int type, mode_t dir_mode, mode_t mode) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char dir[sizeof sa.sun_path];
        int fd, r;

        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        strcpy(dir, path);
        *strrchr(dir, '/') = 0;
        if (mkdir("/run/berth", 0755) < 0 && errno != EEXIST)
                return -errno;
        if (mkdir(dir, dir_mode) < 0 && errno != EEXIST)
                return -errno;
        fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        (void) unlink(path); /* a berthd that was killed; we own the bus name now */
        if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        if (chmod(path, mode) < 0 || listen(fd, SOMAXCONN) < 0) {
                r = -errno;
                (void) unlink(path);
                close(fd);
                return r;
        }
        return fd;
}

/* Is there no listener on the socket at path (its berthd was killed)? Asked with a connect, which
 * a live berthd takes for a client that says nothing. */
static bool socket_refused(const char *path, int type) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd, r;

        if (strlen(path) >= sizeof sa.sun_path)
                return false;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return false;
        r = connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0 ? errno : 0;
        close(fd);
        return r == ECONNREFUSED;
}

int berth_sockets_collect(const char *dir, int type) {
        struct timespec now;
        struct dirent *de;
        int n = 0;
        DIR *d = opendir(dir);

        if (!d)
                return errno == ENOENT ? 0 : -errno;
        (void) clock_gettime(CLOCK_REALTIME, &now);
        while ((de = readdir(d))) {
                char path[sizeof ((struct sockaddr_un *) NULL)->sun_path];
                struct stat st;

                if (de->d_name[0] == '.' ||
                    (size_t) snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= sizeof path)
                        continue;
                /* a second old at least: a berthd between its bind() and its listen() is not dead */
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISSOCK(st.st_mode) ||
                    (now.tv_sec - st.st_mtim.tv_sec) * 1000000000LL + (now.tv_nsec - st.st_mtim.tv_nsec) < 1000000000LL)
                        continue;
                if (socket_refused(path, type) && unlinkat(dirfd(d), de->d_name, 0) >= 0)
                        n++;
        }
        closedir(d);
        return n;
}

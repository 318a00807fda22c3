/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry-socket.h"
#include "siphash24.h"
#include "string-util.h"

#define DEFAULT_SYSTEM_BUS_ADDRESS "unix:path=/run/dbus/system_bus_socket"

int registry_socket_path(char *buf, size_t size) {
        static const uint8_t key[16] = { 0x62, 0x65, 0x72, 0x74, 0x68, 0x2d, 0x72, 0x65,
                                         0x67, 0x69, 0x73, 0x74, 0x72, 0x79, 0x2d, 0x31 };
        const char *a = getenv("DBUS_SYSTEM_BUS_ADDRESS");
        int n;

        if (isempty(a))
                a = DEFAULT_SYSTEM_BUS_ADDRESS;
        n = snprintf(buf, size, REGISTRY_SOCKET_DIR "/%016" PRIx64, siphash24(a, strlen(a), key));
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

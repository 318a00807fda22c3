/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* show / show-image: every property as KEY=VALUE, in machinectl's formats. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ctl-bus.h"
#include "ctl-output.h"
#include "ctl.h"
#include "log.h"
#include "string-util.h"
#include "strv.h"

static void print_name(const CtlArgs *args, const char *name) {
        if (!args->value)
                printf("%s=", name);
}

/* Arrays: "ay" as a 128-bit ID in hex when 16 bytes long, other arrays space-separated. */
static int print_array(const CtlArgs *args, const char *name, sd_bus_message *m, const char *contents) {
        bool first = true;
        int r;

        if (streq(contents, "ay")) {
                const void *p;
                size_t n;
                r = sd_bus_message_read_array(m, 'y', &p, &n);
                if (r < 0)
                        return r;
                print_name(args, name);
                for (size_t i = 0; i < n; i++)
                        printf("%02x", ((const uint8_t *) p)[i]);
                putchar('\n');
                return 0;
        }
        r = sd_bus_message_enter_container(m, 'a', contents + 1);
        if (r < 0)
                return r;
        print_name(args, name);
                for (;;) {
                        const char *s = NULL;
                        int32_t i32 = 0;
                        if (streq(contents, "as") || streq(contents, "ao"))
                                r = sd_bus_message_read_basic(m, contents[1], &s);
                        else if (streq(contents, "ai"))
                                r = sd_bus_message_read_basic(m, 'i', &i32);
                        else {
                                r = sd_bus_message_skip(m, contents + 1);
                                if (r > 0)
                                        continue;
                        }
                        if (r <= 0)
                                break;
                        if (s)
                                printf("%s%s", first ? "" : " ", s);
                        else
                                printf("%s%" PRIi32, first ? "" : " ", i32);
                        first = false;
                }
        putchar('\n');
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int print_basic(const CtlArgs *args, const char *name, sd_bus_message *m, char type) {
        union {
                const char *s;
                int b;
                uint32_t u;
                int32_t i;
                uint64_t t;
                int64_t x;
                uint8_t y;
        } v;
        char buf[64];
        int r;

        r = sd_bus_message_read_basic(m, type, &v);
        if (r < 0)
                return r;
        print_name(args, name);
        switch (type) {
        case 's': case 'o': case 'g':
                puts(v.s);
                break;
        case 'b':
                puts(v.b ? "yes" : "no");
                break;
        case 'u':
                printf("%" PRIu32 "\n", v.u);
                break;
        case 'i':
                printf("%" PRIi32 "\n", v.i);
                break;
        case 't':
                if (endswith(name, "Timestamp"))
                        puts(ctl_format_timestamp(v.t, buf));
                else
                        printf("%" PRIu64 "\n", v.t);
                break;
        case 'x':
                printf("%" PRIi64 "\n", v.x);
                break;
        case 'y':
                printf("%u\n", v.y);
                break;
        default:
                puts("[unprintable]");
        }
        return 0;
}

static int print_property(const CtlArgs *args, const char *name, sd_bus_message *m) {
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'v', contents);
        if (r < 0)
                return r;
        bool wanted = strv_length(args->properties) == 0 || strv_find(args->properties, name);
        if (!wanted)
                r = sd_bus_message_skip(m, contents);
        else if (contents[0] == 'a')
                r = print_array(args, name, m, contents);
        else if (strlen(contents) == 1)
                r = print_basic(args, name, m, contents[0]);
        else {
                r = sd_bus_message_skip(m, contents);
                if (r >= 0 && args->all)
                        printf("%s=[unprintable]\n", name);
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

int ctl_print_properties(sd_bus *bus, const CtlArgs *args, const char *path, const char *iface) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(bus, MACHINE1_BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll", &error,
                               &reply, "s", iface);
        if (r < 0)
                return ctl_log_bus_error(&error, r, "read properties");
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (r < 0)
                goto bad;
        while ((r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const char *name;
                r = sd_bus_message_read(reply, "s", &name);
                if (r < 0)
                        goto bad;
                r = print_property(args, name, reply);
                if (r < 0)
                        goto bad;
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        goto bad;
        }
        if (r < 0)
                goto bad;
        return 0;
bad:
        return log_error_errno(r, "Malformed properties: %m");
}

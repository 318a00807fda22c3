/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* show / show-image: every property as KEY=VALUE, in machinectl's formats, or with --json one
 * object whose keys are the property names (in lower case, as berthctl's other JSON). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "alloc-util.h"
#include "ctl-accounting.h"
#include "ctl-bus.h"
#include "ctl-output.h"
#include "ctl-show.h"
#include "ctl.h"
#include "log.h"
#include "string-util.h"
#include "strv.h"

void ctl_property_sink_done(PropertySink *s) {
        s->columns = strv_free(s->columns);
        s->values = strv_free(s->values);
        s->oom = false;
}

bool ctl_property_wanted(const PropertySink *s, const char *name) {
        return strv_length(s->args->properties) == 0 || strv_find(s->args->properties, name);
}

void ctl_property_emit(PropertySink *s, const char *name, const char *value, const char *json_type) {
        if (s->args->json == JSON_OFF) {
                if (!s->args->value)
                        printf("%s=", name);
                puts(value);
                return;
        }
        if (strv_consume(&s->columns, strjoin(name, json_type)) < 0 || strv_extend(&s->values, value) < 0)
                s->oom = true;
}

int ctl_property_sink_flush(PropertySink *s, const char *json_name) {
        static const char *const empty[] = { NULL };
        _cleanup_(scols_unref_tablep) struct libscols_table *t = NULL;
        int r;

        if (s->args->json == JSON_OFF)
                return 0;
        if (s->oom)
                return log_oom();
        t = ctl_table_new(s->args, json_name, (const char *const *) (s->columns ?: (char **) empty));
        if (!t)
                return log_oom();
        r = ctl_table_add_row(t, (const char *const *) (s->values ?: (char **) empty));
        if (r < 0)
                return log_oom();
        r = ctl_table_print(t);
        ctl_property_sink_done(s);
        return r;
}

/* Arrays: "ay" as a 128-bit ID in hex when 16 bytes long, other arrays space-separated (a JSON
 * array of strings). */
static int emit_array(PropertySink *s, const char *name, sd_bus_message *m, const char *contents) {
        _cleanup_free_ char *text = NULL;
        int r;

        if (streq(contents, "ay")) {
                const void *p;
                size_t n;
                r = sd_bus_message_read_array(m, 'y', &p, &n);
                if (r < 0)
                        return r;
                text = new0(char, 2 * n + 1);
                if (!text)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++)
                        (void) snprintf(text + 2 * i, 3, "%02x", ((const uint8_t *) p)[i]);
                ctl_property_emit(s, name, text, "");
                return 0;
        }
        r = sd_bus_message_enter_container(m, 'a', contents + 1);
        if (r < 0)
                return r;
        for (;;) {
                const char *v = NULL;
                char buf[16];
                int32_t i32 = 0;
                if (streq(contents, "as") || streq(contents, "ao"))
                        r = sd_bus_message_read_basic(m, contents[1], &v);
                else if (streq(contents, "ai"))
                        r = sd_bus_message_read_basic(m, 'i', &i32);
                else {
                        r = sd_bus_message_skip(m, contents + 1);
                        if (r > 0)
                                continue;
                }
                if (r <= 0)
                        break;
                if (!v) {
                        (void) snprintf(buf, sizeof buf, "%" PRIi32, i32);
                        v = buf;
                }
                /* JSON arrays are newline-separated cells (ctl_table_new()) */
                char *joined = strjoin(text ?: "", !text ? "" : s->args->json != JSON_OFF ? "\n" : " ", v);
                if (!joined)
                        return -ENOMEM;
                free_and_replace(text, joined);
        }
        if (r < 0)
                return r;
        ctl_property_emit(s, name, text ?: "", ":array");
        return sd_bus_message_exit_container(m);
}

static int emit_basic(PropertySink *s, const char *name, sd_bus_message *m, char type) {
        bool json = s->args->json != JSON_OFF;
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
        switch (type) {
        case 's': case 'o': case 'g':
                ctl_property_emit(s, name, v.s, "");
                return 0;
        case 'b':
                ctl_property_emit(s, name, json ? (v.b ? "1" : "0") : (v.b ? "yes" : "no"), ":bool");
                return 0;
        case 'u':
                (void) snprintf(buf, sizeof buf, "%" PRIu32, v.u);
                break;
        case 'i':
                (void) snprintf(buf, sizeof buf, "%" PRIi32, v.i);
                break;
        case 't':
                if (endswith(name, "Timestamp") && !json)
                        ctl_format_timestamp(v.t, buf);
                else
                        (void) snprintf(buf, sizeof buf, "%" PRIu64, v.t);
                break;
        case 'x':
                (void) snprintf(buf, sizeof buf, "%" PRIi64, v.x);
                break;
        case 'y':
                (void) snprintf(buf, sizeof buf, "%u", v.y);
                break;
        default:
                ctl_property_emit(s, name, "[unprintable]", "");
                return 0;
        }
        ctl_property_emit(s, name, buf, ":number");
        return 0;
}

static int emit_property(PropertySink *s, const char *name, sd_bus_message *m) {
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'v', contents);
        if (r < 0)
                return r;
        if (!ctl_property_wanted(s, name))
                r = sd_bus_message_skip(m, contents);
        else if (contents[0] == 'a')
                r = emit_array(s, name, m, contents);
        else if (strlen(contents) == 1)
                r = emit_basic(s, name, m, contents[0]);
        else {
                r = sd_bus_message_skip(m, contents);
                if (r >= 0 && s->args->all)
                        ctl_property_emit(s, name, "[unprintable]", "");
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

int ctl_collect_properties(sd_bus *bus, PropertySink *s, const char *path, const char *iface) {
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
                r = emit_property(s, name, reply);
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

int ctl_print_properties(sd_bus *bus, const CtlArgs *args, const char *path, const char *iface,
                         const char *json_name) {
        _cleanup_(ctl_property_sink_done) PropertySink s = { .args = args };
        int r = ctl_collect_properties(bus, &s, path, iface);

        return r < 0 ? r : ctl_property_sink_flush(&s, json_name);
}

void ctl_show_accounting(PropertySink *s, const CgroupAccounting *a) {
        for (int f = 0; f < _CTL_FIELD_MAX; f++) {
                bool limit;
                const char *property = ctl_accounting_property(f, &limit);
                uint64_t v = ctl_accounting_value(a, f);
                char buf[32];

                if (!ctl_property_wanted(s, property))
                        continue;
                /* JSON keeps D-Bus's form: UINT64_MAX for "infinity" and "not known" */
                if (v != UINT64_MAX || s->args->json != JSON_OFF)
                        (void) snprintf(buf, sizeof buf, "%" PRIu64, v);
                else
                        (void) snprintf(buf, sizeof buf, "%s", limit ? "infinity" : "[not set]");
                ctl_property_emit(s, property, buf, ":number");
        }
}

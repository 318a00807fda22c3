/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* list-images, image-status, show-image, clone, rename, remove, read-only, clean. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc-util.h"
#include "ctl-bus.h"
#include "ctl-show.h"
#include "ctl-output.h"
#include "ctl-status.h"
#include "ctl.h"
#include "layer-store.h"
#include "log.h"
#include "parse-util.h"
#include "string-util.h"
#include "strv.h"

static int image_call(sd_bus *bus, const char *member, const char *what, const char *name, sd_bus_message **reply,
                      const char *types, ...) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, MACHINE1_BUS_NAME, MACHINE1_PATH, MACHINE1_MANAGER_IFACE, member);
        if (r < 0)
                return log_oom();
        va_start(ap, types);
        r = sd_bus_message_appendv(m, types, ap);
        va_end(ap);
        if (r < 0)
                return log_oom();
        r = sd_bus_call(bus, m, BUS_LONG_TIMEOUT_USEC, &error, reply);
        if (r < 0) {
                _cleanup_free_ char *w = strjoin(what, " image '", name, "'");
                return ctl_log_bus_error(&error, r, w ?: what);
        }
        return 0;
}

int verb_list_images(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]) {
        static const char *const cols[] = { "NAME", "TYPE", "RO:bool", "USAGE:number", "CREATED:number", "MODIFIED:number", NULL };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(scols_unref_tablep) struct libscols_table *t = ctl_table_new(args, "images", cols);
        const char *name, *type, *path;
        uint64_t crtime, mtime, usage;
        size_t n = 0;
        int ro, r;

        if (!t)
                return log_oom();
        r = ctl_call(bus, "ListImages", &reply, NULL);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "(ssbttto)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(ssbttto)", &name, &type, &ro, &crtime, &mtime, &usage,
                                                   &path)) > 0) {
                char u[64], c[64], mo[64];
                bool json = args->json != JSON_OFF; /* scripts get bytes and microseconds */
                if ((name[0] == '.' && !args->all))
                        continue;
                if (json) {
                        (void) snprintf(u, sizeof u, "%" PRIu64, usage);
                        (void) snprintf(c, sizeof c, "%" PRIu64, crtime);
                        (void) snprintf(mo, sizeof mo, "%" PRIu64, mtime);
                }
                const char *cells[] = { name, type, ro ? "yes" : "no",
                                        usage == UINT64_MAX ? NULL : json ? u : ctl_format_bytes(usage, u),
                                        !crtime ? NULL : json ? c : ctl_format_timestamp(crtime, c),
                                        !mtime ? NULL : json ? mo : ctl_format_timestamp(mtime, mo) };
                if (ctl_table_add_row(t, cells) < 0)
                        return log_oom();
                n++;
        }
        if (r < 0)
                return log_error_errno(r, "Malformed image list: %m");
        ctl_pager_open(args);
        r = ctl_table_print(t);
        if (r >= 0 && args->legend && args->json == JSON_OFF) {
                if (n == 0)
                        printf("No images.\n");
                else
                        printf("\n%zu image%s listed.\n", n, n == 1 ? "" : "s");
        }
        return r;
}

static int image_status_one(sd_bus *bus, const char *name) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *os = NULL, *host = NULL;
        _cleanup_free_ char *path = NULL, *ipath = NULL, *type = NULL, *pretty = NULL;
        uint64_t usage = UINT64_MAX, crtime = 0, mtime = 0;
        const char *hostname = NULL;
        char buf[64], u[16];
        int ro = 0, r;

        r = ctl_image_path(bus, name, &path);
        if (r < 0)
                return r;
        (void) sd_bus_get_property_string(bus, MACHINE1_BUS_NAME, path, MACHINE1_IMAGE_IFACE, "Path", NULL, &ipath);
        (void) sd_bus_get_property_string(bus, MACHINE1_BUS_NAME, path, MACHINE1_IMAGE_IFACE, "Type", NULL, &type);
        (void) sd_bus_get_property_trivial(bus, MACHINE1_BUS_NAME, path, MACHINE1_IMAGE_IFACE, "ReadOnly", NULL, 'b', &ro);
        (void) sd_bus_get_property_trivial(bus, MACHINE1_BUS_NAME, path, MACHINE1_IMAGE_IFACE, "Usage", NULL, 't', &usage);
        (void) sd_bus_get_property_trivial(bus, MACHINE1_BUS_NAME, path, MACHINE1_IMAGE_IFACE, "CreationTimestamp",
                                           NULL, 't', &crtime);
        (void) sd_bus_get_property_trivial(bus, MACHINE1_BUS_NAME, path, MACHINE1_IMAGE_IFACE, "ModificationTimestamp",
                                           NULL, 't', &mtime);
        if (sd_bus_call_method(bus, MACHINE1_BUS_NAME, MACHINE1_PATH, MACHINE1_MANAGER_IFACE, "GetImageOSRelease", NULL,
                               &os, "s", name) >= 0)
                (void) ctl_read_os_pretty_name(os, &pretty);
        if (sd_bus_call_method(bus, MACHINE1_BUS_NAME, MACHINE1_PATH, MACHINE1_MANAGER_IFACE, "GetImageHostname", NULL,
                               &host, "s", name) >= 0)
                (void) sd_bus_message_read(host, "s", &hostname);
        printf("%s\n", name);
        printf("\t    Path: %s\n", strna(ipath));
        printf("\t    Type: %s\n", strna(type));
        printf("\tReadOnly: %s\n", ro ? "yes" : "no");
        if (!isempty(hostname))
                printf("\tHostname: %s\n", hostname);
        if (pretty)
                printf("\t      OS: %s\n", pretty);
        if (usage != UINT64_MAX)
                printf("\t   Usage: %s\n", ctl_format_bytes(usage, u));
        if (crtime)
                printf("\t Created: %s\n", ctl_format_timestamp(crtime, buf));
        if (mtime)
                printf("\tModified: %s\n", ctl_format_timestamp(mtime, buf));
        return 0;
}

int verb_image_status(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]) {
        int ret = 0;

        for (int k = 1; k < argc; k++) {
                if (k > 1)
                        putchar('\n');
                int r = image_status_one(bus, argv[k]);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        return ret;
}

int verb_show_image(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]) {
        int ret = 0;

        if (argc <= 1)
                return ctl_print_properties(bus, args, MACHINE1_PATH, MACHINE1_MANAGER_IFACE, "manager");
        for (int k = 1; k < argc; k++) {
                _cleanup_free_ char *path = NULL;
                int r = ctl_image_path(bus, argv[k], &path);
                if (r >= 0) {
                        if (k > 1 && !args->value && args->json == JSON_OFF)
                                putchar('\n');
                        r = ctl_print_properties(bus, args, path, MACHINE1_IMAGE_IFACE, "image");
                }
                if (r < 0 && ret == 0)
                        ret = r;
        }
        return ret;
}

int verb_clone(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]) {
        return image_call(bus, "CloneImage", "clone", argv[1], NULL, "ssb", argv[1], argv[2], (int) args->read_only);
}

int verb_rename(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]) {
        return image_call(bus, "RenameImage", "rename", argv[1], NULL, "ss", argv[1], argv[2]);
}

int verb_remove(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]) {
        int ret = 0;

        for (int k = 1; k < argc; k++) {
                int r = image_call(bus, "RemoveImage", "remove", argv[k], NULL, "s", argv[k]);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        return ret;
}

int verb_read_only(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]) {
        int b = 1;

        if (argc > 2) {
                b = parse_boolean(argv[2]);
                if (b < 0)
                        return log_error_errno(b, "Invalid boolean '%s'.", argv[2]);
        }
        return image_call(bus, "MarkImageReadOnly", "mark read-only", argv[1], NULL, "sb", argv[1], b);
}

int verb_clean(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *name;
        uint64_t usage;
        size_t n = 0;
        int r;

        r = image_call(bus, "CleanPool", "clean", args->all ? "all" : "hidden", &reply, "s", args->all ? "all" : "hidden");
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "(st)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(st)", &name, &usage)) > 0) {
                char u[16];
                n++;
                if (args->quiet)
                        continue;
                if (startswith(name, LAYER_STORE_NAME "/sha256/"))
                        printf("Removed layer sha256:%s, which no image uses.\n", name + strlen(LAYER_STORE_NAME "/sha256/"));
                else
                        printf("Removed image '%s'.%s%s\n", name, usage == UINT64_MAX ? "" : " Freed ",
                               usage == UINT64_MAX ? "" : ctl_format_bytes(usage, u));
        }
        if (r < 0)
                return log_error_errno(r, "Malformed reply to CleanPool: %m");
        if (n == 0 && !args->quiet)
                printf("No images to remove.\n");
        return 0;
}

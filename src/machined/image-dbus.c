/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "alloc-util.h"
#include "bus-names.h"
#include "image-dbus.h"
#include "machine-dbus.h"
#include "manager.h"
#include "string-util.h"
#include "strv.h"

char *image_bus_path(const char *name) {
        char *p = NULL;

        if (sd_bus_path_encode(MACHINE1_IMAGE_PREFIX, name, &p) < 0)
                return NULL;
        return p;
}

/* Images are looked up on demand; the result lives until the current message is processed. */
static int on_flush_images(sd_event_source *s, void *userdata) {
        Manager *m = userdata;

        image_list_free(m->image_cache);
        m->image_cache = NULL;
        m->image_flush = sd_event_source_disable_unref(m->image_flush);
        return 0;
}

int image_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                      sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_free_ char *name = NULL;
        Image *i = NULL;
        int r;

        r = sd_bus_path_decode(path, MACHINE1_IMAGE_PREFIX, &name);
        if (r <= 0)
                return 0;
        for (Image *c = m->image_cache; c; c = c->next)
                if (streq(c->name, name)) {
                        *found = c;
                        return 1;
                }
        if (image_find(name, &i) < 0)
                return 0;
        i->next = m->image_cache;
        m->image_cache = i;
        if (!m->image_flush)
                (void) sd_event_add_defer(m->event, &m->image_flush, on_flush_images, m);
        *found = i;
        return 1;
}

int image_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        _cleanup_strv_free_ char **l = NULL;
        Image *images = NULL;
        int r;

        r = image_discover(&images);
        if (r < 0)
                return r;
        for (Image *i = images; i; i = i->next) {
                r = strv_consume(&l, image_bus_path(i->name));
                if (r < 0)
                        break;
        }
        image_list_free(images);
        if (r < 0)
                return r;
        *nodes = TAKE_PTR(l);
        return 1;
}

static int property_get_type(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Image *i = userdata;
        return sd_bus_message_append(reply, "s", image_type_to_string(i->type));
}

static int reply_strv_pairs(sd_bus_message *message, char **l) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "{ss}");
        if (r < 0)
                return r;
        for (char **k = l; k && k[0] && k[1]; k += 2) {
                r = sd_bus_message_append(reply, "{ss}", k[0], k[1]);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

int bus_image_method_get_hostname(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *h = NULL;
        int r;

        r = image_read_hostname(userdata, &h);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, "s", h);
}

int bus_image_method_get_machine_id(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        sd_id128_t id;
        int r;

        (void) image_read_machine_id(userdata, &id);
        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append_array(reply, 'y', &id, sd_id128_is_null(id) ? 0 : 16);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

int bus_image_method_get_machine_info(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        static const char *const paths[] = { "/etc/machine-info", NULL };
        _cleanup_strv_free_ char **l = NULL;
        int r;

        r = image_read_env_file(userdata, paths, &l);
        if (r < 0)
                return r;
        return reply_strv_pairs(message, l);
}

int bus_image_method_get_os_release(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        static const char *const paths[] = { "/etc/os-release", "/usr/lib/os-release", NULL };
        _cleanup_strv_free_ char **l = NULL;
        int r;

        r = image_read_env_file(userdata, paths, &l);
        if (r < 0)
                return r;
        return reply_strv_pairs(message, l);
}

int bus_image_method_unsupported(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        int r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED, "Changing images is not implemented yet.");
}

const sd_bus_vtable image_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", NULL, offsetof(Image, name), 0),
        SD_BUS_PROPERTY("Path", "s", NULL, offsetof(Image, path), 0),
        SD_BUS_PROPERTY("Type", "s", property_get_type, 0, 0),
        SD_BUS_PROPERTY("ReadOnly", "b", NULL, offsetof(Image, read_only), 0),
        SD_BUS_PROPERTY("CreationTimestamp", "t", NULL, offsetof(Image, crtime), 0),
        SD_BUS_PROPERTY("ModificationTimestamp", "t", NULL, offsetof(Image, mtime), 0),
        SD_BUS_PROPERTY("Usage", "t", NULL, offsetof(Image, usage), 0),
        SD_BUS_PROPERTY("Limit", "t", NULL, offsetof(Image, limit), 0),
        SD_BUS_PROPERTY("UsageExclusive", "t", NULL, offsetof(Image, usage_exclusive), 0),
        SD_BUS_PROPERTY("LimitExclusive", "t", NULL, offsetof(Image, limit_exclusive), 0),
        SD_BUS_METHOD("Remove", NULL, NULL, bus_image_method_unsupported, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Rename", "s", SD_BUS_PARAM(new_name), NULL, , bus_image_method_unsupported,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Clone", "sb", SD_BUS_PARAM(new_name) SD_BUS_PARAM(read_only), NULL, ,
                                 bus_image_method_unsupported, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("MarkReadOnly", "b", SD_BUS_PARAM(read_only), NULL, , bus_image_method_unsupported,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("SetLimit", "t", SD_BUS_PARAM(limit), NULL, , bus_image_method_unsupported,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetHostname", NULL, , "s", SD_BUS_PARAM(hostname), bus_image_method_get_hostname,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetMachineID", NULL, , "ay", SD_BUS_PARAM(id), bus_image_method_get_machine_id,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetMachineInfo", NULL, , "a{ss}", SD_BUS_PARAM(machine_info),
                                 bus_image_method_get_machine_info, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetOSRelease", NULL, , "a{ss}", SD_BUS_PARAM(os_release),
                                 bus_image_method_get_os_release, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

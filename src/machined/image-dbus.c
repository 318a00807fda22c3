/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "alloc-util.h"
#include "bus-names.h"
#include "fd-util.h"
#include "image-dbus.h"
#include "image-ops.h"
#include "log.h"
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

/* ---- the methods that change images: root only; long ones run in a child (image_op_fork) ---- */

/* The Manager: the userdata of the vtable being dispatched (the Manager's, or the image fallback's). */
static Manager *current_manager(sd_bus_message *message) {
        sd_bus_slot *slot = sd_bus_get_current_slot(sd_bus_message_get_bus(message));
        return slot ? sd_bus_slot_get_userdata(slot) : NULL;
}

static int image_error(sd_bus_error *error, int r, const char *verb, const char *name, const char *new_name) {
        switch (r) {
        case -EBUSY:
                return sd_bus_error_set_errnof(error, r, "Image '%s' is in use.", name);
        case -EROFS:
                return sd_bus_error_set_errnof(error, r, "Image '%s' is read-only (a vendor image or the host).",
                                               name);
        case -EEXIST:
                return sd_bus_error_set_errnof(error, r, "An image called '%s' already exists.", strna(new_name));
        case -EOPNOTSUPP:
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "Cannot %s image '%s': not supported for images of this type.", verb, name);
        case -ENOTCONN:
                return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED, "Quota is not enabled on this btrfs file system.");
        case -EPROTO:
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "Failed to %s image '%s': the helper died.", verb, name);
        default:
                return sd_bus_error_set_errnof(error, r, "Failed to %s image '%s': %m", verb, name);
        }
}

typedef struct ImageOperation {
        Manager *manager;
        sd_bus_message *call;
        const char *verb;
        char *name, *new_name;
        int result_fd; /* CleanPool's records, else -EBADF */
} ImageOperation;

static void image_operation_free(void *userdata) {
        ImageOperation *o = userdata;

        o->manager->n_operations--;
        sd_bus_message_unref(o->call);
        free(o->name);
        free(o->new_name);
        safe_close(o->result_fd);
        free(o);
}

static int reply_clean_pool(ImageOperation *o) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        int fd, r;

        fd = fcntl(o->result_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        f = fdopen(fd, "r");
        if (!f) {
                safe_close(fd);
                return -errno;
        }
        rewind(f);
        r = sd_bus_message_new_method_return(o->call, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(st)");
        for (;;) {
                _cleanup_free_ char *name = NULL;
                uint64_t usage;
                if (r < 0)
                        return r;
                r = image_clean_pool_read(f, &name, &usage);
                if (r <= 0)
                        break;
                r = sd_bus_message_append(reply, "(st)", name, usage);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int on_image_operation_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        ImageOperation *o = userdata;
        int r;

        r = image_op_result(si->si_code, si->si_status);
        if (r >= 0 && o->result_fd >= 0)
                r = reply_clean_pool(o);
        else if (r >= 0)
                r = sd_bus_reply_method_return(o->call, NULL);
        if (r < 0) {
                (void) image_error(&e, r, o->verb, o->name, o->new_name);
                log_debug("%s", e.message);
                r = sd_bus_reply_method_error(o->call, &e);
        }
        if (r < 0)
                log_debug_errno(r, "Failed to reply to %s(): %m", sd_bus_message_get_member(o->call));
        /* A child source that fired is only disabled: the loop's reference would keep it (and the
         * operation slot) for ever. Dropping it runs image_operation_free() once this returns. */
        (void) sd_event_source_set_floating(s, false);
        return 0;
}

typedef struct ImageOpArgs {
        const Image *image;
        const char *new_name;
        bool read_only;
        ImageCleanMode mode;
        int fd;
} ImageOpArgs;

static int op_remove(void *userdata) {
        const ImageOpArgs *a = userdata;
        return image_remove(a->image);
}

static int op_clone(void *userdata) {
        const ImageOpArgs *a = userdata;
        return image_clone(a->image, a->new_name, a->read_only);
}

static int op_clean_pool(void *userdata) {
        const ImageOpArgs *a = userdata;
        return image_clean_pool(a->mode, a->fd);
}

/* Forks fn(args) and answers message when it exits. Takes result_fd. */
static int image_operation_start(sd_bus_message *message, const char *verb, const char *name, int (*fn)(void *),
                                 ImageOpArgs *args, int result_fd, sd_bus_error *error) {
        _cleanup_(sd_event_source_unrefp) sd_event_source *source = NULL;
        Manager *m = current_manager(message);
        ImageOperation *o;
        pid_t pid;
        int r;

        if (!m) {
                safe_close(result_fd);
                return -EINVAL;
        }
        if (m->n_operations >= MANAGER_OPERATIONS_MAX) {
                safe_close(result_fd);
                return sd_bus_error_set(error, SD_BUS_ERROR_LIMITS_EXCEEDED, "Too many ongoing operations.");
        }
        o = new0(ImageOperation, 1);
        if (!o) {
                safe_close(result_fd);
                return -ENOMEM;
        }
        *o = (ImageOperation) { .manager = m, .verb = verb, .result_fd = result_fd,
                                .name = strdup(name), .new_name = args->new_name ? strdup(args->new_name) : NULL };
        r = !o->name || (args->new_name && !o->new_name) ? -ENOMEM : image_op_fork(fn, args, &pid);
        if (r >= 0) {
                r = sd_event_add_child(m->event, &source, pid, WEXITED, on_image_operation_exit, o);
                if (r < 0) {
                        (void) kill(pid, SIGKILL);
                        (void) waitpid(pid, NULL, 0);
                }
        }
        if (r < 0) {
                m->n_operations++; /* image_operation_free() counts it down */
                image_operation_free(o);
                return sd_bus_error_set_errnof(error, r, "Failed to start to %s image '%s': %m", verb, name);
        }
        o->call = sd_bus_message_ref(message);
        m->n_operations++;
        (void) sd_event_source_set_destroy_callback(source, image_operation_free);
        (void) sd_event_source_set_floating(source, true);
        return 1;
}

static int op_import_fs(void *userdata) {
        const ImageOpArgs *a = userdata;
        return image_import_tree(a->fd, a->new_name, a->read_only, a->image);
}

int bus_image_import_fs(sd_bus_message *message, int dir_fd, const char *name, const Image *replace,
                        bool read_only, sd_bus_error *error) {
        ImageOpArgs args = { .image = replace, .new_name = name, .read_only = read_only, .fd = dir_fd };
        return image_operation_start(message, "import", name, op_import_fs, &args, -EBADF, error);
}

int bus_image_method_remove(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Image *i = userdata;
        ImageOpArgs args = { .image = i };
        int r;

        r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        return image_operation_start(message, "remove", i->name, op_remove, &args, -EBADF, error);
}

static int read_new_name(sd_bus_message *message, const char *signature, const char **ret_name, int *ret_b,
                         sd_bus_error *error) {
        int r;

        r = streq(signature, "sb") ? sd_bus_message_read(message, "sb", ret_name, ret_b)
                                   : sd_bus_message_read(message, "s", ret_name);
        if (r < 0)
                return r;
        r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        if (!image_name_is_valid(*ret_name) || streq(*ret_name, ".host"))
                return bus_invalid_name(error, "image", *ret_name);
        return 0;
}

int bus_image_method_rename(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Image *i = userdata;
        const char *new_name;
        int r;

        r = read_new_name(message, "s", &new_name, NULL, error);
        if (r < 0)
                return r;
        r = image_rename(i, new_name);
        if (r < 0)
                return image_error(error, r, "rename", i->name, new_name);
        log_info("Renamed image %s to %s.", i->name, new_name);
        return sd_bus_reply_method_return(message, NULL);
}

int bus_image_method_clone(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Image *i = userdata;
        ImageOpArgs args = { .image = i };
        int read_only = 0, r;

        r = read_new_name(message, "sb", &args.new_name, &read_only, error);
        if (r < 0)
                return r;
        args.read_only = read_only;
        return image_operation_start(message, "clone", i->name, op_clone, &args, -EBADF, error);
}

int bus_image_method_mark_read_only(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Image *i = userdata;
        int read_only, r;

        r = sd_bus_message_read(message, "b", &read_only);
        if (r < 0)
                return r;
        r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        r = image_mark_read_only(i, read_only);
        if (r < 0)
                return image_error(error, r, "mark read-only", i->name, NULL);
        return sd_bus_reply_method_return(message, NULL);
}

/* SetImageLimit's and SetPoolLimit's argument, checked, from root only. */
static int read_limit_as_root(sd_bus_message *message, uint64_t *ret, sd_bus_error *error) {
        int r = sd_bus_message_read(message, "t", ret);

        if (r < 0)
                return r;
        if (*ret != UINT64_MAX && *ret > INT64_MAX)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "New limit out of range");
        return bus_verify_root(message, error);
}

int bus_image_method_set_limit(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Image *i = userdata;
        uint64_t limit;
        int r;

        r = read_limit_as_root(message, &limit, error);
        if (r < 0)
                return r;
        r = image_set_limit(i, limit);
        if (r == -EOPNOTSUPP)
                return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED, "Quota is only supported on btrfs subvolumes.");
        if (r < 0)
                return image_error(error, r, "set the limit of", i->name, NULL);
        return sd_bus_reply_method_return(message, NULL);
}

int bus_manager_method_set_pool_limit(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        uint64_t limit;
        int r;

        r = read_limit_as_root(message, &limit, error);
        if (r < 0)
                return r;
        r = image_pool_set_limit(limit);
        if (r == -EOPNOTSUPP)
                return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED, "Quota is only supported on btrfs.");
        if (r < 0)
                return image_error(error, r, "set the limit of", IMAGE_POOL_PATH, NULL);
        return sd_bus_reply_method_return(message, NULL);
}

int bus_manager_method_clean_pool(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        ImageOpArgs args = {};
        const char *mode;
        int r;

        r = sd_bus_message_read(message, "s", &mode);
        if (r < 0)
                return r;
        args.mode = image_clean_mode_from_string(mode);
        if (args.mode < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown mode '%s'.", mode);
        r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        args.fd = memfd_create("clean-pool", MFD_CLOEXEC);
        if (args.fd < 0)
                return -errno;
        return image_operation_start(message, "clean", IMAGE_POOL_PATH, op_clean_pool, &args, args.fd, error);
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
        SD_BUS_METHOD("Remove", NULL, NULL, bus_image_method_remove, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Rename", "s", SD_BUS_PARAM(new_name), NULL, , bus_image_method_rename,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Clone", "sb", SD_BUS_PARAM(new_name) SD_BUS_PARAM(read_only), NULL, ,
                                 bus_image_method_clone, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("MarkReadOnly", "b", SD_BUS_PARAM(read_only), NULL, , bus_image_method_mark_read_only,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("SetLimit", "t", SD_BUS_PARAM(limit), NULL, , bus_image_method_set_limit,
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

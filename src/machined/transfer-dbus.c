/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "alloc-util.h"
#include "bus-names.h"
#include "image-dbus.h"
#include "image-ops.h"
#include "image-transfer.h"
#include "log.h"
#include "machine-dbus.h"
#include "manager.h"
#include "string-util.h"
#include "transfer-dbus.h"

typedef struct TransferCall {
        sd_bus_message *call;
        char *name;
        bool read_only;
} TransferCall;

static void transfer_done(int result, const char *message, void *userdata) {
        TransferCall *c = userdata;
        int r;

        if (result >= 0 && c->read_only) {
                _cleanup_(image_freep) Image *i = NULL;
                result = image_find(c->name, &i);
                if (result >= 0)
                        result = image_mark_read_only(i, true);
                if (result < 0)
                        message = "The image arrived but could not be marked read-only.";
        }
        if (result >= 0)
                r = sd_bus_reply_method_return(c->call, NULL);
        else if (result == -EPROTO)
                r = sd_bus_reply_method_errorf(c->call, SD_BUS_ERROR_FAILED, "The transfer of '%s' was killed.", c->name);
        else
                r = sd_bus_reply_method_errnof(c->call, result, "%s", message ?: "The transfer failed: %m");
        if (r < 0)
                log_debug_errno(r, "Failed to answer %s(): %m", sd_bus_message_get_member(c->call));
        sd_bus_message_unref(c->call);
        free(c->name);
        free(c);
}

static int start_transfer(sd_bus_message *message, Manager *m, char *const *args, int fd, const char *name,
                          bool read_only, sd_bus_error *error) {
        TransferCall *c;
        int r;

        if (m->n_operations >= MANAGER_OPERATIONS_MAX)
                return sd_bus_error_set(error, SD_BUS_ERROR_LIMITS_EXCEEDED, "Too many ongoing operations.");
        c = new0(TransferCall, 1);
        if (!c || !(c->name = strdup(name))) {
                free(c);
                return -ENOMEM;
        }
        c->call = sd_bus_message_ref(message);
        c->read_only = read_only;
        r = transfer_start(m, args, fd, transfer_done, c);
        if (r < 0) {
                sd_bus_message_unref(c->call);
                free(c->name);
                free(c);
                return sd_bus_error_set_errnof(error, r, "Failed to start the transfer of '%s': %m", name);
        }
        return 1;
}

/* Reads (h fd, s name, b force, b read_only), checks the caller and the name, and finds the
 * image it would replace. */
static int read_import(sd_bus_message *message, int *fd, const char **name, int *read_only, Image **replace,
                       sd_bus_error *error) {
        int force, r;

        r = sd_bus_message_read(message, "hsbb", fd, name, &force, read_only);
        if (r < 0)
                return r;
        r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        if (!image_name_is_valid(*name) || streq(*name, ".host"))
                return bus_invalid_name(error, "image", *name);
        if (image_find(*name, replace) < 0)
                return 0;
        if (!force)
                return sd_bus_error_setf(error, SD_BUS_ERROR_FILE_EXISTS,
                                         "An image called '%s' already exists (--force replaces it).", *name);
        if (image_check_writable(*replace) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Image '%s' is read-only (a vendor image or the host).", *name);
        return 0;
}

static int import_common(sd_bus_message *message, Manager *m, const char *mode, sd_bus_error *error) {
        _cleanup_(image_freep) Image *replace = NULL;
        _cleanup_free_ char *replace_arg = NULL;
        const char *name;
        int fd, read_only, r;

        r = read_import(message, &fd, &name, &read_only, &replace, error);
        if (r < 0)
                return r;
        if (replace && !(replace_arg = strjoin("--replace=", replace->path)))
                return -ENOMEM;
        char *args[5] = { (char *) "--pool=" IMAGE_POOL_PATH };
        size_t n = 1;
        if (replace_arg)
                args[n++] = replace_arg;
        args[n++] = (char *) mode;
        args[n] = (char *) name;
        return start_transfer(message, m, args, fd, name, read_only, error);
}

int bus_method_import_tar(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return import_common(message, userdata, "tar", error);
}

int bus_method_import_raw(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return import_common(message, userdata, "raw", error);
}

int bus_method_import_oci(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return import_common(message, userdata, "oci", error);
}

int bus_method_import_fs(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(image_freep) Image *replace = NULL;
        const char *name;
        struct stat st;
        int fd, read_only, r;

        r = read_import(message, &fd, &name, &read_only, &replace, error);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode))
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "ImportFileSystem needs a directory fd.");
        return bus_image_import_fs(message, fd, name, replace, read_only, error);
}

static int export_common(sd_bus_message *message, Manager *m, bool tar, sd_bus_error *error) {
        _cleanup_(image_freep) Image *i = NULL;
        _cleanup_free_ char *path_arg = NULL, *format_arg = NULL;
        const char *name, *format;
        int fd, r;

        r = sd_bus_message_read(message, "shs", &name, &fd, &format);
        if (r < 0)
                return r;
        r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        if (!image_name_is_valid(name))
                return bus_invalid_name(error, "image", name);
        if (image_find(name, &i) < 0)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_IMAGE, "No image '%s' known.", name);
        if (isempty(format))
                format = "uncompressed";
        if (!IN_SET(format[0], 'u', 'g', 'x', 'z', 'b') || strchr(format, '/'))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown compression '%s'.", format);
        if (tar && !IN_SET(i->type, IMAGE_DIRECTORY, IMAGE_SUBVOLUME))
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "Image '%s' is %s image; export-tar takes directory and subvolume "
                                         "images (export-raw takes raw ones).", name, image_type_to_string(i->type));
        if (!tar && i->type != IMAGE_RAW)
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "Image '%s' is not a raw image; export-tar exports trees.", name);
        path_arg = strjoin("--path=", i->path);
        format_arg = strjoin("--format=", format);
        if (!path_arg || !format_arg)
                return -ENOMEM;
        char *args[] = { path_arg, format_arg, (char *) (tar ? "export-tar" : "export-raw"), NULL };
        return start_transfer(message, m, args, fd, name, false, error);
}

int bus_method_export_tar(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return export_common(message, userdata, true, error);
}

int bus_method_export_raw(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return export_common(message, userdata, false, error);
}

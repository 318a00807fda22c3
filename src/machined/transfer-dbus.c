/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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
        else if (result == -ECANCELED)
                r = sd_bus_reply_method_errorf(c->call, BUS_ERROR_TRANSFER_CANCELLED, "The transfer of '%s' was cancelled.",
                                               c->name);
        else
                r = sd_bus_reply_method_errnof(c->call, result, "%s", message ?: "The transfer failed: %m");
        if (r < 0)
                log_debug_errno(r, "Failed to answer %s(): %m", sd_bus_message_get_member(c->call));
        sd_bus_message_unref(c->call);
        free(c->name);
        free(c);
}

static int start_transfer(sd_bus_message *message, Manager *m, const TransferRequest *req, bool read_only,
                          sd_bus_error *error) {
        const char *name = req->local;
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
        r = transfer_start(m, req, transfer_done, c, NULL);
        if (r < 0) {
                sd_bus_message_unref(c->call);
                free(c->name);
                free(c);
                return sd_bus_error_set_errnof(error, r, "Failed to start the transfer of '%s': %m", name);
        }
        return 1;
}

/* Finds the image a new one called name would replace: an error unless force, and never a
 * read-only one. */
static int check_replace(const char *name, int force, Image **replace, sd_bus_error *error) {
        if (image_find(name, replace) < 0)
                return 0;
        if (!force)
                return sd_bus_error_setf(error, SD_BUS_ERROR_FILE_EXISTS,
                                         "An image called '%s' already exists (--force replaces it).", name);
        if (image_check_writable(*replace) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Image '%s' is read-only (a vendor image or the host).", name);
        return 0;
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
        return check_replace(*name, force, replace, error);
}

static int import_common(sd_bus_message *message, Manager *m, TransferType type, sd_bus_error *error) {
        _cleanup_(image_freep) Image *replace = NULL;
        const char *name;
        int fd, read_only, r;

        r = read_import(message, &fd, &name, &read_only, &replace, error);
        if (r < 0)
                return r;
        TransferRequest req = { .type = type, .local = name, .replace = replace ? replace->path : NULL, .fd = fd };
        return start_transfer(message, m, &req, read_only, error);
}

int bus_method_import_tar(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return import_common(message, userdata, TRANSFER_IMPORT_TAR, error);
}

int bus_method_import_raw(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return import_common(message, userdata, TRANSFER_IMPORT_RAW, error);
}

int bus_method_import_oci(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return import_common(message, userdata, TRANSFER_IMPORT_OCI, error);
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
        if (!transfer_format_is_valid(format))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Unknown compression '%s' (uncompressed, gzip, xz, zstd or bzip2).", format);
        if (tar && !IN_SET(i->type, IMAGE_DIRECTORY, IMAGE_SUBVOLUME))
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "Image '%s' is %s image; export-tar takes directory and subvolume "
                                         "images (export-raw takes raw ones).", name, image_type_to_string(i->type));
        if (!tar && i->type != IMAGE_RAW)
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "Image '%s' is not a raw image; export-tar exports trees.", name);
        TransferRequest req = { .type = tar ? TRANSFER_EXPORT_TAR : TRANSFER_EXPORT_RAW, .local = name,
                                .path = i->path, .format = format, .fd = fd };
        return start_transfer(message, m, &req, false, error);
}

int bus_method_export_tar(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return export_common(message, userdata, true, error);
}

int bus_method_export_raw(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return export_common(message, userdata, false, error);
}

/* PullTar/PullRaw(s url, s name, s verify, b force, b read_only): answered when the image is there. */
static int pull_common(sd_bus_message *message, Manager *m, TransferType type, sd_bus_error *error) {
        _cleanup_(image_freep) Image *replace = NULL;
        const char *url, *name, *verify;
        int force, read_only, r;

        r = sd_bus_message_read(message, "sssbb", &url, &name, &verify, &force, &read_only);
        if (r < 0)
                return r;
        r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        if (!transfer_url_is_valid(url))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid URL '%s': an http:// or https:// URL naming a file.", url);
        if (!image_name_is_valid(name) || streq(name, ".host"))
                return bus_invalid_name(error, "image", name);
        if (isempty(verify))
                verify = "signature";
        if (!transfer_verify_is_valid(verify))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid verification mode '%s' (no, checksum or signature).", verify);
        r = check_replace(name, force, &replace, error);
        if (r < 0)
                return r;
        TransferRequest req = { .type = type, .local = name, .remote = url, .verify = verify,
                                .replace = replace ? replace->path : NULL, .fd = -EBADF };
        return start_transfer(message, m, &req, read_only, error);
}

/* PullOCI(s reference, s name, b force, b read_only, b tls_verify, s layers) */
int bus_method_pull_oci(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(image_freep) Image *replace = NULL;
        const char *ref, *name, *layers;
        int force, read_only, tls_verify, r;

        r = sd_bus_message_read(message, "ssbbbs", &ref, &name, &force, &read_only, &tls_verify, &layers);
        if (r < 0)
                return r;
        r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        if (!transfer_reference_is_valid(ref))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid image reference '%s': REGISTRY/REPOSITORY[:TAG|@DIGEST].", ref);
        if (!image_name_is_valid(name) || streq(name, ".host"))
                return bus_invalid_name(error, "image", name);
        if (!isempty(layers) && !streq(layers, "flat") && !streq(layers, "stacked"))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid layers '%s' (flat or stacked).", layers);
        r = check_replace(name, force, &replace, error);
        if (r < 0)
                return r;
        TransferRequest req = { .type = TRANSFER_PULL_OCI, .local = name, .remote = ref, .tls_verify = tls_verify,
                                .stacked = streq(layers, "stacked"), .replace = replace ? replace->path : NULL,
                                .fd = -EBADF };
        return start_transfer(message, userdata, &req, read_only, error);
}

int bus_method_pull_tar(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return pull_common(message, userdata, TRANSFER_PULL_TAR, error);
}

int bus_method_pull_raw(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return pull_common(message, userdata, TRANSFER_PULL_RAW, error);
}

/* ListTransfers() -> a(usssdttt): id, type, remote, local, progress (0..1, 0 while unknown),
 * bytes so far, bytes in all (0: unknown), rate in bytes per second. */
int bus_method_list_transfers(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        (void) error;
        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(usssdttt)");
        for (Transfer *t = m->transfers; r >= 0 && t; t = t->next)
                r = sd_bus_message_append(reply, "(usssdttt)", t->id, transfer_type_to_string(t->type),
                                          t->remote ?: "", t->local,
                                          t->total > 0 ? MIN((double) t->bytes / (double) t->total, 1.0) : 0.0,
                                          t->bytes, t->total, t->rate);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r < 0 ? r : sd_bus_send(NULL, reply, NULL);
}

int bus_method_cancel_transfer(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        uint32_t id;
        int r;

        r = sd_bus_message_read(message, "u", &id);
        if (r < 0)
                return r;
        r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        r = transfer_cancel(m, id);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_TRANSFER, "No transfer %" PRIu32 " (see list-transfers).", id);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to cancel transfer %" PRIu32 ": %m", id);
        return sd_bus_reply_method_return(message, NULL);
}

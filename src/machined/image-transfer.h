/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Imports, exports and pulls, run by berth-import (libexec/berth) so that libarchive, json-c and
 * libcurl stay out of berthd. The helper's command line is built here from a TransferRequest; it
 * gets the caller's fd as its fd 3 (a pull: a pipe on which it reports progress), a memfd as
 * stderr, dies with berthd (PR_SET_PDEATHSIG SIGTERM, on which it removes what it made), and its
 * last words become the error the caller sees. Every transfer is listed in manager->transfers
 * until its helper exits. No D-Bus types here. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "manager.h"

typedef enum TransferType {
        TRANSFER_IMPORT_TAR,
        TRANSFER_IMPORT_RAW,
        TRANSFER_IMPORT_OCI,
        TRANSFER_EXPORT_TAR,
        TRANSFER_EXPORT_RAW,
        TRANSFER_PULL_TAR,
        TRANSFER_PULL_RAW,
        TRANSFER_PULL_OCI,
        _TRANSFER_TYPE_MAX,
} TransferType;

/* "import-tar", "pull-raw", ... (the berthctl verb) */
const char *transfer_type_to_string(TransferType t);

typedef struct TransferRequest {
        TransferType type;
        const char *local;   /* the image's name */
        const char *remote;  /* pulls: the URL */
        const char *replace; /* imports and pulls: the path of the image replaced (--force), or NULL */
        const char *path;    /* exports: the image's path */
        const char *format;  /* exports: a compression transfer_format_is_valid() accepts */
        const char *verify;  /* pull-tar, pull-raw: "no", "checksum" or "signature" */
        bool tls_verify;     /* pull-oci: false accepts any certificate, and plain HTTP */
        bool stacked;        /* pull-oci: the image as a stack of the store's layers */
        int fd;              /* imports and exports: the caller's fd (stays the caller's) */
} TransferRequest;

typedef struct Transfer {
        Manager *manager;
        uint32_t id;
        TransferType type;
        char *local, *remote;
        pid_t pid;
        uint64_t bytes, total, rate; /* pulls: what the helper last reported (total 0: unknown) */
        bool cancelled;
        int log_fd;                     /* the helper's stderr */
        sd_event_source *progress;      /* pulls: the helper's progress pipe */
        char progress_buf[128];
        size_t progress_len;
        void (*done)(int result, const char *message, void *userdata);
        void *userdata;
        struct Transfer *next;
} Transfer;

/* result: 0 or a negative errno (-ECANCELED after transfer_cancel()); message: the helper's error
 * (NULL on success). */
typedef void (*TransferDone)(int result, const char *message, void *userdata);

/* "uncompressed", "gzip", "xz", "zstd" or "bzip2". */
bool transfer_format_is_valid(const char *format);
/* "no", "checksum" or "signature". */
bool transfer_verify_is_valid(const char *verify);
/* http:// or https:// with a host and a file name, no spaces or control characters. */
bool transfer_url_is_valid(const char *url);

/* "host[:port]/repository[:tag|@digest]": printable, no spaces, a host and a repository. */
bool transfer_reference_is_valid(const char *ref);

/* Starts berth-import for req; ret_id (may be NULL) gets the transfer's id. */
int transfer_start(Manager *m, const TransferRequest *req, TransferDone done, void *userdata, uint32_t *ret_id);
/* Asks the helper to stop (SIGTERM): it removes what it made and the transfer ends with
 * -ECANCELED. -ENOENT for an unknown id. */
int transfer_cancel(Manager *m, uint32_t id);

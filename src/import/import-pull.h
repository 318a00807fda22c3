/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Downloads over HTTP(S) for pull-tar and pull-raw, through libcurl: redirects are followed (at
 * most PULL_REDIRECTS_MAX), an HTTP error status fails, and so does a server that sends less than
 * a byte a second for BERTH_PULL_TIMEOUT_SEC seconds (60 unless that environment variable says
 * otherwise). These functions log their own errors. */

#include <stdbool.h>
#include <stddef.h>

#define PULL_REDIRECTS_MAX 8
#define PULL_SMALL_MAX (1024 * 1024)

/* The machinectl keyrings, first found wins: the host's own, then the distribution's. */
#define PULL_KEYRING_ETC "/etc/systemd/import-pubring.gpg"
#define PULL_KEYRING_LIB "/usr/lib/systemd/import-pubring.gpg"

typedef enum PullVerify {
        PULL_VERIFY_NO,
        PULL_VERIFY_CHECKSUM,
        PULL_VERIFY_SIGNATURE,
} PullVerify;

/* Seconds a server may send less than a byte a second: $BERTH_PULL_TIMEOUT_SEC, else 60. */
long pull_stall_timeout_sec(void);

/* "no", "checksum", "signature"; -EINVAL otherwise. */
int pull_verify_from_string(const char *s);
/* Only http:// and https:// URLs with a host and a file name. */
bool pull_url_is_valid(const char *url);
/* The last path component of url, without query or fragment. */
int pull_url_filename(const char *url, char **ret);
/* The URL of name in the same directory as url. */
int pull_url_sibling(const char *url, const char *name, char **ret);

/* Fetches a small file (at most PULL_SMALL_MAX bytes) into memory, NUL-terminated. */
int pull_fetch_small(const char *url, char **ret, size_t *ret_size);

/* Streams url into out_fd. expected ("sha256:HEX", or NULL) is checked as the bytes pass; a
 * mismatch is -EBADMSG. Progress goes to progress_fd (-1: nowhere) as lines "BYTES TOTAL RATE"
 * (TOTAL 0 while unknown, RATE in bytes per second). -EPIPE: out_fd's reader went away (it logs
 * why itself). */
int pull_download(const char *url, int out_fd, const char *expected, int progress_fd);

/* The "sha256:HEX" that a SHA256SUMS text lists for name; -ENOENT if none (logged). */
int pull_checksum_find(const char *sums, const char *sums_url, const char *name, char **ret);

/* Checks sig (a detached OpenPGP signature) over data with gpgv against the keyring; -EBADMSG if
 * it does not verify, -ENOKEY without a keyring. */
int pull_verify_signature(const char *data, size_t data_size, const char *sig, size_t sig_size);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A digest computed while data streams by (OCI blobs, pulled files): "ALG:HEX" names what it must
 * come to, with ALG sha256 or sha512 (libcrypto). */

#include <stddef.h>

#define DIGEST_HEX_MAX (2 * 64 + 1)

typedef struct Hasher {
        struct evp_md_ctx_st *ctx;
        const char *digest; /* "sha256:HEX", not owned */
} Hasher;

/* -EOPNOTSUPP (logged) for another algorithm. */
int hasher_init(Hasher *h, const char *digest);
void hasher_update(const void *buf, size_t n, void *userdata /* Hasher */);
/* The lowercase hex of what went in, and whether it equals the expected digest (1) or not (0);
 * frees the context. */
/* A TarExtract verdict: 0 if what went in matches the digest (else logged, -EBADMSG); frees the context. */
int hasher_verdict(void *userdata /* Hasher */);
int hasher_finish(Hasher *h, char hex[static DIGEST_HEX_MAX]);
void hasher_done(Hasher *h);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>

#include "import-digest.h"
#include "log.h"
#include "string-util.h"

int hasher_init(Hasher *h, const char *digest) {
        const EVP_MD *md = startswith(digest, "sha256:") ? EVP_sha256() : startswith(digest, "sha512:") ? EVP_sha512() : NULL;

        if (!md) {
                log_error("Unsupported digest algorithm in '%s' (sha256 and sha512 are checked).", digest);
                return -EOPNOTSUPP;
        }
        h->digest = digest;
        h->ctx = EVP_MD_CTX_new();
        if (!h->ctx || !EVP_DigestInit_ex(h->ctx, md, NULL)) {
                hasher_done(h);
                return log_oom();
        }
        return 0;
}

void hasher_update(const void *buf, size_t n, void *userdata) {
        Hasher *h = userdata;
        (void) EVP_DigestUpdate(h->ctx, buf, n);
}

int hasher_finish(Hasher *h, char hex[static DIGEST_HEX_MAX]) {
        unsigned char sum[EVP_MAX_MD_SIZE];
        unsigned len = 0;
        int ok = EVP_DigestFinal_ex(h->ctx, sum, &len);

        hasher_done(h);
        hex[0] = 0;
        for (unsigned i = 0; ok && i < len && i < (DIGEST_HEX_MAX - 1) / 2; i++)
                (void) snprintf(hex + 2 * i, 3, "%02x", sum[i]);
        return ok && streq(hex, strchr(h->digest, ':') + 1);
}

void hasher_done(Hasher *h) {
        EVP_MD_CTX_free(h->ctx);
        h->ctx = NULL;
}

int hasher_verdict(void *userdata) {
        char hex[DIGEST_HEX_MAX];
        Hasher *h = userdata;

        if (hasher_finish(h, hex) <= 0) {
                log_error("Blob %s does not match its digest (it is sha256:%s); refusing it.", h->digest, hex);
                return -EBADMSG;
        }
        return 0;
}

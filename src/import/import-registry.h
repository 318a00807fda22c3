/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* pull-oci: an image from a registry speaking the OCI distribution protocol (Docker's v2 API),
 * through libcurl. The manifest for "host[:port]/repository[:tag|@digest]" is fetched (OCI or
 * Docker schema 2; from an image index or manifest list the one for linux/this architecture),
 * then its config, and the layers the pool's layer store lacks (four at a time), each streamed
 * into the store as it arrives and checked against its digest (import-layers.h). Authentication:
 * anonymous, the registry's Bearer token challenge, or Basic, with the credentials of an auth.json
 * (podman's /run/containers/0/auth.json, $REGISTRY_AUTH_FILE, or Docker's /root/.docker/config.json).
 * tls_verify=false accepts any certificate and falls back to plain HTTP. Progress goes to
 * progress_fd (-1: nowhere) as lines "BYTES TOTAL RATE". Logs its errors. */

#include <stdbool.h>

#include "import-oci.h"

typedef struct RegistryPull {
        char **layers;    /* the image's layers in the store, pool-relative, bottom-up */
        OciConfig config;
} RegistryPull;

void registry_pull_done(RegistryPull *p);
int registry_pull(const char *reference, bool tls_verify, int store_fd, int progress_fd, RegistryPull *ret);

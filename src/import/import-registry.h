/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* pull-oci: an image from a registry speaking the OCI distribution protocol (Docker's v2 API),
 * through libcurl. The manifest for "host[:port]/repository[:tag|@digest]" is fetched (OCI or
 * Docker schema 2; from an image index or manifest list the one for linux/this architecture),
 * then its config and layers (four at a time), each checked against its digest as it streams, into an OCI image
 * layout at layout_fd that oci_import() then applies. Authentication: anonymous, the registry's
 * Bearer token challenge, or Basic, with the credentials of an auth.json (podman's
 * /run/containers/0/auth.json, $REGISTRY_AUTH_FILE, or Docker's /root/.docker/config.json).
 * tls_verify=false accepts any certificate and falls back to plain HTTP. Logs its errors. */

#include <stdbool.h>

int registry_pull(const char *reference, bool tls_verify, int layout_fd);

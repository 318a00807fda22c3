/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* OCI image layouts (image-spec 1.x: "oci-layout", "index.json", "blobs/ALG/HEX") turned into a
 * machine tree: the manifest for this architecture is picked from the index, its layers are
 * extracted in order with whiteouts and opaque directories honoured, each through tar_extract()
 * chrooted into the tree. The image config's command, environment, working directory and user
 * become a NAME.nspawn settings file, so that "berth-spawn -M NAME" runs what the image runs.
 * Logs its errors (it runs in berth-import). Every blob is checked against its digest (sha256,
 * sha512) before it is used. */

#include <json-c/json.h>
#include <stdbool.h>

typedef struct OciConfig {
        char **command;     /* Entrypoint + Cmd */
        char **environment;
        char *working_directory;
        char *user;
} OciConfig;

void oci_config_done(OciConfig *c);
/* Fills c from an image config blob (its "config" object). */
int oci_config_from_json(json_object *config, OciConfig *c);

/* Extracts the layers of the layout at layout_fd into the tree at tree_fd, fills *config. */
int oci_import(int layout_fd, int tree_fd, OciConfig *config);
/* Writes config as a settings file at dir_fd/name; 0 if there is nothing to write. An existing file
 * is kept, unless replace (the image it belonged to was replaced). */
int oci_config_write_settings(const OciConfig *c, int dir_fd, const char *name, bool replace);

/* For pulls from a registry, which build a layout of what they fetched: */
/* "sha256:HEX" -> "blobs/sha256/HEX" (-EBADMSG, logged, for anything else). */
int oci_blob_path(const char *digest, char **ret);
/* An OCI image index or a Docker manifest list. */
bool oci_media_type_is_index(const char *media_type);
/* The index's descriptor for linux/this architecture (or the one without a platform); NULL if none. */
json_object *oci_pick_manifest(json_object *index);
/* This host's architecture in OCI's words: "amd64", "arm64", ... */
const char *oci_arch(void);

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Images in the search path of systemd 252 (directories, btrfs subvolumes, .raw files, block
 * devices), plus the synthetic ".host" image for "/". */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-id128.h>

#include "macro.h"

typedef enum ImageType {
        IMAGE_DIRECTORY,
        IMAGE_SUBVOLUME,
        IMAGE_RAW,
        IMAGE_BLOCK,
        _IMAGE_TYPE_MAX,
        _IMAGE_TYPE_INVALID = -EINVAL,
} ImageType;

typedef struct Image {
        char *name;
        char *path;
        ImageType type;
        bool read_only;
        uint64_t crtime;
        uint64_t mtime;
        uint64_t usage;
        uint64_t limit;
        uint64_t usage_exclusive;
        uint64_t limit_exclusive;
        struct Image *next;
} Image;

const char *image_type_to_string(ImageType t) _pure_;
ImageType image_type_from_string(const char *s) _pure_;

bool image_name_is_valid(const char *s) _pure_;
Image *image_free(Image *i);
DEFINE_POINTER_CLEANUP(Image *, image_free);
/* The first image called name in the search path (-ENOENT if none). */
int image_find(const char *name, Image **ret);
/* Every image, each name once (first hit wins), .host first. A list linked by ->next. */
int image_discover(Image **ret);
void image_list_free(Image *l);

/* Metadata read from inside the image (directories only; others give empty results). Paths are
 * resolved with the image as root, so symlinks cannot point out of it. */
int image_read_hostname(const Image *i, char **ret);
int image_read_machine_id(const Image *i, sd_id128_t *ret);
int image_read_env_file(const Image *i, const char *const *paths, char ***ret);

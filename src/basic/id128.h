/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* 128-bit ids (machine-id, container_uuid) for programs that do not link libsystemd. The format is
 * sd-id128's: 32 lowercase hex digits, or the 8-4-4-4-12 UUID form. */

#include <stdbool.h>
#include <stdint.h>

typedef struct Id128 {
        uint8_t bytes[16];
} Id128;

#define ID128_STRING_MAX 33
#define ID128_UUID_STRING_MAX 37

bool id128_is_null(Id128 id);
int id128_from_string(const char *s, Id128 *ret);
/* A random (version 4) id. */
int id128_randomize(Id128 *ret);
char *id128_to_string(Id128 id, char buf[static ID128_STRING_MAX]);
char *id128_to_uuid_string(Id128 id, char buf[static ID128_UUID_STRING_MAX]);

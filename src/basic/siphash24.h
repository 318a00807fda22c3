/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012) with a 16-byte
 * key: the 64-bit result as a number (its little-endian bytes are the paper's output bytes).
 * nspawn derives link names and MAC addresses with it; berth derives the same ones. */
uint64_t siphash24(const void *data, size_t size, const uint8_t key[static 16]);

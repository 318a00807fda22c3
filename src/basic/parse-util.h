/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "macro.h"

/* 1/yes/y/true/t/on -> 1, 0/no/n/false/f/off -> 0, else -EINVAL. */
int parse_boolean(const char *v);
int safe_atou(const char *s, unsigned *ret);
int safe_atoi(const char *s, int *ret);
int safe_atou64(const char *s, uint64_t *ret);
/* "10G", "512M", "4096": bytes, with K, M, G, T as powers of 1024 (and an optional "B"). */
int parse_size(const char *s, uint64_t *ret);
/* Accepts "SIGTERM", "TERM", "RTMIN+3", "SIGRTMIN+3", "15". Returns the signal or -EINVAL. */
int signal_from_string(const char *s);
/* Writes the canonical name ("SIGTERM", "SIGRTMIN+3") into buf. */
const char *signal_to_string(int sig, char buf[static 16]);
/* Parses "30", "30s", "500ms", "2min", "1h" into microseconds. */
int parse_sec(const char *s, uint64_t *ret_usec);

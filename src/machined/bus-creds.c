/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc-util.h"
#include "bus-creds.h"
#include "string-util.h"

typedef struct CredsEntry {
        char *name;
        uid_t uid;
        pid_t pid;
} CredsEntry;

static struct {
        sd_id128_t bus_id;
        CredsEntry entries[BUS_CREDS_CACHE_MAX];
        size_t n, next; /* next: the slot to reuse when full (the oldest) */
} cache;

static void cache_clear(void) {
        for (size_t i = 0; i < cache.n; i++)
                free(cache.entries[i].name);
        cache.n = cache.next = 0;
}

static CredsEntry *cache_find(sd_bus *bus, const char *name) {
        sd_id128_t id;

        if (sd_bus_get_bus_id(bus, &id) < 0)
                return NULL;
        if (!sd_id128_equal(id, cache.bus_id)) {
                cache_clear();
                cache.bus_id = id;
                return NULL;
        }
        for (size_t i = 0; i < cache.n; i++)
                if (streq(cache.entries[i].name, name))
                        return &cache.entries[i];
        return NULL;
}

static void cache_add(const char *name, uid_t uid, pid_t pid) {
        char *copy = strdup(name);
        CredsEntry *e;

        if (!copy)
                return;
        if (cache.n < BUS_CREDS_CACHE_MAX)
                e = &cache.entries[cache.n++];
        else {
                e = &cache.entries[cache.next];
                cache.next = (cache.next + 1) % BUS_CREDS_CACHE_MAX;
                free(e->name);
        }
        *e = (CredsEntry) { .name = copy, .uid = uid, .pid = pid };
}

int bus_sender_uid_pid(sd_bus_message *message, uid_t *ret_uid, pid_t *ret_pid) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        const char *sender = sd_bus_message_get_sender(message);
        CredsEntry *e = sender && sender[0] == ':' ? cache_find(sd_bus_message_get_bus(message), sender) : NULL;
        uid_t uid;
        pid_t pid;
        int r;

        if (!e) {
                r = sd_bus_query_sender_creds(message, SD_BUS_CREDS_UID | SD_BUS_CREDS_EUID | SD_BUS_CREDS_PID, &creds);
                if (r < 0)
                        return r;
                if (sd_bus_creds_get_euid(creds, &uid) < 0) {
                        r = sd_bus_creds_get_uid(creds, &uid);
                        if (r < 0)
                                return r;
                }
                r = sd_bus_creds_get_pid(creds, &pid);
                if (r < 0)
                        return r;
                if (sender && sender[0] == ':')
                        cache_add(sender, uid, pid);
        } else
                uid = e->uid, pid = e->pid;
        if (ret_uid)
                *ret_uid = uid;
        if (ret_pid)
                *ret_pid = pid;
        return 0;
}

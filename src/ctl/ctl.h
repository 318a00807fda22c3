/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* berthctl: machinectl's verbs against whoever owns org.freedesktop.machine1 (berthd, or
 * systemd-machined), plus berth's extension interface where machine1 has no method. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "macro.h"

typedef enum JsonMode {
        JSON_OFF,
        JSON_SHORT,
        JSON_PRETTY,
} JsonMode;

#define CTL_MAX_COLUMNS 8

typedef struct CtlArgs {
        bool all;
        bool legend;
        bool pager;
        bool quiet;
        bool value;
        bool full;
        bool read_only;
        bool mkdir;
        bool follow;
        bool force;
        bool runtime;           /* set-property: not kept for the next start */
        int columns[CTL_MAX_COLUMNS]; /* list: accounting columns (ctl-accounting.h) */
        size_t n_columns;
        unsigned iterations;    /* top: 0 = until interrupted */
        uint64_t delay_usec;    /* top: between refreshes, 0 = 1 s */
        JsonMode json;
        char **properties;
        const char *kill_whom;
        int signal;             /* 0: the verb's default */
        uint64_t timeout_usec;  /* 0: do not wait */
        unsigned lines;
        const char *uid;
        char **setenv;
        const char *format;     /* export: compression, else from the file name */
        const char *verify;     /* pull: "no", "checksum" or "signature" (NULL: signature) */
        bool tls_verify_off;    /* pull-oci --tls-verify=no */
        bool stacked;           /* pull-oci --layers=stacked */
} CtlArgs;


typedef int (*verb_fn)(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]);

/* Verbs: argv[0] is the verb. */
int verb_list(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]);
int verb_status(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]);
int verb_show(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]);
int verb_start(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]);
int verb_enable(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]);
int verb_poweroff(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]);
int verb_terminate(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]);
int verb_kill(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]);
int verb_login(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]);
int verb_shell(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]);
int verb_copy(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]);
int verb_bind(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]);
int verb_logs(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]);
int verb_list_images(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]);
int verb_image_status(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]);
int verb_show_image(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]);
int verb_clone(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]);
int verb_rename(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]);
int verb_remove(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]);
int verb_read_only(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]);
int verb_clean(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]);
int verb_import(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]);
int verb_export(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]);
int verb_pull(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]);
int verb_pull_oci(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]);
int verb_list_transfers(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]);
int verb_cancel_transfer(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]);
int verb_set_property(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]);
int verb_top(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]);
int verb_set_limit(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]);

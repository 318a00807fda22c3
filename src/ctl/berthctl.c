/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berthctl: the command line, the verb table and the exit codes. */
#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc-util.h"
#include "ctl-args.h"
#include "ctl-bus.h"
#include "ctl-accounting.h"
#include "ctl-output.h"
#include "ctl.h"
#include "log.h"
#include "parse-util.h"
#include "string-util.h"
#include "strv.h"

/* The options, filled by parse_argv() and handed to each verb as a const pointer. */
static CtlArgs arg = {
        .legend = true,
        .pager = true,
};

typedef struct Verb {
        const char *name;
        int min_args, max_args; /* counting the verb; -1 = any */
        verb_fn fn;
        const char *usage;
        const char *help;
} Verb;

#define ANY -1

static const Verb verbs[] = {
        { "list", 1, 1, verb_list, "list", "List running machines" },
        { "status", 2, ANY, verb_status, "status NAME...", "Show the state of one or more machines" },
        { "show", 1, ANY, verb_show, "show [NAME...]", "Show the properties of machines or the manager" },
        { "start", 2, ANY, verb_start, "start NAME...", "Boot images as persistent machines" },
        { "enable", 2, ANY, verb_enable, "enable NAME...", "Start machines when berthd (or the host) starts" },
        { "disable", 2, ANY, verb_enable, "disable NAME...", "Do not start machines automatically" },
        { "login", 1, 2, verb_login, "login [NAME]", "Get a login prompt in a machine" },
        { "shell", 1, ANY, verb_shell, "shell [[USER@]NAME [COMMAND [ARGS...]]]",
          "Run a shell or a command in a machine; its exit status is berthctl's" },
        { "poweroff", 2, ANY, verb_poweroff, "poweroff NAME...", "Shut machines down cleanly" },
        { "reboot", 2, ANY, verb_poweroff, "reboot NAME...", "Reboot machines" },
        { "terminate", 2, ANY, verb_terminate, "terminate NAME...", "Stop machines now" },
        { "set-property", 3, ANY, verb_set_property, "set-property NAME PROPERTY=VALUE...",
          "Set resource properties of a machine (kept for its next start unless --runtime)" },
        { "top", 1, 1, verb_top, "top", "Show machines by CPU, memory, tasks and I/O, refreshing" },
        { "kill", 2, ANY, verb_kill, "kill NAME...", "Send a signal to processes of machines" },
        { "copy-to", 3, 4, verb_copy, "copy-to NAME PATH [PATH]", "Copy files from the host into a machine" },
        { "copy-from", 3, 4, verb_copy, "copy-from NAME PATH [PATH]", "Copy files from a machine to the host" },
        { "bind", 3, 4, verb_bind, "bind NAME PATH [PATH]", "Bind-mount a host path into a machine" },
        { "logs", 2, 2, verb_logs, "logs NAME", "Show the console log of a machine started by berthd" },
        { "list-images", 1, 1, verb_list_images, "list-images", "List images of the search path" },
        { "image-status", 2, ANY, verb_image_status, "image-status NAME...", "Show information about images" },
        { "show-image", 1, ANY, verb_show_image, "show-image [NAME...]", "Show the properties of images" },
        { "clone", 3, 3, verb_clone, "clone NAME NAME", "Clone an image" },
        { "rename", 3, 3, verb_rename, "rename NAME NAME", "Rename an image" },
        { "remove", 2, ANY, verb_remove, "remove NAME...", "Remove images" },
        { "read-only", 2, 3, verb_read_only, "read-only NAME [BOOL]", "Mark or unmark an image read-only" },
        { "clean", 1, 1, verb_clean, "clean", "Remove hidden images (all with --all), unused layers" },
        { "set-limit", 2, 3, verb_set_limit, "set-limit [NAME] BYTES", "Set a size limit for an image or the pool (btrfs)" },
        { "import-tar", 2, 3, verb_import, "import-tar FILE|- [NAME]", "Import a tarball (.tar[.gz|.xz|.zst|.bz2]) as an image" },
        { "import-raw", 2, 3, verb_import, "import-raw FILE|- [NAME]", "Import a raw disk image (compressed or not)" },
        { "import-fs", 2, 3, verb_import, "import-fs DIRECTORY [NAME]", "Copy a directory tree into an image" },
        { "import-oci", 2, 3, verb_import, "import-oci PATH [NAME]", "Make an image from an OCI image layout (directory or tar)" },
        { "export-tar", 2, 3, verb_export, "export-tar NAME [FILE]", "Write a directory image as a tarball" },
        { "export-raw", 2, 3, verb_export, "export-raw NAME [FILE]", "Write a raw image out (compressed by FILE's suffix)" },
        { "pull-tar", 2, 3, verb_pull, "pull-tar URL [NAME]", "Download a tarball over HTTP(S) and import it" },
        { "pull-raw", 2, 3, verb_pull, "pull-raw URL [NAME]", "Download a raw disk image over HTTP(S) and import it" },
        { "pull-oci", 2, 3, verb_pull_oci, "pull-oci REGISTRY/REPOSITORY[:TAG] [NAME]", "Download an OCI image from a registry" },
        { "list-transfers", 1, 1, verb_list_transfers, "list-transfers", "Show running imports, exports and pulls" },
        { "cancel-transfer", 2, ANY, verb_cancel_transfer, "cancel-transfer ID...", "Stop transfers; nothing they made is left" },
};

static bool arg_help;

static void help(void) {
        printf("berthctl [OPTIONS...] COMMAND ...\n\n"
               "Manage berth machines (and any machine registered with org.freedesktop.machine1).\n\n"
               "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                printf("  %-42s %s\n", verbs[i].usage, verbs[i].help);
        printf("\nOptions:\n%s\nSee the berthctl(1) man page for details.\n", ctl_options_help);
}

static void verb_help(const Verb *v) {
        printf("berthctl [OPTIONS...] %s\n\n%s.\n\nOptions:\n%s", v->usage, v->help, ctl_options_help);
}

static const Verb *find_verb(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, name))
                        return &verbs[i];
        return NULL;
}

static int run_verb(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const Verb *v = find_verb(argv[0]);
        int r;

        if (!v)
                return log_error_errno(-EINVAL, "Unknown command verb '%s'. See 'berthctl --help'.", argv[0]);
        if (arg_help) {
                verb_help(v);
                return 0;
        }
        if (argc < v->min_args)
                return log_error_errno(-EINVAL, "Too few arguments for '%s'. Usage: berthctl %s", v->name, v->usage);
        if (v->max_args != ANY && argc > v->max_args)
                return log_error_errno(-EINVAL, "Too many arguments for '%s'. Usage: berthctl %s", v->name, v->usage);
        if (v->fn == verb_top) /* reads cgroupfs only: works without a bus */
                return v->fn(NULL, &arg, argc, argv);
        r = ctl_bus_open(&bus);
        if (r < 0)
                return r;
        return v->fn(bus, &arg, argc, argv);
}

int main(int argc, char *argv[]) {
        _cleanup_strv_free_ char **pos = NULL;
        int r;

        /* the character set only: UTF-8 glyphs and libsmartcols' widths where the locale has them;
         * numbers stay in the C locale's format (JSON, sizes) */
        (void) setlocale(LC_CTYPE, "");
        log_parse_environment();
        r = ctl_parse_argv(argc, argv, false, &arg, &arg_help, &pos);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        if (strv_length(pos) == 0) {
                if (arg_help) {
                        help();
                        return EXIT_SUCCESS;
                }
                /* like machinectl: no verb means list */
                if (strv_extend(&pos, "list") < 0)
                        return log_oom(), EXIT_FAILURE;
        }
        r = run_verb((int) strv_length(pos), pos);
        ctl_pager_close();
        strv_free(arg.properties);
        strv_free(arg.setenv);
        if (r < 0)
                return EXIT_FAILURE;
        return r > 255 ? 255 : r;
}

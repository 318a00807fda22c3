/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berthctl: the command line, the verb table and the exit codes. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc-util.h"
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

static const char options_help[] =
        "  -h --help               Show this help (berthctl VERB --help: the verb's)\n"
        "     --version            Show the version\n"
        "     --no-pager           Do not pipe output into a pager\n"
        "     --no-legend          Do not show the headers and footers\n"
        "     --json=MODE          Output listings, show and status as JSON (pretty, short,\n"
        "                          off)\n"
        "  -a --all                Show all machines and images, including hidden ones\n"
        "  -l --full               Do not shorten output\n"
        "  -p --property=NAME      Show only properties by this name\n"
        "  -P NAME                 Like -p NAME --value\n"
        "     --value              Show only property values, not their names\n"
        "  -q --quiet              Suppress informational messages\n"
        "  -s --signal=SIGNAL      Which signal 'kill' sends (default SIGTERM)\n"
        "     --kill-whom=WHOM     Whom 'kill' signals: leader or all (default all)\n"
        "     --timeout=SEC        poweroff/terminate: wait this long, then kill the machine\n"
        "     --uid=USER           shell: run as this user\n"
        "  -E --setenv=VAR=VALUE   shell: set an environment variable\n"
        "     --read-only          bind: mount read-only; clone, import-*, pull-*: make the image read-only\n"
        "     --mkdir              bind: create the destination directory\n"
        "     --runtime            set-property: change the running machine only, not its next start\n"
        "     --columns=LIST       list: add memory, memory-peak, memory-max, tasks, tasks-max,\n"
        "                          cpu, io-read, io-write columns\n"
        "     --iterations=N       top: refresh N times, then exit (default: until interrupted)\n"
        "     --delay=SEC          top: time between refreshes (default: 1s)\n"
        "     --force              copy-to/copy-from: replace existing files; import-*, pull-*: an existing image\n"
        "     --format=FORMAT      export-*: uncompressed, gzip, xz, zstd or bzip2 (default: by suffix)\n"
        "     --verify=MODE        pull-*: no, checksum (SHA256SUMS) or signature (and SHA256SUMS.gpg;\n"
        "                          the default)\n"
        "     --tls-verify=no      pull-oci: accept any certificate, and plain HTTP\n"
        "     --layers=stacked     pull-oci: keep the image as a stack of shared layers (default: flat)\n"
        "  -n --lines=N            status/logs: how many console lines to show\n"
        "  -f --follow             logs: keep printing new lines\n";

static void help(void) {
        printf("berthctl [OPTIONS...] COMMAND ...\n\n"
               "Manage berth machines (and any machine registered with org.freedesktop.machine1).\n\n"
               "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                printf("  %-42s %s\n", verbs[i].usage, verbs[i].help);
        printf("\nOptions:\n%s\nSee the berthctl(1) man page for details.\n", options_help);
}

static void verb_help(const Verb *v) {
        printf("berthctl [OPTIONS...] %s\n\n%s.\n\nOptions:\n%s", v->usage, v->help, options_help);
}

static const Verb *find_verb(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, name))
                        return &verbs[i];
        return NULL;
}

enum {
        ARG_VERSION = 0x100,
        ARG_NO_PAGER,
        ARG_NO_LEGEND,
        ARG_NO_ASK_PASSWORD,
        ARG_JSON,
        ARG_VALUE,
        ARG_KILL_WHOM,
        ARG_TIMEOUT,
        ARG_UID,
        ARG_READ_ONLY,
        ARG_MKDIR,
        ARG_FORCE,
        ARG_FORMAT,
        ARG_VERIFY,
        ARG_RUNTIME,
        ARG_TLS_VERIFY,
        ARG_LAYERS,
        ARG_ITERATIONS,
        ARG_DELAY,
        ARG_COLUMNS,
};

static const struct option options[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, ARG_VERSION },
        { "no-pager", no_argument, NULL, ARG_NO_PAGER },
        { "no-legend", no_argument, NULL, ARG_NO_LEGEND },
        { "no-ask-password", no_argument, NULL, ARG_NO_ASK_PASSWORD },
        { "json", optional_argument, NULL, ARG_JSON },
        { "all", no_argument, NULL, 'a' },
        { "full", no_argument, NULL, 'l' },
        { "property", required_argument, NULL, 'p' },
        { "value", no_argument, NULL, ARG_VALUE },
        { "quiet", no_argument, NULL, 'q' },
        { "signal", required_argument, NULL, 's' },
        { "kill-whom", required_argument, NULL, ARG_KILL_WHOM },
        { "timeout", required_argument, NULL, ARG_TIMEOUT },
        { "uid", required_argument, NULL, ARG_UID },
        { "setenv", required_argument, NULL, 'E' },
        { "read-only", no_argument, NULL, ARG_READ_ONLY },
        { "mkdir", no_argument, NULL, ARG_MKDIR },
        { "force", no_argument, NULL, ARG_FORCE },
        { "format", required_argument, NULL, ARG_FORMAT },
        { "verify", required_argument, NULL, ARG_VERIFY },
        { "runtime", no_argument, NULL, ARG_RUNTIME },
        { "tls-verify", required_argument, NULL, ARG_TLS_VERIFY },
        { "layers", required_argument, NULL, ARG_LAYERS },
        { "iterations", required_argument, NULL, ARG_ITERATIONS },
        { "delay", required_argument, NULL, ARG_DELAY },
        { "columns", required_argument, NULL, ARG_COLUMNS },
        { "lines", required_argument, NULL, 'n' },
        { "follow", no_argument, NULL, 'f' },
        {}
};

static bool arg_help;

static int parse_option(int c) {
        unsigned u;

        switch (c) {
        case 'h':
                arg_help = true;
                return 1;
        case ARG_VERSION:
                puts("berthctl " PROJECT_VERSION);
                return 0;
        case ARG_NO_PAGER: arg.pager = false; return 1;
        case ARG_NO_LEGEND: arg.legend = false; return 1;
        case ARG_NO_ASK_PASSWORD: return 1;
        case 'a': arg.all = true; return 1;
        case 'l': arg.full = true; return 1;
        case 'q': arg.quiet = true; return 1;
        case 'f': arg.follow = true; return 1;
        case ARG_VALUE: arg.value = true; return 1;
        case ARG_READ_ONLY: arg.read_only = true; return 1;
        case ARG_MKDIR: arg.mkdir = true; return 1;
        case ARG_FORCE: arg.force = true; return 1;
        case ARG_RUNTIME: arg.runtime = true; return 1;
        case ARG_ITERATIONS:
                if (safe_atou(optarg, &u) < 0 || u == 0)
                        return log_error_errno(-EINVAL, "Invalid --iterations= value '%s': use a number above 0.", optarg);
                arg.iterations = u;
                return 1;
        case ARG_DELAY:
                if (parse_sec(optarg, &arg.delay_usec) < 0 || arg.delay_usec == 0 || arg.delay_usec == UINT64_MAX)
                        return log_error_errno(-EINVAL, "Invalid --delay= value '%s': use a time like 2s or 500ms.", optarg);
                return 1;
        case ARG_UID: arg.uid = optarg; return 1;
        case ARG_FORMAT:
                if (!strv_find((char *const[]) { "uncompressed", "gzip", "xz", "zstd", "bzip2", NULL }, optarg))
                        return log_error_errno(-EINVAL, "Invalid --format= '%s' (uncompressed, gzip, xz, zstd or bzip2).",
                                               optarg);
                arg.format = optarg;
                return 1;
        case ARG_VERIFY:
                if (!strv_find((char *const[]) { "no", "checksum", "signature", NULL }, optarg))
                        return log_error_errno(-EINVAL, "Invalid --verify= '%s' (no, checksum or signature).", optarg);
                arg.verify = optarg;
                return 1;
        case ARG_TLS_VERIFY:
                if (!streq(optarg, "yes") && !streq(optarg, "no"))
                        return log_error_errno(-EINVAL, "Invalid --tls-verify= '%s' (yes or no).", optarg);
                arg.tls_verify_off = streq(optarg, "no");
                return 1;
        case ARG_LAYERS:
                if (!streq(optarg, "flat") && !streq(optarg, "stacked"))
                        return log_error_errno(-EINVAL, "Invalid --layers= '%s' (flat or stacked).", optarg);
                arg.stacked = streq(optarg, "stacked");
                return 1;
        case 'P':
                arg.value = true;
                __attribute__((fallthrough));
        case 'p':
                return strv_extend(&arg.properties, optarg) < 0 ? log_oom() : 1;
        case 'E':
                if (!env_assignment_is_valid(optarg))
                        return log_error_errno(-EINVAL, "Invalid environment assignment: %s", optarg);
                return strv_extend(&arg.setenv, optarg) < 0 ? log_oom() : 1;
        case ARG_COLUMNS: {
                int r = ctl_accounting_columns_parse(optarg, arg.columns, &arg.n_columns);
                return r < 0 ? r : 1;
        }
        case ARG_JSON:
                if (!optarg || streq(optarg, "pretty"))
                        arg.json = JSON_PRETTY;
                else if (streq(optarg, "short"))
                        arg.json = JSON_SHORT;
                else if (streq(optarg, "off"))
                        arg.json = JSON_OFF;
                else
                        return log_error_errno(-EINVAL, "Invalid --json= mode '%s' (pretty, short or off).", optarg);
                return 1;
        case 's':
                arg.signal = signal_from_string(optarg);
                if (arg.signal <= 0)
                        return log_error_errno(-EINVAL, "Invalid signal '%s'.", optarg);
                return 1;
        case ARG_KILL_WHOM:
                if (!streq(optarg, "leader") && !streq(optarg, "all"))
                        return log_error_errno(-EINVAL, "Invalid --kill-whom= value '%s' (leader or all).", optarg);
                arg.kill_whom = optarg;
                return 1;
        case ARG_TIMEOUT:
                if (parse_sec(optarg, &arg.timeout_usec) < 0)
                        return log_error_errno(-EINVAL, "Invalid --timeout= value '%s'.", optarg);
                return 1;
        case 'n':
                if (safe_atou(optarg, &u) < 0)
                        return log_error_errno(-EINVAL, "Invalid --lines= value '%s'.", optarg);
                arg.lines = u;
                return 1;
        default: /* getopt printed the message */
                return -EINVAL;
        }
}

/* Options may come anywhere, except after the command of 'shell' (those belong to it). */
static int parse_argv(int argc, char *argv[], char ***ret_positional) {
        char **pos = NULL;
        int c, r;

        optind = 1;
        for (;;) {
                c = getopt_long(argc, argv, "+hap:P:qs:n:flE:", options, NULL);
                if (c >= 0) {
                        r = parse_option(c);
                        if (r <= 0)
                                return strv_free(pos), r;
                        continue;
                }
                if (optind >= argc)
                        break;
                bool rest = streq(argv[optind - 1], "--") ||
                            (strv_length(pos) == 2 && streq(pos[0], "shell"));
                if (rest) {
                        for (; optind < argc; optind++)
                                if (strv_extend(&pos, argv[optind]) < 0)
                                        return log_oom();
                        break;
                }
                if (strv_extend(&pos, argv[optind++]) < 0)
                        return log_oom();
        }
        *ret_positional = pos;
        return 1;
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

        log_parse_environment();
        r = parse_argv(argc, argv, &pos);
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

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berthctl's options, shared by the front (berthctl-front.c) and the full tool (berthctl.c), so
 * that both read a command line the same way. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "alloc-util.h"
#include "ctl-accounting.h"
#include "ctl-args.h"
#include "log.h"
#include "parse-util.h"
#include "string-util.h"
#include "strv.h"

const char ctl_options_help[] =
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

static int parse_option(int c, CtlArgs *arg, bool *help) {
        unsigned u;

        switch (c) {
        case 'h':
                *help = true;
                return 1;
        case ARG_VERSION:
                puts("berthctl " PROJECT_VERSION);
                return 0;
        case ARG_NO_PAGER: arg->pager = false; return 1;
        case ARG_NO_LEGEND: arg->legend = false; return 1;
        case ARG_NO_ASK_PASSWORD: return 1;
        case 'a': arg->all = true; return 1;
        case 'l': arg->full = true; return 1;
        case 'q': arg->quiet = true; return 1;
        case 'f': arg->follow = true; return 1;
        case ARG_VALUE: arg->value = true; return 1;
        case ARG_READ_ONLY: arg->read_only = true; return 1;
        case ARG_MKDIR: arg->mkdir = true; return 1;
        case ARG_FORCE: arg->force = true; return 1;
        case ARG_RUNTIME: arg->runtime = true; return 1;
        case ARG_ITERATIONS:
                if (safe_atou(optarg, &u) < 0 || u == 0)
                        return log_error_errno(-EINVAL, "Invalid --iterations= value '%s': use a number above 0.", optarg);
                arg->iterations = u;
                return 1;
        case ARG_DELAY:
                if (parse_sec(optarg, &arg->delay_usec) < 0 || arg->delay_usec == 0 || arg->delay_usec == UINT64_MAX)
                        return log_error_errno(-EINVAL, "Invalid --delay= value '%s': use a time like 2s or 500ms.", optarg);
                return 1;
        case ARG_UID: arg->uid = optarg; return 1;
        case ARG_FORMAT:
                if (!strv_find((char *const[]) { "uncompressed", "gzip", "xz", "zstd", "bzip2", NULL }, optarg))
                        return log_error_errno(-EINVAL, "Invalid --format= '%s' (uncompressed, gzip, xz, zstd or bzip2).",
                                               optarg);
                arg->format = optarg;
                return 1;
        case ARG_VERIFY:
                if (!strv_find((char *const[]) { "no", "checksum", "signature", NULL }, optarg))
                        return log_error_errno(-EINVAL, "Invalid --verify= '%s' (no, checksum or signature).", optarg);
                arg->verify = optarg;
                return 1;
        case ARG_TLS_VERIFY:
                if (!streq(optarg, "yes") && !streq(optarg, "no"))
                        return log_error_errno(-EINVAL, "Invalid --tls-verify= '%s' (yes or no).", optarg);
                arg->tls_verify_off = streq(optarg, "no");
                return 1;
        case ARG_LAYERS:
                if (!streq(optarg, "flat") && !streq(optarg, "stacked"))
                        return log_error_errno(-EINVAL, "Invalid --layers= '%s' (flat or stacked).", optarg);
                arg->stacked = streq(optarg, "stacked");
                return 1;
        case 'P':
                arg->value = true;
                __attribute__((fallthrough));
        case 'p':
                return strv_extend(&arg->properties, optarg) < 0 ? log_oom() : 1;
        case 'E':
                if (!env_assignment_is_valid(optarg))
                        return log_error_errno(-EINVAL, "Invalid environment assignment: %s", optarg);
                return strv_extend(&arg->setenv, optarg) < 0 ? log_oom() : 1;
        case ARG_COLUMNS: {
                int r = ctl_accounting_columns_parse(optarg, arg->columns, &arg->n_columns);
                return r < 0 ? r : 1;
        }
        case ARG_JSON:
                if (!optarg || streq(optarg, "pretty"))
                        arg->json = JSON_PRETTY;
                else if (streq(optarg, "short"))
                        arg->json = JSON_SHORT;
                else if (streq(optarg, "off"))
                        arg->json = JSON_OFF;
                else
                        return log_error_errno(-EINVAL, "Invalid --json= mode '%s' (pretty, short or off).", optarg);
                return 1;
        case 's':
                arg->signal = signal_from_string(optarg);
                if (arg->signal <= 0)
                        return log_error_errno(-EINVAL, "Invalid signal '%s'.", optarg);
                return 1;
        case ARG_KILL_WHOM:
                if (!streq(optarg, "leader") && !streq(optarg, "all"))
                        return log_error_errno(-EINVAL, "Invalid --kill-whom= value '%s' (leader or all).", optarg);
                arg->kill_whom = optarg;
                return 1;
        case ARG_TIMEOUT:
                if (parse_sec(optarg, &arg->timeout_usec) < 0)
                        return log_error_errno(-EINVAL, "Invalid --timeout= value '%s'.", optarg);
                return 1;
        case 'n':
                if (safe_atou(optarg, &u) < 0)
                        return log_error_errno(-EINVAL, "Invalid --lines= value '%s'.", optarg);
                arg->lines = u;
                return 1;
        default: /* getopt printed the message */
                return -EINVAL;
        }
}

static int parse_argv(int argc, char *argv[], CtlArgs *arg, bool *ret_help, char ***ret_positional) {
        char **pos = NULL;
        int c, r;

        optind = 1;
        for (;;) {
                c = getopt_long(argc, argv, "+hap:P:qs:n:flE:", options, NULL);
                if (c >= 0) {
                        r = parse_option(c, arg, ret_help);
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


int ctl_parse_argv(int argc, char *argv[], bool quiet, CtlArgs *arg, bool *ret_help, char ***ret_positional) {
        int level = log_get_max_level(), r;

        opterr = !quiet;
        if (quiet)
                log_set_max_level(-1);
        r = parse_argv(argc, argv, arg, ret_help, ret_positional);
        log_set_max_level(level);
        opterr = 1;
        return r;
}

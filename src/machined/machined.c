/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berthd: org.freedesktop.machine1 on the system bus, for hosts without systemd-machined. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>

#include "alloc-util.h"
#include "log.h"
#include "machine-start.h"
#include "manager.h"
#include "parse-util.h"

static const char *arg_state_dir = NULL;
static const char *arg_log_dir = NULL;
static const char *arg_autostart_dir = NULL;
static uint64_t arg_terminate_timeout = 10 * 1000000ULL;

static void help(void) {
        printf("%s [OPTIONS...]\n\n"
               "Serve org.freedesktop.machine1 on the system bus.\n\n"
               "  -h --help                  Show this help\n"
               "     --version               Show the version\n"
               "     --terminate-timeout=SEC How long TerminateMachine waits before SIGKILL (default 10s)\n"
               "     --state-dir=PATH        Where machine state files live (default /run/systemd/machines)\n"
               "     --log-dir=PATH          Console logs of the machines berthd starts (default " MACHINE_LOG_DIR ")\n"
               "     --autostart-dir=PATH    Machines enabled to start with berthd (default " MACHINE_AUTOSTART_DIR ")\n",
               program_invocation_short_name);
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_TERMINATE_TIMEOUT, ARG_STATE_DIR, ARG_LOG_DIR, ARG_AUTOSTART_DIR };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "terminate-timeout", required_argument, NULL, ARG_TERMINATE_TIMEOUT },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "log-dir", required_argument, NULL, ARG_LOG_DIR },
                { "autostart-dir", required_argument, NULL, ARG_AUTOSTART_DIR },
                {}
        };
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        puts("berthd " PROJECT_VERSION);
                        return 0;
                case ARG_TERMINATE_TIMEOUT:
                        r = parse_sec(optarg, &arg_terminate_timeout);
                        if (r < 0)
                                return log_error_errno(r, "Invalid --terminate-timeout= value '%s'.", optarg);
                        break;
                case ARG_STATE_DIR:
                        arg_state_dir = optarg;
                        break;
                case ARG_LOG_DIR:
                        arg_log_dir = optarg;
                        break;
                case ARG_AUTOSTART_DIR:
                        arg_autostart_dir = optarg;
                        break;
                default:
                        return -EINVAL;
                }
        if (optind < argc)
                return log_error_errno(-EINVAL, "%s takes no arguments.", program_invocation_short_name);
        return 1;
}

static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        log_debug("Received signal %u, exiting.", si->ssi_signo);
        return sd_event_exit(m->event, 0);
}

int main(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        sigset_t mask;
        int r;

        log_set_prefix("berthd");
        log_parse_environment();
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        if (geteuid() != 0)
                log_warning("Not running as root: registrations, terminals and cgroups will fail.");

        (void) sigemptyset(&mask);
        (void) sigaddset(&mask, SIGTERM);
        (void) sigaddset(&mask, SIGINT);
        (void) sigaddset(&mask, SIGCHLD); /* sd-event child sources: the launchers and commands we start */
        (void) sigprocmask(SIG_BLOCK, &mask, NULL);
        (void) signal(SIGPIPE, SIG_IGN);

        r = manager_new(arg_state_dir, &m);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the manager: %m"), EXIT_FAILURE;
        m->terminate_timeout_usec = arg_terminate_timeout;
        if ((arg_log_dir && free_and_strdup(&m->log_dir, arg_log_dir) < 0) ||
            (arg_autostart_dir && free_and_strdup(&m->autostart_dir, arg_autostart_dir) < 0))
                return log_oom(), EXIT_FAILURE;
        (void) sd_event_add_signal(m->event, NULL, SIGTERM, on_exit_signal, m);
        (void) sd_event_add_signal(m->event, NULL, SIGINT, on_exit_signal, m);

        r = manager_startup(m, NULL);
        if (r < 0)
                return EXIT_FAILURE;
        manager_autostart(m);
        log_debug("berthd running.");
        (void) sd_notify(false, "READY=1\nSTATUS=Processing requests...");
        r = manager_run(m);
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Shutting down...");
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m"), EXIT_FAILURE;
        return EXIT_SUCCESS;
}

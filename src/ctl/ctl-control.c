/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* start, enable, disable, poweroff, reboot, terminate, kill. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alloc-util.h"
#include "ctl-bus.h"
#include "ctl.h"
#include "hostname-util.h"
#include "log.h"
#include "string-util.h"

static int systemctl_unit(const char *verb, const char *unit) {
        int status;
        pid_t pid;

        pid = fork();
        if (pid < 0)
                return log_error_errno(-errno, "Failed to fork: %m");
        if (pid == 0) {
                execlp("systemctl", "systemctl", "--quiet", verb, unit, (char *) NULL);
                _exit(127);
        }
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return log_error_errno(-EIO, "'systemctl %s %s' failed.", verb, unit);
        return 0;
}

/* With systemd as PID 1, persistent machines are berth-spawn@NAME.service units. */
static int systemctl(const char *verb, const char *name) {
        _cleanup_free_ char *unit = strjoin("berth-spawn@", name, ".service");
        return unit ? systemctl_unit(verb, unit) : log_oom();
}

/* What a verb does to one machine, with the verb's own data. */
typedef int (*NameFn)(sd_bus *bus, const CtlArgs *args, const char *name, const void *userdata);

static int each_name(sd_bus *bus, const CtlArgs *args, int argc, char *argv[], NameFn fn, const void *userdata) {
        int ret = 0;

        for (int k = 1; k < argc; k++) {
                int r = fn(bus, args, argv[k], userdata);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        return ret;
}

static int start_one(sd_bus *bus, const CtlArgs *args, const char *name, const void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_free_ char *what = strjoin("start machine '", name, "'");
        int r;

        if (!machine_name_is_valid(name))
                return ctl_invalid_name(name);
        if (!ctl_is_berthd(bus) && ctl_have_systemd())
                return systemctl("start", name);
        r = sd_bus_message_new_method_call(bus, &m, MACHINE1_BUS_NAME, MACHINE1_PATH, BERTH_MANAGER_IFACE,
                                           "StartMachine");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", name);
        if (r < 0)
                return log_oom();
        r = sd_bus_call(bus, m, 120 * 1000000ULL, &error, &reply);
        if (r < 0)
                return ctl_log_bus_error(&error, r, what ?: "start the machine");
        if (!args->quiet)
                log_info("Machine '%s' started.", name);
        return 0;
}

int verb_start(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]) {
        return each_name(bus, args, argc, argv, start_one, NULL);
}

static int enable_one(sd_bus *bus, const CtlArgs *args, const char *name, const void *userdata) {
        const bool enabling = *(const bool *) userdata;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *what = strjoin(enabling ? "enable" : "disable", " machine '", name, "'");
        int r;

        if (!machine_name_is_valid(name))
                return ctl_invalid_name(name);
        if (!ctl_is_berthd(bus) && ctl_have_systemd()) {
                r = systemctl(enabling ? "enable" : "disable", name);
                if (r >= 0 && enabling)
                        (void) systemctl_unit("enable", "berth-machines.target");
                return r;
        }
        r = ctl_call_berth(bus, enabling ? "EnableMachine" : "DisableMachine", &error, NULL, "s", name);
        if (r < 0)
                return ctl_log_bus_error(&error, r, what ?: "enable the machine");
        return 0;
}

int verb_enable(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]) {
        const bool enabling = streq(argv[0], "enable");
        return each_name(bus, args, argc, argv, enable_one, &enabling);
}

typedef enum InitKind {
        INIT_SYSTEMD,
        INIT_BUSYBOX,
        INIT_SYSVINIT,
        INIT_OTHER,
} InitKind;

/* What runs as the machine's PID 1, from its executable as the host sees it. */
static int guest_init(sd_bus *bus, const char *name, char **ret_comm) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        char link[64], exe[4096];
        uint32_t leader = 0;
        ssize_t n;

        if (ctl_machine_path(bus, name, &path) < 0)
                return -ENOENT;
        if (sd_bus_get_property_trivial(bus, MACHINE1_BUS_NAME, path, MACHINE1_MACHINE_IFACE, "Leader", &error, 'u',
                                        &leader) < 0)
                return INIT_OTHER;
        (void) snprintf(link, sizeof link, "/proc/%u/exe", leader);
        n = readlink(link, exe, sizeof exe - 1);
        if (n <= 0)
                return INIT_OTHER;
        exe[n] = 0;
        const char *base = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
        if (ret_comm)
                *ret_comm = strdup(base);
        if (streq(base, "systemd"))
                return INIT_SYSTEMD;
        if (streq(base, "busybox"))
                return INIT_BUSYBOX;
        if (streq(base, "init"))
                return INIT_SYSVINIT;
        return INIT_OTHER;
}

static int kill_machine(sd_bus *bus, const char *name, const char *whom, int sig, const char *what) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *w = strjoin(what, " machine '", name, "'");
        int r = sd_bus_call_method(bus, MACHINE1_BUS_NAME, MACHINE1_PATH, MACHINE1_MANAGER_IFACE, "KillMachine", &error,
                                   NULL, "ssi", name, whom, (int32_t) sig);
        return r < 0 ? ctl_log_bus_error(&error, r, w ?: what) : 0;
}

static int terminate_machine(sd_bus *bus, const char *name) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *w = strjoin("terminate machine '", name, "'");
        int r = sd_bus_call_method(bus, MACHINE1_BUS_NAME, MACHINE1_PATH, MACHINE1_MANAGER_IFACE, "TerminateMachine",
                                   &error, NULL, "s", name);
        return r < 0 ? ctl_log_bus_error(&error, r, w ?: "terminate the machine") : 0;
}

static bool machine_gone(sd_bus *bus, const char *name) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r = sd_bus_call_method(bus, MACHINE1_BUS_NAME, MACHINE1_PATH, MACHINE1_MANAGER_IFACE, "GetMachine", &error,
                                   NULL, "s", name);
        return r < 0 && sd_bus_error_has_name(&error, "org.freedesktop.machine1.NoSuchMachine");
}

/* --timeout: waits for the machine to go away, then kills all of it. */
static int wait_or_kill(sd_bus *bus, const CtlArgs *args, const char *name) {
        struct timespec step = { 0, 50 * 1000 * 1000 };

        if (args->timeout_usec == 0)
                return 0;
        for (uint64_t waited = 0; waited < args->timeout_usec; waited += 50000) {
                if (machine_gone(bus, name))
                        return 0;
                (void) nanosleep(&step, NULL);
        }
        log_warning("Machine '%s' did not stop in time, killing it.", name);
        return kill_machine(bus, name, "all", SIGKILL, "kill");
}

static int poweroff_one(sd_bus *bus, const CtlArgs *args, const char *name, const void *userdata) {
        _cleanup_free_ char *comm = NULL;
        int r;

        switch (guest_init(bus, name, &comm)) {
        case INIT_SYSTEMD:
                r = kill_machine(bus, name, "leader", SIGRTMIN + 4, "power off");
                break;
        case INIT_BUSYBOX:
                r = kill_machine(bus, name, "leader", SIGUSR2, "power off");
                break;
        case INIT_SYSVINIT:
                /* berthd hands a poweroff of sysvinit to its launcher, which asks for runlevel 0. Not
                 * TerminateMachine: that kills after berthd's --terminate-timeout, whatever --timeout says,
                 * and a slow runlevel 0 (OpenRC's) was cut short before it halted. */
                r = kill_machine(bus, name, "leader", SIGRTMIN + 4, "power off");
                break;
        case INIT_OTHER:
                /* berth-spawn (or the manager) knows how to stop this init cleanly */
                r = terminate_machine(bus, name);
                break;
        default:
                return -ENOENT;
        }
        return r < 0 ? r : wait_or_kill(bus, args, name);
}

static int reboot_one(sd_bus *bus, const CtlArgs *args, const char *name, const void *userdata) {
        _cleanup_free_ char *comm = NULL;

        switch (guest_init(bus, name, &comm)) {
        case INIT_SYSTEMD:
        case INIT_SYSVINIT: /* ctrlaltdel in inittab */
                return kill_machine(bus, name, "leader", SIGINT, "reboot");
        case INIT_BUSYBOX:
                return kill_machine(bus, name, "leader", SIGTERM, "reboot");
        case INIT_OTHER:
                return log_error_errno(-EOPNOTSUPP, "Cannot reboot machine '%s': its PID 1 (%s) is not an init "
                                                    "that reboots; use 'berthctl terminate' and start it again.",
                                       name, strna(comm));
        default:
                return -ENOENT;
        }
}

int verb_poweroff(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]) {
        return each_name(bus, args, argc, argv, streq(argv[0], "reboot") ? reboot_one : poweroff_one, NULL);
}

static int terminate_one(sd_bus *bus, const CtlArgs *args, const char *name, const void *userdata) {
        int r = terminate_machine(bus, name);
        return r < 0 ? r : wait_or_kill(bus, args, name);
}

int verb_terminate(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]) {
        return each_name(bus, args, argc, argv, terminate_one, NULL);
}

static int kill_one(sd_bus *bus, const CtlArgs *args, const char *name, const void *userdata) {
        return kill_machine(bus, name, args->kill_whom ?: "all", args->signal ?: SIGTERM, "send a signal to");
}

int verb_kill(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]) {
        return each_name(bus, args, argc, argv, kill_one, NULL);
}

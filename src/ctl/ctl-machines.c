/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* list, status, show: what machines run. The per-machine calls of list are sent all at once and
 * answered in any order (machinectl makes them one after another). */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "alloc-util.h"
#include "ctl-accounting.h"
#include "ctl-bus.h"
#include "ctl-show.h"
#include "ctl-limits.h"
#include "ctl-list.h"
#include "ctl-output.h"
#include "ctl-status.h"
#include "ctl.h"
#include "log.h"
#include "string-util.h"
#include "strv.h"

int ctl_read_addresses(sd_bus_message *m, char ***ret) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "(iay)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'r', "iay")) > 0) {
                char buf[INET6_ADDRSTRLEN];
                const void *p;
                size_t n;
                int32_t family;
                r = sd_bus_message_read(m, "i", &family);
                if (r < 0)
                        return r;
                r = sd_bus_message_read_array(m, 'y', &p, &n);
                if (r < 0)
                        return r;
                if ((family == AF_INET && n == 4) || (family == AF_INET6 && n == 16))
                        if (inet_ntop(family, p, buf, sizeof buf) && strv_extend(ret, buf) < 0)
                                return -ENOMEM;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        return r < 0 ? r : sd_bus_message_exit_container(m);
}

int ctl_read_os_release(sd_bus_message *m, const char *key, char **ret) {
        const char *k, *v;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{ss}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "{ss}", &k, &v)) > 0)
                if (streq(k, key) && !*ret) {
                        *ret = strdup(v);
                        if (!*ret)
                                return -ENOMEM;
                }
        return r < 0 ? r : sd_bus_message_exit_container(m);
}

int ctl_read_os_pretty_name(sd_bus_message *m, char **ret) {
        int r = ctl_read_os_release(m, "PRETTY_NAME", ret);
        if (r < 0 || *ret)
                return r;
        r = sd_bus_message_rewind(m, true);
        return r < 0 ? r : ctl_read_os_release(m, "NAME", ret);
}

static int on_os_release(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        MachineRow *row = userdata;

        if (!sd_bus_message_is_method_error(m, NULL)) {
                (void) ctl_read_os_release(m, "ID", &row->os);
                (void) sd_bus_message_rewind(m, true);
                (void) ctl_read_os_release(m, "VERSION_ID", &row->version);
        }
        (*row->pending)--;
        return 0;
}

static int on_addresses(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        MachineRow *row = userdata;

        if (!sd_bus_message_is_method_error(m, NULL))
                (void) ctl_read_addresses(m, &row->addresses);
        (*row->pending)--;
        return 0;
}

static int read_machine_list(sd_bus *bus, ListState *s) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *name, *class, *service, *path;
        int r;

        r = ctl_call(bus, "ListMachines", &reply, NULL);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "(ssso)");
        if (r < 0)
                return log_error_errno(r, "Malformed machine list: %m");
        while ((r = sd_bus_message_read(reply, "(ssso)", &name, &class, &service, &path)) > 0) {
                if (!ctl_list_wants(s, name))
                        continue;
                if (!ctl_list_add(s, name, class, service))
                        return log_oom();
        }
        return r < 0 ? log_error_errno(r, "Malformed machine list: %m") : 0;
}

/* Sends every GetMachineOSRelease and GetMachineAddresses at once, then waits for all. */
static int fetch_details(sd_bus *bus, ListState *s) {
        int r;

        for (size_t i = 0; i < s->n; i++) {
                MachineRow *row = &s->rows[i];
                row->pending = &s->pending;
                r = sd_bus_call_method_async(bus, NULL, MACHINE1_BUS_NAME, MACHINE1_PATH, MACHINE1_MANAGER_IFACE,
                                             "GetMachineOSRelease", on_os_release, row, "s", row->name);
                if (r < 0)
                        return log_error_errno(r, "Failed to ask for the OS of %s: %m", row->name);
                s->pending++;
                r = sd_bus_call_method_async(bus, NULL, MACHINE1_BUS_NAME, MACHINE1_PATH, MACHINE1_MANAGER_IFACE,
                                             "GetMachineAddresses", on_addresses, row, "s", row->name);
                if (r < 0)
                        return log_error_errno(r, "Failed to ask for the addresses of %s: %m", row->name);
                s->pending++;
        }
        while (s->pending > 0) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return log_error_errno(r, "Failed to talk to the machine manager: %m");
                if (r == 0 && sd_bus_wait(bus, UINT64_MAX) < 0)
                        return log_error_errno(r, "Failed to wait for the machine manager: %m");
        }
        return 0;
}

/* One row of berthd's ListMachinesWithDetails (sssoa{ss}a(iay)); 0 to skip it (.host without -a). */
static int read_detailed_row(sd_bus_message *reply, ListState *s) {
        const char *name, *class, *service, *path;
        MachineRow *row;
        int r;

        r = sd_bus_message_read(reply, "ssso", &name, &class, &service, &path);
        if (r < 0)
                return r;
        if (!ctl_list_wants(s, name))
                return sd_bus_message_skip(reply, "a{ss}a(iay)");
        row = ctl_list_add(s, name, class, service);
        if (!row)
                return -ENOMEM;
        r = ctl_read_os_release(reply, "ID", &row->os);
        if (r >= 0)
                r = sd_bus_message_rewind(reply, false);
        if (r >= 0)
                r = sd_bus_message_skip(reply, "ssso");
        if (r >= 0)
                r = ctl_read_os_release(reply, "VERSION_ID", &row->version);
        if (r >= 0)
                r = ctl_read_addresses(reply, &row->addresses);
        return r;
}

/* Everything in one call to berthd; 0 if the manager has no such call (stock machined) or the bus
 * does not let us make it, which leaves the per-machine calls to the caller. */
static int read_detailed_list(sd_bus *bus, ListState *s) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = ctl_call_berth(bus, "ListMachinesWithDetails", &error, &reply, NULL);
        /* AccessDenied: a bus policy from before this call, which lets only root make it */
        if (r < 0 && (sd_bus_error_has_names(&error, SD_BUS_ERROR_UNKNOWN_METHOD, SD_BUS_ERROR_UNKNOWN_INTERFACE,
                                             SD_BUS_ERROR_UNKNOWN_OBJECT, SD_BUS_ERROR_ACCESS_DENIED)))
                return 0;
        if (r < 0)
                return ctl_log_bus_error(&error, r, "list machines");
        r = sd_bus_message_enter_container(reply, 'a', "(sssoa{ss}a(iay))");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'r', "sssoa{ss}a(iay)")) > 0) {
                r = read_detailed_row(reply, s);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(r, "Malformed machine list: %m");
        return 1;
}

/* --columns=: what each machine uses, from one scan of the host's cgroups. */
static int read_accounting(ListState *s) {
        _cleanup_(cgroup_controllers_done) CgroupControllerMap map = {};
        MachineCgroup *l = NULL;
        size_t n = 0;
        int r;

        for (size_t i = 0; i < s->n; i++)
                s->rows[i].acc = CGROUP_ACCOUNTING_NULL;
        if (s->args->n_columns == 0)
                return 0;
        r = cgroup_controllers_detect(&map);
        if (r >= 0)
                r = ctl_machine_cgroups(&map, &l, &n);
        if (r < 0)
                return log_error_errno(r, "Failed to read the machines' cgroups: %m");
        for (size_t i = 0; i < s->n; i++)
                for (size_t k = 0; k < n; k++)
                        if (streq(l[k].name, s->rows[i].name))
                                (void) cgroup_accounting_read(&map, l[k].rel, &s->rows[i].acc);
        machine_cgroups_free(l, n);
        return 0;
}

int verb_list(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]) {
        ListState s = { .args = args };
        int r;

        r = read_detailed_list(bus, &s);
        if (r == 0)
                r = read_machine_list(bus, &s);
        if (r == 0)
                r = fetch_details(bus, &s);
        if (r >= 0)
                r = read_accounting(&s);
        if (r >= 0)
                r = ctl_list_show(&s);
        ctl_list_done(&s);
        return r;
}

typedef struct MachineInfo {
        char *name, *class, *service, *unit, *root, *state;
        uint32_t leader;
        uint64_t timestamp;
        sd_id128_t id;
} MachineInfo;

static void machine_info_done(MachineInfo *i) {
        free(i->name), free(i->class), free(i->service), free(i->unit), free(i->root), free(i->state);
}

static int read_machine_info(sd_bus *bus, const char *path, MachineInfo *i) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        char **strs[] = { &i->name, &i->class, &i->service, &i->unit, &i->root, &i->state };
        const char *names[] = { "Name", "Class", "Service", "Unit", "RootDirectory", "State" };
        int r;

        for (size_t k = 0; k < ELEMENTSOF(names); k++) {
                r = sd_bus_get_property_string(bus, MACHINE1_BUS_NAME, path, MACHINE1_MACHINE_IFACE, names[k], &error,
                                               strs[k]);
                if (r < 0)
                        return ctl_log_bus_error(&error, r, "read the machine's properties");
        }
        r = sd_bus_get_property_trivial(bus, MACHINE1_BUS_NAME, path, MACHINE1_MACHINE_IFACE, "Leader", &error, 'u',
                                        &i->leader);
        if (r >= 0)
                r = sd_bus_get_property_trivial(bus, MACHINE1_BUS_NAME, path, MACHINE1_MACHINE_IFACE, "Timestamp",
                                                &error, 't', &i->timestamp);
        if (r < 0)
                return ctl_log_bus_error(&error, r, "read the machine's properties");
        return 0;
}

static char *leader_comm(pid_t pid) {
        char p[64], buf[64] = "";
        FILE *f;

        (void) snprintf(p, sizeof p, "/proc/%d/comm", (int) pid);
        f = fopen(p, "re");
        if (f) {
                if (fgets(buf, sizeof buf, f))
                        buf[strcspn(buf, "\n")] = 0;
                fclose(f);
        }
        return strdup(buf);
}

/* "Iface: ve-web" as machinectl prints it: the host-side links the launcher registered. */
static void print_interfaces(sd_bus *bus, const char *path) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const int32_t *ifindices;
        size_t size;

        if (sd_bus_get_property(bus, MACHINE1_BUS_NAME, path, MACHINE1_MACHINE_IFACE, "NetworkInterfaces", NULL,
                                &reply, "ai") < 0 ||
            sd_bus_message_read_array(reply, 'i', (const void **) &ifindices, &size) < 0)
                return;
        for (size_t k = 0; k < size / sizeof(int32_t); k++) {
                char ifname[IF_NAMESIZE] = "";
                if (!if_indextoname((unsigned) ifindices[k], ifname))
                        (void) snprintf(ifname, sizeof ifname, "%" PRIi32, ifindices[k]);
                printf("%s %s\n", k == 0 ? "           Iface:" : "                 ", ifname);
        }
}

static void print_os_and_addresses(sd_bus *bus, const char *name) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *os = NULL, *addr = NULL;
        _cleanup_free_ char *pretty = NULL;
        _cleanup_strv_free_ char **addrs = NULL;

        if (sd_bus_call_method(bus, MACHINE1_BUS_NAME, MACHINE1_PATH, MACHINE1_MANAGER_IFACE, "GetMachineAddresses",
                               NULL, &addr, "s", name) >= 0 &&
            ctl_read_addresses(addr, &addrs) >= 0 && addrs) {
                STRV_FOREACH(a, addrs)
                        printf("%s %s\n", a == addrs ? "         Address:" : "                 ", *a);
        }
        if (sd_bus_call_method(bus, MACHINE1_BUS_NAME, MACHINE1_PATH, MACHINE1_MANAGER_IFACE, "GetMachineOSRelease",
                               NULL, &os, "s", name) >= 0 &&
            ctl_read_os_pretty_name(os, &pretty) >= 0 && pretty)
                printf("              OS: %s\n", pretty);
}

static int status_one(sd_bus *bus, const CtlArgs *args, const char *name) {
        _cleanup_(machine_info_done) MachineInfo i = {};
        _cleanup_free_ char *path = NULL, *comm = NULL, *log = NULL;
        char since[64], ago[64];
        int r;

        r = ctl_machine_path(bus, name, &path);
        if (r < 0)
                return r;
        r = read_machine_info(bus, path, &i);
        if (r < 0)
                return r;
        comm = leader_comm((pid_t) i.leader);
        printf("%s\n", i.name);
        printf("           State: %s\n", i.state);
        if (i.timestamp > 0)
                printf("           Since: %s; %s\n", ctl_format_timestamp(i.timestamp, since),
                       ctl_format_timespan_ago(i.timestamp, ago));
        printf("          Leader: %u (%s)\n", i.leader, comm && *comm ? comm : "n/a");
        printf("         Service: %s; class %s\n", isempty(i.service) ? "n/a" : i.service, i.class);
        if (!isempty(i.root))
                printf("            Root: %s\n", i.root);
        print_interfaces(bus, path);
        print_os_and_addresses(bus, i.name);
        {
                CgroupAccounting acc;
                if (ctl_machine_accounting(i.name, &acc) >= 0)
                        ctl_print_accounting(&acc);
        }
        (void) ctl_show_cgroup_tree((pid_t) i.leader, i.unit, "                  ");
        log = ctl_machine_log_path(bus, i.name);
        if (!isempty(log) && access(log, R_OK) >= 0) {
                printf("\n         Console: %s\n", log);
                ctl_show_file_tail(log, args->lines ?: 10, "                  ");
        }
        return 0;
}

/* One machine's properties, then what it uses (systemd's names). */
static int show_machine(sd_bus *bus, const CtlArgs *args, const char *name, bool first) {
        _cleanup_(ctl_property_sink_done) PropertySink s = { .args = args };
        _cleanup_free_ char *path = NULL;
        CgroupAccounting acc;
        int r;

        r = ctl_machine_path(bus, name, &path);
        if (r < 0)
                return r;
        if (!first && !args->value && args->json == JSON_OFF)
                putchar('\n');
        r = ctl_collect_properties(bus, &s, path, MACHINE1_MACHINE_IFACE);
        if (r < 0)
                return r;
        if (ctl_machine_accounting(name, &acc) < 0)
                acc = CGROUP_ACCOUNTING_NULL;
        ctl_show_accounting(&s, &acc);
        return ctl_property_sink_flush(&s, "machine");
}

int verb_status(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]) {
        int ret = 0;

        ctl_pager_open(args);
        for (int k = 1; k < argc; k++) {
                int r;
                if (args->json != JSON_OFF) { /* as machine-readable as show's */
                        r = show_machine(bus, args, argv[k], k == 1);
                        if (r < 0 && ret == 0)
                                ret = r;
                        continue;
                }
                if (k > 1)
                        putchar('\n');
                r = status_one(bus, args, argv[k]);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        return ret;
}

int verb_show(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]) {
        int ret = 0;

        ctl_pager_open(args);
        if (argc <= 1)
                return ctl_print_properties(bus, args, MACHINE1_PATH, MACHINE1_MANAGER_IFACE, "manager");
        for (int k = 1; k < argc; k++) {
                int r = show_machine(bus, args, argv[k], k == 1);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        return ret;
}

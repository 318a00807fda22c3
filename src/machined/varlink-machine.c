/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* io.systemd.Machine.List with systemd's field names (varlink-io.systemd.Machine.c): name, id,
 * service, class, leader, rootDirectory, unit, timestamp {realtime, monotonic}, and with
 * acquireMetadata "yes" or "graceful" (systemd ≥ 258) OSRelease ("KEY=VALUE" strings) and
 * addresses ({ifindex, family, address: bytes}). berthd answers "yes" as "graceful": what it
 * cannot read is left out rather than failing the whole list. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "alloc-util.h"
#include "machine-peek.h"
#include "machine-watch.h"
#include "string-util.h"
#include "strv.h"
#include "varlink-machine.h"

#define ERROR_NO_SUCH_MACHINE "io.systemd.Machine.NoSuchMachine"
#define ERROR_INVALID_PARAMETER "org.varlink.service.InvalidParameter"
#define ERROR_METHOD_NOT_FOUND "org.varlink.service.MethodNotFound"
#define ERROR_EXPECTED_MORE "org.varlink.service.ExpectedMore"

typedef struct ListArgs {
        const char *name;
        pid_t pid;
        bool by_pid;
        bool metadata;
} ListArgs;

static void add_string(json_object *o, const char *key, const char *value) {
        if (!isempty(value))
                json_object_object_add(o, key, json_object_new_string(value));
}

static void add_os_release(json_object *o, Machine *machine) {
        _cleanup_strv_free_ char **l = NULL;
        json_object *a;

        if (machine_get_os_release(machine, &l) < 0 || !l)
                return;
        a = json_object_new_array();
        for (char **k = l; k[0] && k[1]; k += 2) {
                _cleanup_free_ char *kv = strjoin(k[0], "=", k[1]);
                if (kv)
                        json_object_array_add(a, json_object_new_string(kv));
        }
        json_object_object_add(o, "OSRelease", a);
}

static void add_addresses(json_object *o, Machine *machine) {
        _cleanup_free_ NetlinkAddress *l = NULL;
        json_object *a;
        size_t n = 0;

        if (machine_get_addresses(machine, &l, &n) < 0)
                return;
        a = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_new_object(), *bytes = json_object_new_array();
                for (size_t k = 0; k < (l[i].family == AF_INET ? 4U : 16U); k++)
                        json_object_array_add(bytes, json_object_new_int(l[i].bytes[k]));
                if (l[i].ifindex > 0)
                        json_object_object_add(e, "ifindex", json_object_new_int(l[i].ifindex));
                json_object_object_add(e, "family", json_object_new_int(l[i].family));
                json_object_object_add(e, "address", bytes);
                json_object_array_add(a, e);
        }
        json_object_object_add(o, "addresses", a);
}

static json_object *machine_to_json(Machine *machine, bool metadata) {
        json_object *o = json_object_new_object(), *ts;

        json_object_object_add(o, "name", json_object_new_string(machine->name));
        if (!sd_id128_is_null(machine->id)) {
                char id[SD_ID128_STRING_MAX];
                json_object_object_add(o, "id", json_object_new_string(sd_id128_to_string(machine->id, id)));
        }
        add_string(o, "service", machine->service);
        json_object_object_add(o, "class", json_object_new_string(machine_class_to_string(machine->class)));
        if (machine->leader > 0)
                json_object_object_add(o, "leader", json_object_new_int(machine->leader));
        add_string(o, "rootDirectory", machine->root_directory);
        add_string(o, "unit", machine->unit);
        if (machine->timestamp_realtime > 0) {
                ts = json_object_new_object();
                json_object_object_add(ts, "realtime", json_object_new_uint64(machine->timestamp_realtime));
                json_object_object_add(ts, "monotonic", json_object_new_uint64(machine->timestamp_monotonic));
                json_object_object_add(o, "timestamp", ts);
        }
        if (metadata && machine->class != MACHINE_VM) {
                add_os_release(o, machine);
                add_addresses(o, machine);
        }
        return o;
}

static json_object *parameter_error(const char *key) {
        json_object *p = json_object_new_object();
        json_object_object_add(p, "parameter", json_object_new_string(key));
        return p;
}

/* name (string or null), pid (integer or null), acquireMetadata ("no", "yes", "graceful" or null);
 * anything else is refused, as systemd's dispatcher refuses it. */
static int parse_list_args(json_object *params, pid_t peer_pid, ListArgs *a, json_object **ret_error_params) {
        json_object_object_foreach(params, key, v) {
                bool null = json_object_is_type(v, json_type_null);
                if (streq(key, "name") && (null || json_object_is_type(v, json_type_string)))
                        a->name = null ? NULL : json_object_get_string(v);
                else if (streq(key, "pid") && (null || json_object_is_type(v, json_type_int))) {
                        int64_t pid = null ? -1 : json_object_get_int64(v);
                        if (pid > INT32_MAX || pid < -1)
                                return *ret_error_params = parameter_error(key), -EINVAL;
                        a->by_pid = pid >= 0;
                        a->pid = pid == 0 ? peer_pid : (pid_t) pid; /* 0: the caller's own machine */
                } else if (streq(key, "acquireMetadata") && null)
                        a->metadata = false;
                else if (streq(key, "acquireMetadata") && json_object_is_type(v, json_type_string) &&
                         strv_find((char *const[]) { "no", "yes", "graceful", NULL }, json_object_get_string(v)))
                        a->metadata = !streq(json_object_get_string(v), "no");
                else
                        return *ret_error_params = parameter_error(key), -EINVAL;
        }
        return 0;
}

static int method_list(Manager *m, const VarlinkCall *call, json_object **ret, const char **ret_error) {
        ListArgs a = {};
        Machine *machine = NULL;
        json_object *replies;
        int r;

        r = parse_list_args(call->parameters, call->peer_pid, &a, ret);
        if (r < 0)
                return *ret_error = ERROR_INVALID_PARAMETER, r;
        if (a.name)
                machine = manager_find_machine(m, a.name);
        if (a.by_pid) { /* both given: they must name the same machine */
                Machine *by_pid = NULL;
                if (manager_find_machine_by_pid(m, a.pid, &by_pid) < 0 || (a.name && by_pid != machine))
                        by_pid = NULL;
                machine = by_pid;
        }
        if ((a.name || a.by_pid) && !machine) {
                *ret = NULL;
                return *ret_error = ERROR_NO_SUCH_MACHINE, -ENXIO;
        }
        if (!machine && !call->more) {
                *ret = NULL;
                return *ret_error = ERROR_EXPECTED_MORE, -EINVAL;
        }
        replies = json_object_new_array();
        manager_metadata_begin(m); /* one look at what changed, for all of them */
        if (machine)
                json_object_array_add(replies, machine_to_json(machine, a.metadata));
        else
                for (Machine *i = m->machines; i; i = i->next)
                        json_object_array_add(replies, machine_to_json(i, a.metadata));
        manager_metadata_end(m);
        if (json_object_array_length(replies) == 0) { /* systemd's answer to an empty enumeration */
                json_object_put(replies);
                *ret = NULL;
                return *ret_error = ERROR_NO_SUCH_MACHINE, -ENXIO;
        }
        *ret = replies;
        return 0;
}

static int method_get_info(json_object **ret) {
        json_object *o = json_object_new_object(), *ifaces = json_object_new_array();

        json_object_object_add(o, "vendor", json_object_new_string("berth"));
        json_object_object_add(o, "product", json_object_new_string("berthd"));
        json_object_object_add(o, "version", json_object_new_string(PROJECT_VERSION));
        json_object_object_add(o, "url", json_object_new_string("man:berthd(8)"));
        json_object_array_add(ifaces, json_object_new_string("io.systemd.Machine"));
        json_object_array_add(ifaces, json_object_new_string("org.varlink.service"));
        json_object_object_add(o, "interfaces", ifaces);
        *ret = json_object_new_array();
        json_object_array_add(*ret, o);
        return 0;
}

int varlink_machine_dispatch(Manager *m, const VarlinkCall *call, json_object **ret, const char **ret_error) {
        if (streq(call->method, "io.systemd.Machine.List"))
                return method_list(m, call, ret, ret_error);
        if (streq(call->method, "org.varlink.service.GetInfo"))
                return method_get_info(ret);
        *ret = json_object_new_object();
        json_object_object_add(*ret, "method", json_object_new_string(call->method));
        return *ret_error = ERROR_METHOD_NOT_FOUND, -EOPNOTSUPP;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <signal.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <unistd.h>

#include "alloc-util.h"
#include "bus-names.h"
#include "fd-util.h"
#include "log.h"
#include "machine-bind.h"
#include "machine-copy.h"
#include "machine-dbus.h"
#include "machine-enter.h"
#include "machine-peek.h"
#include "machine-watch.h"
#include "manager.h"
#include "bus-creds.h"
#include "path-util.h"
#include "string-util.h"
#include "strv.h"

int bus_invalid_name(sd_bus_error *error, const char *kind, const char *name) {
        _cleanup_free_ char *e = cescape(name);
        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid %s name '%s'.", kind, strna(e));
}

int bus_verify_root(sd_bus_message *message, sd_bus_error *error) {
        uid_t uid = (uid_t) -1;
        int r;

        r = bus_sender_uid_pid(message, &uid, NULL);
        if (r < 0 || uid != 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED, "Access to %s.%s() not permitted.",
                                         sd_bus_message_get_interface(message),
                                         sd_bus_message_get_member(message));
        return 1;
}

char *machine_bus_path(const Machine *machine) {
        char *p = NULL;

        if (sd_bus_path_encode(MACHINE1_MACHINE_PREFIX, machine->name, &p) < 0)
                return NULL;
        return p;
}

static int sender_pid(sd_bus_message *message, pid_t *ret) {
        return bus_sender_uid_pid(message, NULL, ret);
}

int machine_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                        sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_free_ char *name = NULL;
        Machine *machine = NULL;
        int r;

        r = sd_bus_path_decode(path, MACHINE1_MACHINE_PREFIX, &name);
        if (r <= 0)
                return 0;
        if (streq(name, "self")) {
                sd_bus_message *message = sd_bus_get_current_message(bus);
                pid_t pid;
                if (!message || sender_pid(message, &pid) < 0)
                        return 0;
                if (manager_find_machine_by_pid(m, pid, &machine) <= 0)
                        return 0;
        } else
                machine = manager_find_machine(m, name);
        if (!machine)
                return 0;
        *found = machine;
        return 1;
}

int machine_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_strv_free_ char **l = NULL;
        int r;

        for (Machine *i = m->machines; i; i = i->next) {
                r = strv_consume(&l, machine_bus_path(i));
                if (r < 0)
                        return r;
        }
        *nodes = TAKE_PTR(l);
        return 1;
}

static int property_get_id(sd_bus *bus, const char *path, const char *interface, const char *property,
                           sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Machine *machine = userdata;

        return sd_bus_message_append_array(reply, 'y', &machine->id, sd_id128_is_null(machine->id) ? 0 : 16);
}

static int property_get_class(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Machine *machine = userdata;

        return sd_bus_message_append(reply, "s", machine_class_to_string(machine->class));
}

static int property_get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Machine *machine = userdata;

        return sd_bus_message_append(reply, "s", machine_state_to_string(machine->state));
}

static int property_get_unit(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        /* Without a systemd1 to ask about the unit, machinectl status does best with "" (the unit
         * stays in the state file for libsystemd). */
        return sd_bus_message_append(reply, "s", "");
}

static int property_get_netifs(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Machine *machine = userdata;

        return sd_bus_message_append_array(reply, 'i', machine->netifs, machine->n_netifs * sizeof(int));
}

static int reply_errno(sd_bus_error *error, int r, const Machine *machine, const char *what) {
        return sd_bus_error_set_errnof(error, r, "Failed to %s machine '%s': %m", what, machine->name);
}

int bus_machine_method_terminate(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Machine *machine = userdata;
        int r;

        r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        if (machine->class == MACHINE_HOST)
                return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED, "The host cannot be terminated.");
        r = machine_terminate(machine);
        if (r < 0)
                return reply_errno(error, r, machine, "terminate");
        return sd_bus_reply_method_return(message, NULL);
}

int bus_machine_method_kill(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Machine *machine = userdata;
        const char *swho;
        int32_t signo;
        KillWhom whom;
        int r;

        r = sd_bus_message_read(message, "si", &swho, &signo);
        if (r < 0)
                return r;
        whom = isempty(swho) ? KILL_ALL : kill_whom_from_string(swho);
        if (whom < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid kill parameter '%s'", swho);
        if (signo <= 0 || signo > SIGRTMAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid signal %" PRIi32, signo);
        r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        if (machine->class == MACHINE_HOST)
                return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED, "The host cannot be killed.");
        r = machine_kill(machine, whom, signo);
        if (r < 0)
                return reply_errno(error, r, machine, "send a signal to");
        return sd_bus_reply_method_return(message, NULL);
}

int bus_machine_method_get_uid_shift(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Machine *machine = userdata;
        uid_t shift = 0;
        int r;

        r = machine_get_uid_shift(machine, &shift);
        if (r == -EOPNOTSUPP)
                return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                        "Machine uses a complex UID/GID mapping, cannot determine shift");
        if (r < 0)
                return reply_errno(error, r, machine, "get the UID shift of");
        return sd_bus_reply_method_return(message, "u", (uint32_t) shift);
}

static int reply_pty(sd_bus_message *message, Machine *machine, PtyMode mode, const ShellRequest *req,
                     sd_bus_error *error); /* below, with the other replies sent once a helper is done */

int bus_machine_method_open_pty(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        int r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        return reply_pty(message, userdata, PTY_PLAIN, NULL, error);
}

int bus_machine_method_open_login(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        int r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        return reply_pty(message, userdata, PTY_LOGIN, NULL, error);
}

static bool user_name_ok(const char *u) {
        if (isempty(u))
                return true;
        if (strlen(u) > 256 || !utf8_is_valid(u) || string_has_cc(u))
                return false;
        return !strpbrk(u, ":/,\n \t") && u[0] != '-';
}

int bus_shell_request_validate(const ShellRequest *req, sd_bus_error *error) {
        if (!user_name_ok(req->user))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid user name");
        if (!isempty(req->path) && !(path_is_absolute(req->path) && path_is_normalized(req->path)))
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Specified path is not absolute and normalized");
        if (isempty(req->path) && strv_length(req->args) > 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Arguments given without a path");
        STRV_FOREACH(e, req->environment)
                if (!env_assignment_is_valid(*e))
                        return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid environment assignment");
        return 0;
}

int bus_machine_method_open_shell(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_strv_free_ char **args = NULL, **env = NULL;
        ShellRequest req = {};
        int r;

        r = sd_bus_message_read(message, "ss", &req.user, &req.path);
        if (r < 0)
                return r;
        r = sd_bus_message_read_strv(message, &args);
        if (r < 0)
                return r;
        r = sd_bus_message_read_strv(message, &env);
        if (r < 0)
                return r;
        req.args = args;
        req.environment = env;
        r = bus_shell_request_validate(&req, error);
        if (r < 0)
                return r;
        r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        return reply_pty(message, userdata, PTY_SHELL, &req, error);
}

int bus_machine_method_open_root_directory(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Machine *machine = userdata;
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        if (machine->class == MACHINE_VM)
                return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED, "Not supported for virtual machines.");
        r = machine_open_root_directory(machine, &fd);
        if (r < 0)
                return reply_errno(error, r, machine, "open the root directory of");
        return sd_bus_reply_method_return(message, "h", fd);
}

/* A reply sent when an operation's helper exits (BindMount, Copy*). */
typedef struct PendingReply {
        sd_bus_message *message;
        char *what;
        char *enoent_message; /* an -ENOENT answer: NotSupported with this text (OpenLogin: no login) */
} PendingReply;

static PendingReply *pending_reply_free(PendingReply *p) {
        if (!p)
                return NULL;
        sd_bus_message_unref(p->message);
        free(p->what);
        free(p->enoent_message);
        return mfree(p);
}

/* GetAddresses and GetOSRelease: answered at once from what berthd reads itself (machine-peek.h). */
static int append_addresses(sd_bus_message *reply, const NetlinkAddress *a, size_t n) {
        int r = sd_bus_message_open_container(reply, 'a', "(iay)");

        for (size_t i = 0; r >= 0 && i < n; i++) {
                r = sd_bus_message_open_container(reply, 'r', "iay");
                if (r >= 0)
                        r = sd_bus_message_append(reply, "i", (int32_t) a[i].family);
                if (r >= 0)
                        r = sd_bus_message_append_array(reply, 'y', a[i].bytes, a[i].family == AF_INET ? 4 : 16);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

int bus_machine_method_get_addresses(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ NetlinkAddress *a = NULL;
        Machine *machine = userdata;
        size_t n = 0;
        int r;

        if (machine->class == MACHINE_VM)
                return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED, "Not supported for virtual machines.");
        r = machine_get_addresses(machine, &a, &n);
        if (r == -ENONET)
                return sd_bus_error_set(error, BUS_ERROR_NO_PRIVATE_NETWORKING,
                                        "Machine does not use private networking");
        if (r < 0)
                return reply_errno(error, r, machine, "get the addresses of");
        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = append_addresses(reply, a, n);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int append_os_release(sd_bus_message *reply, char **l) {
        int r = sd_bus_message_open_container(reply, 'a', "{ss}");

        for (char **k = l; r >= 0 && k && k[0] && k[1]; k += 2)
                r = sd_bus_message_append(reply, "{ss}", k[0], k[1]);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

int bus_machine_method_get_os_release(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **l = NULL;
        Machine *machine = userdata;
        int r;

        if (machine->class == MACHINE_VM)
                return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED, "Not supported for virtual machines.");
        r = machine_get_os_release(machine, &l);
        if (r == -ENOENT)
                return sd_bus_error_set(error, SD_BUS_ERROR_FAILED, "Machine does not contain OS release information");
        if (r == -EREMOTE)
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "The OS release of machine '%s' lies beyond a mount point, and a FUSE file "
                                         "system is mounted in it: not read, so that it cannot stall berthd.",
                                         machine->name);
        if (r < 0)
                return reply_errno(error, r, machine, "read the OS release of");
        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = append_os_release(reply, l);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* One machine of ListMachinesWithDetails: what GetMachineOSRelease and GetMachineAddresses would
 * answer, empty where they would fail. */
static int append_machine_details(sd_bus_message *reply, Machine *machine) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ NetlinkAddress *a = NULL;
        _cleanup_free_ char *path = machine_bus_path(machine);
        size_t n = 0;
        int r;

        if (!path)
                return -ENOMEM;
        if (machine->class != MACHINE_VM) {
                (void) machine_get_os_release(machine, &l);
                if (machine_get_addresses(machine, &a, &n) < 0)
                        n = 0;
        }
        r = sd_bus_message_open_container(reply, 'r', "sssoa{ss}a(iay)");
        if (r >= 0)
                r = sd_bus_message_append(reply, "ssso", machine->name, machine_class_to_string(machine->class),
                                          machine->service, path);
        if (r >= 0)
                r = append_os_release(reply, l);
        if (r >= 0)
                r = append_addresses(reply, a, n);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

int bus_method_list_machines_with_details(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sssoa{ss}a(iay))");
        manager_metadata_begin(m); /* one look at what changed, for all of them */
        for (Machine *i = m->machines; r >= 0 && i; i = i->next)
                r = append_machine_details(reply, i);
        manager_metadata_end(m);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static void pending_reply_done(int result, void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        PendingReply *p = userdata;
        int r;

        if (result < 0) {
                (void) sd_bus_error_set_errnof(&e, result, "Failed to %s: %m", p->what);
                r = sd_bus_reply_method_error(p->message, &e);
        } else
                r = sd_bus_reply_method_return(p->message, NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to reply to %s(): %m", sd_bus_message_get_member(p->message));
        pending_reply_free(p);
}

/* Starts an operation through start(); replies now if it cannot start, else later. */
static int pending_reply_start(sd_bus_message *message, Machine *machine, char *what, sd_bus_error *error,
                               int (*start)(PendingReply *p, void *ud), void *ud) {
        PendingReply *p;
        int r;

        if (!what)
                return -ENOMEM;
        if (machine->manager->n_operations >= MANAGER_OPERATIONS_MAX) {
                free(what);
                return sd_bus_error_set(error, SD_BUS_ERROR_LIMITS_EXCEEDED, "Too many ongoing operations.");
        }
        p = new0(PendingReply, 1);
        if (!p) {
                free(what);
                return -ENOMEM;
        }
        p->message = sd_bus_message_ref(message);
        p->what = what;
        r = start(p, ud);
        if (r < 0) {
                r = sd_bus_error_set_errnof(error, r, "Failed to %s: %m", p->what);
                pending_reply_free(p);
                return r;
        }
        return 1;
}

/* OpenPTY, OpenLogin, OpenShell: answered once the helper has handed over the master. */
typedef struct PtyArgs {
        Machine *machine;
        PtyMode mode;
        const ShellRequest *req;
} PtyArgs;

static void pty_reply_done(int result, int master, const char *path, void *userdata) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        PendingReply *p = userdata;
        int r;

        if (result == -ENOENT && p->enoent_message)
                r = sd_bus_reply_method_errorf(p->message, SD_BUS_ERROR_NOT_SUPPORTED, "%s", p->enoent_message);
        else if (result < 0) {
                (void) sd_bus_error_set_errnof(&e, result, "Failed to %s: %m", p->what);
                r = sd_bus_reply_method_error(p->message, &e);
        } else /* sd-bus dups the fd into the message */
                r = sd_bus_reply_method_return(p->message, "hs", master, path);
        if (r < 0)
                log_debug_errno(r, "Failed to reply to %s(): %m", sd_bus_message_get_member(p->message));
        pending_reply_free(p);
}

static int start_pty(PendingReply *p, void *ud) {
        PtyArgs *a = ud;

        if (a->mode == PTY_LOGIN && asprintf(&p->enoent_message, "Machine '%s' has no login program.",
                                             a->machine->name) < 0)
                return -ENOMEM;
        return machine_open_pty(a->machine, a->mode, a->req, pty_reply_done, p);
}

static int reply_pty(sd_bus_message *message, Machine *machine, PtyMode mode, const ShellRequest *req,
                     sd_bus_error *error) {
        PtyArgs a = { .machine = machine, .mode = mode, .req = req };

        if (machine->class == MACHINE_VM)
                return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED, "Not supported for virtual machines.");
        return pending_reply_start(message, machine, strjoin("open a terminal in machine '", machine->name, "'"),
                                   error, start_pty, &a);
}

static int check_path_arg(const char *path, const char *what, sd_bus_error *error) {
        if (!path_is_absolute(path) || !path_is_normalized(path))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "The %s path '%s' is not absolute and normalized.", what, path);
        return 0;
}

/* BindMountMachine's and Copy*'s pair: an empty destination is the source; both absolute, normalized. */
static int check_source_destination(const char *source, const char **destination, sd_bus_error *error) {
        int r;

        if (isempty(*destination))
                *destination = source;
        r = check_path_arg(source, "source", error);
        if (r < 0)
                return r;
        return check_path_arg(*destination, "destination", error);
}

typedef struct BindArgs {
        Machine *machine;
        const char *source, *destination;
        int read_only, make_directory;
} BindArgs;

static int start_bind(PendingReply *p, void *ud) {
        BindArgs *a = ud;
        return machine_bind_mount(a->machine, a->source, a->destination, a->read_only, a->make_directory,
                                  pending_reply_done, p);
}

int bus_machine_method_bind_mount(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        BindArgs a = { .machine = userdata };
        char *what = NULL;
        uid_t shift;
        int r;

        r = sd_bus_message_read(message, "ssbb", &a.source, &a.destination, &a.read_only, &a.make_directory);
        if (r < 0)
                return r;
        r = check_source_destination(a.source, &a.destination, error);
        if (r < 0)
                return r;
        r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        if (a.machine->class != MACHINE_CONTAINER)
                return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                        "Bind mounting is only supported on container machines.");
        r = machine_get_uid_shift(a.machine, &shift);
        if (r < 0)
                return reply_errno(error, r, a.machine, "query the UID shift of");
        if (shift != 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                        "Can't bind mount on container with user namespacing applied.");
        if (asprintf(&what, "bind mount '%s' into machine '%s' at '%s'", a.source, a.machine->name,
                     a.destination) < 0)
                what = NULL;
        return pending_reply_start(message, a.machine, what, error, start_bind, &a);
}

typedef struct CopyArgs {
        Machine *machine;
        bool to_machine;
        const char *source, *destination;
        uint64_t flags;
} CopyArgs;

static int start_copy(PendingReply *p, void *ud) {
        CopyArgs *a = ud;
        return machine_copy(a->machine, a->to_machine, a->source, a->destination, a->flags, pending_reply_done, p);
}

typedef enum CopyCall {
        COPY_CALL_TO_MACHINE = 1 << 0, /* CopyTo*, else CopyFrom* */
        COPY_CALL_WITH_FLAGS = 1 << 1, /* *WithFlags: a "t" of flags follows the paths */
} CopyCall;

static int method_copy(sd_bus_message *message, Machine *machine, CopyCall call, sd_bus_error *error) {
        CopyArgs a = { .machine = machine, .to_machine = call & COPY_CALL_TO_MACHINE };
        char *what = NULL;
        int r;

        r = sd_bus_message_read(message, "ss", &a.source, &a.destination);
        if (r < 0)
                return r;
        if (call & COPY_CALL_WITH_FLAGS) {
                r = sd_bus_message_read(message, "t", &a.flags);
                if (r < 0)
                        return r;
        }
        r = check_source_destination(a.source, &a.destination, error);
        if (r < 0)
                return r;
        if (streq(a.source, "/") || streq(a.destination, "/"))
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Cannot copy from or to the root directory.");
        if (a.flags & ~_MACHINE_COPY_KNOWN)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown copy flags 0x%" PRIx64 ".",
                                         a.flags & ~_MACHINE_COPY_KNOWN);
        r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        if (a.machine->class != MACHINE_CONTAINER)
                return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                        "Copying files is only supported on container machines.");
        if (asprintf(&what, a.to_machine ? "copy '%s' to machine '%s' as '%s'" : "copy '%s' from machine '%s' to '%s'",
                     a.source, a.machine->name, a.destination) < 0)
                what = NULL;
        return pending_reply_start(message, a.machine, what, error, start_copy, &a);
}

int bus_machine_method_copy_from(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return method_copy(message, userdata, 0, error);
}

int bus_machine_method_copy_to(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return method_copy(message, userdata, COPY_CALL_TO_MACHINE, error);
}

int bus_machine_method_copy_from_with_flags(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return method_copy(message, userdata, COPY_CALL_WITH_FLAGS, error);
}

int bus_machine_method_copy_to_with_flags(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return method_copy(message, userdata, COPY_CALL_TO_MACHINE | COPY_CALL_WITH_FLAGS, error);
}

const sd_bus_vtable machine_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", NULL, offsetof(Machine, name), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Id", "ay", property_get_id, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Timestamp", "t", NULL, offsetof(Machine, timestamp_realtime), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("TimestampMonotonic", "t", NULL, offsetof(Machine, timestamp_monotonic),
                        SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Service", "s", NULL, offsetof(Machine, service), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Unit", "s", property_get_unit, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Leader", "u", NULL, offsetof(Machine, leader), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Class", "s", property_get_class, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("RootDirectory", "s", NULL, offsetof(Machine, root_directory), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("NetworkInterfaces", "ai", property_get_netifs, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, 0),
        SD_BUS_METHOD("Terminate", NULL, NULL, bus_machine_method_terminate, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Kill", "si", SD_BUS_PARAM(who) SD_BUS_PARAM(signal), NULL, ,
                                 bus_machine_method_kill, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetAddresses", NULL, , "a(iay)", SD_BUS_PARAM(addresses),
                                 bus_machine_method_get_addresses, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetOSRelease", NULL, , "a{ss}", SD_BUS_PARAM(fields),
                                 bus_machine_method_get_os_release, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetUIDShift", NULL, , "u", SD_BUS_PARAM(shift),
                                 bus_machine_method_get_uid_shift, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("OpenPTY", NULL, , "hs", SD_BUS_PARAM(pty) SD_BUS_PARAM(pty_path),
                                 bus_machine_method_open_pty, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("OpenLogin", NULL, , "hs", SD_BUS_PARAM(pty) SD_BUS_PARAM(pty_path),
                                 bus_machine_method_open_login, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("OpenShell", "ssasas",
                                 SD_BUS_PARAM(user) SD_BUS_PARAM(path) SD_BUS_PARAM(args) SD_BUS_PARAM(environment),
                                 "hs", SD_BUS_PARAM(pty) SD_BUS_PARAM(pty_path), bus_machine_method_open_shell,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("BindMount", "ssbb",
                                 SD_BUS_PARAM(source) SD_BUS_PARAM(destination) SD_BUS_PARAM(read_only) SD_BUS_PARAM(mkdir),
                                 NULL, , bus_machine_method_bind_mount, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("CopyFrom", "ss", SD_BUS_PARAM(source) SD_BUS_PARAM(destination), NULL, ,
                                 bus_machine_method_copy_from, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("CopyTo", "ss", SD_BUS_PARAM(source) SD_BUS_PARAM(destination), NULL, ,
                                 bus_machine_method_copy_to, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("CopyFromWithFlags", "sst",
                                 SD_BUS_PARAM(source) SD_BUS_PARAM(destination) SD_BUS_PARAM(flags), NULL, ,
                                 bus_machine_method_copy_from_with_flags, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("CopyToWithFlags", "sst",
                                 SD_BUS_PARAM(source) SD_BUS_PARAM(destination) SD_BUS_PARAM(flags), NULL, ,
                                 bus_machine_method_copy_to_with_flags, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("OpenRootDirectory", NULL, , "h", SD_BUS_PARAM(fd),
                                 bus_machine_method_open_root_directory, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

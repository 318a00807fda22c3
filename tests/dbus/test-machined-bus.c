/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berthd's manager over a private socketpair connection (no bus daemon): the child serves, the
 * parent is the client. State files go to a temporary directory. */
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus-names.h"
#include "machine.h"
#include "manager.h"
#include "test.h"

static char state_dir[] = "/tmp/berth-test-machined-XXXXXX";
static pid_t server = -1;
static sd_bus *client = NULL;

static _noreturn_ void serve(int fd) {
        sd_bus *bus = NULL;
        Manager *m = NULL;
        sd_id128_t id;

        (void) sd_id128_randomize(&id);
        if (manager_new(state_dir, &m) < 0 || sd_bus_new(&bus) < 0 || sd_bus_set_fd(bus, fd, fd) < 0 ||
            sd_bus_set_server(bus, 1, id) < 0 || sd_bus_set_anonymous(bus, 1) < 0 || sd_bus_start(bus) < 0 ||
            manager_startup(m, bus) < 0)
                _exit(EXIT_FAILURE);
        (void) manager_run(m);
        _exit(EXIT_SUCCESS);
}

static void setup(void) {
        int pair[2];

        if (client)
                return;
        ASSERT_TRUE(mkdtemp(state_dir));
        ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair));
        server = fork();
        ASSERT_TRUE(server >= 0);
        if (server == 0) {
                close(pair[0]);
                serve(pair[1]);
        }
        close(pair[1]);
        ASSERT_OK(sd_bus_new(&client));
        ASSERT_OK(sd_bus_set_fd(client, pair[0], pair[0]));
        ASSERT_OK(sd_bus_set_anonymous(client, 1));
        ASSERT_OK(sd_bus_start(client));
}

static int call(const char *member, sd_bus_error *error, sd_bus_message **reply, const char *types, ...) {
        sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(client, &m, NULL, MACHINE1_PATH, MACHINE1_MANAGER_IFACE, member);
        if (r < 0)
                return r;
        va_start(ap, types);
        r = types ? sd_bus_message_appendv(m, types, ap) : 0;
        va_end(ap);
        if (r >= 0)
                r = sd_bus_call(client, m, 0, error, reply);
        sd_bus_message_unref(m);
        return r;
}

static int count_machines(void) {
        sd_bus_message *reply = NULL;
        const char *name, *class, *service, *path;
        int n = 0;

        ASSERT_OK(call("ListMachines", NULL, &reply, NULL));
        ASSERT_OK(sd_bus_message_enter_container(reply, 'a', "(ssso)"));
        while (sd_bus_message_read(reply, "(ssso)", &name, &class, &service, &path) > 0)
                n++;
        sd_bus_message_unref(reply);
        return n;
}

TEST(host_is_listed) {
        sd_bus_message *reply = NULL;
        const char *path;

        setup();
        ASSERT_EQ(count_machines(), 1);
        ASSERT_OK(call("GetMachine", NULL, &reply, "s", ".host"));
        ASSERT_OK(sd_bus_message_read(reply, "o", &path));
        ASSERT_STREQ(path, "/org/freedesktop/machine1/machine/_2ehost");
        sd_bus_message_unref(reply);
}

TEST(host_properties) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        uint32_t leader = 0;
        char *class = NULL;

        setup();
        ASSERT_OK(sd_bus_get_property_trivial(client, NULL, "/org/freedesktop/machine1/machine/_2ehost",
                                              MACHINE1_MACHINE_IFACE, "Leader", &error, 'u', &leader));
        ASSERT_EQ(leader, 1);
        ASSERT_OK(sd_bus_get_property_string(client, NULL, "/org/freedesktop/machine1/machine/_2ehost",
                                             MACHINE1_MACHINE_IFACE, "Class", &error, &class));
        ASSERT_STREQ(class, "host");
        free(class);
}

TEST(errors) {
        sd_bus_error error = SD_BUS_ERROR_NULL;

        setup();
        ASSERT_TRUE(call("GetMachine", &error, NULL, "s", "nope") < 0);
        ASSERT_STREQ(error.name, "org.freedesktop.machine1.NoSuchMachine");
        sd_bus_error_free(&error);
        ASSERT_TRUE(call("RegisterMachine", &error, NULL, "sayssus", "a_b", 0, "", "container", 1234, "") < 0);
        ASSERT_STREQ(error.name, SD_BUS_ERROR_INVALID_ARGS);
        sd_bus_error_free(&error);
        ASSERT_TRUE(call("KillMachine", &error, NULL, "ssi", ".host", "bogus", 9) < 0);
        ASSERT_STREQ(error.name, SD_BUS_ERROR_INVALID_ARGS);
        sd_bus_error_free(&error);
        ASSERT_TRUE(call("GetMachine", &error, NULL, "u", 5) < 0);
        ASSERT_STREQ(error.name, SD_BUS_ERROR_INVALID_ARGS);
        sd_bus_error_free(&error);
}

static pid_t fork_sleeper(void) {
        pid_t pid = fork();

        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                pause();
                _exit(0);
        }
        return pid;
}

TEST(register_needs_root) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        pid_t leader;

        if (geteuid() == 0)
                SKIP_TEST("run as root: the refusal is tested by the integration suite (busctl as another user)");
        setup();
        leader = fork_sleeper();
        ASSERT_TRUE(call("RegisterMachine", &error, NULL, "sayssus", "unit-test", 0, "test", "container",
                         (uint32_t) leader, "") < 0);
        ASSERT_STREQ(error.name, SD_BUS_ERROR_ACCESS_DENIED);
        ASSERT_EQ(count_machines(), 1);
        sd_bus_error_free(&error);
        kill(leader, SIGKILL);
        (void) waitpid(leader, NULL, 0);
}

TEST(registered_machine_follows_its_leader) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        char path[256];
        struct stat st;
        pid_t leader;

        if (geteuid() != 0)
                SKIP_TEST("only root may register a machine");
        setup();
        leader = fork_sleeper();
        ASSERT_OK(call("RegisterMachine", &error, NULL, "sayssus", "unit-test", 0, "test", "container",
                       (uint32_t) leader, ""));
        ASSERT_EQ(count_machines(), 2);
        (void) snprintf(path, sizeof path, "%s/unit-test", state_dir);
        ASSERT_OK(stat(path, &st));
        sd_bus_error_free(&error);
        kill(leader, SIGKILL);
        (void) waitpid(leader, NULL, 0);
        for (int i = 0; i < 100 && count_machines() != 1; i++)
                usleep(10000);
        ASSERT_EQ(count_machines(), 1);        /* gone from the list ... */
        ASSERT_TRUE(stat(path, &st) < 0);     /* ... and its state file removed */
}

static void teardown(void) {
        char cmd[128];

        sd_bus_flush_close_unref(client);
        client = NULL;
        kill(server, SIGTERM);
        (void) waitpid(server, NULL, 0);
        (void) snprintf(cmd, sizeof cmd, "rm -rf %s", state_dir);
        ASSERT_EQ(system(cmd), 0);
}

DEFINE_TEST_MAIN_WITH(setup(), teardown())

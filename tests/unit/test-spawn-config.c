/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/capability.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "rm-rf.h"
#include "spawn-config.h"
#include "spawn-credentials.h"
#include "spawn-oci.h"
#include "spawn-options.h"
#include "spawn-overlay.h"
#include "spawn-settings.h"
#include "spawn-supervise.h"
#include "spawn-tree.h"
#include "spawn-user.h"
#include "strv.h"
#include "sync-channel.h"
#include "test.h"

static void bind_done(BindMount *b) {
        free(b->source);
        free(b->destination);
}

TEST(bind_mount_parse) {
        BindMount b;

        ASSERT_OK(bind_mount_parse("/srv/data", false, &b));
        ASSERT_STREQ(b.source, "/srv/data");
        ASSERT_STREQ(b.destination, "/srv/data");
        ASSERT_TRUE(b.recursive && !b.read_only);
        bind_done(&b);

        ASSERT_OK(bind_mount_parse("/a:/b:norbind", true, &b));
        ASSERT_STREQ(b.destination, "/b");
        ASSERT_TRUE(!b.recursive && b.read_only);
        bind_done(&b);

        ASSERT_OK(bind_mount_parse("/with\\:colon:/x", false, &b));
        ASSERT_STREQ(b.source, "/with:colon");
        bind_done(&b);

        ASSERT_OK(bind_mount_parse("/a/../b/./c", false, &b));
        ASSERT_STREQ(b.source, "/b/c");
        bind_done(&b);

        ASSERT_ERROR(bind_mount_parse("", false, &b), EINVAL);
        ASSERT_ERROR(bind_mount_parse("/a:", false, &b), EINVAL);
        ASSERT_ERROR(bind_mount_parse("/a:relative", false, &b), EINVAL);
        ASSERT_ERROR(bind_mount_parse("/a:/b/../c", false, &b), EINVAL);
        ASSERT_ERROR(bind_mount_parse("/a:/", false, &b), EINVAL);
        ASSERT_ERROR(bind_mount_parse("/a:/b:owneridmap", false, &b), EOPNOTSUPP);
        ASSERT_OK(bind_mount_parse("/a:/b:norbind,idmap", false, &b));
        ASSERT_TRUE(b.idmap && !b.recursive);
        free(b.source);
        free(b.destination);
        ASSERT_ERROR(bind_mount_parse("/a:/b:rbind:extra", false, &b), EINVAL);
        ASSERT_ERROR(bind_mount_parse("/a:/proc", false, &b), EPERM);
        ASSERT_ERROR(bind_mount_parse("/a:/proc/sys/kernel", false, &b), EPERM);
        ASSERT_ERROR(bind_mount_parse("/a:/sys", false, &b), EPERM);
        ASSERT_ERROR(bind_mount_parse("/a:/dev", false, &b), EPERM);
        ASSERT_OK(bind_mount_parse("/dev/fuse", false, &b));
        bind_done(&b);
        ASSERT_OK(bind_mount_parse("/a:/processes", false, &b));
        bind_done(&b);
}

TEST(tmpfs_mount_parse) {
        TmpfsMount t;

        ASSERT_OK(tmpfs_mount_parse("/scratch:mode=700,size=1M", &t));
        ASSERT_STREQ(t.destination, "/scratch");
        ASSERT_STREQ(t.options, "mode=700,size=1M");
        free(t.destination);
        free(t.options);
        ASSERT_OK(tmpfs_mount_parse("/x", &t));
        ASSERT_TRUE(t.options == NULL);
        free(t.destination);
        ASSERT_ERROR(tmpfs_mount_parse("x", &t), EINVAL);
        ASSERT_ERROR(tmpfs_mount_parse("/", &t), EINVAL);
        ASSERT_ERROR(tmpfs_mount_parse("/x:", &t), EINVAL);
        ASSERT_ERROR(tmpfs_mount_parse("/sys/fs", &t), EPERM);
}

TEST(capabilities) {
        SpawnConfig c = {};
        uint64_t m;

        ASSERT_EQ(spawn_config_capabilities(&c), 0xfcecafffULL);
        c.private_network = true;
        ASSERT_EQ(spawn_config_capabilities(&c), 0xfcecafffULL | (1ULL << CAP_NET_ADMIN));
        ASSERT_OK(capability_list_parse("CAP_SYS_TIME,cap_sys_module", &m));
        ASSERT_EQ(m, (1ULL << CAP_SYS_TIME) | (1ULL << CAP_SYS_MODULE));
        c.caps_drop = 1ULL << CAP_SYS_ADMIN;
        ASSERT_FALSE(spawn_config_capabilities(&c) & (1ULL << CAP_SYS_ADMIN));
        ASSERT_OK(capability_list_parse("all", &m));
        ASSERT_EQ(m, UINT64_MAX);
        ASSERT_ERROR(capability_list_parse("CAP_NOPE", &m), EINVAL);
        ASSERT_ERROR(capability_list_parse("", &m), EINVAL);
}

TEST(tables) {
        for (int i = 0; i < _CONSOLE_MODE_MAX; i++)
                ASSERT_EQ(console_mode_from_string(console_mode_to_string(i)), i);
        for (int i = 0; i < _SPAWN_REGISTER_MAX; i++)
                ASSERT_EQ(spawn_register_from_string(spawn_register_to_string(i)), i);
        for (int i = 0; i < _GUEST_INIT_MAX; i++)
                ASSERT_EQ(guest_init_from_string(guest_init_to_string(i)), i);
        for (int i = 0; i < _SYNC_POINT_MAX; i++)
                ASSERT_EQ(sync_point_from_string(sync_point_to_string(i)), i);
        for (int i = 0; i < _USER_OWNERSHIP_MAX; i++)
                ASSERT_EQ(user_ownership_from_string(user_ownership_to_string(i)), i);
        ASSERT_EQ(user_ownership_from_string("copy"), _USER_OWNERSHIP_INVALID);
        ASSERT_EQ(console_mode_from_string("tty"), _CONSOLE_MODE_INVALID);
        ASSERT_EQ(spawn_register_from_string("maybe"), _SPAWN_REGISTER_INVALID);
        ASSERT_TRUE(start_mode_to_string(START_BOOT) != NULL);
}

TEST(options_tables_and_parsers) {
        _cleanup_free_ char *n = NULL, *o = NULL, *p = NULL;

        for (int i = 0; i < _TIMEZONE_MODE_MAX; i++)
                ASSERT_EQ(timezone_mode_from_string(timezone_mode_to_string(i)), i);
        for (int i = 0; i < _LINK_JOURNAL_MAX; i++)
                ASSERT_EQ(link_journal_from_string(link_journal_to_string(i)), i);
        ASSERT_EQ(timezone_mode_from_string("yes"), _TIMEZONE_MODE_INVALID);
        ASSERT_EQ(link_journal_from_string("maybe"), _LINK_JOURNAL_INVALID);
        ASSERT_ERROR(personality_from_string("arm64"), EINVAL);
        ASSERT_ERROR(personality_from_string(""), EINVAL);

        ASSERT_OK(pivot_root_parse("/sysroot", &n, &o));
        ASSERT_STREQ(n, "/sysroot");
        ASSERT_TRUE(o == NULL);
        ASSERT_OK(pivot_root_parse("/a/b:/old", &n, &o));
        ASSERT_STREQ(n, "/a/b");
        ASSERT_STREQ(o, "/old");
        ASSERT_ERROR(pivot_root_parse("sysroot", &n, &o), EINVAL);
        ASSERT_ERROR(pivot_root_parse("/a/../b", &n, &o), EINVAL);
        ASSERT_ERROR(pivot_root_parse("/a:/", &n, &o), EINVAL);
        ASSERT_ERROR(pivot_root_parse("/a:", &n, &o), EINVAL);

        ASSERT_OK(inaccessible_parse("/etc/shadow", &p));
        ASSERT_STREQ(p, "/etc/shadow");
        ASSERT_ERROR(inaccessible_parse("/", &p), EINVAL);
        ASSERT_ERROR(inaccessible_parse("etc", &p), EINVAL);
        ASSERT_ERROR(inaccessible_parse("/etc/../root", &p), EINVAL);
}

TEST(overlay_and_credential_parse) {
        OverlayMount o;
        Credential c;

        ASSERT_OK(overlay_mount_parse("/a:/b\\:c:+/img:/dest", false, &o));
        ASSERT_EQ(strv_length(o.sources), 3);
        ASSERT_STREQ(o.sources[1], "/b:c");
        ASSERT_STREQ(o.sources[2], "+/img");
        ASSERT_STREQ(o.destination, "/dest");
        overlay_mount_done(&o);
        ASSERT_OK(overlay_mount_parse("/low:/var", false, &o)); /* two: the second is the top and the destination */
        ASSERT_STREQ(o.sources[1], "/var");
        ASSERT_STREQ(o.destination, "/var");
        overlay_mount_done(&o);
        ASSERT_OK(overlay_mount_parse("+/var::/var", false, &o)); /* a temporary upper layer */
        ASSERT_STREQ(o.sources[1], "");
        overlay_mount_done(&o);
        ASSERT_ERROR(overlay_mount_parse("+/var::/var", true, &o), EINVAL);
        ASSERT_ERROR(overlay_mount_parse("/only", false, &o), EINVAL);
        ASSERT_ERROR(overlay_mount_parse("/a:/b:rel", false, &o), EINVAL);
        ASSERT_ERROR(overlay_mount_parse("/a:/b:/", false, &o), EINVAL);
        ASSERT_ERROR(overlay_mount_parse("/a:+rel:/x", false, &o), EINVAL);

        ASSERT_OK(credential_parse("k:a\\nb\\x00c", false, &c));
        ASSERT_STREQ(c.id, "k");
        ASSERT_EQ(c.size, 5);
        ASSERT_TRUE(memcmp(c.data, "a\nb\0c", 5) == 0);
        credential_done(&c);
        ASSERT_OK(credential_parse("pw:/etc/pw", true, &c));
        ASSERT_STREQ(c.path, "/etc/pw");
        credential_done(&c);
        ASSERT_ERROR(credential_parse("nocolon", false, &c), EINVAL);
        ASSERT_ERROR(credential_parse("..:v", false, &c), EINVAL);
        ASSERT_ERROR(credential_parse("a/b:v", false, &c), EINVAL);
        ASSERT_ERROR(credential_parse("k:bad\\q", false, &c), EINVAL);
        ASSERT_ERROR(credential_parse("k:trailing\\", false, &c), EINVAL);
        ASSERT_ERROR(credential_parse("k:", true, &c), EINVAL);
}

static int oci(SpawnConfig *s, const char *json) {
        return spawn_oci_parse(s, "/bundle", json, strlen(json));
}

TEST(oci_parse) {
        SpawnConfig s = {};

        ASSERT_OK(oci(&s, "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
                          "\"hostname\":\"h\",\"process\":{\"args\":[\"/bin/sh\"],\"env\":[\"A=1\"],\"cwd\":\"/srv\"},"
                          "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\"},"
                          "{\"destination\":\"/t\",\"type\":\"tmpfs\",\"options\":[\"nosuid\",\"size=1m\",\"x,y\"]}]}"));
        ASSERT_STREQ(s.directory, "/bundle/rootfs");
        ASSERT_TRUE(s.read_only);
        ASSERT_STREQ(s.hostname, "h");
        ASSERT_STREQ(s.command[0], "/bin/sh");
        ASSERT_STREQ(strv_env_get(s.setenv, "A"), "1");
        ASSERT_STREQ(s.working_directory, "/srv");
        ASSERT_EQ(s.n_tmpfs, 1);
        ASSERT_STREQ(s.tmpfs[0].options, "size=1m"); /* flags we set ourselves and odd options dropped */
        ASSERT_EQ(s.settings_mode, SETTINGS_NO);
        spawn_config_done(&s);

        ASSERT_ERROR(oci(&s, "{\"ociVersion\":\"1.0\",\"root\":{\"path\":\"/\"}}"), EPERM);
        spawn_config_done(&s);
        ASSERT_ERROR(oci(&s, "{\"ociVersion\":\"1.0\",\"root\":{\"path\":\"a/../..\"}}"), EPERM);
        spawn_config_done(&s);
        ASSERT_ERROR(oci(&s, "{\"ociVersion\":\"1.0\",\"root\":{\"path\":\"r\"},\"mounts\":[{\"destination\":\"x\"}]}"),
                     EPERM);
        spawn_config_done(&s);
        ASSERT_ERROR(oci(&s, "{\"ociVersion\":\"1.0\",\"root\":{\"path\":\"r\"},\"hostname\":7}"), EBADMSG);
        spawn_config_done(&s);
        ASSERT_ERROR(oci(&s, "{\"ociVersion\":\"1.0\",\"root\":{\"path\":\"r\"},\"hostname\":\"a\\u0000b\"}"), EBADMSG);
        spawn_config_done(&s);
        ASSERT_ERROR(oci(&s, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"), EBADMSG);
        spawn_config_done(&s);
}

TEST(guest_init) {
        ASSERT_EQ(guest_init_classify("/x/usr/lib/systemd/systemd", false), GUEST_INIT_SYSTEMD);
        ASSERT_EQ(guest_init_classify("/x/bin/busybox", true), GUEST_INIT_BUSYBOX);
        ASSERT_EQ(guest_init_classify("/x/sbin/init", true), GUEST_INIT_SYSVINIT);
        ASSERT_EQ(guest_init_classify("/x/sbin/init", false), GUEST_INIT_OTHER);
        ASSERT_EQ(guest_init_classify("/x/lib/runit/runit-init", false), GUEST_INIT_RUNIT);
        ASSERT_EQ(guest_init_classify("/x/sbin/openrc-init", false), GUEST_INIT_OTHER);
        ASSERT_EQ(guest_init_poweroff_signal(GUEST_INIT_RUNIT), 0);
        ASSERT_EQ(guest_init_halt_signal(GUEST_INIT_RUNIT), 0);
        ASSERT_EQ(guest_init_poweroff_signal(GUEST_INIT_SYSTEMD), SIGRTMIN + 4);
        ASSERT_EQ(guest_init_reboot_signal(GUEST_INIT_SYSTEMD), SIGINT);
        ASSERT_EQ(guest_init_halt_signal(GUEST_INIT_SYSTEMD), SIGRTMIN + 3);
        ASSERT_EQ(guest_init_poweroff_signal(GUEST_INIT_BUSYBOX), SIGUSR2);
        ASSERT_EQ(guest_init_reboot_signal(GUEST_INIT_BUSYBOX), SIGTERM);
        ASSERT_EQ(guest_init_poweroff_signal(GUEST_INIT_SYSVINIT), 0);
        ASSERT_EQ(guest_init_halt_signal(GUEST_INIT_OTHER), SIGRTMIN + 3);
        ASSERT_EQ(guest_init_poweroff_signal(GUEST_INIT_OTHER), SIGRTMIN + 4);
        ASSERT_EQ(guest_init_reboot_signal(GUEST_INIT_OTHER), SIGINT);
}

TEST(cgroup_view) {
        for (int i = 0; i < _CGROUP_VIEW_MAX; i++)
                ASSERT_EQ(cgroup_view_from_string(cgroup_view_to_string(i)), i);
        ASSERT_EQ(cgroup_view_from_string("1"), CGROUP_VIEW_UNIFIED);
        ASSERT_EQ(cgroup_view_from_string("false"), CGROUP_VIEW_HOST);
        ASSERT_EQ(cgroup_view_from_string("hybrid"), _CGROUP_VIEW_INVALID);
        ASSERT_EQ(cgroup_view_from_string(NULL), _CGROUP_VIEW_INVALID);
}

static void touch_at(const char *root, const char *rel) {
        char p[512];
        int fd;

        (void) snprintf(p, sizeof p, "%s/%s", root, rel);
        fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        ASSERT_TRUE(fd >= 0);
        close(fd);
}

TEST(tree_systemd_version) {
        char root[] = "/tmp/test-tree-version-XXXXXX", host[] = "/tmp/test-tree-host-XXXXXX", p[512];
        int fd;

        ASSERT_EQ(systemd_version_from_library_name("libsystemd-shared-252.so"), 252u);
        ASSERT_EQ(systemd_version_from_library_name("libsystemd-shared-257.9-1.so"), 257u);
        ASSERT_EQ(systemd_version_from_library_name("libsystemd-shared-262~rc1.so"), 262u);
        ASSERT_EQ(systemd_version_from_library_name("libsystemd-shared-.so"), 0u);
        ASSERT_EQ(systemd_version_from_library_name("libsystemd-shared-abc.so"), 0u);
        ASSERT_EQ(systemd_version_from_library_name("libsystemd-shared-252.so.0"), 0u);
        ASSERT_EQ(systemd_version_from_library_name("libsystemd-core-252.so"), 0u);
        ASSERT_EQ(systemd_version_from_library_name("libsystemd-shared-99999999999999.so"), 0u);

        ASSERT_TRUE(mkdtemp(root) != NULL);
        fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(tree_systemd_version(fd), 0u);
        /* Debian's multiarch directory, and an older copy in /usr/lib/systemd: the newest counts. */
        (void) snprintf(p, sizeof p, "mkdir -p %s/usr/lib/x86_64-linux-gnu/systemd %s/usr/lib/systemd", root, root);
        ASSERT_EQ(system(p), 0);
        touch_at(root, "usr/lib/systemd/libsystemd-shared-252.so");
        touch_at(root, "usr/lib/x86_64-linux-gnu/systemd/libsystemd-shared-262.so");
        touch_at(root, "usr/lib/x86_64-linux-gnu/systemd/libsystemd-core-300.so");
        ASSERT_EQ(tree_systemd_version(fd), 262u);
        /* An absolute symlink is resolved inside the tree, never on the host (where a newer one sits). */
        ASSERT_TRUE(mkdtemp(host) != NULL);
        (void) snprintf(p, sizeof p, "mkdir %s/systemd", host);
        ASSERT_EQ(system(p), 0);
        touch_at(host, "systemd/libsystemd-shared-999.so");
        (void) snprintf(p, sizeof p, "%s/lib64", root);
        ASSERT_EQ(symlink(host, p), 0);
        ASSERT_EQ(tree_systemd_version(fd), 262u);
        close(fd);
        ASSERT_EQ(rm_rf(root), 0);
        ASSERT_EQ(rm_rf(host), 0);
}

TEST(exit_codes) {
        SpawnResult r = { OUTCOME_EXITED, 7 };
        ASSERT_EQ(spawn_result_exit_code(&r), 7);
        r = (SpawnResult) { OUTCOME_POWEROFF, SIGINT };
        ASSERT_EQ(spawn_result_exit_code(&r), 0);
        r = (SpawnResult) { OUTCOME_REBOOT, SIGHUP };
        ASSERT_EQ(spawn_result_exit_code(&r), 133);
        r = (SpawnResult) { OUTCOME_SIGNALED, SIGKILL };
        ASSERT_EQ(spawn_result_exit_code(&r), 1);
}

TEST(sync_channel) {
        int pair[2], fd = -EBADF;
        char step[64];
        SyncMessage m;

        ASSERT_OK(sync_channel_new(pair));
        ASSERT_OK(sync_send(pair[1], SYNC_NOTIFY_FD, STDIN_FILENO));
        ASSERT_OK(sync_expect(pair[0], SYNC_NOTIFY_FD, &fd, step));
        ASSERT_TRUE(fd >= 0);
        fd = safe_close(fd);

        /* the wrong point is a protocol error */
        ASSERT_OK(sync_send(pair[1], SYNC_GO, -EBADF));
        ASSERT_ERROR(sync_expect(pair[0], SYNC_ROOTFS_READY, NULL, step), EPROTO);

        /* a failure arrives as data: errno and step */
        ASSERT_OK(sync_send_failure(pair[1], "mount-proc", -EBUSY));
        ASSERT_ERROR(sync_expect(pair[0], SYNC_ROOTFS_READY, NULL, step), EBUSY);
        ASSERT_STREQ(step, "mount-proc");

        /* garbage of the wrong size is refused */
        ASSERT_TRUE(write(pair[1], "x", 1) == 1);
        ASSERT_ERROR(sync_receive(pair[0], &m), EBADMSG);

        /* end of file */
        safe_close(pair[1]);
        ASSERT_ERROR(sync_receive(pair[0], &m), EPIPE);
        safe_close(pair[0]);
}

TEST(guest_user) {
        char passwd[] = "/tmp/test-passwd-XXXXXX", group[] = "/tmp/test-group-XXXXXX";
        int p = mkstemp(passwd), g = mkstemp(group);
        const char *pw = "root:x:0:0:root:/root:/bin/bash\nbroken line\nalice:x:1000:1000::/home/alice:\n";
        const char *gr = "root:x:0:\nwheel:x:10:alice,bob\naudio:x:29:bob\n";
        GuestUser u = {};

        ASSERT_TRUE(p >= 0 && g >= 0);
        ASSERT_TRUE(write(p, pw, strlen(pw)) == (ssize_t) strlen(pw));
        ASSERT_TRUE(write(g, gr, strlen(gr)) == (ssize_t) strlen(gr));
        close(p);
        close(g);

        ASSERT_OK(guest_user_lookup(passwd, group, "alice", &u));
        ASSERT_EQ(u.uid, 1000);
        ASSERT_STREQ(u.home, "/home/alice");
        ASSERT_STREQ(u.shell, "/bin/sh");
        ASSERT_EQ(u.n_groups, 1);
        ASSERT_EQ(u.groups[0], 10);
        guest_user_done(&u);
        ASSERT_OK(guest_user_lookup(passwd, group, "0", &u));
        ASSERT_STREQ(u.name, "root");
        guest_user_done(&u);
        ASSERT_ERROR(guest_user_lookup(passwd, group, "mallory", &u), ESRCH);
        ASSERT_ERROR(guest_user_lookup("/nonexistent", group, "root", &u), ENOENT);
        unlink(passwd);
        unlink(group);
}

static int parse_buffer(const char *text, size_t len, bool trusted, SpawnConfig *s) {
        FILE *f = fmemopen((void *) text, len, "r");
        int r;

        ASSERT_TRUE(f != NULL);
        r = settings_parse(f, "test.nspawn", trusted, s);
        fclose(f);
        return r;
}

static int parse_string(const char *text, bool trusted, SpawnConfig *s) {
        return parse_buffer(text, strlen(text), trusted, s);
}

TEST(settings_options_keys) {
        SpawnConfig s = {};

        ASSERT_OK(parse_string("[Exec]\nPivotRoot=/sysroot:/oldroot\nTimezone=copy\nLinkJournal=try-guest\n"
                               "SuppressSync=yes\nPersonality=x86-64\n[Files]\nInaccessible=/etc/shadow\n", true, &s));
        ASSERT_STREQ(s.pivot_root_new, "/sysroot");
        ASSERT_STREQ(s.pivot_root_old, "/oldroot");
        ASSERT_EQ(s.timezone_mode, TIMEZONE_COPY);
        ASSERT_EQ(s.link_journal, LINK_JOURNAL_TRY_GUEST);
        ASSERT_TRUE(s.suppress_sync);
        ASSERT_STREQ(s.inaccessible[0], "/etc/shadow");
        ASSERT_TRUE(s.set_mask & SETTING_INACCESSIBLE);
        spawn_config_done(&s);

        /* Inaccessible= is privileged, as in nspawn: not from a file beside the image. */
        ASSERT_OK(parse_string("[Files]\nInaccessible=/etc/shadow\n[Exec]\nTimezone=never\n", false, &s));
        ASSERT_TRUE(s.inaccessible == NULL);
        ASSERT_EQ(s.timezone_mode, TIMEZONE_AUTO);
        ASSERT_EQ(s.set_mask, 0);
        spawn_config_done(&s);
}

TEST(settings_parse) {
        SpawnConfig s = {};

        ASSERT_OK(parse_string("# comment\n[Exec]\nBoot=yes\nEnvironment=A=1\nEnvironment=B=2\n"
                               "Hostname=web\nKillSignal=SIGTERM\nCapability=CAP_SYS_TIME\n"
                               "[Files]\nReadOnly=yes\nBind=/srv:/data:norbind\nTemporaryFileSystem=/scratch\n"
                               "Volatile=state\n[Network]\nPrivate=yes\n", true, &s));
        ASSERT_EQ(s.start_mode, START_BOOT);
        ASSERT_STREQ(strv_env_get(s.setenv, "B"), "2");
        ASSERT_STREQ(s.hostname, "web");
        ASSERT_EQ(s.kill_signal, SIGTERM);
        ASSERT_TRUE(s.read_only && s.private_network);
        ASSERT_EQ(s.volatile_mode, VOLATILE_STATE);
        ASSERT_EQ(s.n_binds, 1);
        ASSERT_TRUE(!s.binds[0].recursive);
        ASSERT_EQ(s.n_tmpfs, 1);
        ASSERT_TRUE(s.caps_add & (1ULL << CAP_SYS_TIME));
        ASSERT_TRUE(s.set_mask & SETTING_BIND);
        spawn_config_done(&s);
}

TEST(settings_untrusted_and_bad_input) {
        SpawnConfig s = {};

        /* Privileged keys from an untrusted file are dropped; garbage is warned about, not fatal. */
        ASSERT_OK(parse_string("[Exec]\nCapability=CAP_SYS_MODULE\nHostname=%$\xc5\xa1\nKillSignal=-1\n"
                               "Boot=maybe\nNoSuchKey=1\n[Files]\nBind=/etc:/x\n[Bogus]\nX=1\n"
                               "noequals\n[unterminated\nDropCapability=CAP_SYS_ADMIN\r\n", false, &s));
        ASSERT_EQ(s.caps_add, 0);
        ASSERT_EQ(s.n_binds, 0);
        ASSERT_TRUE(s.hostname == NULL);
        ASSERT_EQ(s.kill_signal, 0);
        ASSERT_EQ(s.set_mask, 0);
        spawn_config_done(&s);

        {
                static const char nul[] = "[Exec]\nBoot=yes\0\n";
                ASSERT_ERROR(parse_buffer(nul, sizeof nul - 1, true, &s), EBADMSG);
        }
        spawn_config_done(&s);
}

TEST(private_users_and_filters) {
        PrivateUsers m;
        uint32_t shift = 0, range = 0;
        char **allow = NULL, **deny = NULL;

        ASSERT_OK(private_users_parse("yes", &m, &shift, &range));
        ASSERT_EQ(m, PRIVATE_USERS_TREE);
        ASSERT_OK(private_users_parse("pick", &m, &shift, &range));
        ASSERT_EQ(m, PRIVATE_USERS_PICK);
        ASSERT_OK(private_users_parse("no", &m, &shift, &range));
        ASSERT_EQ(m, PRIVATE_USERS_NO);
        ASSERT_OK(private_users_parse("524288", &m, &shift, &range));
        ASSERT_TRUE(m == PRIVATE_USERS_FIXED && shift == 524288 && range == 65536);
        ASSERT_ERROR(private_users_parse("524289", &m, &shift, &range), ERANGE);

        ASSERT_OK(syscall_filter_parse("@clock uname", &allow, &deny));
        ASSERT_OK(syscall_filter_parse("~@keyring,getpid", &allow, &deny));
        ASSERT_TRUE(strv_length(allow) == 2 && strv_length(deny) == 2);
        ASSERT_ERROR(syscall_filter_parse("no_such_call", &allow, &deny), EINVAL);
        ASSERT_ERROR(syscall_filter_parse("@nogroup", &allow, &deny), EINVAL);
        strv_free(allow);
        strv_free(deny);
}

TEST(settings_user_namespace_keys) {
        SpawnConfig s = {}, c = {};
        const char *text = "[Exec]\nPrivateUsers=pick\nSystemCallFilter=~uname\nAmbientCapability=CAP_NET_RAW\n"
                           "[Files]\nPrivateUsersOwnership=chown\n";

        /* untrusted: all four ignored */
        ASSERT_OK(parse_string(text, false, &s));
        ASSERT_EQ(s.set_mask, 0);
        spawn_config_done(&s);
        s = (SpawnConfig) {};
        ASSERT_OK(parse_string(text, true, &s));
        ASSERT_EQ(s.private_users, PRIVATE_USERS_PICK);
        ASSERT_EQ(s.user_ownership, USER_OWNERSHIP_CHOWN);
        ASSERT_TRUE(s.caps_ambient == (1ULL << CAP_NET_RAW));
        ASSERT_STREQ(s.syscall_deny[0], "uname");
        ASSERT_OK(spawn_settings_merge(&c, &s, false));
        ASSERT_TRUE(c.private_users == PRIVATE_USERS_PICK && c.user_ownership == USER_OWNERSHIP_CHOWN);
        ASSERT_TRUE((c.caps_add & c.caps_ambient) == c.caps_ambient && c.caps_ambient);
        ASSERT_STREQ(c.syscall_deny[0], "uname");
        spawn_config_done(&s);
        spawn_config_done(&c);
}

TEST(settings_merge_command_line_wins) {
        SpawnConfig c = { .hostname = strdup("cli"), .set_mask = SETTING_HOSTNAME }, s = {};

        ASSERT_OK(parse_string("[Exec]\nHostname=file\nUser=alice\n", true, &s));
        ASSERT_OK(spawn_settings_merge(&c, &s, false));
        ASSERT_STREQ(c.hostname, "cli");
        ASSERT_STREQ(c.user, "alice");
        ASSERT_OK(spawn_settings_merge(&c, &s, true));
        ASSERT_STREQ(c.hostname, "file");
        spawn_config_done(&c);
        spawn_config_done(&s);
        for (int i = 0; i < _SETTINGS_MODE_MAX; i++)
                ASSERT_EQ(settings_mode_from_string(settings_mode_to_string(i)), i);
}

DEFINE_TEST_MAIN

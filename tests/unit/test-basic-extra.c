/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/un.h>
#include <fcntl.h>
#include <locale.h>
#include <unistd.h>

#include "event-loop.h"
#include "fd-util.h"
#include "fork-util.h"
#include "glyph.h"
#include "id128.h"
#include "notify.h"
#include "siphash24.h"
#include "log.h"
#include "test.h"

TEST(id128) {
        Id128 a, b;
        char s[ID128_STRING_MAX], u[ID128_UUID_STRING_MAX];

        ASSERT_OK(id128_randomize(&a));
        ASSERT_FALSE(id128_is_null(a));
        ASSERT_OK(id128_from_string(id128_to_string(a, s), &b));
        ASSERT_TRUE(memcmp(&a, &b, sizeof a) == 0);
        ASSERT_OK(id128_from_string(id128_to_uuid_string(a, u), &b));
        ASSERT_TRUE(memcmp(&a, &b, sizeof a) == 0);
        ASSERT_EQ(u[14], '4'); /* version 4 */
        ASSERT_OK(id128_from_string("0123456789ABCDEF0123456789abcdef", &b));
        ASSERT_STREQ(id128_to_string(b, s), "0123456789abcdef0123456789abcdef");
        ASSERT_ERROR(id128_from_string("0123456789abcdef0123456789abcde", &b), EINVAL);
        ASSERT_ERROR(id128_from_string("0123456789abcdef0123456789abcdeg", &b), EINVAL);
        ASSERT_ERROR(id128_from_string("01234567-89ab-cdef-0123-456789abcdeff", &b), EINVAL);
        ASSERT_ERROR(id128_from_string("", &b), EINVAL);
        ASSERT_ERROR(id128_from_string(NULL, &b), EINVAL);
}

TEST(notify) {
        char path[] = "/tmp/test-notify-XXXXXX", buf[64];
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;
        ssize_t n;

        ASSERT_TRUE(mkdtemp(path) != NULL);
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s/sock", path);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ASSERT_TRUE(fd >= 0);
        ASSERT_TRUE(bind(fd, (struct sockaddr *) &sa, sizeof sa) == 0);

        unsetenv("NOTIFY_SOCKET");
        ASSERT_EQ(notify_send("READY=1"), 0);
        setenv("NOTIFY_SOCKET", sa.sun_path, 1);
        ASSERT_EQ(notify_send("READY=1"), 1);
        n = recv(fd, buf, sizeof buf - 1, 0);
        ASSERT_EQ(n, 7);
        buf[n] = 0;
        ASSERT_STREQ(buf, "READY=1");
        setenv("NOTIFY_SOCKET", "relative", 1);
        ASSERT_ERROR(notify_send("READY=1"), EINVAL);
        unsetenv("NOTIFY_SOCKET");
        close(fd);
        unlink(sa.sun_path);
        rmdir(path);
}

typedef struct Ctx {
        EventLoop *loop;
        int fired, got_signal, pipe_read;
} Ctx;

static void on_timer(EventSource *s, int fd, uint32_t events, void *userdata) {
        Ctx *c = userdata;
        c->fired++;
        event_loop_exit(c->loop, 42);
}

static void on_sig(EventSource *s, int sig, uint32_t events, void *userdata) {
        Ctx *c = userdata;
        c->got_signal = sig;
}

static void on_pipe(EventSource *s, int fd, uint32_t events, void *userdata) {
        Ctx *c = userdata;
        char b;
        if (read(fd, &b, 1) == 1)
                c->pipe_read++;
        (void) event_source_set_enabled(s, false);
}

TEST(event_loop) {
        Ctx c = {};
        int p[2];
        EventSource *src;

        ASSERT_OK(event_loop_new(&c.loop));
        ASSERT_TRUE(pipe2(p, O_CLOEXEC) == 0);
        ASSERT_OK(event_add_io(c.loop, p[0], EPOLLIN, on_pipe, &c, &src));
        ASSERT_OK(event_add_signal(c.loop, SIGUSR1, on_sig, &c));
        ASSERT_TRUE(write(p[1], "xy", 2) == 2);
        ASSERT_TRUE(kill(getpid(), SIGUSR1) == 0);
        ASSERT_OK(event_add_timer(c.loop, 20000, on_timer, &c));
        ASSERT_EQ(event_loop_run(c.loop), 42);
        ASSERT_EQ(c.fired, 1);
        ASSERT_EQ(c.got_signal, SIGUSR1);
        ASSERT_EQ(c.pipe_read, 1); /* disabled after the first byte */
        event_loop_free(c.loop);
        close(p[0]);
        close(p[1]);
}

static void on_repeat(EventSource *s, int fd, uint32_t events, void *userdata) {
        Ctx *c = userdata;
        if (++c->fired == 50)
                event_loop_exit(c->loop, 42);
        else
                ASSERT_OK(event_add_timer(c->loop, 100, on_repeat, c));
}

static int fds_open(void) {
        int n = 0;
        for (int fd = 0; fd < 1024; fd++)
                n += fcntl(fd, F_GETFD) >= 0;
        return n;
}

/* A timer that sets itself again (the launcher's repeated shutdown request) keeps one timerfd. */
TEST(event_loop_repeating_timer) {
        Ctx c = {};
        int before;

        ASSERT_OK(event_loop_new(&c.loop));
        before = fds_open();
        ASSERT_OK(event_add_timer(c.loop, 100, on_repeat, &c));
        ASSERT_EQ(event_loop_run(c.loop), 42);
        ASSERT_EQ(c.fired, 50);
        ASSERT_EQ(fds_open(), before + 1);
        event_loop_free(c.loop);
}

static void on_hup(EventSource *s, int fd, uint32_t events, void *userdata) {
        Ctx *c = userdata;
        c->fired++;
        (void) event_source_set_enabled(s, false);
}

/* A disabled source is not reported again, not even for EPOLLHUP, which epoll reports unasked. */
TEST(event_loop_disabled_hangup) {
        Ctx c = {};
        EventSource *src;
        int p[2];

        ASSERT_OK(event_loop_new(&c.loop));
        ASSERT_TRUE(pipe2(p, O_CLOEXEC) == 0);
        close(p[1]);
        ASSERT_OK(event_add_io(c.loop, p[0], EPOLLIN, on_hup, &c, &src));
        ASSERT_OK(event_add_timer(c.loop, 50000, on_timer, &c));
        ASSERT_EQ(event_loop_run(c.loop), 42);
        ASSERT_EQ(c.fired, 2); /* the hang-up once, then the timer */
        event_loop_free(c.loop);
        close(p[0]);
}

TEST(log_escapes_controls) {
        char path[] = "/tmp/berth-test-log-XXXXXX", buf[256] = {};
        int fd = mkstemp(path), saved = dup(STDERR_FILENO);

        ASSERT_TRUE(fd >= 0 && saved >= 0);
        (void) unlink(path);
        ASSERT_TRUE(dup2(fd, STDERR_FILENO) == STDERR_FILENO);
        log_error("name '%s' and \xc3\xa4", "a\nb\x1b[2J\tc");
        fflush(stderr);
        ASSERT_TRUE(dup2(saved, STDERR_FILENO) == STDERR_FILENO);
        ASSERT_TRUE(pread(fd, buf, sizeof buf - 1, 0) > 0);
        /* one line; UTF-8 stays as it is */
        ASSERT_STREQ(buf, "name 'a\\nb\\x1b[2J\\tc' and \xc3\xa4\n");
        close(fd);
        close(saved);
}

/* The SipHash paper's test vectors (Appendix A): key 00..0f, messages 00, 00 01, ... */
TEST(siphash24) {
        uint8_t key[16], msg[64];

        for (int i = 0; i < 16; i++)
                key[i] = (uint8_t) i;
        for (int i = 0; i < 64; i++)
                msg[i] = (uint8_t) i;
        ASSERT_EQ(siphash24(msg, 0, key), UINT64_C(0x726fdb47dd0e0e31));
        ASSERT_EQ(siphash24(msg, 15, key), UINT64_C(0xa129ca6149be45e5));
        ASSERT_EQ(siphash24(msg, 8, key), UINT64_C(0x93f5f5799a932462));
        ASSERT_EQ(siphash24(msg, 63, key), UINT64_C(0x958a324ceb064572));
}

DEFINE_TEST_MAIN

/* fork_behind(): the child has keep[] at 3.., /dev/null at 0..2 and nothing else once it returns, so
 * an flock the caller held on a file it shared with the child is free as soon as the caller lets go
 * (a next holder does not wait for the child to be scheduled). */
TEST(fork_behind) {
        char path[] = "/tmp/berth-test-fork-XXXXXX";
        int first = mkstemp(path), lock, p[2], again, status;
        struct stat st, null_st;
        pid_t pid;
        char answer[8] = {};

        ASSERT_TRUE(first >= 0);
        lock = fcntl(first, F_DUPFD_CLOEXEC, 50); /* above where the child's fds go */
        ASSERT_TRUE(lock >= 50);
        safe_close(first);
        ASSERT_TRUE(flock(lock, LOCK_EX) == 0);
        ASSERT_TRUE(pipe2(p, O_CLOEXEC) == 0);
        pid = fork_behind((int[]) { p[1], -1 }, 2);
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                /* fd 3: the pipe, fd 4: /dev/null, 0..2: /dev/null, 5 and the lock's fd: closed */
                bool ok = fstat(0, &st) >= 0 && stat("/dev/null", &null_st) >= 0 && st.st_rdev == null_st.st_rdev &&
                          fstat(4, &st) >= 0 && st.st_rdev == null_st.st_rdev && fcntl(5, F_GETFD) < 0 &&
                          fcntl(lock, F_GETFD) < 0;
                (void) !write(3, ok ? "ok" : "no", 2);
                _exit(0);
        }
        safe_close(p[1]);
        safe_close(lock);
        again = open(path, O_RDWR | O_CLOEXEC);
        ASSERT_TRUE(again >= 0);
        ASSERT_TRUE(flock(again, LOCK_EX | LOCK_NB) == 0); /* the child holds no copy of the first one */
        ASSERT_EQ(read(p[0], answer, sizeof answer - 1), 2);
        ASSERT_STREQ(answer, "ok");
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        safe_close(p[0]);
        safe_close(again);
        (void) unlink(path);
}

/* berthctl's glyphs follow the locale's character set, as systemd's special_glyph(). */
TEST(glyph) {
        ASSERT_TRUE(setlocale(LC_CTYPE, "C") != NULL);
        ASSERT_FALSE(is_locale_utf8());
        ASSERT_STREQ(glyph(GLYPH_ELLIPSIS), "...");
        ASSERT_STREQ(glyph(GLYPH_TREE_RIGHT), "`-");
        if (!setlocale(LC_CTYPE, "C.UTF-8"))
                return; /* a libc without C.UTF-8: the ASCII half is what ran */
        ASSERT_TRUE(is_locale_utf8());
        ASSERT_STREQ(glyph(GLYPH_ELLIPSIS), "\u2026");
        ASSERT_STREQ(glyph(GLYPH_TREE_BRANCH), "\u251c\u2500");
        ASSERT_STREQ(glyph(_GLYPH_MAX), "");
        (void) setlocale(LC_CTYPE, "C");
}

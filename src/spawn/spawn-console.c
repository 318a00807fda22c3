/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "spawn-console.h"

#define ESCAPE_CHAR 0x1d /* Ctrl-] */
#define ESCAPE_WINDOW_USEC 1000000ULL

struct ConsoleForward {
        int master;
        ConsoleMode mode;
        EventSource *master_source, *stdin_source;
        char in_buf[4096]; /* stdin -> master, waiting for the guest to read */
        size_t in_len;
        bool saved_termios_valid, stdin_eof;
        struct termios saved_termios;
        unsigned escape_count;
        uint64_t escape_first;
        void (*on_escape)(void *userdata);
        void *userdata;
};

static uint64_t now_usec(void) {
        struct timespec ts;
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

static void write_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return; /* our terminal went away: keep draining the guest */
                p += k;
                n -= (size_t) k;
        }
}

static void update_events(ConsoleForward *f) {
        (void) event_source_set_events(f->master_source, EPOLLIN | (f->in_len > 0 ? EPOLLOUT : 0));
        (void) event_source_set_enabled(f->stdin_source, f->in_len < sizeof f->in_buf && !f->stdin_eof);
}

static void drain_master(ConsoleForward *f) {
        char buf[8192];

        for (;;) {
                ssize_t n = read(f->master, buf, sizeof buf);
                if (n <= 0)
                        return;
                if (f->mode != CONSOLE_PASSIVE)
                        write_all(STDOUT_FILENO, buf, (size_t) n);
        }
}

static void flush_input(ConsoleForward *f) {
        while (f->in_len > 0) {
                ssize_t n = write(f->master, f->in_buf, f->in_len);
                if (n <= 0)
                        return;
                memmove(f->in_buf, f->in_buf + n, f->in_len - (size_t) n);
                f->in_len -= (size_t) n;
        }
}

static void on_master(EventSource *s, int fd, uint32_t revents, void *userdata) {
        ConsoleForward *f = userdata;

        if (revents & (EPOLLIN | EPOLLHUP))
                drain_master(f);
        if (revents & EPOLLOUT)
                flush_input(f);
        update_events(f);
}

/* Counts Ctrl-] presses; three within a second (with nothing in between) end the machine. */
static bool check_escape(ConsoleForward *f, const char *p, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (p[i] != ESCAPE_CHAR) {
                        f->escape_count = 0;
                        continue;
                }
                if (f->escape_count == 0 || now_usec() - f->escape_first > ESCAPE_WINDOW_USEC) {
                        f->escape_count = 0;
                        f->escape_first = now_usec();
                }
                if (++f->escape_count >= 3)
                        return true;
        }
        return false;
}

static void on_stdin(EventSource *s, int fd, uint32_t revents, void *userdata) {
        ConsoleForward *f = userdata;
        ssize_t n = read(STDIN_FILENO, f->in_buf + f->in_len, sizeof f->in_buf - f->in_len);

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                f->stdin_eof = true;
                update_events(f);
                return;
        }
        if (f->mode == CONSOLE_INTERACTIVE && check_escape(f, f->in_buf + f->in_len, (size_t) n)) {
                f->on_escape(f->userdata);
                return;
        }
        f->in_len += (size_t) n;
        flush_input(f);
        update_events(f);
}

void console_forward_resize(ConsoleForward *f) {
        struct winsize ws;

        if (!f)
                return;
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) >= 0 || ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) >= 0)
                (void) ioctl(f->master, TIOCSWINSZ, &ws);
}

static void make_raw(ConsoleForward *f) {
        struct termios raw;

        if (tcgetattr(STDIN_FILENO, &f->saved_termios) < 0)
                return;
        f->saved_termios_valid = true;
        raw = f->saved_termios;
        cfmakeraw(&raw);
        raw.c_oflag = f->saved_termios.c_oflag; /* keep our own output processing */
        (void) tcsetattr(STDIN_FILENO, TCSANOW, &raw);
}

int console_forward_new(EventLoop *e, int master, ConsoleMode mode, void (*on_escape)(void *userdata),
                        void *userdata, ConsoleForward **ret) {
        ConsoleForward *f = new0(ConsoleForward, 1);
        int r;

        if (!f)
                return -ENOMEM;
        *f = (ConsoleForward) { .master = master, .mode = mode, .on_escape = on_escape, .userdata = userdata };
        r = fd_nonblock(master, true);
        if (r >= 0)
                r = event_add_io(e, master, EPOLLIN, on_master, f, &f->master_source);
        if (r >= 0 && mode == CONSOLE_INTERACTIVE) {
                r = event_add_io(e, STDIN_FILENO, EPOLLIN, on_stdin, f, &f->stdin_source);
                if (r == -EPERM) /* stdin is a regular file or /dev/null: nothing to forward */
                        r = 0;
                if (r >= 0 && isatty(STDIN_FILENO))
                        make_raw(f);
        }
        if (r < 0) {
                console_forward_free(f);
                return r;
        }
        console_forward_resize(f);
        *ret = f;
        return 0;
}

ConsoleForward *console_forward_free(ConsoleForward *f) {
        if (!f)
                return NULL;
        drain_master(f);
        if (f->saved_termios_valid)
                (void) tcsetattr(STDIN_FILENO, TCSANOW, &f->saved_termios);
        /* The sources belong to the loop, which is freed after us. */
        (void) event_source_set_enabled(f->master_source, false);
        (void) event_source_set_enabled(f->stdin_source, false);
        free(f);
        return NULL;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _noreturn_ __attribute__((noreturn))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _pure_ __attribute__((pure))
#define _likely_(x) (__builtin_expect(!!(x), 1))
#define _unlikely_(x) (__builtin_expect(!!(x), 0))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Take ownership of a pointer or fd: the variable is reset so its cleanup does nothing. */
#define TAKE_PTR(p) ({ typeof(p) _p_ = (p); (p) = NULL; _p_; })
#define TAKE_FD(fd) ({ int _fd_ = (fd); (fd) = -EBADF; _fd_; })

/* Given "Foo* foo_free(Foo *f)", declares foo_freep() for _cleanup_(foo_freep). */
#define DEFINE_POINTER_CLEANUP(type, func)                \
        static inline void func##p(type *p) {             \
                *p = func(*p);                            \
        }

#define streq(a, b) (strcmp((a), (b)) == 0)
#define strneq(a, b, n) (strncmp((a), (b), (n)) == 0)
#define isempty(s) (!(s) || (s)[0] == '\0')
#define strna(s) ((s) ?: "n/a")
#define yes_no(b) ((b) ? "yes" : "no")

/* Negative errno from a libc call that returned -1 and set errno. */
#define negative_errno() (errno > 0 ? -errno : -EIO)

#define ERRNO_IS_NOT_SUPPORTED(r) \
        (IN_SET(abs(r), EOPNOTSUPP, ENOTTY, ENOSYS, EAFNOSUPPORT, EPFNOSUPPORT, EPROTONOSUPPORT, \
                ESOCKTNOSUPPORT, ENOPROTOOPT))

#define IN_SET(x, first, ...)                                                  \
        ({                                                                     \
                const typeof(first) _set_[] = { first, __VA_ARGS__ };          \
                bool _found_ = false;                                          \
                for (size_t _i_ = 0; _i_ < ELEMENTSOF(_set_); _i_++)           \
                        if (_set_[_i_] == (x)) {                               \
                                _found_ = true;                                \
                                break;                                         \
                        }                                                      \
                _found_;                                                       \
        })

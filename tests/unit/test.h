/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A tiny test registry: TEST(name) { ... } defines a test; main() runs them all, or the one
 * named by argv[1] (an unknown name fails). A test that cannot run here calls SKIP_TEST(why);
 * when every test that ran was skipped, the program exits 77, which meson reports as SKIP. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"

typedef struct TestCase {
        const char *name;
        void (*func)(void);
} TestCase;

#define TEST(n)                                                                          \
        static void test_##n(void);                                                      \
        static const TestCase _test_case_##n                                             \
                __attribute__((used, section("berth_tests"), aligned(sizeof(void *)))) = { \
                        .name = #n, .func = test_##n };                                  \
        static void test_##n(void)

extern const TestCase __start_berth_tests[];
extern const TestCase __stop_berth_tests[];

#define ASSERT_TRUE(expr)                                                                 \
        do {                                                                              \
                if (!(expr)) {                                                            \
                        fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, \
                                #expr);                                                   \
                        abort();                                                          \
                }                                                                         \
        } while (0)
#define ASSERT_FALSE(expr) ASSERT_TRUE(!(expr))
#define ASSERT_EQ(a, b)                                                                   \
        do {                                                                              \
                long long _a_ = (long long) (a), _b_ = (long long) (b);                   \
                if (_a_ != _b_) {                                                         \
                        fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, \
                                __LINE__, #a, #b, _a_, _b_);                              \
                        abort();                                                          \
                }                                                                         \
        } while (0)
#define ASSERT_STREQ(a, b)                                                                \
        do {                                                                              \
                const char *_a_ = (a), *_b_ = (b);                                        \
                if (!_a_ || !_b_ || strcmp(_a_, _b_) != 0) {                              \
                        fprintf(stderr, "%s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__,   \
                                _a_ ?: "(null)", _b_ ?: "(null)");                        \
                        abort();                                                          \
                }                                                                         \
        } while (0)
#define ASSERT_OK(expr)                                                                   \
        do {                                                                              \
                int _r_ = (expr);                                                         \
                if (_r_ < 0) {                                                            \
                        fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #expr, \
                                strerror(-_r_));                                          \
                        abort();                                                          \
                }                                                                         \
        } while (0)
#define ASSERT_ERROR(expr, err) ASSERT_EQ((expr), -(err))

/* Set by SKIP_TEST(); read by main() after each test. */
static int test_skipped_ __attribute__((unused));

#define SKIP_TEST(why)                                                                    \
        do {                                                                              \
                printf("    skipped: %s\n", (why));                                       \
                test_skipped_ = 1;                                                        \
                return;                                                                   \
        } while (0)

/* main(): runs before() once, the tests (all, or the one named by argv[1]), then after(). */
#define DEFINE_TEST_MAIN_WITH(before, after)                                              \
        int main(int argc, char **argv) {                                                 \
                int ran = 0, skipped = 0;                                                 \
                before;                                                                   \
                for (const TestCase *t = __start_berth_tests; t < __stop_berth_tests; t++) { \
                        if (argc > 1 && strcmp(argv[1], t->name) != 0)                    \
                                continue;                                                 \
                        printf("=== %s\n", t->name);                                      \
                        fflush(stdout);                                                   \
                        test_skipped_ = 0;                                                \
                        t->func();                                                        \
                        ran++;                                                            \
                        skipped += test_skipped_;                                         \
                }                                                                         \
                after;                                                                    \
                if (ran == 0) {                                                           \
                        fprintf(stderr, "No test named \"%s\".\n", argc > 1 ? argv[1] : ""); \
                        return EXIT_FAILURE;                                              \
                }                                                                         \
                printf("%d test(s) passed, %d skipped\n", ran - skipped, skipped);        \
                return skipped == ran ? 77 : EXIT_SUCCESS;                                \
        }

#define DEFINE_TEST_MAIN DEFINE_TEST_MAIN_WITH((void) 0, (void) 0)

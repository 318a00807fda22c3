/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>

#include "alloc-util.h"
#include "hostname-util.h"
#include "parse-util.h"
#include "path-util.h"
#include "string-util.h"
#include "strv.h"
#include "test.h"

TEST(hostname_is_valid) {
        ASSERT_TRUE(hostname_is_valid("foo"));
        ASSERT_TRUE(hostname_is_valid("web-1.example"));
        ASSERT_TRUE(hostname_is_valid("0123456789012345678901234567890123456789012345678901234567890123"));
        ASSERT_FALSE(hostname_is_valid("01234567890123456789012345678901234567890123456789012345678901234"));
        ASSERT_FALSE(hostname_is_valid(""));
        ASSERT_FALSE(hostname_is_valid(NULL));
        ASSERT_FALSE(hostname_is_valid("."));
        ASSERT_FALSE(hostname_is_valid(".."));
        ASSERT_FALSE(hostname_is_valid(".host"));
        ASSERT_FALSE(hostname_is_valid("a..b"));
        ASSERT_FALSE(hostname_is_valid("a."));
        ASSERT_FALSE(hostname_is_valid("a_b"));
        ASSERT_FALSE(hostname_is_valid("a/b"));
        ASSERT_FALSE(hostname_is_valid("a\nb"));
        ASSERT_FALSE(hostname_is_valid("-h"));
        ASSERT_FALSE(hostname_is_valid("--help"));
        ASSERT_FALSE(hostname_is_valid("x-"));
        ASSERT_FALSE(hostname_is_valid("a.-b"));
        ASSERT_FALSE(hostname_is_valid("a-.b"));
        ASSERT_TRUE(hostname_is_valid("a-b.c-d"));
        ASSERT_FALSE(hostname_is_valid("ä"));
}

TEST(hostname_cleanup) {
        _cleanup_free_ char *a = NULL, *b = NULL;
        char *c = NULL;

        ASSERT_OK(hostname_cleanup("my_tree", &a));
        ASSERT_STREQ(a, "mytree");
        ASSERT_OK(hostname_cleanup("..deb..ian.", &b));
        ASSERT_STREQ(b, "deb.ian");
        {
                _cleanup_free_ char *d = NULL;
                ASSERT_OK(hostname_cleanup("-x-.-y_-", &d));
                ASSERT_STREQ(d, "x.y");
        }
        ASSERT_ERROR(hostname_cleanup("___", &c), EINVAL);
}

TEST(parse_boolean) {
        ASSERT_EQ(parse_boolean("yes"), 1);
        ASSERT_EQ(parse_boolean("On"), 1);
        ASSERT_EQ(parse_boolean("0"), 0);
        ASSERT_EQ(parse_boolean("off"), 0);
        ASSERT_ERROR(parse_boolean("maybe"), EINVAL);
        ASSERT_ERROR(parse_boolean(""), EINVAL);
}

TEST(signals) {
        char buf[16];

        ASSERT_EQ(signal_from_string("SIGTERM"), SIGTERM);
        ASSERT_EQ(signal_from_string("TERM"), SIGTERM);
        ASSERT_EQ(signal_from_string("9"), SIGKILL);
        ASSERT_EQ(signal_from_string("SIGRTMIN+3"), SIGRTMIN + 3);
        ASSERT_EQ(signal_from_string("RTMIN+4"), SIGRTMIN + 4);
        ASSERT_EQ(signal_from_string("RTMAX-1"), SIGRTMAX - 1);
        ASSERT_ERROR(signal_from_string("SIGFOO"), EINVAL);
        ASSERT_ERROR(signal_from_string("0"), EINVAL);
        ASSERT_ERROR(signal_from_string("-1"), EINVAL);
        ASSERT_ERROR(signal_from_string("RTMIN+999"), EINVAL);
        ASSERT_ERROR(signal_from_string(""), EINVAL);
        ASSERT_STREQ(signal_to_string(SIGRTMIN + 3, buf), "SIGRTMIN+3");
        ASSERT_STREQ(signal_to_string(SIGINT, buf), "SIGINT");
        for (int s = 1; s <= SIGRTMAX; s++)
                if (s < 32 ? s != 32 && s != 33 : s >= SIGRTMIN)
                        ASSERT_EQ(signal_from_string(signal_to_string(s, buf)), s);
}

TEST(parse_sec) {
        uint64_t u;

        ASSERT_OK(parse_sec("30", &u));
        ASSERT_EQ(u, 30000000);
        ASSERT_OK(parse_sec("500ms", &u));
        ASSERT_EQ(u, 500000);
        ASSERT_OK(parse_sec("2min", &u));
        ASSERT_EQ(u, 120000000);
        ASSERT_OK(parse_sec("infinity", &u));
        ASSERT_EQ(u, UINT64_MAX);
        ASSERT_ERROR(parse_sec("-1", &u), EINVAL);
        ASSERT_ERROR(parse_sec("5 parsecs", &u), EINVAL);
        ASSERT_ERROR(parse_sec("", &u), EINVAL);
}

TEST(paths) {
        _cleanup_free_ char *j = NULL, *f = NULL, *a = NULL, *b = NULL;
        char *x = NULL;

        ASSERT_TRUE(path_is_safe_absolute("/a/b"));
        ASSERT_TRUE(path_is_safe_absolute("/"));
        ASSERT_FALSE(path_is_safe_absolute("a/b"));
        ASSERT_FALSE(path_is_safe_absolute("/a/../b"));
        ASSERT_FALSE(path_is_safe_absolute("/a//b"));
        ASSERT_FALSE(path_is_safe_absolute("/a/."));
        ASSERT_FALSE(path_is_safe_absolute("/a/"));
        j = path_join("/a/", "/b");
        ASSERT_STREQ(j, "/a/b");
        ASSERT_OK(path_extract_filename("/x/tree//", &f));
        ASSERT_STREQ(f, "tree");
        ASSERT_ERROR(path_extract_filename("/", &x), EADDRNOTAVAIL);
        ASSERT_OK(path_make_absolute_cwd("/a/./b/../c//d", &a));
        ASSERT_STREQ(a, "/a/c/d");
        ASSERT_OK(path_make_absolute_cwd("/..", &b));
        ASSERT_STREQ(b, "/");
        ASSERT_FALSE(filename_is_valid(".."));
        ASSERT_FALSE(filename_is_valid("a/b"));
        ASSERT_TRUE(filename_is_valid(".hidden"));
}

TEST(strv_env) {
        _cleanup_strv_free_ char **l = NULL;

        ASSERT_OK(strv_env_replace(&l, "A=1"));
        ASSERT_OK(strv_env_replace(&l, "B=2"));
        ASSERT_OK(strv_env_replace(&l, "A=3"));
        ASSERT_EQ(strv_length(l), 2);
        ASSERT_STREQ(strv_env_get(l, "A"), "3");
        ASSERT_TRUE(strv_env_get(l, "C") == NULL);
        ASSERT_TRUE(env_assignment_is_valid("FOO_1=bar baz"));
        ASSERT_FALSE(env_assignment_is_valid("=x"));
        ASSERT_FALSE(env_assignment_is_valid("1A=x"));
        ASSERT_FALSE(env_assignment_is_valid("NOEQUALS"));
}

TEST(strv_split_quoted) {
        char **l = NULL;

        ASSERT_OK(strv_split_quoted("  /bin/sh -c 'echo \"$A\" b'  \"x y\" z\\ w ''", &l));
        ASSERT_EQ(strv_length(l), 6);
        ASSERT_STREQ(l[2], "echo \"$A\" b");
        ASSERT_STREQ(l[3], "x y");
        ASSERT_STREQ(l[4], "z w");
        ASSERT_STREQ(l[5], "");
        l = strv_free(l);
        ASSERT_ERROR(strv_split_quoted("a 'b", &l), EINVAL);
        ASSERT_ERROR(strv_split_quoted("a\\", &l), EINVAL);
        ASSERT_OK(strv_split_quoted("   ", &l));
        ASSERT_EQ(strv_length(l), 0);
        l = strv_free(l);

        /* word_quote() round-trips through strv_split_quoted() */
        static const char *const words[] = { "plain", "with space", "q\"uo'te", "back\\slash", "", NULL };
        for (size_t i = 0; words[i]; i++) {
                char *q = word_quote(words[i]);
                ASSERT_TRUE(q != NULL);
                ASSERT_OK(strv_split_quoted(q, &l));
                ASSERT_EQ(strv_length(l), 1);
                ASSERT_STREQ(l[0], words[i]);
                l = strv_free(l);
                free(q);
        }
        {
                char *q = word_quote("plain");
                ASSERT_STREQ(q, "plain"); /* no quotes where none are needed */
                free(q);
        }
}

TEST(strings) {
        _cleanup_free_ char *e = NULL, *j = NULL;

        ASSERT_TRUE(utf8_is_valid("grüß"));
        ASSERT_FALSE(utf8_is_valid("\xc3\x28"));
        ASSERT_FALSE(utf8_is_valid("\xed\xa0\x80")); /* surrogate */
        ASSERT_TRUE(string_has_cc("a\tb"));
        ASSERT_FALSE(string_has_cc("ab"));
        e = cescape("a\nb\x1b");
        ASSERT_STREQ(e, "a\\nb\\x1b");
        j = strjoin("a", "b", "c");
        ASSERT_STREQ(j, "abc");
        ASSERT_STREQ(startswith("foobar", "foo"), "bar");
        ASSERT_TRUE(startswith("foobar", "bar") == NULL);
        ASSERT_STREQ(endswith("foobar", "bar"), "bar");
}

DEFINE_TEST_MAIN

TEST(ascii_strcasecmp) {
        ASSERT_EQ(ascii_strcasecmp("MEMORY-Peak", "memory-peak"), 0);
        ASSERT_EQ(ascii_strncasecmp("YESno", "yes", 3), 0);
        ASSERT_TRUE(ascii_strcasecmp("a", "b") < 0);
        ASSERT_TRUE(ascii_strcasecmp("ab", "a") > 0);
        ASSERT_TRUE(ascii_strcasecmp("\xc4\xb0", "i") != 0); /* no locale's case folding */
}

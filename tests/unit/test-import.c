/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berth-import's pure parts: which tar member names may be written, size parsing, pull URLs and
 * SHA256SUMS lines, the layer store's paths and stack files. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc-util.h"
#include "import-pull.h"
#include "import-tar.h"
#include "layer-store.h"
#include "parse-util.h"
#include "strv.h"
#include "test.h"

TEST(tar_member_names) {
        ASSERT_TRUE(tar_member_name_check("etc/os-release") == 0);
        ASSERT_TRUE(tar_member_name_check("./etc/os-release") == 0);
        ASSERT_TRUE(tar_member_name_check(".") == 0);
        ASSERT_TRUE(tar_member_name_check("./") == 0);
        ASSERT_TRUE(tar_member_name_check("a/..b/c..") == 0);
        ASSERT_TRUE(tar_member_name_check("/etc/shadow") == -EINVAL);
        ASSERT_TRUE(tar_member_name_check("../x") == -EINVAL);
        ASSERT_TRUE(tar_member_name_check("a/../../x") == -EINVAL);
        ASSERT_TRUE(tar_member_name_check("a/..") == -EINVAL);
        ASSERT_TRUE(tar_member_name_check("a//..//b") == -EINVAL);
        ASSERT_TRUE(tar_member_name_check(NULL) == -EINVAL);

        /* depth: TAR_DEPTH_MAX components pass, one more does not; "." and empty ones do not count */
        size_t n = (TAR_DEPTH_MAX + 1) * 2;
        char *deep = malloc(n + 1);
        ASSERT_TRUE(deep);
        for (size_t i = 0; i < n; i += 2)
                memcpy(deep + i, "d/", 2);
        deep[n - 1] = 0; /* TAR_DEPTH_MAX + 1 components */
        ASSERT_TRUE(tar_member_name_check(deep) == -E2BIG);
        deep[n - 3] = 0; /* TAR_DEPTH_MAX */
        ASSERT_TRUE(tar_member_name_check(deep) == 0);
        free(deep);
}

TEST(tar_formats) {
        ASSERT_TRUE(tar_format_check("uncompressed") == 0);
        ASSERT_TRUE(tar_format_check("zstd") > 0);
        ASSERT_TRUE(tar_format_check("lzma") == -EINVAL);
        ASSERT_TRUE(tar_format_check("") == -EINVAL);
}

TEST(parse_size) {
        uint64_t v;

        ASSERT_TRUE(parse_size("4096", &v) == 0 && v == 4096);
        ASSERT_TRUE(parse_size("1K", &v) == 0 && v == 1024);
        ASSERT_TRUE(parse_size("10G", &v) == 0 && v == 10ULL << 30);
        ASSERT_TRUE(parse_size("2MB", &v) == 0 && v == 2ULL << 20);
        ASSERT_TRUE(parse_size("1x", &v) == -EINVAL);
        ASSERT_TRUE(parse_size("-1", &v) == -EINVAL);
        ASSERT_TRUE(parse_size("", &v) == -EINVAL);
        ASSERT_TRUE(parse_size("1GG", &v) == -EINVAL);
        ASSERT_TRUE(parse_size("99999999999E", &v) == -ERANGE);
}

TEST(pull_urls) {
        char *s = NULL;

        ASSERT_TRUE(pull_url_is_valid("https://example.org/images/debian.tar.xz"));
        ASSERT_TRUE(pull_url_is_valid("http://127.0.0.1:8080/d/x.raw?sig=1"));
        ASSERT_TRUE(!pull_url_is_valid("ftp://example.org/x.tar"));
        ASSERT_TRUE(!pull_url_is_valid("https://example.org/"));
        ASSERT_TRUE(!pull_url_is_valid("https:///x.tar"));
        ASSERT_TRUE(!pull_url_is_valid("https://example.org/a b.tar"));
        ASSERT_TRUE(!pull_url_is_valid("https://example.org/x\n.tar"));
        ASSERT_TRUE(pull_url_filename("http://h/d/x.tar.gz?a=b#c", &s) == 0 && strcmp(s, "x.tar.gz") == 0);
        s = mfree(s);
        ASSERT_TRUE(pull_url_sibling("http://h/d/x.tar.gz?a=b", "SHA256SUMS", &s) == 0 &&
                    strcmp(s, "http://h/d/SHA256SUMS") == 0);
        s = mfree(s);
        ASSERT_TRUE(pull_verify_from_string("checksum") == PULL_VERIFY_CHECKSUM);
        ASSERT_TRUE(pull_verify_from_string("yes") == -EINVAL);
}

TEST(pull_checksums) {
        const char *sums = "0000000000000000000000000000000000000000000000000000000000000000  other.tar\n"
                           "ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789 *img.tar.xz\r\n"
                           "bad line img.raw\n";
        char *s = NULL;

        ASSERT_TRUE(pull_checksum_find(sums, "u", "img.tar.xz", &s) == 0);
        ASSERT_TRUE(strcmp(s, "sha256:abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789") == 0);
        s = mfree(s);
        ASSERT_TRUE(pull_checksum_find(sums, "u", "img.tar", &s) == -ENOENT);
        ASSERT_TRUE(pull_checksum_find(sums, "u", "img.raw", &s) == -ENOENT);
        ASSERT_TRUE(pull_checksum_find(sums, "u", "other.tar", &s) == 0);
        s = mfree(s);
}

DEFINE_TEST_MAIN

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

TEST(layer_paths) {
        _cleanup_free_ char *p = NULL;

        ASSERT_OK(layer_path_from_digest("sha256:" HEX64, &p));
        ASSERT_STREQ(p, ".#layers/sha256/" HEX64);
        ASSERT_TRUE(layer_path_is_valid(p));
        char *q = NULL;
        ASSERT_ERROR(layer_path_from_digest("sha512:" HEX64, &q), EBADMSG);
        ASSERT_ERROR(layer_path_from_digest("sha256:" HEX64 "0", &q), EBADMSG);
        ASSERT_ERROR(layer_path_from_digest("sha256:../../etc/passwd", &q), EBADMSG);
        ASSERT_ERROR(layer_path_from_digest(NULL, &q), EBADMSG);
        ASSERT_FALSE(layer_path_is_valid(".#layers/sha256/../../x"));
        ASSERT_FALSE(layer_path_is_valid("/var/lib/machines/.#layers/sha256/" HEX64));
        ASSERT_FALSE(layer_path_is_valid(".#layers/sha256/" "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
}

TEST(layer_stacks) {
        char dir[] = "/tmp/berth-test-stack-XXXXXX";
        char *layers[] = { (char *) ".#layers/sha256/" HEX64,
                           (char *) ".#layers/sha256/fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210", NULL };
        char **read = NULL;
        char *lower = NULL;

        ASSERT_TRUE(mkdtemp(dir));
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        ASSERT_ERROR(layer_stack_read(fd, &read), ENOENT);
        ASSERT_OK(layer_stack_write(fd, layers));
        ASSERT_ERROR(layer_stack_write(fd, layers), EEXIST);
        ASSERT_OK(layer_stack_read(fd, &read));
        ASSERT_EQ(strv_length(read), 2);
        ASSERT_STREQ(read[0], layers[0]);
        ASSERT_STREQ(read[1], layers[1]);
        ASSERT_OK(layer_lowerdir_from_stack(read, &lower));
        ASSERT_STREQ(lower, ".#layers/sha256/fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210:"
                            ".#layers/sha256/" HEX64); /* top first */
        free(lower);
        strv_free(read);
        /* a damaged stack file: a path out of the store, or nothing at all */
        static const char *const bad[] = { "../etc\n", "# only a comment\n", "/abs/.#layers/sha256/" HEX64 "\n" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                ASSERT_TRUE(unlinkat(fd, LAYER_STACK_FILE, 0) >= 0);
                int f = openat(fd, LAYER_STACK_FILE, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
                ASSERT_TRUE(f >= 0 && write(f, bad[i], strlen(bad[i])) == (ssize_t) strlen(bad[i]));
                close(f);
                read = NULL;
                ASSERT_ERROR(layer_stack_read(fd, &read), EBADMSG);
        }
        ASSERT_TRUE(unlinkat(fd, LAYER_STACK_FILE, 0) >= 0);
        close(fd);
        ASSERT_TRUE(rmdir(dir) >= 0);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc-util.h"
#include "helper-path.h"
#include "string-util.h"

char *helper_binary_path(const char *name, const char *build_dir, const char *env) {
        char self[4096];
        ssize_t n;

        if (env && getenv(env))
                return strdup(getenv(env));
        n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n > 0 && build_dir) {
                self[n] = 0;
                const char *rest = startswith(self, BUILD_ROOT);
                if (rest && rest[0] == '/') {
                        _cleanup_free_ char *p = strjoin(BUILD_ROOT "/", build_dir, "/", name);
                        if (p && access(p, X_OK) >= 0)
                                return TAKE_PTR(p);
                }
        }
        return strjoin(LIBEXECDIR "/berth/", name);
}

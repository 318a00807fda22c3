/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Where one of berth's programs under <libexecdir>/berth lives: $env if set; in the build tree
 * (BUILD_ROOT/build_dir/name) when the calling program itself runs from there (tests, benches);
 * else LIBEXECDIR/berth/name. NULL when out of memory. */
char *helper_binary_path(const char *name, const char *build_dir, const char *env);

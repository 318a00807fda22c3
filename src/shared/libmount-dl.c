/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>

#include "libmount-dl.h"
#include "log.h"
#include "macro.h"

typeof(mnt_new_table) *sym_mnt_new_table;
typeof(mnt_new_iter) *sym_mnt_new_iter;
typeof(mnt_free_iter) *sym_mnt_free_iter;
typeof(mnt_unref_table) *sym_mnt_unref_table;
typeof(mnt_table_parse_file) *sym_mnt_table_parse_file;
typeof(mnt_table_next_fs) *sym_mnt_table_next_fs;
typeof(mnt_fs_get_fstype) *sym_mnt_fs_get_fstype;
typeof(mnt_fs_get_target) *sym_mnt_fs_get_target;
typeof(mnt_fs_get_fs_options) *sym_mnt_fs_get_fs_options;
typeof(mnt_optstr_get_option) *sym_mnt_optstr_get_option;

#define SYM(name) { #name, (void **) &sym_##name }

int dlopen_libmount(void) {
        static const struct {
                const char *name;
                void **ptr;
        } syms[] = {
                SYM(mnt_new_table),     SYM(mnt_new_iter),          SYM(mnt_free_iter),
                SYM(mnt_unref_table),   SYM(mnt_table_parse_file),  SYM(mnt_table_next_fs),
                SYM(mnt_fs_get_fstype), SYM(mnt_fs_get_target),     SYM(mnt_fs_get_fs_options),
                SYM(mnt_optstr_get_option),
        };
        static void *handle;
        void *h;

        if (handle)
                return 0;
        h = dlopen("libmount.so.1", RTLD_NOW | RTLD_NODELETE);
        if (!h)
                return log_debug_errno(-ELIBACC, "Cannot load libmount.so.1: %s", dlerror());
        for (size_t i = 0; i < ELEMENTSOF(syms); i++) {
                *syms[i].ptr = dlsym(h, syms[i].name);
                if (!*syms[i].ptr) {
                        log_debug("libmount.so.1 lacks %s: %s", syms[i].name, dlerror());
                        dlclose(h);
                        return -ELIBACC;
                }
        }
        handle = h;
        return 0;
}

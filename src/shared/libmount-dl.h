/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* libmount, loaded the first time it is needed (as systemd does with its optional libraries): it
 * brings libblkid, libselinux (whose constructor probes for SELinux) and libpcre2 along, about a
 * millisecond on every start of a program that links it, while most runs of berthctl (list, show,
 * start, ...) and many of berth-spawn never read the mount table. */
#include <libmount.h>

extern typeof(mnt_new_table) *sym_mnt_new_table;
extern typeof(mnt_new_iter) *sym_mnt_new_iter;
extern typeof(mnt_free_iter) *sym_mnt_free_iter;
extern typeof(mnt_unref_table) *sym_mnt_unref_table;
extern typeof(mnt_table_parse_file) *sym_mnt_table_parse_file;
extern typeof(mnt_table_next_fs) *sym_mnt_table_next_fs;
extern typeof(mnt_fs_get_fstype) *sym_mnt_fs_get_fstype;
extern typeof(mnt_fs_get_target) *sym_mnt_fs_get_target;
extern typeof(mnt_fs_get_fs_options) *sym_mnt_fs_get_fs_options;
extern typeof(mnt_optstr_get_option) *sym_mnt_optstr_get_option;

/* 0 once the sym_ pointers are set; -ELIBACC if libmount.so.1 or one of them cannot be loaded (the
 * reason is logged at debug level). */
int dlopen_libmount(void);

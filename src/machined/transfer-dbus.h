/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* berth's import and export methods (io.berth.Machine1.Manager), shaped like systemd-importd's:
 * ImportTar/ImportRaw/ImportOCI/ImportFileSystem(h fd, s name, b force, b read_only) and
 * ExportTar/ExportRaw(s name, h fd, s format), PullTar/PullRaw(s url, s name, s verify, b force,
 * b read_only). Root only; each answers when the transfer is done, with the helper's own words on
 * failure. ListTransfers() and CancelTransfer(u id) see and stop them (importd's names). */

#include <systemd/sd-bus.h>

#define BUS_ERROR_NO_SUCH_TRANSFER "org.freedesktop.import1.NoSuchTransfer"
#define BUS_ERROR_TRANSFER_CANCELLED "io.berth.Machine1.TransferCancelled"

int bus_method_import_tar(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_import_raw(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_import_oci(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_import_fs(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_export_tar(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_export_raw(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_pull_oci(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_pull_tar(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_pull_raw(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_list_transfers(sd_bus_message *message, void *userdata, sd_bus_error *error);
int bus_method_cancel_transfer(sd_bus_message *message, void *userdata, sd_bus_error *error);

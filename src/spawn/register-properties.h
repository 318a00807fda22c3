/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* berth-spawn's --property= values as the unit properties systemd-machined's CreateMachine passes on
 * to systemd (as systemd-nspawn sends them), with systemd's D-Bus names and types: MemoryMax=,
 * MemoryHigh=, MemoryLow=, MemorySwapMax=, TasksMax=, CPUWeight=, CPUShares=, IOWeight= as t (bytes,
 * UINT64_MAX for infinity); CPUQuota= as CPUQuotaPerSecUSec t (50% -> 500000), CPUQuotaPeriodSec= as
 * CPUQuotaPeriodUSec t; AllowedCPUs=/AllowedMemoryNodes= as an ay bit mask; DevicePolicy= s;
 * DeviceAllow= a(ss); IODeviceWeight= and IO{Read,Write}{Bandwidth,IOPS}Max= a(st). */

#include <systemd/sd-bus.h>

/* Appends one (sv) per "NAME=VALUE" assignment into the open a(sv) of m. Each is parsed again
 * (-EINVAL, -ENOENT, ... for a bad one). */
int bus_append_cgroup_assignments(sd_bus_message *m, char *const *assignments);

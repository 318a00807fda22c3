/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* set-property: resource properties of a machine, through berthd's extension interface. */
#include <errno.h>
#include <string.h>

#include "alloc-util.h"
#include "bus-names.h"
#include "ctl-bus.h"
#include "ctl.h"
#include "hostname-util.h"
#include "log.h"
#include "string-util.h"
#include "strv.h"

int verb_set_property(sd_bus *bus, const CtlArgs *args, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *what = NULL;
        const char *name = argv[1];
        int r;

        if (!machine_name_is_valid(name))
                return ctl_invalid_name(name);
        for (int i = 2; i < argc; i++)
                if (!strchr(argv[i], '=') || argv[i][0] == '=')
                        return log_error_errno(-EINVAL, "Invalid property assignment '%s': use NAME=VALUE "
                                                        "(MemoryMax=1G, CPUWeight=200, ...).", argv[i]);
        what = strjoin("set properties of machine '", name, "'");
        r = sd_bus_message_new_method_call(bus, &m, MACHINE1_BUS_NAME, MACHINE1_PATH, BERTH_MANAGER_IFACE,
                                           "SetMachineProperties");
        if (r >= 0)
                r = sd_bus_message_append(m, "sb", name, (int) args->runtime);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, argv + 2);
        if (r < 0 || !what)
                return log_oom();
        r = sd_bus_call(bus, m, 0, &error, NULL);
        if (r < 0 && sd_bus_error_has_name(&error, SD_BUS_ERROR_INVALID_ARGS))
                return log_error_errno(r, "%s", error.message);
        if (r < 0)
                return ctl_log_bus_error(&error, r, what);
        return 0;
}

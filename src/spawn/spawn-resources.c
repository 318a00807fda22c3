/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "alloc-util.h"
#include "cgroup-apply.h"
#include "fileio.h"
#include "fd-util.h"
#include "log.h"
#include "mount-util.h"
#include "spawn-resources.h"
#include "string-util.h"
#include "strv.h"

/* As systemd-nspawn@.service's TasksMax=16384: a fork bomb stays inside, unless the user says otherwise.
 * Through the hierarchies the launcher found already: no parse of the mount table for a default. */
static void apply_default_tasks_max(SpawnContext *c) {
        int r;

        if (cgroup_limits_has(&c->config->limits.cgroup, CGROUP_PROP_TASKS_MAX))
                return;
        r = cgroup_set_pids_max(&c->cgroups, c->cgroup_path, 16384);
        if (r < 0)
                log_debug_errno(r, "Default TasksMax=16384 not applied: %m");
}

int spawn_step_cgroup_limits(SpawnContext *c) {
        _cleanup_strv_free_ char **warnings = NULL;
        _cleanup_free_ char *err = NULL;
        int r;

        if (c->scope_by_systemd) {
                /* machined's scope: systemd applies the properties the registration handed over */
                log_debug("systemd owns the scope of machine %s: it applies the resource properties.",
                          c->config->machine_name);
                return 0;
        }
        apply_default_tasks_max(c);
        if (c->config->limits.cgroup.mask == 0)
                return 0;
        r = cgroup_controllers_detect(&c->controllers);
        if (r < 0)
                return log_error_errno(r, "Failed to find the cgroup controllers of this host: %m");
        for (int i = 0; i < _CGROUP_CTRL_MAX; i++)
                log_debug("cgroup controller %s: %s", cgroup_controller_to_string(i),
                          cgroup_controller_location(&c->controllers, i));
        r = cgroup_limits_apply(&c->controllers, c->cgroup_path, &c->config->limits.cgroup, false, &warnings, &err);
        STRV_FOREACH(w, warnings)
                log_warning("%s", *w);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(r, "Failed to apply the resource properties: %s", err ?: strerror(-r));
        return 0;
}

int spawn_step_process_limits(SpawnContext *c) {
        const SpawnLimits *l = &c->config->limits;
        int r;

        for (int i = 0; i < RLIMIT_NLIMITS; i++)
                if (l->rlimits[i] && prlimit(c->pid, i, l->rlimits[i], NULL) < 0)
                        return log_error_errno(errno, "Failed to set the resource limit %s of the machine: %m",
                                               rlimit_to_string(i));
        if (l->oom_score_adjust_set) {
                char path[64], value[16];
                (void) snprintf(path, sizeof path, "/proc/%d/oom_score_adj", (int) c->pid);
                (void) snprintf(value, sizeof value, "%d", l->oom_score_adjust);
                r = write_string_file(path, value);
                if (r < 0)
                        return log_error_errno(r, "Failed to adjust the OOM score of the machine: %m");
        }
        if (l->cpu_affinity && sched_setaffinity(c->pid, CPU_ALLOC_SIZE(l->cpu_affinity_ncpus), l->cpu_affinity) < 0)
                return log_error_errno(errno, "Failed to set the CPU affinity of the machine (are the CPUs online?): %m");
        return 0;
}

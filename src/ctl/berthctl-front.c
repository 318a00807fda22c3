/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berthctl: the front. 'berthctl list' is what people (and scripts, and completions) run most, so
 * it is answered here, over berthd's Varlink socket, by a program that loads neither libsystemd nor
 * its dependencies (half of a list's time was the dynamic loader). Everything else, and a list that
 * cannot be answered that way, goes to the full tool (berthctl-bus) with the same command line. */
#include <errno.h>
#include <locale.h>
#include <malloc.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc-util.h"
#include "ctl-args.h"
#include "ctl-list.h"
#include "ctl-output.h"
#include "ctl-varlink.h"
#include "helper-path.h"
#include "log.h"
#include "string-util.h"
#include "strv.h"

static bool is_plain_list(const CtlArgs *arg, bool help, char **pos) {
        size_t n = strv_length(pos);

        /* --columns= reads cgroups through the full tool's code; machinectl's "no verb is list" */
        return !help && arg->n_columns == 0 && (n == 0 || (n == 1 && streq(pos[0], "list")));
}

/* The list's heap (the replies, their parsed JSON, the table: some 100 KiB for 100 machines) made
 * present in one call instead of a page fault per page: in a VM a fault can cost 30 µs, a third of
 * the client's own time in a list. Kept by malloc for the list once freed. */
#define LIST_HEAP_SIZE (256U * 1024U)

static void heap_prefault(void) {
        uintptr_t start;
        char *p;

        (void) mallopt(M_MMAP_THRESHOLD, 2 * LIST_HEAP_SIZE); /* from the heap, not a mapping of its own */
        (void) mallopt(M_TRIM_THRESHOLD, 4 * LIST_HEAP_SIZE); /* not given back when freed */
        p = malloc(LIST_HEAP_SIZE);
        if (!p)
                return;
        start = ((uintptr_t) p + 4095) & ~(uintptr_t) 4095;
        (void) madvise((void *) start, LIST_HEAP_SIZE - 4096, MADV_POPULATE_WRITE); /* Linux >= 5.14 */
        free(p);
}

static int quick_list(const CtlArgs *arg) {
        ListState s = { .args = arg };
        int r;

        heap_prefault();

        r = ctl_varlink_list(&s);
        if (r > 0) {
                r = ctl_list_show(&s);
                ctl_pager_close();
                r = r < 0 ? r : 1;
        }
        ctl_list_done(&s);
        return r;
}

int main(int argc, char *argv[]) {
        CtlArgs arg = { .legend = true, .pager = true };
        _cleanup_strv_free_ char **pos = NULL;
        _cleanup_free_ char *full = NULL;
        bool help = false;
        int r;

        (void) setlocale(LC_CTYPE, ""); /* as berthctl.c: the character set only */
        log_parse_environment();
        /* quietly: a command line the full tool refuses, it explains */
        r = ctl_parse_argv(argc, argv, true, &arg, &help, &pos);
        if (r == 0)
                return EXIT_SUCCESS; /* --version */
        if (r > 0 && is_plain_list(&arg, help, pos)) {
                r = quick_list(&arg);
                if (r != 0)
                        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        }
        full = helper_binary_path("berthctl-bus", "src/ctl", "BERTHCTL_BUS_BINARY");
        if (!full)
                return log_oom(), EXIT_FAILURE;
        execv(full, argv);
        log_error_errno(errno, "Failed to run %s: %m. Is berth installed completely (meson install)?", full);
        return EXIT_FAILURE;
}

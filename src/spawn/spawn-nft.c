/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "alloc-util.h"
#include "run-program.h"
#include "spawn-nft.h"

#define BERTH_NFT_TABLE "ip berth"

/* "add; delete" first, so the delete cannot fail on a missing table (LXC's trick), then the
 * table afresh: one transaction, either all of it applies or nothing. */
char *spawn_nft_render(const Ipv4Prefix *subnets, size_t n) {
        char *s = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&s, &size);

        if (!f)
                return NULL;
        fputs("add table " BERTH_NFT_TABLE "\n"
              "delete table " BERTH_NFT_TABLE "\n", f);
        if (n > 0) {
                fputs("table " BERTH_NFT_TABLE " {\n"
                      "\tset machines {\n"
                      "\t\ttype ipv4_addr\n"
                      "\t\tflags interval\n"
                      "\t\telements = { ", f);
                for (size_t i = 0; i < n; i++) {
                        uint32_t a = subnets[i].addr;
                        fprintf(f, "%s%u.%u.%u.%u/%u", i ? ", " : "", a >> 24, (a >> 16) & 0xff,
                                (a >> 8) & 0xff, a & 0xff, subnets[i].len);
                }
                fputs(" }\n"
                      "\t}\n"
                      "\tchain postrouting {\n"
                      "\t\ttype nat hook postrouting priority srcnat + 1; policy accept;\n"
                      "\t\tip saddr @machines ip daddr != @machines masquerade\n"
                      "\t}\n"
                      "}\n", f);
        }
        if (fclose(f) != 0) {
                free(s);
                return NULL;
        }
        return s;
}

int spawn_nft_apply(const Ipv4Prefix *subnets, size_t n, char *err, size_t err_size) {
        _cleanup_free_ char *script = spawn_nft_render(subnets, n);
        char *argv[] = { (char *) "nft", (char *) "-f", (char *) "-", NULL };
        int r;

        if (!script)
                return -ENOMEM;
        r = run_program(argv, script, err, err_size);
        if (r < 0)
                return r;
        return r == 0 ? 0 : -EPROTO;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc-util.h"
#include "run-program.h"
#include "spawn-nft.h"

#define BERTH_NFT_TABLE "ip berth"

void nft_machines_done(NftMachines *m) {
        free(m->subnets);
        free(m->ports);
        *m = (NftMachines) {};
}

static void put_ipv4(FILE *f, uint32_t a) {
        fprintf(f, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

static void render_ports(FILE *f, const NftMachines *m) {
        fputs("\tmap ports {\n"
              "\t\ttype inet_proto . inet_service : ipv4_addr . inet_service\n"
              "\t\telements = { ", f);
        for (size_t i = 0; i < m->n_ports; i++) {
                const NftPort *p = &m->ports[i];
                fprintf(f, "%s%s . %u : ", i ? ", " : "", p->protocol == IPPROTO_UDP ? "udp" : "tcp", p->host_port);
                put_ipv4(f, p->guest_addr);
                fprintf(f, " . %u", p->guest_port);
        }
        fputs(" }\n"
              "\t}\n"
              "\tchain prerouting {\n"
              "\t\ttype nat hook prerouting priority -99; policy accept;\n"
              "\t\tfib daddr type local dnat ip addr . port to meta l4proto . th dport map @ports\n"
              "\t}\n"
              "\tchain output {\n"
              "\t\ttype nat hook output priority -99; policy accept;\n"
              "\t\tfib daddr type local dnat ip addr . port to meta l4proto . th dport map @ports\n"
              "\t}\n", f);
}

/* "add; delete" first, so the delete cannot fail on a missing table (LXC's trick), then the
 * table afresh: one transaction, either all of it applies or nothing. */
char *spawn_nft_render(const NftMachines *m) {
        char *s = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&s, &size);

        if (!f)
                return NULL;
        fputs("add table " BERTH_NFT_TABLE "\n"
              "delete table " BERTH_NFT_TABLE "\n", f);
        if (m->n_subnets > 0) {
                fputs("table " BERTH_NFT_TABLE " {\n"
                      "\tset machines {\n"
                      "\t\ttype ipv4_addr\n"
                      "\t\tflags interval\n"
                      "\t\telements = { ", f);
                for (size_t i = 0; i < m->n_subnets; i++) {
                        fputs(i ? ", " : "", f);
                        put_ipv4(f, m->subnets[i].addr);
                        fprintf(f, "/%u", m->subnets[i].len);
                }
                fputs(" }\n"
                      "\t}\n", f);
                if (m->n_ports > 0)
                        render_ports(f, m);
                fputs("\tchain postrouting {\n"
                      "\t\ttype nat hook postrouting priority srcnat + 1; policy accept;\n"
                      "\t\tip saddr @machines ip daddr != @machines masquerade\n"
                      "\t\tct status dnat ip saddr 127.0.0.0/8 masquerade\n"
                      "\t\tct status dnat ip saddr @machines ip daddr @machines masquerade\n"
                      "\t}\n"
                      "}\n", f);
        }
        if (fclose(f) != 0) {
                free(s);
                return NULL;
        }
        return s;
}

static char *nft_argv[] = { (char *) "nft", (char *) "-f", (char *) "-", NULL };

int spawn_nft_apply_start(const NftMachines *m, RunningProgram *ret) {
        _cleanup_free_ char *script = spawn_nft_render(m);

        if (!script)
                return -ENOMEM;
        return run_program_start(nft_argv, script, ret);
}

int spawn_nft_apply_finish(RunningProgram *p, char *err, size_t err_size) {
        int r = run_program_finish(p, err, err_size);

        if (r < 0)
                return r;
        if (err_size > 0)
                err[strcspn(err, "\n")] = 0; /* nft's first line says it; the rest quotes our script */
        return r == 0 ? 0 : -EPROTO;
}

int spawn_nft_apply(const NftMachines *m, char *err, size_t err_size) {
        RunningProgram p;
        int r = spawn_nft_apply_start(m, &p);

        if (r < 0)
                return r;
        return spawn_nft_apply_finish(&p, err, err_size);
}

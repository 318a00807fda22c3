/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc-util.h"
#include "netlink-util.h"
#include "run-program.h"
#include "spawn-nft.h"

#define BERTH_NFT_TABLE "ip berth"
#define BERTH_NFT_TABLE6 "ip6 berth"

void nft_machines_done(NftMachines *m) {
        free(m->subnets);
        free(m->subnets6);
        free(m->ports);
        *m = (NftMachines) {};
}

static void put_ipv4(FILE *f, uint32_t a) {
        char buf[16];

        ipv4_to_string(a, buf);
        fputs(buf, f);
}

static void put_ipv6(FILE *f, const uint8_t a[static 16]) {
        char buf[INET6_ADDRSTRLEN];

        fputs(inet_ntop(AF_INET6, a, buf, sizeof buf) ?: "::", f);
}

/* The DNAT map and chains, there with no port published too (spawn-nfset.c adds a machine's
 * ports to the map); ipv6: to the machines' ::2, and not from ::1. */
static void render_ports(FILE *f, const NftMachines *m, bool ipv6) {
        const char *fam = ipv6 ? "ip6" : "ip";

        fprintf(f, "\tmap ports {\n"
                   "\t\ttype inet_proto . inet_service : %s . inet_service\n", ipv6 ? "ipv6_addr" : "ipv4_addr");
        if (m->n_ports > 0)
                fputs("\t\telements = { ", f);
        for (size_t i = 0; i < m->n_ports; i++) {
                const NftPort *p = &m->ports[i];
                fprintf(f, "%s%s . %u : ", i ? ", " : "", p->protocol == IPPROTO_UDP ? "udp" : "tcp", p->host_port);
                if (ipv6)
                        put_ipv6(f, p->guest_addr6);
                else
                        put_ipv4(f, p->guest_addr);
                fprintf(f, " . %u", p->guest_port);
        }
        fprintf(f, "%s"
                   "\t}\n"
                   "\tchain prerouting {\n"
                   "\t\ttype nat hook prerouting priority -99; policy accept;\n"
                   "\t\tfib daddr type local dnat %s addr . port to meta l4proto . th dport map @ports\n"
                   "\t}\n"
                   "\tchain output {\n"
                   "\t\ttype nat hook output priority -99; policy accept;\n"
                   "\t\t%sfib daddr type local dnat %s addr . port to meta l4proto . th dport map @ports\n"
                   "\t}\n", m->n_ports > 0 ? " }\n" : "", fam, ipv6 ? "ip6 daddr != ::1 " : "", fam);
}

/* One family's table: the machines' subnets, masquerade out of them, the published ports. */
static void render_table(FILE *f, const NftMachines *m, bool ipv6) {
        const char *fam = ipv6 ? "ip6" : "ip";

        fprintf(f, "table %s {\n"
                   "\tset machines {\n"
                   "\t\ttype %s\n"
                   "\t\tflags interval\n", ipv6 ? BERTH_NFT_TABLE6 : BERTH_NFT_TABLE, ipv6 ? "ipv6_addr" : "ipv4_addr");
        for (size_t i = 0; i < m->n_subnets; i++) {
                fputs(i ? ", " : "\t\telements = { ", f);
                if (ipv6)
                        put_ipv6(f, m->subnets6[i]);
                else
                        put_ipv4(f, m->subnets[i].addr);
                fprintf(f, "/%u", ipv6 ? 64 : m->subnets[i].len);
        }
        fputs(m->n_subnets > 0 ? " }\n\t}\n" : "\t}\n", f);
        render_ports(f, m, ipv6);
        fprintf(f, "\tchain postrouting {\n"
                   "\t\ttype nat hook postrouting priority srcnat + 1; policy accept;\n"
                   "\t\t%s saddr @machines %s daddr != @machines masquerade\n"
                   "%s"
                   "\t\tct status dnat %s saddr @machines %s daddr @machines masquerade\n"
                   "\t}\n"
                   "}\n", fam, fam, ipv6 ? "" : "\t\tct status dnat ip saddr 127.0.0.0/8 masquerade\n", fam, fam);
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
        fputs("add table " BERTH_NFT_TABLE6 "\n"
              "delete table " BERTH_NFT_TABLE6 "\n", f);
        render_table(f, m, false);
        if (m->ipv6)
                render_table(f, m, true);
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

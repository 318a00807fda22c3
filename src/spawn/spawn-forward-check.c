/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc-util.h"
#include "fd-util.h"
#include "log.h"
#include "spawn-forward-check.h"
#include "spawn-network.h"
#include "string-util.h"

#define FORWARD_MARKER SPAWN_NETWORK_DIR "/.forward-checked"

extern char **environ;

bool spawn_forward_drop_in_nft(const char *text, const char **ret_table) {
        static char table[128];
        const char *line = text;

        table[0] = 0;
        while (line && *line) {
                const char *end = strchrnul(line, '\n');
                char t[128];

                if (sscanf(line, "table %127[^{\n]", t) == 1) {
                        size_t l = strlen(t);
                        while (l > 0 && t[l - 1] == ' ')
                                t[--l] = 0;
                        memcpy(table, t, l + 1);
                } else if (!streq(table, "ip berth") && !streq(table, "ip6 berth")) {
                        _cleanup_free_ char *s = strndup(line, (size_t) (end - line));
                        if (s && strstr(s, "hook forward") && strstr(s, "policy drop")) {
                                if (ret_table)
                                        *ret_table = table;
                                return true;
                        }
                }
                line = *end ? end + 1 : NULL;
        }
        return false;
}

bool spawn_forward_drop_in_iptables(const char *text) {
        return strstr(text, "-P FORWARD DROP") != NULL;
}

/* ARGV's stdout, up to size-1 bytes; NULL when it cannot run or fails. */
static char *output_of(char *const argv[], char *buf, size_t size) {
        posix_spawn_file_actions_t fa;
        _cleanup_close_ int rd = -EBADF;
        int p[2], status;
        size_t n = 0;
        ssize_t k;
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                return NULL;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
        posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
        k = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        rd = p[0];
        close(p[1]);
        if (k != 0)
                return NULL;
        while (n + 1 < size && (k = read(rd, buf + n, size - 1 - n)) > 0)
                n += (size_t) k;
        buf[n] = 0;
        rd = safe_close(rd); /* a longer listing: the rest is not needed */
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return NULL;
        return buf;
}

void spawn_forward_check(void) {
        static char *const nft[] = { (char *) "nft", (char *) "list", (char *) "chains", NULL };
        static char *const ipt[] = { (char *) "iptables-legacy", (char *) "-w", (char *) "-S", (char *) "FORWARD",
                                     NULL };
        char buf[65536];
        const char *table = NULL;
        int fd;

        fd = open(FORWARD_MARKER, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
                return; /* checked already this boot (or cannot tell: not worth a message) */
        close(fd);
        if (output_of(nft, buf, sizeof buf) && spawn_forward_drop_in_nft(buf, &table))
                log_warning("The host's firewall drops forwarded traffic (a forward chain with policy drop in "
                            "nftables table '%s'): machines with -n cannot reach beyond the host. Accept "
                            "ve-*/vz-*/vb-* traffic there (Docker: rules in the DOCKER-USER chain).",
                            table);
        else if (access("/proc/net/ip_tables_names", F_OK) == 0 && /* loaded: -S does not load a module */
                 output_of(ipt, buf, sizeof buf) && spawn_forward_drop_in_iptables(buf))
                log_warning("The host's firewall drops forwarded traffic (iptables-legacy FORWARD policy DROP): "
                            "machines with -n cannot reach beyond the host. Accept ve-*/vz-*/vb-* traffic "
                            "(iptables -I FORWARD -i ve-+ -j ACCEPT and the same for -o, vz-+, vb-+).");
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bpf-devices.h"
#include "fd-util.h"
#include "macro.h"

/* The few instructions we need (linux/filter.h's macros are not part of the UAPI). */
#define INSN(c, d, s, o, i) ((struct bpf_insn) { .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define LDX_W(dst, src, off) INSN(BPF_LDX | BPF_W | BPF_MEM, dst, src, off, 0)
#define MOV_REG(dst, src) INSN(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0)
#define MOV_IMM(dst, imm) INSN(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
#define AND_IMM(dst, imm) INSN(BPF_ALU64 | BPF_AND | BPF_K, dst, 0, 0, imm)
#define RSH_IMM(dst, imm) INSN(BPF_ALU64 | BPF_RSH | BPF_K, dst, 0, 0, imm)
#define JNE_IMM(dst, imm, off) INSN(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm)
#define JEQ_IMM(dst, imm, off) INSN(BPF_JMP | BPF_JEQ | BPF_K, dst, 0, off, imm)
#define EXIT_INSN() INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

#define MAX_RULES 64

/* r2 = type, r3 = access, r4 = major, r5 = minor; return 1 to allow. */
static unsigned build_program(const DeviceRule *rules, unsigned n, struct bpf_insn *p) {
        unsigned k = 0;

        p[k++] = LDX_W(2, 1, offsetof(struct bpf_cgroup_dev_ctx, access_type));
        p[k++] = MOV_REG(3, 2);
        p[k++] = AND_IMM(2, 0xffff);
        p[k++] = RSH_IMM(3, 16);
        p[k++] = LDX_W(4, 1, offsetof(struct bpf_cgroup_dev_ctx, major));
        p[k++] = LDX_W(5, 1, offsetof(struct bpf_cgroup_dev_ctx, minor));
        /* mknod alone of anything is allowed: such a node still cannot be opened */
        p[k++] = JNE_IMM(3, BPF_DEVCG_ACC_MKNOD, 2);
        p[k++] = MOV_IMM(0, 1);
        p[k++] = EXIT_INSN();
        for (unsigned i = 0; i < n; i++) {
                int type = rules[i].type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
                unsigned checks = 1 + (rules[i].major >= 0) + (rules[i].minor >= 0), left = checks;
                uint8_t acc = rules[i].access & DEVICE_ACCESS_ALL;

                if (acc != 0 && acc != DEVICE_ACCESS_ALL) {
                        /* an access this rule does not grant skips it */
                        p[k++] = MOV_REG(1, 3);
                        p[k++] = AND_IMM(1, (~acc) & DEVICE_ACCESS_ALL);
                        p[k++] = JNE_IMM(1, 0, (int16_t) (checks + 2));
                }
                /* each check jumps past the rest of this rule (its other checks and the 2-insn allow) */
                p[k++] = JNE_IMM(2, type, (int16_t) (--left + 2));
                if (rules[i].major >= 0)
                        p[k++] = JNE_IMM(4, rules[i].major, (int16_t) (--left + 2));
                if (rules[i].minor >= 0)
                        p[k++] = JNE_IMM(5, rules[i].minor, (int16_t) (--left + 2));
                p[k++] = MOV_IMM(0, 1);
                p[k++] = EXIT_INSN();
        }
        p[k++] = MOV_IMM(0, 0);
        p[k++] = EXIT_INSN();
        return k;
}

uint8_t device_access_from_string(const char *s) {
        uint8_t a = 0;

        for (; s && *s; s++)
                a |= *s == 'r' ? DEVICE_ACCESS_READ : *s == 'w' ? DEVICE_ACCESS_WRITE : *s == 'm' ? DEVICE_ACCESS_MKNOD : 0;
        return a;
}

int bpf_devices_attach(const char *cgroup_path, const DeviceRule *rules, unsigned n_rules) {
        struct bpf_insn prog[16 + 8 * MAX_RULES];
        _cleanup_close_ int prog_fd = -EBADF, cg = -EBADF;
        union bpf_attr attr;
        unsigned n;

        if (n_rules > MAX_RULES)
                return -E2BIG;
        n = build_program(rules, n_rules, prog);

        memset(&attr, 0, sizeof attr);
        attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
        attr.insns = (uint64_t) (uintptr_t) prog;
        attr.insn_cnt = n;
        attr.license = (uint64_t) (uintptr_t) "GPL";
        prog_fd = (int) syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
        if (prog_fd < 0)
                return -errno;

        cg = open(cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cg < 0)
                return -errno;
        memset(&attr, 0, sizeof attr);
        attr.target_fd = (uint32_t) cg;
        attr.attach_bpf_fd = (uint32_t) prog_fd;
        attr.attach_type = BPF_CGROUP_DEVICE;
        attr.attach_flags = BPF_F_ALLOW_MULTI;
        if (syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof attr) < 0)
                return -errno;
        return 0;
}

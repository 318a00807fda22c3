#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""-n/--network-veth: berth-spawn against stock systemd-nspawn -n (--register=no --keep-unit, which
makes the veth and nothing else), and what the network costs berth over --private-network. Not a test.

    sudo tests/bench/bench_network.py [--runs N]
"""
import argparse
import os
import statistics
import sys
import tempfile

from bench import NSPAWN, TOOLS, guests, report, timed


def bench_veth_true(tree, runs):
    res = {"berth": [], "nspawn": []}
    for _ in range(runs):
        for tool in ("berth", "nspawn"):
            res[tool].append(timed([*TOOLS[tool], "-q", "-D", tree, "-M", "bench-net", "-n", "/bin/true"]))
    report("-n /bin/true in the busybox tree (ms)", res, 0.35)


def bench_veth_cost(tree, runs):
    private, veth = [], []
    for _ in range(runs):
        private.append(timed([*TOOLS["berth"], "-q", "-D", tree, "-M", "bench-net", "--private-network", "/bin/true"]))
        veth.append(timed([*TOOLS["berth"], "-q", "-D", tree, "-M", "bench-net", "-n", "/bin/true"]))
    p, v = statistics.median(private), statistics.median(veth)
    verdict = "ok" if v - p <= 0.010 else "MISSED"
    print(f"{'-n cost over --private-network (ms)':<44} private {p * 1000:7.1f}  -n     {v * 1000:9.1f}  "
          f"added {(v - p) * 1000:5.1f} ms  (target <= 10 ms: {verdict})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    if os.geteuid() != 0 or not NSPAWN:
        sys.exit("Run as root, with systemd-container installed.")
    with tempfile.TemporaryDirectory(prefix="berth-bench-", dir="/var/tmp") as d:
        bb = guests.make_busybox_tree(os.path.join(d, "bb"))
        bench_veth_true(bb, args.runs)
        bench_veth_cost(bb, args.runs)


if __name__ == "__main__":
    main()

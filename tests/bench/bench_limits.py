#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Resource control, side by side in one run (root; hold /tmp/berth-integration.lock). Prints
medians and ratios; it is not a test.

  * `berth-spawn -D tree /bin/true` with and without five --property= (MemoryMax, TasksMax,
    CPUQuota, CPUWeight, AllowedCPUs), next to stock `systemd-nspawn --register=no --keep-unit`
    (which cannot apply properties without systemd as PID 1);
  * the CPU time of one `berthctl top` refresh with N machines (their cgroups, made for the bench
    in every hierarchy), next to `systemd-cgtop -b` over the same cgroups;
  * a machine at CPUQuota=50% spinning while the host runs a busy loop on every CPU: the host's
    throughput as a ratio to none running (its share is 1 - 0.5/CPUs), next to a machine without
    a quota.

    BERTH_BUILD_DIR=build /usr/bin/python3 tests/bench/bench_limits.py [--runs 30] [--machines 100]
        [--quota-seconds 3] [--quota-rounds 3]
"""

import argparse
import glob
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import guests  # noqa: E402
from conftest import BUILD, SPAWN  # noqa: E402

CTL = os.path.join(BUILD, "src", "ctl", "berthctl")
PROPS = ["--property=MemoryMax=1G", "--property=TasksMax=1000", "--property=CPUQuota=150%",
         "--property=CPUWeight=100", "--property=AllowedCPUs=0-1"]


def wall(cmd):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise RuntimeError(f"{cmd} failed: {r.stderr}")
    return (time.perf_counter() - t0) * 1000


def cpu_ms(cmd):
    """CPU time (user + system) of cmd and its children, in ms."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise RuntimeError(f"{cmd} failed: {r.stderr}")
    return ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) * 1000


def bench_true(runs):
    tree = guests.make_busybox_tree(tempfile.mkdtemp(prefix="berth-bench-") + "/bb")
    try:
        plain, props, nspawn = [], [], []
        for i in range(runs):  # interleaved, in turns first, so drift and order hit both alike
            for which in ((plain, []), (props, PROPS))[:: 1 if i % 2 else -1]:
                which[0].append(wall([SPAWN, "-q", "-D", tree, "-M", "bench-lim", *which[1], "/bin/true"]))
            if shutil.which("systemd-nspawn"):
                nspawn.append(wall(["systemd-nspawn", "--register=no", "--keep-unit", "-q", "-D", tree,
                                    "/bin/true"]))
        p, q = statistics.median(plain), statistics.median(props)
        paired = statistics.median(b - a for a, b in zip(plain, props))
        print(f"/bin/true: berth-spawn {p:.2f} ms, with five properties {q:.2f} ms: +{paired:.2f} ms "
              f"(median of the {runs} paired differences; ratio of medians {q / p:.3f})")
        if nspawn:
            n = statistics.median(nspawn)
            print(f"           stock systemd-nspawn --keep-unit {n:.2f} ms (berth with properties / nspawn: "
                  f"{q / n:.2f})")
    finally:
        shutil.rmtree(os.path.dirname(tree), ignore_errors=True)


def hierarchies():
    return [h for h in glob.glob("/sys/fs/cgroup/*") + ["/sys/fs/cgroup"]
            if os.path.isfile(os.path.join(h, "cgroup.procs")) and not os.path.islink(h)]


def bench_top(n, runs):
    made = []
    try:
        for h in hierarchies():
            for i in range(n):
                d = os.path.join(h, "machine.slice", f"machine-benchtop{i}.scope")
                os.makedirs(d, exist_ok=True)
                made.append(d)
        # one refresh = the CPU of (k+1) samples minus that of one sample, over k
        k = 10
        one = statistics.median(cpu_ms([CTL, "top", "--iterations=1", "--json=short"]) for _ in range(runs))
        many = statistics.median(cpu_ms([CTL, "top", f"--iterations={k + 1}", "--delay=1ms", "--json=short"])
                                 for _ in range(runs))
        ours = (many - one) / k
        print(f"berthctl top, {n} machines: {ours:.2f} ms CPU per refresh (a run of one sample: {one:.2f} ms)")
        if shutil.which("systemd-cgtop"):
            c1 = statistics.median(cpu_ms(["systemd-cgtop", "-b", "-n", "1", "-d", "0.001"]) for _ in range(runs))
            ck = statistics.median(cpu_ms(["systemd-cgtop", "-b", "-n", str(k + 1), "-d", "0.001"])
                                   for _ in range(runs))
            theirs = (ck - c1) / k
            print(f"systemd-cgtop -b (every cgroup of the host): {theirs:.2f} ms CPU per refresh; "
                  f"ratio berthctl/cgtop {ours / theirs:.2f}" if theirs > 0 else
                  f"systemd-cgtop -b: {theirs:.2f} ms CPU per refresh")
    finally:
        for d in reversed(made):
            try:
                os.rmdir(d)
            except OSError:
                pass


WORKER = """
import sys, time
end = time.monotonic() + float(sys.argv[1])
n = 0
while True:
    for _ in range(10000):
        n += 1
    if time.monotonic() >= end:
        break
print(n)
"""


def host_throughput(seconds, workers):
    """Iterations of a busy loop on the host, one process per CPU, summed."""
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(seconds)], stdout=subprocess.PIPE, text=True)
             for _ in range(workers)]
    return sum(int(p.communicate()[0]) for p in procs)


def busy_machine(tree, *props):
    p = subprocess.Popen([SPAWN, "-q", "-D", tree, "-M", "bench-quota", *props, "/bin/sh", "-c",
                          "trap 'exit 0' TERM; while :; do :; done"], stdin=subprocess.DEVNULL)
    time.sleep(0.5)  # started and spinning
    return p


def stop_machine(p):
    p.terminate()
    try:
        p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def bench_quota(seconds, rounds):
    """A machine at CPUQuota=50% spinning, against the host's own busy loops on every CPU: what the
    host keeps, next to a machine without a quota."""
    cpus = os.cpu_count() or 1
    tree = guests.make_busybox_tree(tempfile.mkdtemp(prefix="berth-bench-") + "/bb")
    results = {"none": [], "quota": [], "free": []}
    try:
        for _ in range(rounds):  # interleaved
            results["none"].append(host_throughput(seconds, cpus))
            for key, props in (("quota", ["--property=CPUQuota=50%"]), ("free", [])):
                m = busy_machine(tree, *props)
                try:
                    results[key].append(host_throughput(seconds, cpus))
                finally:
                    stop_machine(m)
        base = statistics.median(results["none"])
        q = statistics.median(results["quota"]) / base
        f = statistics.median(results["free"]) / base
        share = 1 - 0.5 / cpus
        print(f"host busy loops on {cpus} CPUs, {seconds:.0f} s x {rounds}: with a machine at CPUQuota=50% "
              f"spinning the host keeps {q:.3f} of its throughput (its share: {share:.3f}); "
              f"with a machine without a quota {f:.3f}")
    finally:
        shutil.rmtree(os.path.dirname(tree), ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--machines", type=int, default=100)
    ap.add_argument("--quota-seconds", type=float, default=3)
    ap.add_argument("--quota-rounds", type=int, default=3)
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root")
    bench_true(a.runs)
    bench_top(a.machines, max(5, a.runs // 3))
    bench_quota(a.quota_seconds, a.quota_rounds)


if __name__ == "__main__":
    main()

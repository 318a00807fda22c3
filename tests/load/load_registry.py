#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Load and soak of berthd's registry (issue 13, catalogue L01): on a private system bus with berthd,
  1. N busybox machines booted at once (berth-spawn -b, registered), all listed by ListMachines,
     all terminated with TerminateMachine, nothing left (listing, state files, scopes);
  2. CYCLES ephemeral registered runs (berth-spawn -x /bin/true) in a row.
Prints berthd's fds and RSS before, at the peak and after, and the memory one machine costs the host;
exits non-zero on a lost or phantom machine, a leftover, or drift in berthd's fds or RSS.

    sudo tests/load/load_registry.py [--machines 100] [--cycles 500]      # the full run, by hand
    sudo tests/load/load_registry.py --machines 20 --cycles 100           # tests/run-all's short one
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
os.environ.setdefault("BERTH_BUILD_DIR", os.path.join(HERE, "..", "..", "build"))
import guests  # noqa: E402
from daemon import DEST, STATE, busctl, private_berthd  # noqa: E402

SPAWN = os.path.join(os.environ["BERTH_BUILD_DIR"], "src", "spawn", "berth-spawn")
RSS_SLACK_KB = 512  # allocator noise; a leak of a few hundred bytes a cycle shows over 500 cycles


def listed(bus):
    r = busctl(bus, "call", *DEST, "ListMachines", check=False)
    if r.returncode != 0:
        return {"(ListMachines failed)"}
    return {m[0] for m in json.loads(r.stdout)["data"][0] if m[0].startswith("lt-")}


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0


def daemon_figures(pid):
    return len(os.listdir(f"/proc/{pid}/fd")), rss_kb(pid)


def leftovers():
    return sorted(glob.glob(os.path.join(STATE, "lt-*")) + glob.glob("/sys/fs/cgroup/*/machine.slice/machine-lt*")
                  + glob.glob("/sys/fs/cgroup/machine.slice/machine-lt*") + glob.glob("/run/berth/spawn/lt-*"))


def wait_for(pred, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return pred()


def wait_launchers(procs):
    """Waits for every launcher of {name: Popen} to exit (a minute each); errors for those that did not."""
    errors = []
    for name, p in procs.items():
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            errors.append(f"{name}: launcher did not stop")
        if p.stderr:
            p.stderr.close()
    return errors


def load(bus, daemon, tree, n):
    names = [f"lt-{i}" for i in range(n)]
    procs = {}
    t0 = time.monotonic()
    for name in names:
        procs[name] = subprocess.Popen([SPAWN, "-q", "-D", tree, "-M", name, "-x", "-b", "--register=yes"],
                                       env=bus.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE)
    ok = wait_for(lambda: listed(bus) == set(names), 120)
    started = time.monotonic() - t0
    seen = listed(bus)
    fds, rss = daemon_figures(daemon.proc.pid)
    per_machine = sum(rss_kb(p.pid) for p in procs.values())
    for name in names:  # guests: every process in the machine's scope (one hierarchy suffices)
        for f in glob.glob(f"/sys/fs/cgroup/*/machine.slice/machine-{name.replace('-', chr(92) + 'x2d')}.scope/"
                           "cgroup.procs")[:1]:
            with open(f) as fh:
                per_machine += sum(rss_kb(int(p)) for p in fh.read().split())
    print(f"load: {n} machines listed in {started:.1f} s; berthd fds {fds}, RSS {rss} kB; "
          f"launcher + guest {per_machine / n:.0f} kB RSS per machine")
    errors = []
    if not ok:
        errors.append(f"lost {sorted(set(names) - seen)}, phantom {sorted(seen - set(names))}")
        for name in sorted(set(names) - seen):
            p = procs[name]
            if p.poll() is not None:
                errors.append(f"{name}: launcher exited {p.returncode}: {p.stderr.read().decode().strip()}")
    for name in names:
        busctl(bus, "call", *DEST, "TerminateMachine", "s", name, check=False)
    errors += wait_launchers(procs)
    if not wait_for(lambda: not listed(bus) and not leftovers(), 30):
        errors.append(f"left behind: listed {sorted(listed(bus))}, {leftovers()}")
    return errors


def soak(bus, daemon, tree, cycles):
    first = last = None
    errors = []
    t0 = time.monotonic()
    for i in range(cycles):
        r = subprocess.run([SPAWN, "-q", "-D", tree, "-M", "lt-soak", "-x", "--register=yes", "/bin/true"],
                           env=bus.env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if r.returncode != 0:
            errors.append(f"cycle {i}: exit {r.returncode}: {r.stderr.strip()}")
            break
        if i == min(9, cycles - 1):
            first = daemon_figures(daemon.proc.pid)  # after the allocator's first growth
    # the last launcher's connection closes as it exits; berthd reads the hang-up a moment later
    wait_for(lambda: daemon_figures(daemon.proc.pid)[0] <= first[0], 3)
    last = daemon_figures(daemon.proc.pid)
    print(f"soak: {cycles} registered -x runs in {time.monotonic() - t0:.1f} s; berthd fds {first[0]} -> {last[0]}, "
          f"RSS {first[1]} -> {last[1]} kB")
    if last[0] > first[0]:
        errors.append(f"berthd fds drifted: {first[0]} -> {last[0]}")
    if last[1] > first[1] + RSS_SLACK_KB:
        errors.append(f"berthd RSS grew: {first[1]} -> {last[1]} kB")
    if listed(bus) or leftovers():
        errors.append(f"left behind: listed {sorted(listed(bus))}, {leftovers()}")
    return errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--machines", type=int, default=100)
    ap.add_argument("--cycles", type=int, default=500)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="berth-load-") as d:
        tree = guests.make_busybox_tree(os.path.join(d, "bb"))
        with private_berthd() as (bus, daemon):
            before = daemon_figures(daemon.proc.pid)
            print(f"berthd at start: fds {before[0]}, RSS {before[1]} kB")
            errors = load(bus, daemon, tree, args.machines) + soak(bus, daemon, tree, args.cycles)
    for e in errors:
        print("FAILED:", e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

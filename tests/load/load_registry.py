#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Load of berthd's registry (issue 13, catalogue L01): on a private system bus with berthd, N busybox
machines booted at once (berth-spawn -b, registered), all listed by ListMachines, all terminated with
TerminateMachine, nothing left (listing, state files, scopes). Prints berthd's fds and RSS before and
at the peak, and the memory one machine costs the host (launcher + guest + berthd's share); exits
non-zero on a lost or phantom machine or a leftover. The soaks are soak_machines.py.

    sudo tests/load/load_registry.py --machines 100      # the full run, by hand
    sudo tests/load/load_registry.py --machines 20       # tests/run-all's short one
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


def rss_kb(pid, field="VmRSS:", where="status"):
    try:
        with open(f"/proc/{pid}/{where}") as f:
            return next(int(l.split()[1]) for l in f if l.startswith(field))
    except (OSError, StopIteration):
        return 0


def pss_kb(pid):
    """The process's proportional share of its resident pages (shared pages split among their users)."""
    return rss_kb(pid, "Pss:", "smaps_rollup")


def mem_available_kb():
    return rss_kb("self", "MemAvailable:", "../meminfo")


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
    avail0, rss0 = mem_available_kb(), daemon_figures(daemon.proc.pid)[1]
    t0 = time.monotonic()
    for name in names:
        procs[name] = subprocess.Popen([SPAWN, "-q", "-D", tree, "-M", name, "-x", "-b", "--register=yes"],
                                       env=bus.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE)
    ok = wait_for(lambda: listed(bus) == set(names), 120)
    started = time.monotonic() - t0
    seen = listed(bus)
    time.sleep(1)  # busybox init past sysinit, its respawned sleep running
    fds, rss = daemon_figures(daemon.proc.pid)
    launchers = [p.pid for p in procs.values()]
    guest_pids = []
    for name in names:  # guests: every process in the machine's scope (one hierarchy suffices)
        for f in glob.glob(f"/sys/fs/cgroup/*/machine.slice/machine-{name.replace('-', chr(92) + 'x2d')}.scope/"
                           "cgroup.procs")[:1]:
            with open(f) as fh:
                guest_pids += [int(p) for p in fh.read().split()]
    per = {k: sum(f(p) for p in pids) / n for k, f, pids in
           [("launcher RSS", rss_kb, launchers), ("launcher PSS", pss_kb, launchers),
            ("guest RSS", rss_kb, guest_pids), ("guest PSS", pss_kb, guest_pids)]}
    print(f"load: {n} machines listed in {started:.1f} s; berthd fds {fds}, RSS {rss0} -> {rss} kB")
    print("per machine: " + ", ".join(f"{k} {v:.0f} kB" for k, v in per.items())
          + f", berthd's share {(rss - rss0) / n:.0f} kB; launcher + guest + berthd's share "
          f"{per['launcher PSS'] + per['guest PSS'] + (rss - rss0) / n:.0f} kB PSS; "
          f"host's MemAvailable {(avail0 - mem_available_kb()) / n:.0f} kB less per machine (kernel objects included)")
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--machines", type=int, default=100)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="berth-load-") as d:
        tree = guests.make_busybox_tree(os.path.join(d, "bb"))
        with private_berthd() as (bus, daemon):
            before = daemon_figures(daemon.proc.pid)
            print(f"berthd at start: fds {before[0]}, RSS {before[1]} kB")
            errors = load(bus, daemon, tree, args.machines)
    for e in errors:
        print("FAILED:", e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

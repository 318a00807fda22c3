#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Soak of a persistent and of an ephemeral machine (issue 13), on a private system bus with berthd:
  1. CYCLES rounds of `berthctl start NAME` (a busybox tree in /var/lib/machines, booted by berthd's
     supervisor and berth-spawn) and `berthctl poweroff NAME`. The machine gets a veth
     (VirtualEthernet=yes in its settings file, when dnsmasq and nft are there), so each round also
     makes and removes its link, dnsmasq and nftables rules; its other options are berthctl start's
     defaults, whatever they are. Its init is a shell script that powers off at once on the signal
     berthctl poweroff sends busybox (USR2): the soak is about the host's side. --busybox-init boots
     busybox init instead, whose poweroff takes 2 s of its own (a second after SIGTERM and SIGKILL).
  2. CYCLES runs of `berth-spawn -x --register=yes [--network-veth] /bin/true`, registered with the
     same berthd.

Everything a machine can leave on the host (tests/integration/leakcheck.py: mounts, loop devices,
cgroups in every hierarchy, links, nftables, dnsmasq, processes, state files) and berthd's fds and RSS
are taken after the first round and after the last; prints both and exits non-zero on any growth.

    sudo tests/load/soak_machines.py --cycles 500      # the full run, by hand
    sudo tests/load/soak_machines.py --cycles 100      # tests/run-all's short one
"""
import argparse
import os
import shutil
import subprocess
import sys
import time
import uuid

from load_registry import RSS_SLACK_KB, SPAWN, daemon_figures, guests, wait_for

import leakcheck  # noqa: E402 (tests/integration, on the path through load_registry)
from test_berthctl import Env  # noqa: E402

NAME = "lt-soak-persistent"
EPHEMERAL = "lt-soak-x"
SETTINGS = f"/etc/systemd/nspawn/{NAME}.nspawn"
QUICK_INIT = """#!/bin/sh
trap 'echo shutting-down; exit 0' USR2 TERM
echo booted
while :; do sleep 100000 & wait $!; done
"""


def figures(env):
    snap = leakcheck.snapshot()
    snap["berthd"] = daemon_figures(env.berthd.proc.pid)
    return snap


def summary(snap):
    fds, rss = snap["berthd"]
    return f"berthd fds {fds}, RSS {rss} kB; " + ", ".join(
        f"{k} {len(v)}" for k, v in snap.items() if k not in ("berthd", "fds"))


def one_cycle(env, i, veth):
    r = env.ctl("start", NAME)
    if r.returncode != 0:
        return f"cycle {i}: berthctl start failed: {r.stderr.strip()}"
    if not wait_for(lambda: env.log(NAME).count("booted") > i, 15):
        return f"cycle {i}: the machine did not boot: {env.log(NAME)[-500:]}"
    if i == 0 and veth and not any(l.startswith("ve-lt-soak") for l in leakcheck.snapshot()["network links"]):
        return f"the machine has no veth: {sorted(leakcheck.snapshot()['network links'])}"
    r = env.ctl("poweroff", NAME, "--timeout=20s")
    if r.returncode != 0:
        return f"cycle {i}: berthctl poweroff failed: {r.stderr.strip()}"
    if not wait_for(lambda: env.log(NAME).count("the machine stopped") > i, 15):
        return f"cycle {i}: the supervisor did not log the stop: {env.log(NAME)[-500:]}"
    return None


def one_ephemeral_run(env, i, tree, veth):
    r = subprocess.run([SPAWN, "-q", "-D", tree, "-M", EPHEMERAL, "-x", "--register=yes",
                        *(["--network-veth"] if veth else []), "/bin/true"],
                       env=env.bus.env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    return f"run {i}: exit {r.returncode}: {r.stderr.strip()}" if r.returncode != 0 else None


def soak(env, cycles, what, one):
    first, errors = None, []
    t0 = time.monotonic()
    for i in range(cycles):
        e = one(i)
        if e:
            errors.append(e)
            break
        if i == 0:
            first = figures(env)
    # the last supervisor's connection closes as it exits; berthd reads the hang-up a moment later
    wait_for(lambda: daemon_figures(env.berthd.proc.pid)[0] <= first["berthd"][0], 3)
    # a veth goes with its machine's network namespace, which the kernel cleans up a moment after
    # the launcher's exit: settle as the tests' leak check does
    deadline = time.monotonic() + 3
    while True:
        last = figures(env)
        rest = {k: v for k, v in first.items() if k != "berthd"}
        if not leakcheck.diff(rest, {k: v for k, v in last.items() if k != "berthd"}) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    print(f"soak: {cycles} {what} in {time.monotonic() - t0:.1f} s")
    print(f"  after round 1:   {summary(first)}")
    print(f"  after round {cycles}: {summary(last)}")
    if last["berthd"][0] > first["berthd"][0]:
        errors.append(f"berthd fds drifted: {first['berthd'][0]} -> {last['berthd'][0]}")
    if last["berthd"][1] > first["berthd"][1] + RSS_SLACK_KB:
        errors.append(f"berthd RSS grew: {first['berthd'][1]} -> {last['berthd'][1]} kB")
    del first["berthd"], last["berthd"]
    errors += leakcheck.diff(first, last)
    return errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cycles", type=int, default=500)
    ap.add_argument("--busybox-init", action="store_true", help="boot busybox init (2 s more per round)")
    args = ap.parse_args()
    veth = bool(shutil.which("dnsmasq") and shutil.which("nft"))
    env = Env()
    errors = []
    try:
        env.start_berthd()
        tree = env.image(NAME)
        # a machine ID of its own, as a persistent machine has: with an empty /etc/machine-id each boot
        # would get a new one, and --link-journal=try-guest (berthctl start's default) a new link in
        # /var/log/journal
        with open(os.path.join(tree, "etc/machine-id"), "w") as f:
            f.write(uuid.uuid4().hex + "\n")
        if not args.busybox_init:
            os.unlink(os.path.join(tree, "sbin/init"))
            with open(os.path.join(tree, "sbin/init"), "w") as f:
                f.write(QUICK_INIT)
            os.chmod(os.path.join(tree, "sbin/init"), 0o755)
        if veth:
            os.makedirs(os.path.dirname(SETTINGS), exist_ok=True)
            with open(SETTINGS, "w") as f:
                f.write("[Network]\nVirtualEthernet=yes\n")
        print(f"{NAME}: {'busybox init' if args.busybox_init else 'a shell script init'}, "
              f"{'with' if veth else 'without'} a veth; berthctl start's other defaults")
        errors = soak(env, args.cycles, f"berthctl start/poweroff rounds of {NAME}", lambda i: one_cycle(env, i, veth))
        bb = guests.make_busybox_tree(os.path.join(env.dir, "bb"))
        errors += soak(env, args.cycles, f"berth-spawn -x {'--network-veth ' if veth else ''}/bin/true runs",
                       lambda i: one_ephemeral_run(env, i, bb, veth))
    finally:
        env.close()
        leakcheck.remove_journal_links(os.path.join("/var/lib/machines", NAME))
        if os.path.exists(SETTINGS):
            os.unlink(SETTINGS)
    for e in errors:
        print("FAILED:", e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

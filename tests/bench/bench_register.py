#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""What registering with berthd costs a short run: `berth-spawn -D bb /bin/true` registered (through
berthd's registration socket) against --register=no, next to stock systemd-nspawn --keep-unit
registered with the same berthd (over the bus) against --register=no. Paired, interleaved runs; medians. Not a test.

    sudo tests/bench/bench_register.py [--runs N]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
os.environ.setdefault("BERTH_BUILD_DIR", os.path.join(HERE, "..", "..", "build"))
import guests  # noqa: E402
from daemon import private_berthd  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
BERTH = os.environ.get("BERTH_SPAWN_BINARY", os.path.join(REPO, "build", "src", "spawn", "berth-spawn"))
NSPAWN = shutil.which("systemd-nspawn")


def timed(cmd, env):
    t0 = time.monotonic()
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    dt = time.monotonic() - t0
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {r.stderr.decode()}")
    return dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="berth-bench-reg-") as d:
        tree = guests.make_busybox_tree(os.path.join(d, "bb"))
        with private_berthd() as (bus, _):
            env = bus.env
            runs = {
                "berth --register=no": [BERTH, "--register=no", "-q", "-D", tree, "/bin/true"],
                "berth registered": [BERTH, "--register=yes", "-q", "-D", tree, "/bin/true"],
            }
            if NSPAWN:
                runs["nspawn --register=no"] = [NSPAWN, "--register=no", "--keep-unit", "-q", "-D", tree, "/bin/true"]
                runs["nspawn registered"] = [NSPAWN, "--register=yes", "--keep-unit", "-q", "-D", tree, "/bin/true"]
            res = {k: [] for k in runs}
            for k, cmd in runs.items():  # warm-up
                timed(cmd, env)
            for _ in range(args.runs):
                for k, cmd in runs.items():
                    res[k].append(timed(cmd, env))
            med = {k: statistics.median(v) * 1000 for k, v in res.items()}
            for k, v in med.items():
                print(f"{k:<24} {v:7.1f} ms (median of {args.runs})")
            added = med["berth registered"] - med["berth --register=no"]
            print(f"{'berth: registration adds':<24} {added:7.1f} ms  (target <= 2.0: {'ok' if added <= 2.0 else 'MISSED'})")
            if NSPAWN:
                n_added = med["nspawn registered"] - med["nspawn --register=no"]
                print(f"{'nspawn: registration adds':<24} {n_added:7.1f} ms")
                print(f"{'registered, berth/nspawn':<24} {med['berth registered'] / med['nspawn registered']:7.2f}")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Twenty machines from one stacked image (root; it is not a test): the 3-layer Debian image of
bench_pull.py pulled once with --layers=stacked and once flattened, then MACHINES (20) berth-spawn
-x machines started at once from each, every one writing a file and waiting until all have
started. Prints
  * the time until all MACHINES have run, stacked against flattened (target <= 1.0x),
  * the disk the stacked image and its machines use while they all run (its layers in the store
    and the machines' upper layers) against the flattened image's tree (target <= 1.1x).
Runs are interleaved; medians are printed.

    BERTH_BUILD_DIR=build /usr/bin/python3 tests/bench/bench_stacked.py [--runs 3] [--machines 20]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import guests  # noqa: E402
from bench_images import CTL, POOL, line  # noqa: E402
from bench_pull import debian_layout  # noqa: E402
from conftest import SPAWN  # noqa: E402
from test_machined import Berthd, Bus  # noqa: E402
from test_pull_oci import Registry, push  # noqa: E402

EPHEMERAL = "/var/lib/berth/ephemeral"


def du(paths):
    """Bytes on disk (blocks, each inode once) of paths."""
    r = subprocess.run(["du", "-scB1", *paths], capture_output=True, text=True, check=True)
    return int(r.stdout.splitlines()[-1].split()[0])


def start_all(image, n, barrier):
    """n -x machines of image at once; each writes a file, then waits for barrier to go. Returns
    (seconds until all have written, their processes)."""
    t0 = time.monotonic()
    procs = [subprocess.Popen([SPAWN, "-q", "-x", "--register=no", "-D", os.path.join(POOL, image),
                               f"--bind-ro={os.path.dirname(barrier)}:/bench", "/bin/sh", "-c",
                               "echo $$ > /etc/bench-written && while [ -e /bench/barrier ]; do sleep 0.05; done"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for _ in range(n)]
    while True:
        up = sum(1 for d in os.listdir(EPHEMERAL) if d.startswith(image + "-") and
                 os.path.exists(os.path.join(EPHEMERAL, d, "upper/etc/bench-written")))
        if up == n:
            return time.monotonic() - t0, procs
        if any(p.poll() is not None for p in procs):
            raise RuntimeError("a machine failed: " + next(p.stderr.read().decode() for p in procs if p.poll() is not None))
        time.sleep(0.01)


def stop_all(procs, barrier):
    os.unlink(barrier)
    for p in procs:
        p.wait(timeout=60)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--machines", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="berth-bench-", dir="/var/tmp") as d:
        layout, _ = debian_layout(guests.debian_systemd_tree(), d)
        (Path(d) / "reg").mkdir()
        reg = Registry(Path(d) / "reg")
        bus = Bus()
        berthd = Berthd(bus)
        try:
            push(layout, f"{reg.host}/bench/debian:1")
            ref = f"{reg.host}/bench/debian:1"
            for name, extra in (("bench-stacked", ["--layers=stacked"]), ("bench-flat", [])):
                subprocess.run([CTL, "-q", "pull-oci", "--tls-verify=no", *extra, ref, name], env=bus.env, check=True)
            stack = [os.path.join(POOL, l) for l in
                     Path(POOL, "bench-stacked", ".berth-stack").read_text().splitlines()[1:]]
            base = du([os.path.join(POOL, "bench-flat")])
            times = {"stacked": [], "flat": []}
            disk = []
            os.mkdir(os.path.join(d, "bench"))
            barrier = os.path.join(d, "bench", "barrier")
            for _ in range(args.runs):
                for kind in ("stacked", "flat"):
                    Path(barrier).touch()
                    t, procs = start_all(f"bench-{kind}", args.machines, barrier)
                    times[kind].append(t)
                    if kind == "stacked":
                        uppers = [os.path.join(EPHEMERAL, e) for e in os.listdir(EPHEMERAL)
                                  if e.startswith("bench-stacked-")]
                        disk.append(du(stack + [os.path.join(POOL, "bench-stacked")] + uppers))
                    stop_all(procs, barrier)
            print(f"{args.machines} -x machines; the flattened image's tree: {base / 1048576:.1f} MiB")
            line(f"{args.machines} machines up (ms), stacked vs flattened", "stacked",
                 statistics.median(times["stacked"]), "flat", statistics.median(times["flat"]), 1.0)
            ratio = statistics.median(disk) / base
            print(f"{'disk: stacked image + machines vs the tree':<44} {statistics.median(disk) / 1048576:.1f} MiB "
                  f"vs {base / 1048576:.1f} MiB  ratio {ratio:5.2f}  (target <= 1.10: {'ok' if ratio <= 1.1 else 'MISSED'})")
        finally:
            stack_file = Path(POOL, "bench-stacked", ".berth-stack")
            layers = stack_file.read_text().splitlines()[1:] if stack_file.exists() else []
            for n in ("bench-stacked", "bench-flat"):
                subprocess.run([CTL, "-q", "remove", n], env=bus.env)
                if os.path.exists(os.path.join(POOL, n + ".nspawn")):
                    os.unlink(os.path.join(POOL, n + ".nspawn"))
            for l in layers:  # not berthctl clean: it would remove every hidden image too
                shutil.rmtree(os.path.join(POOL, l), ignore_errors=True)
            berthd.stop()
            bus.close()
            reg.close()
            shutil.rmtree(os.path.join(d, "reg"), ignore_errors=True)


if __name__ == "__main__":
    main()

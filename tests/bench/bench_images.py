#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Disk images, ephemeral machines and imports, side by side in one run (root). Prints medians
and ratios; it is not a test.

  * ephemeral boot (-x) of the Debian tree to READY=1, then poweroff, vs a plain boot of the tree;
  * the Debian tree as an ext4 raw image (-i), boot + poweroff, vs booting the directory;
  * /bin/true with -x on the Debian tree: stock systemd-nspawn -x (which copies the tree on ext4)
    vs berth-spawn -x (an overlay);
  * berthctl import-tar of the Debian tree (uncompressed) through berthd vs `tar -xf` of the same
    archive.

    BERTH_BUILD_DIR=build /usr/bin/python3 tests/bench/bench_images.py [--runs 5]
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
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import guests  # noqa: E402
from bench import NSPAWN, TOOLS, boot_and_poweroff, timed  # noqa: E402
from conftest import BUILD  # noqa: E402
from test_machined import Berthd, Bus  # noqa: E402

CTL = os.path.join(BUILD, "src", "ctl", "berthctl")
POOL = "/var/lib/machines"


def line(name, a_label, a, b_label, b, target, better="<="):
    ratio = a / b
    ok = ratio <= target if better == "<=" else ratio >= target
    print(f"{name:<44} {a_label} {a * 1000:9.1f}  {b_label} {b * 1000:9.1f}  ratio {ratio:5.2f}  "
          f"(target {better} {target:.2f}: {'ok' if ok else 'MISSED'})")
    sys.stdout.flush()


def boots(args, runs):
    """Medians of boot+poweroff for each variant, interleaved so noise hits all alike."""
    res = {k: [] for k in args}
    for i in range(runs):
        for k, extra in args.items():
            b, o = boot_and_poweroff("berth", extra, f"bimg{i}")
            res[k].append(b + o)
    return {k: statistics.median(v) for k, v in res.items()}


def make_raw(tree, path):
    size = int(subprocess.run(["du", "-sb", tree], capture_output=True, text=True).stdout.split()[0])
    with open(path, "wb") as f:
        f.truncate(max(size * 2, 512 << 20))
    subprocess.run(["mkfs.ext4", "-q", "-F", "-d", tree, path], check=True)


def bench_import(bus, tree, d, runs):
    archive = os.path.join(d, "debian.tar")
    subprocess.run(["tar", "--numeric-owner", "--xattrs", "-cf", archive, "-C", tree, "."], check=True)
    ours, tar = [], []
    for i in range(runs):
        out = os.path.join(d, f"untar{i}")
        os.mkdir(out)
        subprocess.run(["sync"])
        tar.append(timed(["tar", "--numeric-owner", "--xattrs", "-xf", archive, "-C", out]))
        shutil.rmtree(out)
        subprocess.run(["sync"])
        name = f"bench-import-{i}"
        t0 = time.monotonic()
        r = subprocess.run([CTL, "-q", "import-tar", archive, name], env=bus.env, capture_output=True, text=True,
                           stdin=subprocess.DEVNULL)
        ours.append(time.monotonic() - t0)
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
        shutil.rmtree(os.path.join(POOL, name))
    line("import-tar of the Debian tree (ms)", "berth", statistics.median(ours), "tar  ", statistics.median(tar), 1.2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="berth-bench-", dir="/var/tmp") as d:
        tree = guests.copy_tree(guests.debian_systemd_tree(), os.path.join(d, "debian"))
        raw = os.path.join(d, "debian.raw")
        make_raw(tree, raw)
        m = boots({"plain": ["-D", tree], "ephemeral": ["-D", tree, "-x"], "raw": ["-i", raw]}, args.runs)
        line("Debian -x boot + poweroff (ms)", "-x   ", m["ephemeral"], "plain", m["plain"], 1.05)
        line("Debian raw image boot + poweroff (ms)", "-i   ", m["raw"], "-D   ", m["plain"], 1.05)

        ours, stock = [], []
        for _ in range(args.runs):
            ours.append(timed([*TOOLS["berth"], "-q", "-D", tree, "-x", "/bin/true"]))
            stock.append(timed([NSPAWN, "--register=no", "--keep-unit", "-q", "-D", tree, "-x", "/bin/true"]))
        line("-x /bin/true on the Debian tree (ms)", "nspawn", statistics.median(stock), "berth", statistics.median(ours),
             10.0, better=">=")

        bus = Bus()
        try:
            berthd = Berthd(bus)
            try:
                bench_import(bus, tree, d, args.runs)
            finally:
                berthd.stop()
        finally:
            bus.close()


if __name__ == "__main__":
    main()

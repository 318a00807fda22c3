#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""berth-spawn against stock systemd-nspawn (--register=no --keep-unit), side by side in one run,
interleaved, on the same trees. Prints each ratio with the medians behind it. Not a test.

    sudo tests/bench/bench.py [--runs N] [--skip-debian]
"""
import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import guests  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
BERTH = os.environ.get("BERTH_SPAWN_BINARY", os.path.join(REPO, "build", "src", "spawn", "berth-spawn"))
NSPAWN = shutil.which("systemd-nspawn")
# both without registration: a system bus with a registry (berthd, machined) would cost only one of them
TOOLS = {"berth": [BERTH, "--register=no"], "nspawn": [NSPAWN, "--register=no", "--keep-unit"]}


def timed(cmd, **kw):
    t0 = time.monotonic()
    subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    return time.monotonic() - t0


def report(name, results, target):
    b, n = statistics.median(results["berth"]), statistics.median(results["nspawn"])
    ratio = b / n
    verdict = "ok" if ratio <= target else "MISSED"
    print(f"{name:<44} berth {b * 1000:9.1f}  nspawn {n * 1000:9.1f}  ratio {ratio:5.2f}  "
          f"(target <= {target:.2f}: {verdict})")
    sys.stdout.flush()


def bench_true(tree, runs):
    res = {"berth": [], "nspawn": []}
    for _ in range(runs):
        for tool in ("berth", "nspawn"):
            res[tool].append(timed([*TOOLS[tool], "-q", "-D", tree, "/bin/true"]))
    report("/bin/true in the busybox tree (ms)", res, 0.35)


def bench_userns(tree, runs):
    plain, userns = [], []
    for _ in range(runs):
        plain.append(timed([*TOOLS["berth"], "-q", "-D", tree, "/bin/true"]))
        userns.append(timed([*TOOLS["berth"], "-q", "-D", tree, "-U", "/bin/true"]))
    p, u = statistics.median(plain), statistics.median(userns)
    verdict = "ok" if u - p <= 0.010 else "MISSED"
    print(f"{'-U cost on /bin/true (ms)':<44} plain {p * 1000:9.1f}  -U     {u * 1000:9.1f}  added {(u - p) * 1000:5.1f} ms"
          f" (target <= 10 ms: {verdict})")
    sys.stdout.flush()


def launcher_rss(tree):
    res = {"berth": [], "nspawn": []}
    for tool in ("berth", "nspawn"):
        p = subprocess.Popen([*TOOLS[tool], "-q", "-D", tree, "/bin/sleep", "2"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
        with open(f"/proc/{p.pid}/status") as f:
            rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS"))
        res[tool].append(rss / 1000.0)  # report() prints *1000: keep the unit (kB) readable
        p.wait()
    report("launcher RSS while running (kB)", res, 0.4)


def boot_and_poweroff(tool, tree, name):
    """Seconds until the guest's systemd says READY=1, and from SIGTERM to exit. tree: a directory,
    or the arguments that name the root (["-i", image], ["-D", tree, "-x"])."""
    root = ["-D", tree] if isinstance(tree, str) else tree
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "notify")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(path)
        s.settimeout(120)
        env = dict(os.environ, NOTIFY_SOCKET=path)
        t0 = time.monotonic()
        p = subprocess.Popen([*TOOLS[tool], "-q", *root, "-M", name, "-b", "--notify-ready=yes",
                              "--console=passive"], env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while b"READY=1" not in s.recv(4096):
            pass
        boot = time.monotonic() - t0
        t1 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        p.wait(120)
        s.close()
        return boot, time.monotonic() - t1


def bench_debian(tree, runs):
    boot = {"berth": [], "nspawn": []}
    off = {"berth": [], "nspawn": []}
    total = {"berth": [], "nspawn": []}
    for i in range(runs):
        for tool in ("berth", "nspawn"):
            b, o = boot_and_poweroff(tool, tree, f"bench{i}")
            boot[tool].append(b)
            off[tool].append(o)
            total[tool].append(b + o)
    report("Debian boot to READY (ms)", boot, 1.0)
    report("Debian poweroff (ms)", off, 1.0)
    report("Debian boot + poweroff (ms)", total, 1.0)


def bench_debian_userns(tree, runs):
    """What -U (a picked range, an idmapped root) adds to the Debian boot: berth with and without."""
    plain, userns = [], []
    for i in range(runs):
        b, _ = boot_and_poweroff("berth", ["-D", tree], f"benchp{i}")
        plain.append(b)
        b, _ = boot_and_poweroff("berth", ["-D", tree, "-U"], f"benchu{i}")
        userns.append(b)
    p, u = statistics.median(plain), statistics.median(userns)
    verdict = "ok" if u / p <= 1.05 else "MISSED"
    print(f"{'-U cost on the Debian boot to READY (ms)':<44} plain {p * 1000:9.1f}  -U     {u * 1000:9.1f}  ratio {u / p:5.2f}"
          f"  (target <= 1.05: {verdict})")
    sys.stdout.flush()


def bench_parallel(trees, runs):
    res = {"berth": [], "nspawn": []}
    for _ in range(runs):
        for tool in ("berth", "nspawn"):
            t0 = time.monotonic()
            procs = [subprocess.Popen([*TOOLS[tool], "-q", "-D", t, "-M", f"par{i}", "-b"],
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL) for i, t in enumerate(trees)]
            for p in procs:
                p.wait()
            res[tool].append(time.monotonic() - t0)
    report(f"{len(trees)} busybox machines booted at once (ms)", res, 1.0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--skip-debian", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0 or not NSPAWN:
        sys.exit("Run as root, with systemd-container installed.")
    with tempfile.TemporaryDirectory(prefix="berth-bench-", dir="/var/tmp") as d:
        bb = guests.make_busybox_tree(os.path.join(d, "bb"))
        bench_true(bb, args.runs)
        bench_userns(bb, args.runs)
        launcher_rss(bb)
        trees = []
        for i in range(20):
            t = guests.make_busybox_tree(os.path.join(d, f"p{i}"),
                                         inittab="::sysinit:/bin/echo up\n::once:/bin/poweroff\n")
            trees.append(t)
        bench_parallel(trees, max(3, args.runs // 5))
        if not args.skip_debian:
            os.mkdir(os.path.join(d, "debian"))
            deb = guests.copy_tree(guests.debian_systemd_tree(), os.path.join(d, "debian"))
            bench_debian(deb, max(3, args.runs // 3))
            bench_debian_userns(deb, max(3, args.runs // 3))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Boot to READY=1 + poweroff of the Debian 13 (systemd 257) and sid trees: berth-spawn against
stock systemd-nspawn on the pure cgroup2 view (a private mount namespace with cgroup2 at
/sys/fs/cgroup, as on a pure v2 host), side by side and interleaved; on this host's own layout
berth's figure, and whether nspawn can boot the tree there at all. Not a test.

    sudo tests/bench/bench_guests.py [--runs N]
"""
import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import bench  # noqa: E402
import guests  # noqa: E402

KEYS = ["trixie", "sid"]
CG = "/sys/fs/cgroup"


def layout():
    r = subprocess.run(["stat", "-fc", "%T", CG], capture_output=True, text=True)
    return "pure cgroup2" if r.stdout.strip() == "cgroup2fs" else "v1/hybrid"


def try_boot(tool, tree, name, timeout=20):
    """(seconds to READY=1 + poweroff) or None with why it did not get there within timeout."""
    try:
        b, o = boot_and_poweroff(tool, tree, name, timeout)
        return b + o, None
    except TimeoutError as e:
        return None, str(e)


def boot_and_poweroff(tool, tree, name, timeout):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "notify")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(path)
        s.settimeout(timeout)
        env = dict(os.environ, NOTIFY_SOCKET=path)
        t0 = time.monotonic()
        # nspawn as PID 1 of a PID namespace of its own: killing it takes a guest that hangs with it
        wrap = ["unshare", "--pid", "--fork", "--kill-child"] if tool == "nspawn" else []
        p = subprocess.Popen([*wrap, *bench.TOOLS[tool], "-q", "-D", tree, "-M", name, "-b", "--notify-ready=yes",
                              "--console=pipe"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        try:
            while b"READY=1" not in s.recv(4096):
                pass
        except socket.timeout:
            p.kill()
            out, _ = p.communicate()
            lines = [l for l in out.splitlines() if "cgroup" in l.lower() or "fail" in l.lower()]
            raise TimeoutError(f"no READY=1 within {timeout}s; it said: {(lines or ['nothing'])[0].strip()}")
        boot = time.monotonic() - t0
        t1 = time.monotonic()
        target = p.pid
        if wrap:  # unshare does not pass SIGTERM on: it goes to nspawn, its child
            with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
                target = int(f.read().split()[0])
        os.kill(target, signal.SIGTERM)
        p.communicate(timeout=120)
        s.close()
        return boot, time.monotonic() - t1


def bench_view(trees, runs):
    for key, tree in trees.items():
        res = {"berth": [], "nspawn": []}
        why = None
        for i in range(runs):
            for tool in (("berth", "nspawn") if why is None else ("berth",)):
                t, err = try_boot(tool, tree, f"bg{key}{i}")
                if t is None and tool == "nspawn":
                    why = err
                    continue
                assert t is not None, f"berth did not boot {key}: {err}"
                res[tool].append(t)
        label = f"{key} boot + poweroff, {layout()} (ms)"
        if res["nspawn"]:
            bench.report(label, res, 1.0)
        else:
            b = statistics.median(res["berth"])
            print(f"{label:<44} berth {b * 1000:9.1f}  nspawn cannot boot it here ({why})")
            sys.stdout.flush()


NSPAWN_LEFTOVERS = [os.path.join(CG, h, d) for h in ("unified", "systemd") for d in ("payload", "supervisor")]


def remove_cgroup_tree(path):
    for dirpath, _, _ in sorted(os.walk(path), key=lambda w: -w[0].count("/")):
        try:
            os.rmdir(dirpath)
        except OSError:
            pass


def in_v2_view(argv):
    """Runs this script again in a private mount namespace whose /sys/fs/cgroup is cgroup2 alone."""
    script = 'mount --make-rprivate / && umount -l /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec "$@"'
    subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", sys.executable, *argv, "--in-v2-view"], check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--in-v2-view", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if os.geteuid() != 0 or not bench.NSPAWN:
        sys.exit("Run as root, with systemd-container installed.")
    before = {p for p in NSPAWN_LEFTOVERS if os.path.isdir(p)}
    built = guests.build_trees(KEYS)
    with tempfile.TemporaryDirectory(prefix="berth-bench-guests-", dir="/var/tmp") as d:
        trees = {}
        for key, res in built.items():
            if isinstance(res, guests.TreeUnavailable):
                print(f"{key}: skipped, {res}")
                continue
            os.mkdir(os.path.join(d, key))
            trees[key] = guests.copy_tree(res, os.path.join(d, key))
        # this host's layout (berth, and whether nspawn can boot the tree at all), or the v2 view
        bench_view(trees, args.runs)
    if args.in_v2_view or layout() == "pure cgroup2":
        return
    in_v2_view([os.path.abspath(__file__), f"--runs={args.runs}"])
    # stock nspawn --keep-unit leaves payload/ and supervisor/ at the roots of unified and name=systemd
    for p in NSPAWN_LEFTOVERS:
        if p not in before:
            remove_cgroup_tree(p)


if __name__ == "__main__":
    main()

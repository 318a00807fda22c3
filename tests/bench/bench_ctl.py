#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""berthctl against stock machinectl and against berth-spawn, side by side in one run, on a
private system bus with a real berthd (root). Prints medians and ratios; it is not a test.

  * `berthctl list` with N running busybox machines vs `machinectl -M .host list` (which makes
    two calls per machine, one after another);
  * `berthctl start` of the Debian image until `systemctl is-system-running` answers running vs
    booting the same image with berth-spawn directly, with the same console (read-only, into a
    file: what berthd's supervisor does to keep the console log).

    BERTH_BUILD_DIR=build /usr/bin/python3 tests/bench/bench_ctl.py [--machines 20 100] [--runs 15] [--boots 5]
        [--list-only]
"""

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import guests  # noqa: E402
from conftest import BUILD, SPAWN, leader_of  # noqa: E402
from test_machined import Berthd, Bus  # noqa: E402

CTL = os.path.join(BUILD, "src", "ctl", "berthctl")
CTL_BUS = os.path.join(BUILD, "src", "ctl", "berthctl-bus")  # the full tool: lists over D-Bus


def timed(cmd, env):
    """Wall time of a command started with posix_spawn (the same cost for every tool: python's
    subprocess adds several ms of its own), and its output."""
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        pid = os.posix_spawnp(cmd[0], cmd, env, file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0), (os.POSIX_SPAWN_DUP2, out.fileno(), 1)])
        _, status, usage = os.wait4(pid, 0)
        dt = (time.perf_counter() - t0) * 1000
        timed.cpu_ms = (usage.ru_utime + usage.ru_stime) * 1000
        out.seek(0)
        text = out.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{cmd} failed")
    return dt, text


def count_machines(env):
    out = subprocess.run([CTL, "--no-legend", "list"], env=env, capture_output=True, text=True).stdout
    return len(out.splitlines())


def cpu_ms(pid):
    """User + system CPU time of a process so far, in ms."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def bench_start_floor(env, runs):
    """What starting each program costs before it does anything (exec, shared libraries)."""
    ours = [timed([CTL, "--version"], env)[0] for _ in range(runs)]
    full = [timed([CTL_BUS, "--version"], env)[0] for _ in range(runs)]
    true = [timed(["/bin/true"], env)[0] for _ in range(runs)]
    stock = [timed(["machinectl", "--version"], env)[0] for _ in range(runs)]
    print(f"start alone (--version): berthctl {statistics.median(ours):.1f} ms (the full tool, which loads "
          f"libsystemd: {statistics.median(full):.1f} ms), machinectl {statistics.median(stock):.1f} ms, /bin/true "
          f"{statistics.median(true):.1f} ms (a list cannot be quicker than this)", flush=True)


def bench_list(bus, d, counts, runs):
    """berthctl list against machinectl -M .host list, with each count of machines in turn (the
    machines of a smaller count stay for the next)."""
    bench_start_floor(bus.env, runs)
    tree = guests.make_busybox_tree(tempfile.mkdtemp(prefix="berth-bench-") + "/bb")
    env = dict(bus.env)
    launchers = []
    try:
        for n in sorted(counts):
            while len(launchers) < n:
                launchers.append(subprocess.Popen(
                    [SPAWN, "-q", "-D", tree, "-M", f"bench-{len(launchers)}", "-b", "--read-only",
                     "--console=passive", "--register=yes"], env=env, stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            deadline = time.monotonic() + 120
            while count_machines(env) < n and time.monotonic() < deadline:
                time.sleep(0.2)
            assert count_machines(env) == n, "machines did not register"
            ours, stock, bus_path, ours_cpu = [], [], [], []
            cpu = [0.0, 0.0]
            for _ in range(runs):
                c0 = (cpu_ms(d.proc.pid), cpu_ms(bus.pid))
                t, out = timed([CTL, "--no-pager", "list"], env)
                cpu = [cpu[0] + cpu_ms(d.proc.pid) - c0[0], cpu[1] + cpu_ms(bus.pid) - c0[1]]
                ours.append(t)
                ours_cpu.append(timed.cpu_ms)
                assert f"{n} machines listed" in out or (n == 0 and "No machines." in out)
                t, out2 = timed([CTL_BUS, "--no-pager", "list"], env)
                assert out2 == out, "the Varlink and the D-Bus path print different lists"
                bus_path.append(t)
                t, out = timed(["machinectl", "-M", ".host", "--no-pager", "list"], env)
                stock.append(t)
            a, b = statistics.median(ours), statistics.median(stock)
            print(f"list with {n} machines: berthctl {a:.1f} ms (over D-Bus: {statistics.median(bus_path):.1f} ms), "
                  f"machinectl -M .host {b:.1f} ms, ratio {a / b:.2f} "
                  f"(target: <= 10 ms and <= 0.1); per berthctl list: berthctl {statistics.median(ours_cpu):.1f} ms CPU, berthd {cpu[0] / runs:.1f} ms CPU, "
                  f"dbus-daemon {cpu[1] / runs:.1f} ms CPU", flush=True)
    finally:
        for p in launchers:
            p.send_signal(signal.SIGTERM)
        for p in launchers:
            p.wait(timeout=60)
        shutil.rmtree(os.path.dirname(tree), ignore_errors=True)


def wait_running(leader, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = subprocess.run(["nsenter", "-t", str(leader), "-a", "systemctl", "is-system-running"],
                           capture_output=True, text=True).stdout.strip()
        if s in ("running", "degraded"):
            return s
        time.sleep(0.02)
    raise RuntimeError("the machine did not reach running")


def leader_by_ctl(env, name):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        r = subprocess.run([CTL, "show", name, "-P", "Leader"], env=env, capture_output=True, text=True)
        if r.returncode == 0:
            return int(r.stdout)
        time.sleep(0.01)
    raise RuntimeError("no leader")


def boot_with_ctl(env, name):
    t0 = time.perf_counter()
    subprocess.run([CTL, "-q", "start", name], env=env, check=True)
    wait_running(leader_by_ctl(env, name))
    dt = time.perf_counter() - t0
    subprocess.run([CTL, "poweroff", name, "--timeout=60s"], env=env, check=True)
    return dt


def boot_with_spawn(env, name):
    t0 = time.perf_counter()
    # the console as berthd gives it: read-only, into a log file (systemd then also starts a getty on it)
    log = tempfile.TemporaryFile()
    p = subprocess.Popen([SPAWN, "-q", "-M", name, "-b", "--console=read-only"], env=env, stdin=subprocess.DEVNULL,
                         stdout=log, stderr=log)
    wait_running(leader_of(p.pid))
    dt = time.perf_counter() - t0
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=60)
    log.close()
    return dt


def bench_start(bus, boots):
    name = "bench-debian"
    image = f"/var/lib/machines/{name}"
    os.makedirs(image, exist_ok=True)
    subprocess.run(["mount", "--bind", guests.debian_systemd_tree(), image], check=True)
    try:
        ctl, spawn = [], []
        for _ in range(boots):
            ctl.append(boot_with_ctl(bus.env, name))
            spawn.append(boot_with_spawn(bus.env, name))
        a, b = statistics.median(ctl), statistics.median(spawn)
        print(f"Debian to running: berthctl start {a * 1000:.0f} ms, berth-spawn {b * 1000:.0f} ms, ratio {a / b:.2f} "
              f"(target <= 1.1)")
    finally:
        subprocess.run(["umount", image])
        os.rmdir(image)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--machines", type=int, nargs="+", default=[20, 100])
    ap.add_argument("--list-only", action="store_true", help="skip the Debian boot comparison")
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--boots", type=int, default=5)
    args = ap.parse_args()
    bus = Bus()
    logs = tempfile.mkdtemp(prefix="berth-bench-log-")
    bus.env["BERTH_SPAWN_BINARY"] = SPAWN
    d = Berthd(bus, f"--log-dir={logs}", f"--autostart-dir={logs}/autostart")
    try:
        bench_list(bus, d, args.machines, args.runs)
        if not args.list_only:
            bench_start(bus, args.boots)
    finally:
        d.stop()
        bus.close()
        shutil.rmtree(logs, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Concurrent D-Bus clients against berthd while machines start and stop (issue 13, catalogue L02).

On a private system bus with berthd, CLIENTS real D-Bus connections (dbus-python, one per thread,
spread over a few processes) call, each in a loop with a random think time: ListMachines; "show"
(GetMachine + the machine's GetAll); "status" (GetMachine, GetAll, GetMachineOSRelease,
GetMachineAddresses, as machinectl status); GetMachineAddresses; OpenMachineShell (runs `echo`
on the machine's pty and reads it back); CopyToMachine + CopyFromMachine (a round trip of a file).
Meanwhile MACHINES busybox machines (berth-spawn -x -b, registered) start at once, are held up for
a moment, are terminated with TerminateMachine and are waited for, CYCLES times.

While every machine is known to be up, every call must succeed and every list must name exactly
those machines (no lost machine); a list never names a machine that is not ours (no phantom).
Outside that window a call on a machine that is going away may fail (counted by error name).
Prints berthd's fds and RSS after the first and the last cycle, and ListMachines' p50/p99 as the
clients saw them (a figure, not a test, unless --p99-limit-ms is given).

    sudo tests/load/load_clients.py --clients 200 --cycles 10 --p99-limit-ms 5   # the full run, by hand
    sudo tests/load/load_clients.py --clients 50 --cycles 3                      # tests/run-all's short one
"""
import argparse
import collections
import multiprocessing
import os
import random
import select
import subprocess
import sys
import tempfile
import threading
import time

import dbus

from load_registry import (RSS_SLACK_KB, SPAWN, daemon_figures, guests, leftovers, private_berthd, wait_for,
                           wait_launchers)

MGR = ("org.freedesktop.machine1", "/org/freedesktop/machine1", "org.freedesktop.machine1.Manager")
PROPS = "org.freedesktop.DBus.Properties"
PREFIX = "lt-c"  # leftovers() of load_registry looks for lt-*
OPS = [("list", 40), ("show", 20), ("status", 15), ("addresses", 15), ("shell", 5), ("copy", 5)]


class Phantom(Exception):
    """A list named a machine that is not ours: wrong in any window."""


class Client:
    """One D-Bus connection and its loop; `window` is the shared up-window number (> 0: every
    machine is up; < 0: they are starting or stopping)."""

    def __init__(self, idx, address, names, window, payload, scratch):
        self.rnd = random.Random(idx)
        self.idx, self.names, self.window = idx, names, window
        self.payload, self.scratch = payload, scratch
        self.conn = dbus.bus.BusConnection(address)
        self.list_ms = []
        self.ops = collections.Counter()
        self.gone = collections.Counter()
        self.errors = []

    def call(self, method, sig="", *args, timeout=30):
        return self.conn.call_blocking(*MGR, method, sig, args, timeout=timeout)

    def list_(self, _name):
        w0, t0 = self.window.value, time.perf_counter()
        machines = self.call("ListMachines")
        self.list_ms.append(((time.perf_counter() - t0) * 1000, w0 > 0 and self.window.value == w0))
        listed = {str(m[0]) for m in machines if str(m[0]).startswith(PREFIX)}
        if listed - set(self.names):
            raise Phantom(f"phantom machines listed: {sorted(listed - set(self.names))}")
        return listed

    def props(self, name):
        path = self.call("GetMachine", "s", name)
        return self.conn.call_blocking(MGR[0], path, PROPS, "GetAll", "s", ("org.freedesktop.machine1.Machine",))

    def show(self, name):
        if str(self.props(name)["Name"]) != name:
            raise AssertionError(f"GetAll of {name} names another machine")

    def status(self, name):
        self.props(name)
        osr = self.call("GetMachineOSRelease", "s", name)
        if str(osr.get("ID")) != "busybox":
            raise AssertionError(f"OS release of {name}: {dict(osr)}")
        self.call("GetMachineAddresses", "s", name)

    def addresses(self, name):
        self.call("GetMachineAddresses", "s", name)

    def shell(self, name):
        word = f"shell-{self.idx}-{self.ops['shell']}"
        fd, _ = self.call("OpenMachineShell", "sssasas", name, "root", "/bin/sh", ["/bin/sh", "-c", f"echo {word}"], [])
        fd = fd.take()
        out = b""
        try:
            deadline = time.monotonic() + 10
            while word.encode() not in out and time.monotonic() < deadline:
                if not select.select([fd], [], [], 1)[0]:
                    continue
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # EIO: the shell exited and closed the pty
                    break
                if not chunk:
                    break
                out += chunk
        finally:
            os.close(fd)
        if word.encode() not in out:
            raise AssertionError(f"OpenMachineShell on {name}: read {out!r}, not {word}")

    def copy(self, name):
        inside = f"/tmp/copy-{self.idx}"
        back = os.path.join(self.scratch, f"back-{self.idx}")
        if os.path.exists(back):
            os.unlink(back)
        self.call("CopyToMachineWithFlags", "ssst", name, self.payload, inside, 1, timeout=60)
        self.call("CopyFromMachine", "sss", name, inside, back, timeout=60)
        with open(back, "rb") as f, open(self.payload, "rb") as g:
            if f.read() != g.read():
                raise AssertionError(f"copy round trip through {name} changed the file")

    def run(self, stop, think_ms, ops):
        mix = [(o, w) for o, w in OPS if o in ops]
        while time.monotonic() < stop.value:
            op = self.rnd.choices([o for o, _ in mix], [w for _, w in mix])[0]
            name = self.rnd.choice(self.names)
            w0 = self.window.value
            try:
                result = getattr(self, "list_" if op == "list" else op)(name)
                w1 = self.window.value
                if op == "list" and w0 == w1 > 0 and result != set(self.names):
                    raise AssertionError(f"list while all were up lacks {sorted(set(self.names) - result)}")
            except (dbus.DBusException, AssertionError, OSError, Phantom) as e:
                w1 = self.window.value
                msg = e.get_dbus_name() if isinstance(e, dbus.DBusException) else type(e).__name__
                if isinstance(e, Phantom) or w0 == w1 > 0:
                    self.errors.append(f"{op} {name} (window {w0}): {msg}: {e}")
                else:
                    self.gone[f"{op}: {msg}"] += 1
            self.ops[op] += 1
            time.sleep(self.rnd.uniform(0, 2 * think_ms) / 1000)
        self.conn.close()


def listed(conn):
    return {str(m[0]) for m in conn.call_blocking(*MGR, "ListMachines", "", ()) if str(m[0]).startswith(PREFIX)}


def probe_list(address, start, stop, results):
    """ListMachines every 10 ms, on a connection of its own, in a process of its own (one thread:
    no other client's work shares its interpreter lock), its latencies (ms) into results; between
    them the bus's own GetId (answered by dbus-daemon, no berthd): the floor the bus and the two
    cores' run queue put under any call."""
    conn = dbus.bus.BusConnection(address)
    out, floor = [], []
    while time.monotonic() < start.value:
        time.sleep(0.01)
    while time.monotonic() < stop.value:
        t0 = time.perf_counter()
        conn.call_blocking(*MGR, "ListMachines", "", ())
        out.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.005)
        t0 = time.perf_counter()
        conn.call_blocking("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetId", "", ())
        floor.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.005)
    conn.close()
    results.put(("probe", (out, floor)))


def cycle(n, conn, bus, tree, names, window, hold):
    """One start-hold-stop round of the machines; returns errors."""
    procs = {name: subprocess.Popen([SPAWN, "-q", "-D", tree, "-M", name, "-x", "-b", "--private-network",
                                    "--register=yes"], env=bus.env,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for name in names}
    errors = []
    if wait_for(lambda: listed(conn) == set(names), 120):
        window.value = n
        time.sleep(hold)
        seen = listed(conn)
        if seen != set(names):
            errors.append(f"cycle {n}: lost {sorted(set(names) - seen)} while up")
    else:
        seen = listed(conn)
        errors.append(f"cycle {n}: lost {sorted(set(names) - seen)}, phantom {sorted(seen - set(names))}")
        errors += [f"{name}: launcher exited {p.returncode}: {p.stderr.read().decode().strip()}"
                   for name, p in procs.items() if name not in seen and p.poll() is not None]
    window.value = -n
    for name in names:
        try:
            conn.call_blocking(*MGR, "TerminateMachine", "s", (name,))
        except dbus.DBusException as e:
            errors.append(f"cycle {n}: TerminateMachine {name}: {e}")
    errors += [f"cycle {n}: {e}" for e in wait_launchers(procs)]
    if not wait_for(lambda: not listed(conn) and not leftovers(), 30):
        errors.append(f"cycle {n}: left behind: listed {sorted(listed(conn))}, {leftovers()}")
    return errors


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))] if xs else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--machines", type=int, default=20)
    ap.add_argument("--cycles", type=int, default=10)
    ap.add_argument("--hold", type=float, default=2.0, help="seconds every machine stays up in a cycle")
    ap.add_argument("--think-ms", type=float, default=250, help="mean pause of a client between calls")
    ap.add_argument("--ops", default=",".join(o for o, _ in OPS),
                    help="the calls clients make (to see what costs ListMachines' p99)")
    ap.add_argument("--p99-limit-ms", type=float, default=0, help="fail if ListMachines' p99 is above (0: report)")
    args = ap.parse_args()
    if set(args.ops.split(",")) - {o for o, _ in OPS}:
        ap.error(f"--ops: unknown {sorted(set(args.ops.split(',')) - {o for o, _ in OPS})}; "
                 f"known: {','.join(o for o, _ in OPS)}")
    names = [f"{PREFIX}{i}" for i in range(args.machines)]
    ctx = multiprocessing.get_context("fork")
    window = ctx.Value("q", 0, lock=False)
    errors = []
    with tempfile.TemporaryDirectory(prefix="berth-load-") as d, \
            private_berthd(bus_extra='<limit name="max_connections_per_user">4096</limit>') as (bus, daemon):
        tree = guests.make_busybox_tree(os.path.join(d, "bb"))
        payload = os.path.join(d, "payload")
        with open(payload, "wb") as f:
            f.write(os.urandom(64 * 1024))
        os.chmod(d, 0o755)
        results = ctx.Queue()
        nproc = min(8, args.clients)
        start_at = time.monotonic() + 3600  # set for real once everyone is connected
        shared_start = ctx.Value("d", start_at, lock=False)
        shared_stop = ctx.Value("d", start_at, lock=False)
        procs = []
        for i in range(nproc):
            count = args.clients // nproc + (i < args.clients % nproc)
            first = sum(args.clients // nproc + (j < args.clients % nproc) for j in range(i))
            procs.append(ctx.Process(target=run_worker, args=(first, count, bus.address, names, window, payload, d,
                                                               shared_start, shared_stop, args.think_ms,
                                                               args.ops.split(","), results)))
        for p in procs:
            p.start()
        connected = sum(results.get(timeout=60)[1] for _ in procs)
        conn = dbus.bus.BusConnection(bus.address)
        print(f"{connected} client connections on the bus; {args.machines} machines, {args.cycles} cycles", flush=True)
        # the clients run until the last cycle is over
        shared_stop.value = time.monotonic() + 3600
        shared_start.value = time.monotonic()
        probe_results = ctx.Queue()
        prober = ctx.Process(target=probe_list, args=(bus.address, shared_start, shared_stop, probe_results))
        prober.start()
        t0 = time.monotonic()
        figures = []
        for n in range(1, args.cycles + 1):
            errors += cycle(n, conn, bus, tree, names, window, args.hold)
            # berthd reads the launchers' hang-ups a moment after they exit
            wait_for(lambda: not figures or daemon_figures(daemon.proc.pid)[0] <= figures[0][0], 3)
            figures.append(daemon_figures(daemon.proc.pid))
        shared_stop.value = time.monotonic()
        probe, floor = probe_results.get(timeout=60)[1]
        prober.join(timeout=30)
        done = [results.get(timeout=120)[1] for _ in procs]
        for p in procs:
            p.join(timeout=30)
        elapsed = time.monotonic() - t0
        conn.close()
    ops = sum((r["ops"] for r in done), collections.Counter())
    gone = sum((r["gone"] for r in done), collections.Counter())
    lat = [x for r in done for x in r["list_ms"]]
    errors += [e for r in done for e in r["errors"]]
    (fds0, rss0), (fds1, rss1) = figures[0], figures[-1]
    p50, p99 = percentile([t for t, _ in lat], 50), percentile([t for t, _ in lat], 99)
    print(f"{sum(ops.values())} calls in {elapsed:.1f} s ({sum(ops.values()) / elapsed:.0f}/s): "
          + ", ".join(f"{k} {v}" for k, v in sorted(ops.items())))
    print("failed on a machine going away: " + (", ".join(f"{k} {v}" for k, v in sorted(gone.items())) or "none"))
    print(f"berthd after cycle 1 / {args.cycles}: fds {fds0} -> {fds1}, RSS {rss0} -> {rss1} kB")
    print(f"ListMachines as {args.clients} clients saw it: p50 {p50:.2f} ms, p99 {p99:.2f} ms "
          f"({len(lat)} calls; target p99 <= 5 ms); while all machines were up: "
          f"p50 {percentile([t for t, up in lat if up], 50):.2f} ms, p99 {percentile([t for t, up in lat if up], 99):.2f} ms")
    print(f"ListMachines of a lone prober (a process of its own) every 10 ms: p50 {percentile(probe, 50):.2f} ms, "
          f"p99 {percentile(probe, 99):.2f} ms ({len(probe)} calls); the bus's own GetId between them (no berthd): "
          f"p50 {percentile(floor, 50):.2f} ms, p99 {percentile(floor, 99):.2f} ms")
    if fds1 > fds0:
        errors.append(f"berthd fds drifted: {fds0} -> {fds1}")
    if rss1 > rss0 + RSS_SLACK_KB:
        errors.append(f"berthd RSS grew: {rss0} -> {rss1} kB")
    if args.p99_limit_ms and p99 > args.p99_limit_ms:
        errors.append(f"ListMachines p99 {p99:.2f} ms is above {args.p99_limit_ms} ms")
    if any(p.exitcode != 0 for p in procs):
        errors.append(f"client processes exited {[p.exitcode for p in procs]}")
    for e in errors[:20]:
        print("FAILED:", e)
    if len(errors) > 20:
        print(f"FAILED: … and {len(errors) - 20} more")
    return 1 if errors else 0


def run_worker(first, count, address, names, window, payload, scratch, start, stop, think_ms, ops, results):
    """worker() with the start and stop times read from shared values once they are set."""
    clients = [Client(first + i, address, names, window, payload, scratch) for i in range(count)]
    results.put(("ready", count))
    while time.monotonic() < start.value:
        time.sleep(0.01)
    threads = [threading.Thread(target=c.run, args=(stop, think_ms, ops)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.put(("done", {"list_ms": [x for c in clients for x in c.list_ms],
                          "ops": sum((c.ops for c in clients), collections.Counter()),
                          "gone": sum((c.gone for c in clients), collections.Counter()),
                          "errors": [e for c in clients for e in c.errors]}))


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""-n/--network-veth: berth-spawn against stock systemd-nspawn -n (--register=no --keep-unit, which
makes the veth and nothing else), and what the network costs berth over --private-network; TCP
throughput (iperf3, installed from Debian when missing) host -> guest over berth's veth, over
nspawn's veth (addressed by hand: nspawn leaves it down without networkd), and through a port that
berth publishes on localhost, each as a ratio to a bare veth pair between two network namespaces;
MACHINES machines in one --network-zone= started at once against as many without a network (all
running the same payload), and what the kernel alone needs for as many network namespaces with a
veth in one bridge, which bounds that ratio from below on a host whose CPUs are all busy. Not a test.

    sudo tests/bench/bench_network.py [--runs N] [--seconds S] [--zone-machines N] [--zone-runs N]
        [--only-zone | --only-veth]
"""
import argparse
import ctypes
import os
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from bench import NSPAWN, TOOLS, guests, report, timed


def bench_veth_true(tree, runs):
    res = {"berth": [], "nspawn": []}
    for _ in range(runs):
        for tool in ("berth", "nspawn"):
            res[tool].append(timed([*TOOLS[tool], "-q", "-D", tree, "-M", "bench-net", "-n", "/bin/true"]))
    report("-n /bin/true in the busybox tree (ms)", res, 0.35)


def bench_veth_cost(tree, runs):
    private, veth = [], []
    for _ in range(runs):
        private.append(timed([*TOOLS["berth"], "-q", "-D", tree, "-M", "bench-net", "--private-network", "/bin/true"]))
        veth.append(timed([*TOOLS["berth"], "-q", "-D", tree, "-M", "bench-net", "-n", "/bin/true"]))
    p, v = statistics.median(private), statistics.median(veth)
    verdict = "ok" if v - p <= 0.010 else "MISSED"
    print(f"{'-n cost over --private-network (ms)':<44} private {p * 1000:7.1f}  -n     {v * 1000:9.1f}  "
          f"added {(v - p) * 1000:5.1f} ms  (target <= 10 ms: {verdict})")


def _run(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def _leader(pid):
    """The first process below pid in another network namespace (the machine's payload)."""
    own = os.readlink("/proc/self/ns/net")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        todo = [pid]
        while todo:
            p = todo.pop()
            try:
                if os.readlink(f"/proc/{p}/ns/net") != own:
                    return p
                with open(f"/proc/{p}/task/{p}/children") as f:
                    todo += [int(c) for c in f.read().split()]
            except OSError:
                pass
        time.sleep(0.05)
    raise RuntimeError(f"no machine below {pid}")


def _iperf(server_ns, addr, seconds, port=5201, server_port=5201):
    """Gbit/s host -> server (iperf3 -s in the network namespace server_ns, a path or None)."""
    ns = ["nsenter", f"--net={server_ns}"] if server_ns else []
    srv = subprocess.Popen([*ns, "iperf3", "-s", "-1", "-p", str(server_port)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            r = subprocess.run(["iperf3", "-c", addr, "-p", str(port), "-t", str(seconds), "-J"],
                               capture_output=True, text=True)
            res = json.loads(r.stdout) if r.stdout.strip() else {}
            if "sum_received" in res.get("end", {}):  # 3.12 says 0 on "unable to connect" too
                return res["end"]["sum_received"]["bits_per_second"] / 1e9
            time.sleep(0.1)
        raise RuntimeError(r.stdout[-500:])
    finally:
        srv.kill()
        srv.wait()


def _bare_veth(seconds):
    # iproute2 mounts /run/netns on its first "netns add" and never unmounts it: if that mount was
    # not there before, the bench takes it away again after.
    had_mount = os.path.ismount("/run/netns")
    _run("ip", "netns", "add", "bench-iperf")
    try:
        _run("ip", "link", "add", "bi-host", "type", "veth", "peer", "name", "bi-guest", "netns", "bench-iperf")
        _run("ip", "addr", "add", "10.250.1.1/30", "dev", "bi-host")
        _run("ip", "link", "set", "bi-host", "up")
        _run("ip", "-n", "bench-iperf", "addr", "add", "10.250.1.2/30", "dev", "bi-guest")
        _run("ip", "-n", "bench-iperf", "link", "set", "bi-guest", "up")
        return _iperf("/run/netns/bench-iperf", "10.250.1.2", seconds)
    finally:
        subprocess.run(["ip", "link", "del", "bi-host"], stderr=subprocess.DEVNULL)
        _run("ip", "netns", "del", "bench-iperf")
        if not had_mount and not os.listdir("/run/netns"):
            subprocess.run(["umount", "/run/netns"], stderr=subprocess.DEVNULL)


def _machine_iperf(tool, tree, seconds, published=False):
    extra = ["-p", "tcp:15201:5201"] if published else []
    p = subprocess.Popen([*TOOLS[tool], "-q", "-D", tree, "-M", "bench-iperf", "-n", *extra, "/bin/sleep", "600"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        ns = f"/proc/{_leader(p.pid)}/ns/net"
        if tool == "nspawn":  # no networkd: the veth is down and has no address
            _run("ip", "addr", "add", "10.250.2.1/30", "dev", "ve-bench-iperf")
            _run("ip", "link", "set", "ve-bench-iperf", "up")
            _run("nsenter", f"--net={ns}", "ip", "addr", "add", "10.250.2.2/30", "dev", "host0")
            _run("nsenter", f"--net={ns}", "ip", "link", "set", "host0", "up")
            return _iperf(ns, "10.250.2.2", seconds)
        out = subprocess.run(["nsenter", f"--net={ns}", "ip", "-4", "-o", "addr", "show", "host0"],
                             capture_output=True, text=True, check=True).stdout
        addr = out.split()[3].split("/")[0]
        if published:
            return _iperf(ns, "127.0.0.1", seconds, port=15201)
        return _iperf(ns, addr, seconds)
    finally:
        p.terminate()
        p.wait()


def bench_throughput(tree, runs, seconds):
    res = {"bare": [], "berth": [], "nspawn": [], "port": []}
    for _ in range(runs):
        res["bare"].append(_bare_veth(seconds))
        res["berth"].append(_machine_iperf("berth", tree, seconds))
        res["nspawn"].append(_machine_iperf("nspawn", tree, seconds))
        res["port"].append(_machine_iperf("berth", tree, seconds, published=True))
    m = {k: statistics.median(v) for k, v in res.items()}
    for k, label, target in (("berth", "berth -n veth", 0.9), ("nspawn", "nspawn -n veth", None),
                             ("port", "berth -p from localhost", 0.8)):
        verdict = f"(target >= {target:.2f}: {'ok' if m[k] / m['bare'] >= target else 'MISSED'})" if target else ""
        print(f"{'iperf3 host -> guest, ' + label + ' (Gbit/s)':<52} {m[k]:6.2f}  bare veth {m['bare']:6.2f}  "
              f"ratio {m[k] / m['bare']:5.2f}  {verdict}")
    print(f"{'iperf3 berth -n veth vs nspawn -n veth':<52} ratio {m['berth'] / m['nspawn']:5.2f}")


def _settle():
    """Until the kernel has finished the last batch's ends (network namespaces, a zone's bridge, which
    the launchers leave behind them): else they run into the next batch and are charged to it."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(n.startswith(("vb-", "vz-", "ve-", "vx-"))
                                              for n in os.listdir("/sys/class/net")):
        time.sleep(0.02)
    time.sleep(0.3)


def _all_at_once(trees, network):
    """Seconds from starting one machine per tree at once until all have exited, and the host's busy
    CPU meanwhile; each checks that it has what it was given (an address from the zone on host0, or
    none). Starts on a settled host."""
    _settle()
    # the same payload in every batch: it exits 0 when host0 has an IPv4 address from the zone, 1 when not
    zone = any(a.startswith("--network-zone=") for a in network)
    check = "ip -4 -o addr show host0 2>/dev/null | grep -q 'inet 10\\.'"
    busy0, t0 = _busy_cpu(), time.monotonic()
    procs = [subprocess.Popen([*TOOLS["berth"], "-q", "-D", t, "-M", f"bench-z{i}", *network, "/bin/sh", "-c", check],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for i, t in enumerate(trees)]
    failed = [p.communicate()[1] or f"exit status {p.returncode}" for p in procs if p.wait() != (0 if zone else 1)]
    if failed:
        raise RuntimeError(f"{len(failed)} machines failed: {failed[0]}")
    return time.monotonic() - t0, _busy_cpu() - busy0


def _busy_cpu():
    """Seconds of CPU the whole host has been busy (all CPUs, not idle or iowait), from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def _namespaces_at_once(machines, netns, veth):
    """Busy CPU seconds of MACHINES processes that each make a network namespace (netns) and end, with
    (veth) a veth pair into a bridge, its host side up in the bridge: what a zone costs the kernel
    before berth does anything, made through one `ip -batch`. netns False: the processes alone.
    Starts on a settled host, ends when the namespaces' ends (in the kernel's workqueue) have run."""
    libc = ctypes.CDLL(None, use_errno=True)
    _settle()
    busy0, children = _busy_cpu(), []
    for _ in range(machines):
        ready_r, ready_w = os.pipe()
        end_r, end_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(ready_r)
            os.close(end_w)
            for _, other in children:  # else the others' ends wait for this one
                os.close(other)
            ok = not netns or libc.unshare(0x40000000) == 0  # CLONE_NEWNET
            os.write(ready_w, b"1" if ok else b"0")
            os.read(end_r, 1)
            os._exit(0)
        os.close(ready_w)
        os.close(end_r)
        if os.read(ready_r, 1) != b"1":
            raise RuntimeError("unshare(CLONE_NEWNET) failed")
        os.close(ready_r)
        children.append((pid, end_w))
    cmds = [f"link add vb-floor{i} type veth peer name host0 netns {pid}\nlink set vb-floor{i} master br-floor up"
            for i, (pid, _) in enumerate(children)] if veth else []
    subprocess.run(["ip", "-batch", "-"], input="\n".join(cmds) + "\n", text=True, check=True)
    for pid, end_w in children:
        os.close(end_w)  # the namespace, and the veth in it, end with the process
        os.waitpid(pid, 0)
    _settle()
    return _busy_cpu() - busy0


def bench_kernel_floor(machines, runs, none_wall, none_cpu):
    """What the kernel alone adds for MACHINES network namespaces with a veth in one bridge. On a host
    whose CPUs are all busy starting machines without a network, the zone's ratio cannot go below
    (their busy CPU + this) / CPUs / their time, whatever berth does."""
    _run("ip", "link", "add", "br-floor", "type", "bridge")
    try:
        _run("ip", "link", "set", "br-floor", "up")
        cpu = {mode: 0.0 for mode in ("processes", "netns", "veth")}
        for _ in range(runs):  # summed: /proc/stat counts in 10 ms steps
            cpu["processes"] += _namespaces_at_once(machines, False, False)
            cpu["netns"] += _namespaces_at_once(machines, True, False)
            cpu["veth"] += _namespaces_at_once(machines, True, True)
    finally:
        _run("ip", "link", "del", "br-floor")
    netns, veth = ((cpu[k] - cpu["processes"]) / runs for k in ("netns", "veth"))
    cpus = os.cpu_count()
    print(f"{f'{machines} netns + veth in a bridge, kernel only':<44} CPU {veth * 1000:5.1f} ms "
          f"(netns alone {netns * 1000:5.1f}): zone ratio floor on {cpus} CPUs {(none_cpu + veth) / cpus / none_wall:.2f}")


def bench_zone(dir, machines, runs):
    """issue 11's target: MACHINES with -n in one zone started at once <= 1.2x as many without a network."""
    trees = [guests.make_busybox_tree(os.path.join(dir, f"z{i}")) for i in range(machines)]
    zone, plain, private = [], [], []
    for _ in range(runs):
        plain.append(_all_at_once(trees, []))
        private.append(_all_at_once(trees, ["--private-network"]))
        zone.append(_all_at_once(trees, ["--network-zone=benchz"]))
    p, v, z = (statistics.median(w for w, _ in runs) for runs in (plain, private, zone))
    pc, zc = (statistics.median(c for _, c in runs) for runs in (plain, zone))
    verdict = "ok" if z / p <= 1.2 else "MISSED"
    print(f"{f'{machines} machines at once, zone vs none (ms)':<44} none {p * 1000:9.1f}  zone {z * 1000:9.1f}  "
          f"ratio {z / p:5.2f}  (target <= 1.20: {verdict})")
    # what network namespaces alone cost the kernel (made and destroyed): loopback only, no veth
    print(f"{f'{machines} machines at once, zone vs loopback only (ms)':<44} lo   {v * 1000:9.1f}  zone {z * 1000:9.1f}  "
          f"ratio {z / v:5.2f}")
    # the host's busy CPU during the runs: with every CPU busy, the wall time cannot go below
    # busy CPU / CPUs, so the zone's extra CPU bounds its ratio from below
    cpus = os.cpu_count()
    print(f"{f'{machines} machines at once, host CPU busy (ms)':<44} none {pc * 1000:9.1f}  zone {zc * 1000:9.1f}  "
          f"ratio {zc / pc:5.2f}  (floor on {cpus} CPUs: zone {zc / cpus * 1000:.0f} ms, ratio {zc / cpus / p:.2f})")
    bench_kernel_floor(machines, runs, p, pc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--seconds", type=int, default=3, help="length of each iperf3 run")
    ap.add_argument("--iperf-runs", type=int, default=3)
    ap.add_argument("--zone-machines", type=int, default=20)
    ap.add_argument("--zone-runs", type=int, default=5)
    ap.add_argument("--only-zone", action="store_true", help="just the zone bench")
    ap.add_argument("--only-veth", action="store_true", help="just -n /bin/true and its cost")
    args = ap.parse_args()
    if os.geteuid() != 0 or not NSPAWN:
        sys.exit("Run as root, with systemd-container installed.")
    with tempfile.TemporaryDirectory(prefix="berth-bench-", dir="/var/tmp") as d:
        if not args.only_veth:
            bench_zone(d, args.zone_machines, args.zone_runs)
        if args.only_zone:
            return
        bb = guests.make_busybox_tree(os.path.join(d, "bb"))
        bench_veth_true(bb, args.runs)
        bench_veth_cost(bb, args.runs)
        if args.only_veth:
            return
        if not shutil.which("iperf3"):
            subprocess.run(["apt-get", "install", "-y", "iperf3"], check=True, stdout=subprocess.DEVNULL)
        bench_throughput(bb, args.iperf_runs, args.seconds)


if __name__ == "__main__":
    main()

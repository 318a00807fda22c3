# SPDX-License-Identifier: LGPL-2.1-or-later
"""Resource properties through berthd: berthctl set-property on a running machine (kept for its next
start unless --runtime), bad input, and the scope properties stock systemd-nspawn sends in
CreateMachine."""

import json
import os
import re
import subprocess
import sys
import time

import pytest

import guests
from conftest import SPAWN
from daemon import wait_for
from test_berthctl import Env, booted

MEM = "/sys/fs/cgroup/memory"
CPU = "/sys/fs/cgroup/cpu"
PIDS = "/sys/fs/cgroup/pids"


def scope(name):
    return "machine.slice/machine-%s.scope" % name.replace("-", "\\x2d")


def read(path):
    with open(path) as f:
        return f.read().strip()


@pytest.fixture
def env():
    if not os.path.isdir(MEM) or not os.path.isdir(CPU) or not os.path.isdir(PIDS):
        pytest.skip("needs the v1 memory, cpu and pids controllers of this host")
    e = Env()
    e.start_berthd()
    yield e
    e.close()


def test_set_property_running_and_kept_for_next_start(env):
    env.image("bt-lim-a")
    assert env.ctl("start", "bt-lim-a").returncode == 0
    assert booted(env, "bt-lim-a"), env.log("bt-lim-a")
    r = env.ctl("set-property", "bt-lim-a", "MemoryMax=64M", "TasksMax=100")
    assert r.returncode == 0, r.stderr
    assert read(f"{MEM}/{scope('bt-lim-a')}/memory.limit_in_bytes") == str(64 << 20)
    assert read(f"{PIDS}/{scope('bt-lim-a')}/pids.max") == "100"
    r = env.ctl("set-property", "--runtime", "bt-lim-a", "CPUWeight=200")
    assert r.returncode == 0, r.stderr
    assert read(f"{CPU}/{scope('bt-lim-a')}/cpu.shares") == "2048"
    st = env.ctl("status", "bt-lim-a").stdout
    assert re.search(r"^ +Memory: \S+ \(peak: \S+, max: 64(\.0)?M\)$", st, re.M), st
    assert re.search(r"^ +Tasks: \d+ \(limit: 100\)$", st, re.M), st
    assert re.search(r"^ +CPU: \d+\.\d{3}s$", st, re.M), st
    assert re.search(r"^ +IO: \S+ read, \S+ written$", st, re.M), st
    kept = read(os.path.join(env.dir, "properties", "bt-lim-a")).splitlines()
    assert kept == ["MemoryMax=64M", "TasksMax=100"]
    # the next start gets what was kept, not what was --runtime
    assert env.ctl("terminate", "bt-lim-a").returncode == 0
    assert wait_for(lambda: "bt-lim-a" not in env.running(), timeout=15)
    assert env.ctl("start", "bt-lim-a").returncode == 0
    # the scope exists a moment before the launcher writes its limits (after registering)
    want = {f"{MEM}/{scope('bt-lim-a')}/memory.limit_in_bytes": str(64 << 20),
            f"{PIDS}/{scope('bt-lim-a')}/pids.max": "100", f"{CPU}/{scope('bt-lim-a')}/cpu.shares": "1024"}

    def seen():
        return {p: read(p) if os.path.exists(p) else None for p in want}
    assert wait_for(lambda: seen() == want, timeout=15), seen()


def test_set_property_bad_input(env):
    env.image("bt-lim-b")
    r = env.ctl("set-property", "bt-lim-b", "Frobnicate=1")
    assert r.returncode == 1
    assert r.stderr.startswith("Unknown property 'Frobnicate' (supported: MemoryMax,"), r.stderr
    r = env.ctl("set-property", "bt-lim-b", "CPUQuota=0%")
    assert r.stderr.strip() == "CPUQuota=0% is out of range: the quota must be above 0% (and at most 100000%)."
    r = env.ctl("set-property", "bt-lim-b", "MemoryMax")
    assert r.stderr.strip() == "Invalid property assignment 'MemoryMax': use NAME=VALUE (MemoryMax=1G, CPUWeight=200, ...)."
    r = env.ctl("set-property", "bt-no-such-machine", "MemoryMax=1G")
    assert r.returncode == 1 and r.stderr.strip() == "No machine or image 'bt-no-such-machine' known."
    r = env.ctl("set-property", "--runtime", "bt-lim-b", "MemoryMax=1G")
    assert r.returncode == 1 and r.stderr.strip() == "No machine 'bt-lim-b' known."
    assert not os.path.exists(os.path.join(env.dir, "properties", "bt-lim-b"))
    r = env.ctl("set-property", "bt-lim-b", "MemoryMax=1G", user="65534")
    assert r.returncode == 1 and "permission denied" in r.stderr
    # a stopped machine's properties are kept for its next start
    r = env.ctl("set-property", "bt-lim-b", "TasksMax=77")
    assert r.returncode == 0, r.stderr
    assert read(os.path.join(env.dir, "properties", "bt-lim-b")) == "TasksMax=77"


def test_stock_nspawn_property_applied_by_berthd(env, tmp_path):
    tree = guests.make_busybox_tree(str(tmp_path / "tree"))
    n = subprocess.Popen(["systemd-nspawn", "-q", "--register=yes", "--property=MemoryMax=50M",
                          "--property=TasksMax=99", "-D", tree, "-M", "nsp-lim", "/bin/sleep", "1000"],
                         env=env.bus.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: "nsp-lim" in env.running(), timeout=10)
        assert wait_for(lambda: os.path.exists(f"{MEM}/{scope('nsp-lim')}/memory.limit_in_bytes"))
        assert read(f"{MEM}/{scope('nsp-lim')}/memory.limit_in_bytes") == str(50 << 20)
        assert read(f"{PIDS}/{scope('nsp-lim')}/pids.max") == "99"
        assert env.ctl("terminate", "nsp-lim").returncode == 0
        n.wait(timeout=20)
    finally:
        if n.poll() is None:
            n.kill()
            n.wait()


def test_stock_nspawn_bad_property_refused(env, tmp_path):
    tree = guests.make_busybox_tree(str(tmp_path / "tree"))
    # nspawn checks the syntax itself; a value it accepts but berth cannot use is refused by berthd
    r = subprocess.run(["systemd-nspawn", "-q", "--register=yes", "--property=TasksMax=5000000",
                        "-D", tree, "-M", "nsp-lim-bad", "/bin/true"], env=env.bus.env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode != 0
    assert "Value '5000000' for TasksMax= is out of range: it must be between 1 and 4194304." in r.stderr


def test_accounting_in_show_and_list(env, tmp_path):
    """show gives systemd's accounting properties, list --columns= adds them as columns (and JSON
    numbers), read from the machine's cgroups: the limit set, its tasks, its growing CPU time."""
    tree = guests.make_busybox_tree(str(tmp_path / "tree"))
    p = subprocess.Popen([SPAWN, "-q", "--register=yes", "--property=MemoryMax=100M", "--property=CPUQuota=20%",
                          "-D", tree, "-M", "bt-acct", "/bin/sh", "-c", "while :; do :; done"],
                         env=env.bus.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: "bt-acct" in env.running(), timeout=10)
        r = env.ctl("show", "-p", "MemoryMax", "-p", "TasksMax", "bt-acct")
        assert r.returncode == 0, r.stderr
        assert r.stdout.splitlines() == ["MemoryMax=104857600", "TasksMax=16384"]
        assert int(env.ctl("show", "--value", "-p", "TasksCurrent", "bt-acct").stdout) >= 1

        def cpu():
            return int(env.ctl("show", "--value", "-p", "CPUUsageNSec", "bt-acct").stdout)
        first = cpu()
        assert first > 0
        assert wait_for(lambda: cpu() > first, timeout=5)
        props = dict(line.split("=", 1) for line in env.ctl("show", "bt-acct").stdout.splitlines())
        assert props["Name"] == "bt-acct"
        for k in ("MemoryCurrent", "MemoryPeak", "IOReadBytes", "IOWriteBytes"):
            assert re.fullmatch(r"\d+", props[k]), (k, props[k])

        # show and status --json: one object with the properties, numbers as numbers
        for verb in ("show", "status"):
            r = env.ctl(verb, "--json=short", "bt-acct")
            assert r.returncode == 0, r.stderr
            obj = json.loads(r.stdout)["machine"]
            assert len(obj) == 1, obj
            obj = obj[0]
            assert obj["name"] == "bt-acct" and obj["class"] == "container" and obj["leader"] > 1, obj
            assert obj["memorymax"] == 104857600 and obj["tasksmax"] == 16384 and obj["cpuusagensec"] > 0, obj
            assert isinstance(obj["timestamp"], int) and obj["timestamp"] > 0, obj
        r = env.ctl("show", "--json=pretty", "-p", "MemoryMax", "bt-acct")
        assert json.loads(r.stdout) == {"machine": [{"memorymax": 104857600}]}, r.stdout
        r = env.ctl("list", "--columns=memory-max,tasks,cpu", "--json=short")
        assert r.returncode == 0, r.stderr
        row = [m for m in json.loads(r.stdout)["machines"] if m["machine"] == "bt-acct"][0]
        assert row["memory-max"] == 104857600 and row["tasks"] >= 1 and row["cpu"] > 0, row
        r = env.ctl("list", "--columns=MEMORY-MAX,tasks-max")
        assert r.stdout.split("\n")[0].split()[-2:] == ["MEMORY-MAX", "TASKS-MAX"], r.stdout
        line = [x for x in r.stdout.splitlines() if x.startswith("bt-acct ")][0]
        assert line.split()[-2:] == ["100.0M", "16384"], r.stdout
        r = env.ctl("list", "--columns=memory,frob")
        assert r.returncode == 1 and r.stderr.strip() == (
            "Unknown column 'frob' in --columns=: use memory, memory-peak, memory-max, tasks, tasks-max, cpu, "
            "io-read, io-write.")
        assert env.ctl("terminate", "bt-acct").returncode == 0
        p.wait(timeout=20)
    finally:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=20)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()


# In a pure cgroup2 view of its own: a bus, berthd, and stock systemd-nspawn registering through
# CreateMachine, so that berthd makes the scope; the machine's cgroup.controllers from outside.
CREATE_ON_V2 = """
import os, subprocess, sys
sys.path.insert(0, {tests!r})
import guests
from daemon import Berthd, Bus, wait_for
bus = Bus()
berthd = Berthd(bus)
tree = guests.make_busybox_tree({tree!r})
scope = "/sys/fs/cgroup/machine.slice/machine-nsp\\\\x2ddeleg.scope"
# the busybox tree has no systemd: without this nspawn would make the machine a name=systemd cgroup
# through a private mount of that v1 hierarchy (this view hides it from berthd)
env = dict(bus.env, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY="1")
n = subprocess.Popen(["systemd-nspawn", "-q", "--register=yes", "-D", tree, "-M", "nsp-deleg", "/bin/sleep", "1000"],
                     env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
try:
    wait_for(lambda: os.path.exists(scope + "/cgroup.procs"), timeout=10)
    print("ROOT", open("/sys/fs/cgroup/cgroup.controllers").read().strip())
    print("SCOPE", open(scope + "/cgroup.controllers").read().strip())
finally:
    n.terminate()
    n.wait(timeout=20)
    berthd.stop()
    bus.close()
"""


def test_create_machine_scope_delegated_on_pure_cgroup2(tmp_path):
    # berthd's own scopes (CreateMachine) get every controller cgroup2 offers, as systemd's
    # Delegate=yes gives nspawn's
    script = CREATE_ON_V2.format(tests=os.path.dirname(os.path.abspath(__file__)), tree=str(tmp_path / "tree"))
    r = subprocess.run(["unshare", "-m", "bash", "-c", "mount --make-rprivate /; umount -l /sys/fs/cgroup;"
                        'mount -t cgroup2 cgroup2 /sys/fs/cgroup; exec "$1" -c "$0"', script, sys.executable],
                       capture_output=True, text=True, timeout=90)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = dict(line.split(" ", 1) if " " in line else (line, "") for line in r.stdout.splitlines())
    if not lines["ROOT"]:
        pytest.skip("cgroup2 offers no controller on this host")
    assert lines["SCOPE"].split() == lines["ROOT"].split(), r.stdout

# SPDX-License-Identifier: LGPL-2.1-or-later
"""Resource control of berth-spawn: --property= on this host's layout (v1 controllers) and on the pure
cgroup2 view, faults that stay inside the machine, process limits of PID 1, settings files."""

import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from conftest import SPAWN, spawn


def v1(controller, rel):
    return os.path.join("/sys/fs/cgroup", controller, rel)


def scope(name, slice_path="machine.slice"):
    escaped = name.replace("-", "\\x2d")
    return f"{slice_path}/machine-{escaped}.scope"


def read(path):
    with open(path) as f:
        return f.read().strip()


def wait_for(pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def background(*args):
    return subprocess.Popen([SPAWN, "-q", *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def stop(p, timeout=20):
    p.send_signal(signal.SIGTERM)
    try:
        return p.communicate(timeout=timeout)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def have_v1(controller):
    return os.path.isfile(v1(controller, "cgroup.procs"))


def test_memory_max_oom_kill_stays_inside(bbtree):
    if not have_v1("memory") and not os.path.exists("/sys/fs/cgroup/memory.max"):
        pytest.skip("no memory controller")
    # dd's 200 MB buffer is more than the machine may have: the kernel kills dd, inside; the machine's
    # PID 1 (the shell) carries on.
    r = spawn("-q", "-D", bbtree, "-M", "lim-oom", "--property=MemoryMax=100M",
              "/bin/sh", "-c", "dd if=/dev/zero of=/dev/null bs=200M count=1 2>/dev/null; echo dd=$?; echo alive")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["dd=137", "alive"], r.stdout + r.stderr
    # the same allocation without the limit works: the limit, not the host, stopped it
    r = spawn("-q", "-D", bbtree, "-M", "lim-oom", "/bin/sh", "-c",
              "dd if=/dev/zero of=/dev/null bs=200M count=1 2>/dev/null; echo dd=$?")
    assert r.stdout.split() == ["dd=0"], r.stdout + r.stderr


def test_memory_max_on_v1_files_and_warning(bbtree):
    if not have_v1("memory"):
        pytest.skip("memory is not a v1 controller here")
    p = background("-D", bbtree, "-M", "lim-mem", "--property=MemoryMax=100M", "--property=MemoryHigh=80M",
                   "/bin/sleep", "100")
    try:
        path = v1("memory", scope("lim-mem"))
        assert wait_for(lambda: os.path.exists(path + "/memory.limit_in_bytes") and read(path + "/cgroup.procs"))
        assert read(path + "/memory.limit_in_bytes") == str(100 * 1024 * 1024)
    finally:
        _, err = stop(p)
    assert "MemoryHigh= not applied: the v1 memory controller has no equivalent of memory.high." in err


def test_tasks_max_fork_bomb(bbtree):
    if not have_v1("pids"):
        pytest.skip("pids is not a v1 controller here")
    p = background("-D", bbtree, "-M", "lim-bomb", "--property=TasksMax=64",
                   "/bin/sh", "-c", "b() { b | b & }; b 2>/dev/null; exec sleep 1000")
    try:
        path = v1("pids", scope("lim-bomb"))
        assert wait_for(lambda: os.path.exists(path + "/pids.events") and
                        int(read(path + "/pids.events").split()[1]) > 0, timeout=20)
        assert read(path + "/pids.max") == "64"
        assert int(read(path + "/pids.current")) <= 64
        # the host stays responsive while the bomb runs
        t = time.monotonic()
        assert subprocess.run(["/bin/true"]).returncode == 0
        assert time.monotonic() - t < 2
    finally:
        t = time.monotonic()
        stop(p, timeout=30)
    assert time.monotonic() - t < 20  # and the machine stops


def test_cpu_quota_measured(bbtree):
    if not have_v1("cpuacct"):
        pytest.skip("cpuacct is not a v1 controller here")
    p = background("-D", bbtree, "-M", "lim-cpu", "--property=CPUQuota=20%",
                   "/bin/sh", "-c", "while :; do :; done")
    try:
        path = v1("cpuacct", scope("lim-cpu"))
        assert wait_for(lambda: os.path.exists(path + "/cpuacct.usage") and read(path + "/cgroup.procs"))
        assert read(v1("cpu", scope("lim-cpu")) + "/cpu.cfs_quota_us") == "20000"
        time.sleep(0.5)
        u0, t0 = int(read(path + "/cpuacct.usage")), time.monotonic()
        time.sleep(3)
        u1, t1 = int(read(path + "/cpuacct.usage")), time.monotonic()
        share = (u1 - u0) / 1e9 / (t1 - t0)
        assert 0.12 < share < 0.28, share
    finally:
        stop(p)


def test_allowed_cpus_and_process_limits(bbtree):
    if os.cpu_count() < 2:
        pytest.skip("needs two CPUs")
    r = spawn("-q", "-D", bbtree, "-M", "lim-proc", "--property=AllowedCPUs=1", "/bin/sh", "-c",
              "grep Cpus_allowed_list /proc/self/status")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["Cpus_allowed_list:", "1"], r.stdout + r.stderr
    r = spawn("-q", "-D", bbtree, "-M", "lim-proc", "--rlimit=NOFILE=123:456", "--rlimit=RLIMIT_CORE=infinity",
              "--oom-score-adjust=500", "--cpu-affinity=0", "/bin/sh", "-c",
              "grep -e 'Max open files' -e 'Max core' /proc/self/limits; cat /proc/self/oom_score_adj; "
              "grep Cpus_allowed_list /proc/self/status")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[4:6] == ["unlimited", "unlimited"], r.stdout
    assert lines[1].split()[3:5] == ["123", "456"], r.stdout
    assert lines[2] == "500"
    assert lines[3].split() == ["Cpus_allowed_list:", "0"]


def test_io_write_bandwidth_on_loop_device(bbtree, tmp_path):
    if not have_v1("blkio") and not os.path.exists("/sys/fs/cgroup/io.max"):
        pytest.skip("no io controller")
    backing = tmp_path / "disk"
    with open(backing, "wb") as f:
        f.truncate(16 * 1024 * 1024)
    loop = subprocess.run(["losetup", "-f", "--show", str(backing)], capture_output=True, text=True,
                          check=True).stdout.strip()
    try:
        write = "dd if=/dev/zero of=%s bs=256k count=8 oflag=direct 2>/dev/null; echo dd=$?" % loop
        t = time.monotonic()
        r = spawn("-q", "-D", bbtree, "-M", "lim-io", f"--bind={loop}", "/bin/sh", "-c", write)
        unlimited = time.monotonic() - t
        assert r.stdout.split() == ["dd=0"], r.stdout + r.stderr
        t = time.monotonic()
        r = spawn("-q", "-D", bbtree, "-M", "lim-io", f"--bind={loop}",
                  f"--property=IOWriteBandwidthMax={loop} 512K", "/bin/sh", "-c", write)
        limited = time.monotonic() - t
        assert r.stdout.split() == ["dd=0"], r.stdout + r.stderr
        # 2 MiB at 512 KiB/s: about 4 s (the first slice may pass unthrottled)
        assert limited > 2.5 and limited > unlimited + 2, (limited, unlimited)
    finally:
        subprocess.run(["losetup", "-d", loop])


def test_slice(bbtree):
    if not have_v1("pids"):
        pytest.skip("pids is not a v1 controller here")
    p = background("-D", bbtree, "-M", "lim-slice", "--slice=berthtest-lim.slice", "/bin/sleep", "100")
    try:
        path = v1("pids", scope("lim-slice", "berthtest.slice/berthtest-lim.slice"))
        assert wait_for(lambda: os.path.exists(path + "/cgroup.procs") and read(path + "/cgroup.procs"))
    finally:
        stop(p)
    assert not os.path.exists(v1("pids", "berthtest.slice"))


@pytest.mark.parametrize("prop, message", [
    ("Frobnicate=1", "Unknown property 'Frobnicate' (supported: MemoryMax,"),
    ("MemoryMax=-5", "Invalid value '-5' for MemoryMax=: use bytes with an optional K, M, G or T suffix"),
    ("TasksMax=99999999999999999999999", "Value '99999999999999999999999' for TasksMax= is out of range: it "
                                         "must be between 1 and 4194304."),
    ("MemoryMax=99999999999999999999999", "Value '99999999999999999999999' for MemoryMax= is out of range."),
    ("CPUQuota=0%", "CPUQuota=0% is out of range: the quota must be above 0%"),
    ("IOWriteBandwidthMax=/dev/berth-no-such-disk 1M", "Device '/dev/berth-no-such-disk' in IOWriteBandwidthMax= "
                                                       "does not exist."),
    ("DeviceAllow=/dev/berth-no-such-node rw", "Device '/dev/berth-no-such-node' in DeviceAllow= does not exist."),
])
def test_bad_property_refused_before_anything(bbtree, prop, message):
    r = spawn("-q", "-D", bbtree, "-M", "lim-bad", f"--property={prop}", "/bin/true")
    assert r.returncode == 1
    assert r.stderr.strip() == message or r.stderr.startswith(message), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not any(os.path.exists(v1(c, scope("lim-bad"))) for c in os.listdir("/sys/fs/cgroup"))


@pytest.mark.parametrize("args, message", [
    (["--rlimit=NOFILES=1"], "Unknown resource limit 'NOFILES' in --rlimit="),
    (["--rlimit=NOFILE=10:5"], "Soft limit above the hard limit in --rlimit=10:5."),
    (["--oom-score-adjust=1001"], "Invalid OOM score adjustment '1001': use a number from -1000 to 1000."),
    (["--cpu-affinity=9999"], "Invalid CPU affinity '9999': use a list like '0-3,5'."),
    (["--slice=../x"], "Invalid slice name '../x'"),
])
def test_bad_process_limits_refused(bbtree, args, message):
    r = spawn("-q", "-D", bbtree, "-M", "lim-bad", *args, "/bin/true")
    assert r.returncode == 1
    assert r.stderr.startswith(message), r.stderr


PURE_V2 = """
set -e
mount --make-rprivate /
umount -l /sys/fs/cgroup
mount -t cgroup2 cgroup2 /sys/fs/cgroup
{spawn} -q -D {tree} -M lim-v2 {props} /bin/sh -c 'echo ran'
"""


def test_pure_cgroup2_view_says_what_it_cannot_apply(bbtree):
    # On this hybrid host the pure cgroup2 view has no memory/pids/cpu controllers (they are bound
    # to v1): berth says so for each property, and the machine runs without them.
    controllers = subprocess.run(["unshare", "-m", "bash", "-c", "mount --make-rprivate /; umount -l /sys/fs/cgroup;"
                                  "mount -t cgroup2 cgroup2 /sys/fs/cgroup; cat /sys/fs/cgroup/cgroup.controllers"],
                                 capture_output=True, text=True).stdout.split()
    if "memory" in controllers:
        pytest.skip("cgroup2 has the memory controller here")
    script = PURE_V2.format(spawn=SPAWN, tree=bbtree,
                            props="--property=MemoryMax=100M --property=TasksMax=64 --property=CPUQuota=20%")
    r = subprocess.run(["unshare", "-m", "bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["ran"]
    offers = " ".join(controllers) or "none"
    only = "only: " if controllers else ""
    assert r.stderr.splitlines() == [
        f"MemoryMax= not applied: this host has no 'memory' controller (no cgroup v1 hierarchy has it, and "
        f"cgroup2 offers {only}{offers}).",
        f"CPUQuota= not applied: this host has no 'cpu' controller (no cgroup v1 hierarchy has it, and "
        f"cgroup2 offers {only}{offers}).",
        f"TasksMax= not applied: this host has no 'pids' controller (no cgroup v1 hierarchy has it, and "
        f"cgroup2 offers {only}{offers}).",
    ], r.stderr


# Inside the machine: what its cgroup offers, that nothing is enabled in it yet, and that the guest can
# enable all of it below itself once it has moved into a leaf (as a guest systemd does).
DELEGATE_SCRIPT = ("cat /sys/fs/cgroup/cgroup.controllers; echo -; cat /sys/fs/cgroup/cgroup.subtree_control; echo -;"
                   "mkdir /sys/fs/cgroup/leaf; echo $$ > /sys/fs/cgroup/leaf/cgroup.procs;"
                   "for c in $(cat /sys/fs/cgroup/cgroup.controllers); do echo +$c > /sys/fs/cgroup/cgroup.subtree_control; done;"
                   "cat /sys/fs/cgroup/leaf/cgroup.controllers")


def test_pure_cgroup2_view_delegates_every_controller(bbtree):
    # As systemd's Delegate=yes: every controller the cgroup2 root offers reaches the machine's own
    # cgroup.controllers, none is enabled in the machine's subtree_control until the guest does it.
    script = ("mount --make-rprivate /; umount -l /sys/fs/cgroup; mount -t cgroup2 cgroup2 /sys/fs/cgroup;"
              "cat /sys/fs/cgroup/cgroup.controllers; echo -;"
              f"{SPAWN} -q -D {bbtree} -M lim-deleg /bin/sh -c '{DELEGATE_SCRIPT}'")
    r = subprocess.run(["unshare", "-m", "bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    host, guest, subtree, leaf = [part.split() for part in r.stdout.split("-\n")]
    if not host:
        pytest.skip("cgroup2 offers no controller on this host")
    assert guest == host, r.stdout
    assert subtree == []
    assert leaf == host


def test_hybrid_host_delegates_nothing_on_cgroup2(bbtree):
    # On a hybrid host cgroup2 only tracks processes (as under systemd): the machine's cgroup there
    # gets no controller, whatever the host's cgroup2 could offer.
    r = spawn("-q", "-D", bbtree, "-M", "lim-deleg", "/bin/sh", "-c", "cat /sys/fs/cgroup/unified/cgroup.controllers")
    if not os.path.isdir("/sys/fs/cgroup/unified"):
        pytest.skip("not a hybrid host")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ""


def test_settings_file_trust_rule(bbtree, tmp_path):
    name = "lim-settings"
    trusted = f"/run/systemd/nspawn/{name}.nspawn"
    os.makedirs("/run/systemd/nspawn", exist_ok=True)
    tree = os.path.join(os.path.dirname(bbtree), name)
    os.rename(bbtree, tree)
    cmd = ["/bin/sh", "-c", "grep 'Max open files' /proc/self/limits; cat /proc/self/oom_score_adj;"
           "grep Cpus_allowed_list /proc/self/status"]
    try:
        with open(tree + ".nspawn", "w") as f:
            f.write("[Exec]\nLimitNOFILE=77\nOOMScoreAdjust=300\n")
        r = spawn("-D", tree, *cmd)
        assert r.returncode == 0, r.stderr
        assert r.stdout.splitlines()[0].split()[3] != "77"
        assert r.stdout.splitlines()[1] == "0"
        assert f"{tree}.nspawn:2: LimitNOFILE= is ignored in a settings file that is not in " \
               "/etc/systemd/nspawn or /run/systemd/nspawn." in r.stderr
        assert f"{tree}.nspawn:3: OOMScoreAdjust= is ignored" in r.stderr
        os.unlink(tree + ".nspawn")
        with open(trusted, "w") as f:
            f.write("[Exec]\nLimitNOFILE=77:88\nOOMScoreAdjust=300\nCPUAffinity=0\n")
        r = spawn("-q", "-D", tree, *cmd)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[0].split()[3:5] == ["77", "88"]
        assert lines[1] == "300"
        assert lines[2].split() == ["Cpus_allowed_list:", "0"]
        # the command line wins over the file, key by key
        r = spawn("-q", "-D", tree, "--rlimit=NOFILE=66", *cmd)
        lines = r.stdout.splitlines()
        assert lines[0].split()[3:5] == ["66", "66"] and lines[1] == "300"
    finally:
        for p in (trusted, tree + ".nspawn"):
            if os.path.exists(p):
                os.unlink(p)
        os.rename(tree, bbtree)


# /dev/loop-control (10:237): opening it needs no capability; ": <" and ": >" only open it.
DEVICE_SCRIPT = ("mknod /dev/lc c 10 237; (: < /dev/lc) && echo R || echo noR; "
                 "(: > /dev/lc) && echo W || echo noW; (: > /dev/null) && echo null || echo nonull")


@pytest.mark.parametrize("view", ["hybrid", "pure-cgroup2"])
def test_device_allow_with_access_and_strict_policy(bbtree, view):
    def run(*props):
        args = " ".join(f"'--property={p}'" for p in props)
        cmd = f"{SPAWN} -q -D {bbtree} -M lim-dev {args} /bin/sh -c '{DEVICE_SCRIPT}'"
        if view == "pure-cgroup2":
            cmd = "mount --make-rprivate /; umount -l /sys/fs/cgroup; mount -t cgroup2 cgroup2 /sys/fs/cgroup; " + cmd
        return subprocess.run(["unshare", "-m", "bash", "-c", cmd], capture_output=True, text=True, timeout=60)

    assert run().stdout.split() == ["noR", "noW", "null"]
    assert run("DeviceAllow=/dev/loop-control r").stdout.split() == ["R", "noW", "null"]
    assert run("DeviceAllow=/dev/loop-control rw").stdout.split() == ["R", "W", "null"]
    assert run("DevicePolicy=strict", "DeviceAllow=/dev/loop-control r").stdout.split() == ["R", "noW", "nonull"]


CTL = os.path.join(os.path.dirname(SPAWN), "..", "ctl", "berthctl")


def test_top_and_accounting(bbtree):
    # berthctl top reads the machines' cgroups (no bus needed): CPU from the second sample, memory,
    # tasks; the JSON form has numbers
    p = background("-D", bbtree, "-M", "lim-top", "--property=TasksMax=50", "--property=CPUQuota=30%",
                   "/bin/sh", "-c", "sleep 1000 & while :; do :; done")
    try:
        assert wait_for(lambda: os.path.exists(v1("pids", scope("lim-top")) + "/pids.current") and
                        int(read(v1("pids", scope("lim-top")) + "/pids.current")) == 2)
        r = subprocess.run([CTL, "top", "--iterations=2", "--delay=1s", "--json=short"], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        import json
        rows = {m["machine"]: m for m in json.loads(r.stdout)["machines"]}
        top = rows["lim-top"]
        assert top["tasks"] == 2
        assert 15 < top["cpu"] < 45, top
        assert top["memory"] > 0
        assert top["io-read"] == 0 and top["io-write"] == 0
        r = subprocess.run([CTL, "top", "--iterations=2", "--delay=200ms"], capture_output=True, text=True,
                           timeout=30)
        assert r.stdout.splitlines()[0].split() == ["MACHINE", "CPU", "MEMORY", "TASKS", "IO-READ", "IO-WRITE"]
        line = [l for l in r.stdout.splitlines() if l.startswith("lim-top ")][0]
        assert re.match(r"lim-top +\d+\.\d% +\S+ +2 +0B/s +0B/s$", line), line
        r = subprocess.run([CTL, "top", "--iterations=0"], capture_output=True, text=True)
        assert r.returncode == 1 and r.stderr.strip() == "Invalid --iterations= value '0': use a number above 0."
    finally:
        stop(p)


def start_lxcfs(pidfile):
    """Debian's lxcfs on /var/lib/lxcfs for the test (skipped when the host runs one: only ours is
    ever killed), stopped, unmounted and its pid file removed after."""
    if not shutil.which("lxcfs"):
        pytest.skip("lxcfs is not installed (Debian package lxcfs, in tools/deps.sh)")
    if " /var/lib/lxcfs " in open("/proc/self/mountinfo").read():
        pytest.skip("an lxcfs of the host runs already")
    os.makedirs("/var/lib/lxcfs", exist_ok=True)
    p = subprocess.Popen(["lxcfs", "-p", pidfile, "/var/lib/lxcfs"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: os.path.exists("/var/lib/lxcfs/proc/meminfo"), timeout=10)
        yield p
    finally:
        if p.poll() is None:
            p.terminate()
            p.wait(timeout=10)
        subprocess.run(["umount", "-l", "/var/lib/lxcfs"], capture_output=True)
        if os.path.exists(pidfile):
            os.unlink(pidfile)


@pytest.fixture
def lxcfs():
    """lxcfs with its default pid file, which berth-spawn reads to watch it."""
    yield from start_lxcfs("/run/lxcfs.pid")


@pytest.fixture
def lxcfs_elsewhere():
    """lxcfs with a pid file of its own: berth-spawn finds its process by name."""
    yield from start_lxcfs("/run/berth-test-lxcfs.pid")


def test_lxcfs_machine_sees_its_own_size(debian_cached, lxcfs):
    r = spawn("-q", "-D", debian_cached, "--read-only", "-M", "lim-lxcfs", "--property=MemoryMax=256M",
              "--property=AllowedCPUs=0", "/bin/sh", "-c", "free -m | awk '/^Mem:/ {print $2}'; nproc")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["256", "1"], r.stdout + r.stderr
    # --lxcfs=no: the host's figures
    r = spawn("-q", "-D", debian_cached, "--read-only", "-M", "lim-lxcfs", "--lxcfs=no",
              "--property=MemoryMax=256M", "/bin/sh", "-c", "free -m | awk '/^Mem:/ {print $2}'")
    assert int(r.stdout) > 256, r.stdout


def meminfo_total(path="/proc/meminfo"):
    with open(path) as f:
        return f.readline().split()[1]


def meminfo_mounts(pid):
    """The file system types mounted on /proc/meminfo in pid's mount namespace, bottom first."""
    with open(f"/proc/{pid}/mountinfo") as f:
        fields = [line.split() for line in f]
    return [x[x.index("-") + 1] for x in fields if x[4] == "/proc/meminfo"]


def kill_lxcfs_mid_run(tree, lxcfs, *args, after):
    """A machine reads its lxcfs meminfo (256M), lxcfs is killed, and within a few seconds the
    machine's /proc/meminfo and free show the host's figures; the machine carries on."""
    host_total = meminfo_total()
    p = subprocess.Popen([SPAWN, "-q", "-D", tree, "-M", "lim-lxcfs-kill", "--lxcfs=yes", *args,
                          "--property=MemoryMax=256M", "/bin/sh", "-c",
                          "head -1 /proc/meminfo; read go; cat /proc/meminfo >/dev/null && head -1 /proc/meminfo"
                          " && free -k | awk '/^Mem:/ {print $2}'; echo done"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().split() == ["MemTotal:", "262144", "kB"]
        leader = int(read(f"/proc/{p.pid}/task/{p.pid}/children").split()[0])

        def host_figures():
            try:
                return meminfo_total(f"/proc/{leader}/root/proc/meminfo") == host_total
            except OSError:  # ENOTCONN until the launcher took the dead binds away
                return False
        assert meminfo_mounts(leader) == ["fuse.lxcfs"]
        lxcfs.kill()
        lxcfs.wait()
        assert wait_for(host_figures, timeout=5)
        assert meminfo_mounts(leader) == after
        out, err = p.communicate("go\n", timeout=30)
    finally:
        if p.poll() is None:
            stop(p)
    assert p.returncode == 0, err
    assert out.split() == ["MemTotal:", host_total, "kB", host_total, "done"], out + err


def test_lxcfs_killed_mid_run(bbtree, lxcfs):
    kill_lxcfs_mid_run(bbtree, lxcfs, after=[])  # unmounted


def test_lxcfs_killed_mid_run_userns(bbtree, lxcfs_elsewhere):
    # -U locks the machine's mounts: the dead files are covered by the host's instead of unmounted
    kill_lxcfs_mid_run(bbtree, lxcfs_elsewhere, "-U", after=["fuse.lxcfs", "proc"])


def test_lxcfs_yes_without_lxcfs(bbtree):
    if " /var/lib/lxcfs " in open("/proc/self/mountinfo").read():
        pytest.skip("lxcfs runs on this host")
    r = spawn("-q", "-D", bbtree, "-M", "lim-lxcfs", "--lxcfs=yes", "/bin/true")
    assert r.returncode == 1
    assert r.stderr.strip() == ("--lxcfs=yes, but lxcfs does not run (no lxcfs file system on /var/lib/lxcfs): "
                                "install Debian's lxcfs package and start it.")

# SPDX-License-Identifier: LGPL-2.1-or-later
"""berthd on a private system bus (a real dbus-daemon with berth's bus policy): registration,
state files, liveness, re-adoption after SIGKILL, authorization and hostile input."""

import glob
import json
import os
import signal
import subprocess
import time

import pytest

from daemon import (BERTHD, DEST, STATE, Berthd, Bus, busctl, call, kill_and_reap,  # noqa: F401
                    machines, register, sleeper, wait_for)


def test_host_machine_and_properties(bus, berthd):
    ms = machines(bus)
    assert ms[".host"][1] == "host"
    assert ms[".host"][3] == "/org/freedesktop/machine1/machine/_2ehost"
    props = json.loads(busctl(bus, "call", "org.freedesktop.machine1", ms[".host"][3],
                              "org.freedesktop.DBus.Properties", "GetAll", "s", "").stdout)["data"][0]
    types = {k: v["type"] for k, v in props.items()}
    assert types == {"Name": "s", "Id": "ay", "Timestamp": "t", "TimestampMonotonic": "t", "Service": "s",
                     "Unit": "s", "Leader": "u", "Class": "s", "RootDirectory": "s", "NetworkInterfaces": "ai",
                     "State": "s"}
    assert props["Leader"]["data"] == 1 and len(props["Id"]["data"]) == 16
    mgr = json.loads(busctl(bus, "call", "org.freedesktop.machine1", "/org/freedesktop/machine1",
                            "org.freedesktop.DBus.Properties", "GetAll", "s", "").stdout)["data"][0]
    assert mgr["PoolPath"]["data"] == "/var/lib/machines"
    assert mgr["Version"]["type"] == "s"  # berth's extension interface
    assert os.path.isdir(STATE)


def test_second_instance_refuses(bus, berthd):
    # an import in progress of the running berthd: the refused one must not sweep it
    busy = "/var/lib/machines/.#import-bt-second-00000000"
    os.makedirs(busy)
    try:
        r = subprocess.run([BERTHD], env=bus.env, capture_output=True, text=True, timeout=10)
        assert r.returncode != 0
        assert "already owned" in r.stderr
        assert berthd.proc.poll() is None
        assert os.path.isdir(busy)
    finally:
        os.rmdir(busy)


def test_register_state_file_and_death(bus, berthd):
    p = sleeper()
    try:
        path = register(bus, "reg-test", p.pid, "/srv/x")[0]
        assert path == "/org/freedesktop/machine1/machine/reg_2dtest"
        with open(os.path.join(STATE, "reg-test")) as f:
            state = f.read()
        assert state.startswith("# This is private data. Do not parse.\nNAME=reg-test\n")
        kv = dict(l.split("=", 1) for l in state.splitlines()[1:])
        assert kv["LEADER"] == str(p.pid) and kv["CLASS"] == "container" and kv["ROOT"] == "/srv/x"
        assert kv["SERVICE"] == "test" and "REALTIME" in kv and "MONOTONIC" in kv
        assert "reg-test" in machines(bus)
        assert call(bus, "GetMachineByPID", "u", p.pid)[0] == path
        # duplicate name
        r = register(bus, "reg-test", os.getpid(), check=False)
        assert "MachineExists" in r.stderr or "already exists" in r.stderr
        mon = subprocess.Popen(["dbus-monitor", "--system", "type='signal',member='MachineRemoved'"],
                               env=bus.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        time.sleep(0.3)
        p.kill()
        p.wait()
        t0 = time.monotonic()
        assert wait_for(lambda: "reg-test" not in machines(bus), timeout=1.0)
        assert time.monotonic() - t0 < 1.0
        assert not os.path.exists(os.path.join(STATE, "reg-test"))
        time.sleep(0.2)
        mon.terminate()
        out = mon.communicate(timeout=5)[0]
        assert "MachineRemoved" in out and "reg-test" in out
    finally:
        kill_and_reap(p)


def test_dbus_activation(tmp_path):
    """No berthd runs: the first call to org.freedesktop.machine1 starts it (our activation file,
    with Exec= pointing at this build)."""
    svc = tmp_path / "services"
    svc.mkdir()
    (svc / "org.freedesktop.machine1.service").write_text(
        f"[D-BUS Service]\nName=org.freedesktop.machine1\nExec={BERTHD} --terminate-timeout=2s\nUser=root\n")
    b = Bus(extra=f"<servicedir>{svc}</servicedir>")
    pid = None
    try:
        assert ".host" in machines(b)
        out = busctl(b, "call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                     "GetConnectionUnixProcessID", "s", "org.freedesktop.machine1").stdout
        pid = json.loads(out)["data"][0]
        with open(f"/proc/{pid}/comm") as f:
            assert f.read().strip() == "berthd"
    finally:
        if pid:
            os.kill(pid, signal.SIGTERM)
            wait_for(lambda: not os.path.exists(f"/proc/{pid}"), timeout=10)
        b.close()


def test_machine_new_signal(bus, berthd):
    mon = subprocess.Popen(["dbus-monitor", "--system", "type='signal',member='MachineNew'"],
                           env=bus.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    p = sleeper()
    try:
        time.sleep(0.3)
        path = register(bus, "sig-new", p.pid)[0]
        time.sleep(0.3)
        mon.terminate()
        out = mon.communicate(timeout=5)[0]
        assert "MachineNew" in out and '"sig-new"' in out and path in out, out
    finally:
        kill_and_reap(p)
        wait_for(lambda: "sig-new" not in machines(bus))


def test_create_machine_moves_leader_everywhere(bus, berthd):
    p = sleeper()
    try:
        register(bus, "scope-test", p.pid, create=True)
        with open(f"/proc/{p.pid}/cgroup") as f:
            lines = f.read().splitlines()
        for line in lines:
            assert line.split(":", 2)[2] == "/machine.slice/machine-scope\\x2dtest.scope", line
        link = os.path.join(STATE, "unit:machine-scope\\x2dtest.scope")
        assert os.readlink(link) == "scope-test"
        out = subprocess.run(["ps", "-o", "machine=", "-p", str(p.pid)], capture_output=True, text=True).stdout
        assert out.strip() == "scope-test"
        p.kill()
        p.wait()
        assert wait_for(lambda: not glob.glob("/sys/fs/cgroup/*/machine.slice/machine-scope*"), timeout=3)
        assert not os.path.lexists(link)
    finally:
        kill_and_reap(p)


def test_terminate_and_kill(bus, berthd):
    a, b, c = sleeper(), sleeper(), sleeper(["unshare", "-p", "-f", "--kill-child"])
    try:
        register(bus, "term", a.pid)
        register(bus, "killme", b.pid)
        time.sleep(0.2)
        with open(f"/proc/{c.pid}/task/{c.pid}/children") as f:
            init = int(f.read().split()[0])  # PID 1 of the new PID namespace
        register(bus, "pidns", init)
        call(bus, "TerminateMachine", "s", "term")
        assert wait_for(lambda: a.poll() is not None)
        call(bus, "KillMachine", "ssi", "killme", "leader", 9)
        assert wait_for(lambda: b.poll() is not None)
        call(bus, "KillMachine", "ssi", "pidns", "all", 9)
        assert wait_for(lambda: c.poll() is not None)
        assert wait_for(lambda: set(machines(bus)) == {".host"})
        r = call(bus, "KillMachine", "ssi", ".host", "all", 15, check=False)
        assert r.returncode != 0
        r = call(bus, "KillMachine", "ssi", "nope", "bogus", 15, check=False)
        assert "NoSuchMachine" in r.stderr or "No machine" in r.stderr
    finally:
        for p in (a, b, c):
            kill_and_reap(p)


CLIENT = """
import dbus, sys, time
b = dbus.bus.BusConnection(sys.argv[1])
m = b.get_object("org.freedesktop.machine1", "/org/freedesktop/machine1")
m.RegisterMachine("client-reg", dbus.Array([], signature="y"), "test", "container", dbus.UInt32(int(sys.argv[2])), "",
                  dbus_interface="org.freedesktop.machine1.Manager")
print("registered", flush=True)
time.sleep(60)
"""


def test_terminate_never_signals_an_unrelated_registrant(bus, berthd):
    """A long-lived client that registered someone else's process is not the machine's launcher:
    TerminateMachine reaches the leader, the client lives on."""
    leader = sleeper()
    client = subprocess.Popen(["/usr/bin/python3", "-c", CLIENT, bus.env["DBUS_SYSTEM_BUS_ADDRESS"], str(leader.pid)],
                              stdout=subprocess.PIPE, text=True, env=bus.env)
    try:
        assert client.stdout.readline().strip() == "registered"
        call(bus, "TerminateMachine", "s", "client-reg")
        assert wait_for(lambda: leader.poll() is not None), "the leader was not signalled"
        assert client.poll() is None, "the registering client was signalled"
    finally:
        kill_and_reap(client)
        kill_and_reap(leader)


def test_readopt_after_sigkill(bus, berthd):
    ps = [sleeper() for _ in range(4)]
    try:
        for i, p in enumerate(ps):
            register(bus, f"adopt{i}", p.pid, create=(i % 2 == 0))
        berthd.stop(signal.SIGKILL)
        ps[3].kill()
        ps[3].wait()
        d2 = Berthd(bus)
        try:
            ms = machines(bus)
            assert {"adopt0", "adopt1", "adopt2"} <= set(ms) and "adopt3" not in ms
            for i in range(3):
                props = json.loads(busctl(bus, "get-property", "org.freedesktop.machine1", ms[f"adopt{i}"][3],
                                          "org.freedesktop.machine1.Machine", "Leader").stdout)
                assert props["data"] == ps[i].pid
            assert not os.path.exists(os.path.join(STATE, "adopt3"))
            ps[0].kill()
            ps[0].wait()
            assert wait_for(lambda: "adopt0" not in machines(bus), timeout=1.0)
        finally:
            for p in ps:
                kill_and_reap(p)
            wait_for(lambda: set(machines(bus)) == {".host"})
            wait_for(lambda: not glob.glob("/sys/fs/cgroup/*/machine.slice/machine-adopt*"), timeout=3)
            d2.stop()
    finally:
        for p in ps:
            kill_and_reap(p)
        for i in range(4):
            for f in glob.glob(os.path.join(STATE, f"adopt{i}")) + glob.glob(os.path.join(STATE, f"unit:machine-adopt{i}.scope")):
                os.unlink(f)


def test_recycled_pid_is_not_adopted(bus, berthd):
    berthd.stop()
    p = sleeper()
    try:
        # a state file naming p's PID, but with another start time: a recycled PID
        with open(os.path.join(STATE, "recycled"), "w") as f:
            f.write(f"NAME=recycled\nLEADER={p.pid}\nCLASS=container\nLEADER_STARTTIME=12345\n")
        with open(os.path.join(STATE, "nostart"), "w") as f:
            f.write(f"NAME=nostart\nLEADER={p.pid}\nCLASS=container\n")
        d = Berthd(bus)
        try:
            assert set(machines(bus)) == {".host"}
            assert not os.path.exists(os.path.join(STATE, "recycled"))
            assert not os.path.exists(os.path.join(STATE, "nostart"))
            assert p.poll() is None
        finally:
            d.stop()
    finally:
        kill_and_reap(p)
        for n in ("recycled", "nostart"):
            if os.path.exists(os.path.join(STATE, n)):
                os.unlink(os.path.join(STATE, n))


@pytest.mark.parametrize("name", ["foo_bar", "-x", "x-", "a..b", "a" * 65, ".host", "", "a/b", "ä"])
def test_invalid_names(bus, berthd, name):
    p = sleeper()
    try:
        r = register(bus, name, p.pid, check=False)
        assert r.returncode != 0 and ("InvalidArgs" in r.stderr or "Invalid machine name" in r.stderr), r.stderr
    finally:
        kill_and_reap(p)


def test_bad_input_keeps_daemon_up(bus, berthd):
    p = sleeper()
    try:
        fds = berthd.fds()
        for _ in range(3):
            for args in [
                ["RegisterMachine", "sayssus", "h1", "0", "s", "host", str(p.pid), ""],      # class host
                ["RegisterMachine", "sayssus", "h1", "0", "s", "fish", str(p.pid), ""],      # bad class
                ["RegisterMachine", "sayssus", "h1", "0", "s", "container", "1", ""],        # leader 1
                ["RegisterMachine", "sayssus", "h1", "3", "1", "2", "3", "s", "container", str(p.pid), ""],
                ["RegisterMachine", "sayssus", "h1", "0", "s", "container", "999999999", ""],
                ["RegisterMachine", "sayssus", "h1", "0", "s", "container", str(p.pid), "relative"],
                ["RegisterMachine", "s", "h1"],                                              # wrong signature
                ["GetMachine", "u", "5"],
                ["NoSuchMethod"],
                ["GetMachine", "s", "x" * (100 * 1024)],
                ["KillMachine", "ssi", ".host", "leader", "0"],
                ["OpenMachineShell", "sssasas", ".host", "root", "rel/path", "0", "0"],
                ["OpenMachineShell", "sssasas", ".host", "a:b", "", "0", "0"],
                ["CleanPool", "s", "bogus"],
                ["GetImage", "s", "../etc"],
            ]:
                r = busctl(bus, "call", *DEST, *args, check=False)
                assert r.returncode != 0, args
            busctl(bus, "call", "org.freedesktop.machine1", "/org/freedesktop/machine1/machine/" + "_2e" * 1400,
                   "org.freedesktop.machine1.Machine", "Terminate", check=False)
            busctl(bus, "set-property", "org.freedesktop.machine1", "/org/freedesktop/machine1",
                   "org.freedesktop.machine1.Manager", "PoolPath", "s", "/tmp", check=False)
        assert berthd.proc.poll() is None
        assert set(machines(bus)) == {".host"}
        assert berthd.fds() == fds
    finally:
        kill_and_reap(p)


def test_unprivileged_callers(bus, berthd):
    p = sleeper()
    try:
        register(bus, "priv", p.pid)
        # open to everyone
        busctl(bus, "call", *DEST, "ListMachines", user=65534)
        busctl(bus, "call", *DEST, "GetMachine", "s", "priv", user=65534)
        busctl(bus, "call", *DEST, "GetMachineOSRelease", "s", ".host", user=65534)
        busctl(bus, "call", "org.freedesktop.machine1", "/org/freedesktop/machine1", "io.berth.Machine1.Manager",
               "ListMachinesWithDetails", user=65534)
        q = sleeper(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        try:
            for args in [["RegisterMachine", "sayssus", "mine", "0", "", "container", str(q.pid), ""],
                         ["CreateMachine", "sayssusa(sv)", "mine", "0", "", "container", str(q.pid), "", "0"],
                         ["RegisterMachine", "sayssus", "mine", "0", "", "host", "0", ""],
                         ["TerminateMachine", "s", "priv"],
                         ["KillMachine", "ssi", "priv", "all", "9"],
                         ["UnregisterMachine", "s", "priv"],
                         ["OpenMachineShell", "sssasas", "priv", "", "", "0", "0"],
                         ["OpenMachineLogin", "s", "priv"],
                         ["OpenMachinePTY", "s", "priv"],
                         ["OpenMachineRootDirectory", "s", "priv"],
                         ["CopyToMachine", "sss", "priv", "/etc/passwd", "/tmp/x"],
                         ["BindMountMachine", "sssbb", "priv", "/tmp", "/mnt", "false", "false"],
                         ["RemoveImage", "s", "x"], ["CloneImage", "ssb", "x", "y", "false"],
                         ["SetPoolLimit", "t", "1000"]]:
                r = busctl(bus, "call", *DEST, *args, check=False, user=65534)
                assert r.returncode != 0, args
                assert "Access denied" in r.stderr or "not permitted" in r.stderr or "AccessDenied" in r.stderr, \
                    (args, r.stderr)
            # the per-machine object: allowed by the bus policy, refused by berthd
            r = busctl(bus, "call", "org.freedesktop.machine1", "/org/freedesktop/machine1/machine/priv",
                       "org.freedesktop.machine1.Machine", "Kill", "si", "all", "9", check=False, user=65534)
            assert r.returncode != 0 and "Access denied" in r.stderr, r.stderr
        finally:
            kill_and_reap(q)
        assert p.poll() is None and "priv" in machines(bus) and "mine" not in machines(bus)
    finally:
        kill_and_reap(p)
        wait_for(lambda: "priv" not in machines(bus))


def _ns_leader(script):
    """A leader in its own mount namespace, after script ran there."""
    return subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c",
                             script + "; exec sleep 100000"], stdin=subprocess.DEVNULL)


def test_hostile_os_release(bus, berthd, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    big = tmp_path / "big"
    with open(big, "wb") as f:
        f.truncate(1 << 30)
    secret = tmp_path / "secret"
    secret.write_text("ID=secret\nTOKEN=hunter2\n")
    os.chmod(secret, 0o600)
    leaders = {"fifo": _ns_leader(f"mount --bind {fifo} /etc/os-release"),
               "big": _ns_leader(f"mount --bind {big} /etc/os-release"),
               "secret": _ns_leader(f"mount --bind {secret} /etc/os-release")}
    try:
        time.sleep(0.3)
        for name, p in leaders.items():
            register(bus, f"os-{name}", p.pid)
        fds = berthd.fds()
        for name, p in leaders.items():
            t0 = time.monotonic()
            r = call(bus, "GetMachineOSRelease", "s", f"os-{name}", check=False)
            assert time.monotonic() - t0 < 6
            assert isinstance(r, subprocess.CompletedProcess) and r.returncode != 0, (name, r)
            assert "hunter2" not in r.stdout + r.stderr
        assert berthd.fds() == fds and berthd.proc.poll() is None
        ok = call(bus, "GetMachineOSRelease", "s", ".host")[0]
        assert ok["ID"] == "debian"
    finally:
        for p in leaders.values():
            kill_and_reap(p)
        wait_for(lambda: set(machines(bus)) == {".host"})


def test_addresses_uid_shift_and_maps(bus, berthd):
    net = sleeper(["unshare", "-n"])
    userns = sleeper(["unshare", "-U", "--map-root-user"])
    try:
        time.sleep(0.2)
        register(bus, "net", net.pid)
        register(bus, "plain-ns", userns.pid)
        assert call(bus, "GetMachineAddresses", "s", "net")[0] == []  # only loopback, which is skipped
        host = call(bus, "GetMachineAddresses", "s", ".host")[0]
        assert all(a[0] in (2, 10) for a in host)
        assert call(bus, "GetMachineUIDShift", "s", "net")[0] == 0
        r = call(bus, "GetMachineUIDShift", "s", "plain-ns", check=False)
        assert r.returncode != 0  # a one-id mapping is "complex"
        assert call(bus, "MapFromMachineUser", "su", "plain-ns", 0)[0] == 0
        r = call(bus, "MapFromMachineUser", "su", "plain-ns", 5, check=False)
        assert "NoSuchUserMapping" in r.stderr or "no matching" in r.stderr
        r = call(bus, "MapToMachineUser", "u", 100, check=False)
        assert r.returncode != 0
    finally:
        kill_and_reap(net)
        kill_and_reap(userns)
        wait_for(lambda: set(machines(bus)) == {".host"})


def test_images(bus, berthd):
    imgs = {i[0]: i for i in call(bus, "ListImages")[0]}
    assert imgs[".host"][1] == "directory"
    assert call(bus, "GetImage", "s", ".host")[0] == "/org/freedesktop/machine1/image/_2ehost"
    r = call(bus, "GetImage", "s", "no-such-image-here", check=False)
    assert "NoSuchImage" in r.stderr or "No image" in r.stderr
    os_release = call(bus, "GetImageOSRelease", "s", ".host")[0]
    assert os_release["ID"] == "debian"

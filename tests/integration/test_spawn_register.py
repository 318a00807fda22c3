# SPDX-License-Identifier: LGPL-2.1-or-later
"""berth-spawn registers with whoever owns org.freedesktop.machine1 (here: berthd on a private system
bus with berth's policy) and unregisters on exit; stock machinectl lists it."""
import os
import socket
import subprocess
import time

import pytest

from conftest import Machine, spawn

from daemon import BERTHD, Berthd, Bus, wait_for


@pytest.fixture(scope="module")
def private_bus():
    if not os.path.exists(BERTHD):
        pytest.skip("berthd not built")
    bus = Bus()
    daemon = Berthd(bus)
    yield bus.env
    daemon.stop()
    bus.close()


def machines(env):
    r = subprocess.run(["busctl", "call", "org.freedesktop.machine1", "/org/freedesktop/machine1",
                        "org.freedesktop.machine1.Manager", "ListMachines"], env=env, capture_output=True, text=True)
    return r.stdout


def test_registers_and_unregisters(bbtree, private_bus):
    with Machine("-q", "-D", bbtree, "-M", "reg1", "-b", env=private_bus) as m:
        deadline = time.monotonic() + 5
        while '"reg1"' not in machines(private_bus) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert '"reg1" "container" "berth"' in machines(private_bus)
        r = subprocess.run(["machinectl", "-M", ".host", "list", "--no-legend"], env=private_bus,
                           capture_output=True, text=True)
        assert "reg1" in r.stdout, r.stderr
        r = subprocess.run(["ps", "-o", "machine=", "-p", str(m.leader)], capture_output=True, text=True)
        assert r.stdout.strip() == "reg1"
        assert m.stop() == 0
    assert '"reg1"' not in machines(private_bus)


def test_register_yes_without_registry_fails(bbtree, tmp_path):
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=f"unix:path={tmp_path}/nobus")
    r = spawn("-q", "-D", bbtree, "--register=yes", "/bin/true", env=env)
    assert r.returncode == 1
    assert "register machine" in r.stderr, r.stderr
    r = spawn("-q", "-D", bbtree, "--register=auto", "/bin/true", env=env)
    assert r.returncode == 0, r.stderr


def test_duplicate_name_is_refused_by_the_registry(bbtree, private_bus):
    # A machine registered by someone else (here: a sleeping process) holds the name.
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        subprocess.run(["busctl", "call", "org.freedesktop.machine1", "/org/freedesktop/machine1",
                        "org.freedesktop.machine1.Manager", "RegisterMachine", "sayssus", "taken", "0",
                        "test", "container", str(sleeper.pid), "/"], env=private_bus, check=True,
                       capture_output=True)
        r = spawn("-q", "-D", bbtree, "-M", "taken", "/bin/true", env=private_bus)
        assert r.returncode == 1
        assert "Failed to register machine" in r.stderr
    finally:
        sleeper.kill()
        sleeper.wait()
        for _ in range(50):
            if '"taken"' not in machines(private_bus):
                break
            time.sleep(0.05)


USERNS_CLIENT = """
import dbus, os, sys
b = dbus.bus.BusConnection(os.environ["DBUS_SYSTEM_BUS_ADDRESS"])
m = dbus.Interface(b.get_object("org.freedesktop.machine1", "/org/freedesktop/machine1"),
                   "org.freedesktop.machine1.Manager")
name = sys.argv[1]
shift = int(m.GetMachineUIDShift(name))
print("shift", shift)
print("user", int(m.MapFromMachineUser(name, 1000)), "group", int(m.MapFromMachineGroup(name, 1000)))
back_u = m.MapToMachineUser(shift + 1000)
back_g = m.MapToMachineGroup(shift + 1000)
print("back", str(back_u[0]), int(back_u[2]), str(back_g[0]), int(back_g[2]))
fd = m.OpenMachineRootDirectory(name).take()
print("root", " ".join(sorted(os.listdir(f"/proc/self/fd/{fd}"))))
"""


def test_userns_machine_maps_and_root_directory(bbtree, private_bus):
    """A -U machine: its UID shift, the Map* methods both ways for users and groups, and
    OpenMachineRootDirectory (an fd to the machine's root, as the machine sees it)."""
    with open(os.path.join(bbtree, "marker-root"), "w") as f:
        f.write("x")
    with Machine("-q", "-D", bbtree, "-M", "reg-u", "-U", "/bin/sleep", "60", env=private_bus):
        deadline = time.monotonic() + 5
        while '"reg-u"' not in machines(private_bus) and time.monotonic() < deadline:
            time.sleep(0.05)
        r = subprocess.run(["/usr/bin/python3", "-c", USERNS_CLIENT, "reg-u"], env=private_bus, capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        out = dict(l.split(" ", 1) for l in r.stdout.splitlines())
        shift = int(out["shift"])
        assert shift >= 0x80000 and shift % 0x10000 == 0
        assert out["user"] == f"{shift + 1000} group {shift + 1000}"
        assert out["back"] == "reg-u 1000 reg-u 1000"
        assert "marker-root" in out["root"].split() and "etc" in out["root"].split()


def registry_socket(pid):
    """The registration socket berthd (pid) listens on, from ss."""
    r = subprocess.run(["ss", "-xlpn"], capture_output=True, text=True, check=True)
    for line in r.stdout.splitlines():
        if f"pid={pid}," in line and "/run/berth/registry/" in line:
            return next(w for w in line.split() if w.startswith("/run/berth/registry/"))
    return None


def registry_request(path, *fields):
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
        s.connect(path)
        s.send(b"\0".join(f.encode() for f in fields))
        return s.recv(1024).split(b"\0")


def test_registers_through_berthds_socket(bbtree, private_bus):
    """With berthd on the bus, berth-spawn registers and unregisters with one message each on
    berthd's socket: the bus helper (here one that would fail) is not run."""
    env = dict(private_bus, BERTH_REGISTER_HELPER="/bin/false")
    with Machine("-q", "-D", bbtree, "-M", "reg-sock", "--register=yes", "/bin/sleep", "60", env=env) as m:
        assert m.leader, m.stderr  # right after the clone: the registration comes a few steps later
        assert wait_for(lambda: '"reg-sock" "container" "berth"' in machines(private_bus), timeout=10)
        r = subprocess.run(["ps", "-o", "machine=", "-p", str(m.leader)], capture_output=True, text=True)
        assert r.stdout.strip() == "reg-sock"
    assert wait_for(lambda: '"reg-sock"' not in machines(private_bus), timeout=5)


def test_registry_socket_validates_like_the_bus(private_bus):
    pid = int(subprocess.run(["busctl", "status", "--no-pager", "org.freedesktop.machine1"], env=private_bus,
                             capture_output=True, text=True, check=True).stdout.split("PID=")[1].split()[0])
    path = registry_socket(pid)
    assert path and os.stat(os.path.dirname(path)).st_mode & 0o777 == 0o700
    assert registry_request(path, "bogus") == [b"-74", b"Malformed registration request"]
    assert registry_request(path, "register", "bad/name", "", "1234", "", "x", "container") == \
        [b"-22", b"Invalid machine name"]
    assert registry_request(path, "register", "host-ish", "", "1234", "", "x", "host") == \
        [b"-95", b"Machines of class 'host' cannot be registered"]
    assert registry_request(path, "register", "rel", "", "1234", "tree", "x", "container") == \
        [b"-22", b"Root directory must be empty or an absolute path"]
    assert registry_request(path, "unregister", "not-there") == [b"0"]

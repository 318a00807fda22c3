# SPDX-License-Identifier: LGPL-2.1-or-later
"""Stock machinectl and systemd-nspawn 252 against berthd on a private system bus, with busybox
machines booted by berth-spawn and registered through register-bus.c (what the berth-register helper says on the bus)."""

import os
import re
import signal
import subprocess
import tempfile
import time

import pytest

import leakcheck

import guests
from conftest import BUILD, SPAWN, leader_of
from daemon import Berthd, machines, wait_for

HELPER = os.path.join(BUILD, "tests", "dbus", "test-register-bus")


def mctl(bus, *args, timeout=30, input=None):
    return subprocess.run(["machinectl", "-M", ".host", "--no-pager", *args], env=bus.env, capture_output=True,
                          text=True, timeout=timeout, input=input,
                          stdin=None if input is not None else subprocess.DEVNULL)


class BusyboxMachine:
    def __init__(self, bus, name, tree):
        self.bus, self.name = bus, name
        self.launcher = subprocess.Popen([SPAWN, "-D", tree, "-M", name, "-b", "--console=passive",
                                          "--register=no"], stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         start_new_session=True)
        self.leader = leader_of(self.launcher.pid)
        assert self.leader, "berth-spawn started no machine"
        time.sleep(0.3)  # let init install its signal handlers
        self.helper = subprocess.Popen([HELPER, "live", name, str(self.leader)], env=bus.env, text=True,
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        line = self.helper.stdout.readline()
        assert line.strip() == "registered=1 berthd=1", line

    def close(self):
        if getattr(self, "closed", False):
            return
        self.closed = True
        if self.launcher.poll() is None:
            self.launcher.send_signal(signal.SIGTERM)
            try:
                self.launcher.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.launcher.kill()
                self.launcher.wait()
        if self.helper.poll() is None:
            self.helper.communicate("\n", timeout=10)
        wait_for(lambda: self.name not in machines(self.bus), timeout=5)


@pytest.fixture
def bb(bus, berthd):
    with tempfile.TemporaryDirectory(prefix="berth-mctl-") as d:
        m = BusyboxMachine(bus, "bb-mctl", guests.make_busybox_tree(os.path.join(d, "tree")))
        yield m
        m.close()


def test_list_status_show(bus, bb):
    out = mctl(bus, "list").stdout
    assert "bb-mctl" in out and "busybox" in out and ".host" not in out
    assert ".host" in mctl(bus, "list", "-a").stdout
    st = mctl(bus, "status", "bb-mctl")
    assert st.returncode == 0 and f"Leader: {bb.leader}" in st.stdout and "Service: berth" in st.stdout
    show = mctl(bus, "show", "bb-mctl").stdout
    assert "Name=bb-mctl" in show and "Class=container" in show and f"Leader={bb.leader}" in show
    assert "Id=0102030405060708090a0b0c0d0e0f10" in show
    assert re.search(r"^\s+Iface: lo$", st.stdout, re.M), st.stdout  # RegisterMachineWithNetwork carried it


def test_ps_names_the_machine(bus, bb):
    out = subprocess.run(["ps", "-o", "machine=", "-p", str(bb.leader)], capture_output=True, text=True).stdout
    assert out.strip() == "bb-mctl"


def test_shell(bus, berthd, bb):
    fds = berthd.fds()
    r = mctl(bus, "shell", "bb-mctl", "/bin/echo", "ok")
    assert r.returncode == 0 and "ok" in r.stdout, r
    r = mctl(bus, "shell", "alice@bb-mctl", "/bin/sh", "-c", "id -u; pwd; echo $HOME; hostname")
    assert r.stdout.split()[:4] == ["1000", "/home/alice", "/home/alice", "bb-mctl"], r.stdout
    r = mctl(bus, "shell", "bb-mctl", "/bin/sh", "-c", "echo $$; readlink /proc/self/ns/pid")
    assert r.returncode == 0
    assert berthd.fds() == fds


def test_login_prompt(bus, bb):
    p = subprocess.Popen(["script", "-qfec", "machinectl -M .host login bb-mctl", "/dev/null"], env=bus.env,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = b""
    deadline = time.monotonic() + 10
    os.set_blocking(p.stdout.fileno(), False)
    while time.monotonic() < deadline and b"login:" not in out:
        time.sleep(0.1)
        out += p.stdout.read() or b""
    p.kill()
    p.wait()
    assert b"login:" in out, out


def test_poweroff(bus, bb):
    assert mctl(bus, "poweroff", "bb-mctl").returncode == 0
    assert bb.launcher.wait(timeout=20) == 0
    assert wait_for(lambda: "bb-mctl" not in machines(bus), timeout=2)


def test_terminate(bus, bb):
    assert mctl(bus, "terminate", "bb-mctl").returncode == 0
    bb.launcher.wait(timeout=20)
    assert wait_for(lambda: "bb-mctl" not in machines(bus), timeout=2)


def test_kill_all(bus, bb):
    assert mctl(bus, "kill", "--signal=KILL", "bb-mctl").returncode == 0
    bb.launcher.wait(timeout=20)
    assert wait_for(lambda: "bb-mctl" not in machines(bus), timeout=2)


def test_leader_sigkill_disappears_within_a_second(bus, bb):
    os.kill(bb.leader, signal.SIGKILL)
    t0 = time.monotonic()
    assert wait_for(lambda: "bb-mctl" not in machines(bus), timeout=1.0)
    assert time.monotonic() - t0 < 1.0


def test_berthd_restart_readopts(bus, berthd, bb):
    berthd.stop(signal.SIGKILL)
    d = Berthd(bus)
    try:
        assert "bb-mctl" in machines(bus)
        r = mctl(bus, "shell", "bb-mctl", "/bin/echo", "again")
        assert "again" in r.stdout
    finally:
        bb.close()
        d.stop()


@pytest.mark.parametrize("keep_unit", [False, True])
def test_stock_nspawn_registers(bus, berthd, keep_unit, tmp_path):
    tree = guests.make_busybox_tree(str(tmp_path / "tree"))
    before = leakcheck.nspawn_cgroups()
    n = subprocess.Popen(["systemd-nspawn", "-q", "--register=yes", *(["--keep-unit"] if keep_unit else []),
                          "-D", tree, "-M", "nsp-test", "/bin/sleep", "1000"], env=bus.env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: "nsp-test" in machines(bus), timeout=10)
        st = mctl(bus, "status", "nsp-test").stdout
        assert "Service: systemd-nspawn" in st
        if not keep_unit:
            leader = int(mctl(bus, "show", "-p", "Leader", "--value", "nsp-test").stdout)
            out = subprocess.run(["ps", "-o", "machine=", "-p", str(leader)], capture_output=True, text=True).stdout
            assert out.strip() == "nsp-test"
        assert mctl(bus, "terminate", "nsp-test").returncode == 0
        n.wait(timeout=20)
        assert wait_for(lambda: "nsp-test" not in machines(bus), timeout=2)
    finally:
        if n.poll() is None:
            n.kill()
            n.wait()
        leakcheck.remove_nspawn_cgroups(before)

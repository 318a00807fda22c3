# SPDX-License-Identifier: LGPL-2.1-or-later
"""Where people rely on nspawn's and machined's behaviour (issue 16): each test names the nspawn 252
behaviour it checks, and fails on a berth that differs."""

import os
import signal
import subprocess
import time

import pytest

from conftest import Machine
from test_machined import Berthd, Bus, call, machines, register, wait_for
from test_machinectl import mctl


@pytest.fixture
def bus():
    b = Bus()
    yield b
    b.close()


@pytest.fixture
def berthd(bus):
    d = Berthd(bus)
    yield d
    d.stop()


# ---- 8: the shutdown signal of an init that is not systemd, busybox or sysvinit ----

@pytest.fixture
def otherinit(probetree):
    """A tree whose /sbin/init is some other init: the probe, which logs each signal it gets to
    /probe-init.log and halts on SIGRTMIN+3, powers off on SIGRTMIN+4, reboots on SIGINT."""
    os.unlink(os.path.join(probetree, "sbin/init"))
    os.symlink("../bin/probe", os.path.join(probetree, "sbin/init"))
    return probetree


def signals_logged(tree):
    try:
        with open(os.path.join(tree, "probe-init.log")) as f:
            return f.read().split()
    except FileNotFoundError:
        return []


def init_up(tree):
    """The probe init logs "up" once it takes every signal."""
    return signals_logged(tree)[:1] == ["up"]


def boot_other(tree, name, *args, env=None):
    m = Machine("-q", "-D", tree, "-M", name, "-b", "--console=passive", "--shutdown-timeout=60s", *args,
                env=env)
    assert m.leader, "the machine did not start"
    assert wait_for(lambda: init_up(tree), timeout=10)
    return m


@pytest.mark.parametrize("how", ["sigterm", "terminate"])
def test_other_init_gets_sigrtmin3(bus, berthd, otherinit, how):
    """nspawn sends SIGRTMIN+3 to any init it boots when asked to stop (the unit stopped, or
    machinectl terminate): runit, openrc-init, s6 and tini-style inits halt on it."""
    with boot_other(otherinit, "other-init", env=bus.env) as m:
        assert wait_for(lambda: "other-init" in machines(bus), timeout=10)
        start = time.monotonic()
        if how == "sigterm":
            m.proc.send_signal(signal.SIGTERM)
        else:
            r = mctl(bus, "terminate", "other-init")
            assert r.returncode == 0, r.stderr
        assert m.proc.wait(timeout=30) == 0, m.proc.stderr.read()
        assert time.monotonic() - start < 10  # halted by the init, not killed after the timeout
        assert signals_logged(otherinit) == ["up", "SIGRTMIN+3"]


def test_other_init_poweroff_and_kill_signal(bus, berthd, otherinit):
    """machinectl poweroff sends SIGRTMIN+4; --kill-signal= overrides the default, as in nspawn."""
    with boot_other(otherinit, "other-init2", env=bus.env) as m:
        assert wait_for(lambda: "other-init2" in machines(bus), timeout=10)
        assert mctl(bus, "poweroff", "other-init2").returncode == 0
        assert m.proc.wait(timeout=30) == 0
        assert signals_logged(otherinit) == ["up", "SIGRTMIN+4"]
    os.unlink(os.path.join(otherinit, "probe-init.log"))
    with boot_other(otherinit, "other-init3", "--kill-signal=SIGINT", env=bus.env) as m:
        m.proc.send_signal(signal.SIGTERM)
        assert m.proc.wait(timeout=30) == 133  # the init rebooted: nspawn's exit code for that
        assert signals_logged(otherinit) == ["up", "SIGINT"]


def test_berthd_terminate_without_launcher(bus, berthd, otherinit):
    """A machine registered by something that does not shut its guest down itself: berthd sends
    the leader nspawn's SIGRTMIN+3."""
    p = subprocess.Popen(["unshare", "-p", "-f", "--kill-child", "-R", otherinit, "/bin/probe"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    init = None
    try:
        assert wait_for(lambda: os.path.exists(f"/proc/{p.pid}/task/{p.pid}/children") and
                        open(f"/proc/{p.pid}/task/{p.pid}/children").read().split())
        with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
            init = int(f.read().split()[0])
        assert wait_for(lambda: init_up(otherinit))
        register(bus, "other-reg", init)
        call(bus, "TerminateMachine", "s", "other-reg")
        assert p.wait(timeout=10) is not None
        assert signals_logged(otherinit) == ["up", "SIGRTMIN+3"]
    finally:
        if p.poll() is None and init:
            os.kill(init, signal.SIGKILL)  # a namespace's init outlives unshare's --kill-child
        p.wait(timeout=10)

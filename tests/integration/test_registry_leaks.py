# SPDX-License-Identifier: LGPL-2.1-or-later
"""Nothing is left behind on any path of a machine registered with berthd (on a private system bus):
whoever notices the machine gone (berthd on the leader's exit, a restarted berthd on re-adoption)
removes its cgroups in every hierarchy, emptying them first. The autouse leak check covers every
hierarchy; these tests never start the name again to have the next berth-spawn collect the rest."""
import glob
import os
import signal
import subprocess
import time

import pytest

from conftest import SPAWN, Machine
from daemon import DEST, STATE, Berthd, busctl, wait_for


def scope_dirs(name):
    scope = "machine-" + name.replace("-", "\\x2d") + ".scope"
    roots = [h for h in glob.glob("/sys/fs/cgroup/*") if not os.path.islink(h)] + ["/sys/fs/cgroup"]
    return [d for d in (os.path.join(h, "machine.slice", scope) for h in roots) if os.path.isdir(d)]


def listed(bus, name):
    r = busctl(bus, "call", *DEST, "ListMachines", check=False)
    return f'"{name}"' in r.stdout


def past_sysinit(pid):
    """busybox init has run its sysinit and started the tree's long-running child: its handlers are
    set, so a terminate's shutdown request lands at once (before, the launcher asks again until it
    does, which with busybox's own two-second shutdown can outlast berthd's terminate timeout in
    these tests)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return bool(f.read().split())
    except OSError:
        return False


def boot(bus, bbtree, name):
    m = Machine("-q", "-D", bbtree, "-M", name, "-b", env=bus.env)
    if not m.leader:
        m.stop()
        raise AssertionError(f"no leader: {m.stderr}")
    assert wait_for(lambda: listed(bus, name)), "not listed"
    assert scope_dirs(name), "no scope"
    if not wait_for(lambda: past_sysinit(m.leader)):
        m.stop()
        raise AssertionError(f"init did not start its children: {m.stderr}")
    return m


def assert_gone(bus, name):
    assert wait_for(lambda: not listed(bus, name)), "still listed"
    assert wait_for(lambda: not scope_dirs(name)), f"left behind: {scope_dirs(name)}"
    assert not os.path.exists(os.path.join(STATE, name))


def test_launcher_sigkill_leaves_no_scope(bbtree, bus, berthd):
    m = boot(bus, bbtree, "lk-launcher")
    m.proc.kill()
    m.proc.wait()
    assert_gone(bus, "lk-launcher")


def test_guest_init_sigkill_leaves_no_scope(bbtree, bus, berthd):
    m = boot(bus, bbtree, "lk-init")
    os.kill(m.leader, signal.SIGKILL)
    assert m.proc.wait(timeout=10) != 0
    assert_gone(bus, "lk-init")


def test_terminate_machine_from_another_client(bbtree, bus):
    # busybox init's own shutdown waits a second between SIGTERM and SIGKILL to all: on a loaded
    # machine that outlasts the fixtures' 2 s terminate timeout, and berthd's kill makes it status 1.
    # This test is about who cleans up, not about that timeout: berthd gets machined's margin.
    d = Berthd(bus, "--terminate-timeout=30s")
    try:
        m = boot(bus, bbtree, "lk-term")
        busctl(bus, "call", *DEST, "TerminateMachine", "s", "lk-term")
        rc = m.proc.wait(timeout=40)
        err = m.proc.stderr.read()
        m.proc.stderr.close()
        assert rc == 0, err
        assert_gone(bus, "lk-term")
    finally:
        d.stop()


def test_berthd_sigkill_before_the_launcher(bbtree, bus):
    d = Berthd(bus)
    m = boot(bus, bbtree, "lk-before")
    d.stop(signal.SIGKILL)
    m.proc.kill()
    m.proc.wait()
    time.sleep(0.3)
    assert scope_dirs("lk-before"), "nobody should have removed it yet"
    # the restarted berthd finds the leader gone and removes what is left
    d = Berthd(bus)
    try:
        assert_gone(bus, "lk-before")
    finally:
        d.stop()


def test_berthd_sigkill_after_the_launcher(bbtree, bus):
    d = Berthd(bus)
    m = boot(bus, bbtree, "lk-after")
    m.proc.kill()
    m.proc.wait()
    try:
        assert wait_for(lambda: not scope_dirs("lk-after"))
    finally:
        d.stop(signal.SIGKILL)
    d = Berthd(bus)
    try:
        assert_gone(bus, "lk-after")
    finally:
        d.stop()


def test_berthd_absent_at_the_launchers_exit(bbtree, bus):
    d = Berthd(bus)
    m = boot(bus, bbtree, "lk-absent")
    d.stop()
    assert m.stop() == 0, m.stderr
    assert not scope_dirs("lk-absent")
    # the state file waits for the next berthd, which drops it
    d = Berthd(bus)
    try:
        assert_gone(bus, "lk-absent")
    finally:
        d.stop()


def test_stray_process_in_a_dead_machines_scope_is_killed(bbtree, bus, berthd):
    m = boot(bus, bbtree, "lk-stray")
    # a process of the host that joined the scope (as an nsenter would) outlives the machine
    stray = subprocess.Popen(["sleep", "300"])
    for d in scope_dirs("lk-stray"):
        with open(os.path.join(d, "cgroup.procs"), "w") as f:
            f.write(str(stray.pid))
    m.proc.kill()
    m.proc.wait()
    assert_gone(bus, "lk-stray")
    assert stray.wait(timeout=5) == -signal.SIGKILL


PARENT_STEPS = ["cgroup-create", "cgroup-devices", "clone-child", "cgroup-attach", "send-rootfs",
                "receive-console", "receive-notify", "await-rootfs", "register", "go"]


@pytest.mark.parametrize("step", PARENT_STEPS)
def test_launcher_killed_between_steps_with_berthd(bbtree, bus, berthd, step):
    env = dict(bus.env, BERTH_DEBUG_KILL_AT=step)
    r = subprocess.run([SPAWN, "-q", "-D", bbtree, "-M", "lk-step", "-b"], env=env, capture_output=True,
                       text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == -9, r.stderr
    if step == "go":
        # registered: berthd noticed the leader's (and launcher's) death and removed the scope
        assert_gone(bus, "lk-step")
    else:
        # not registered yet: the next start of the name collects it
        r = subprocess.run([SPAWN, "-q", "-D", bbtree, "-M", "lk-step", "/bin/true"], env=bus.env,
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr
        assert_gone(bus, "lk-step")


def test_berthd_keeps_its_machines_across_a_bus_restart(bbtree, bus, berthd):
    """dbus-daemon restarts while a registered machine runs: berthd reconnects, takes its name back and
    lists the machine again (stock machinectl too); TerminateMachine over the new bus still works."""
    m = boot(bus, bbtree, "lk-bus")
    try:
        bus.restart()
        assert wait_for(lambda: listed(bus, "lk-bus")), f"not listed after the restart: {berthd.output()}"
        r = subprocess.run(["machinectl", "-M", ".host", "list", "--no-legend"], env=bus.env,
                           capture_output=True, text=True)
        assert "lk-bus" in r.stdout, r.stderr
        assert berthd.proc.poll() is None
        busctl(bus, "call", *DEST, "TerminateMachine", "s", "lk-bus")
        assert m.proc.wait(timeout=20) == 0, m.proc.stderr.read()
    finally:
        m.stop()
    assert_gone(bus, "lk-bus")

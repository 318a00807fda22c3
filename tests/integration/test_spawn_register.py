# SPDX-License-Identifier: LGPL-2.1-or-later
"""berth-spawn registers with whoever owns org.freedesktop.machine1 (here: berthd on a private system
bus with berth's policy) and unregisters on exit; stock machinectl lists it."""
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import BUILD, REPO, Machine, spawn

BERTHD = os.path.join(BUILD, "src", "machined", "berthd")


@pytest.fixture(scope="module")
def private_bus():
    if not os.path.exists(BERTHD):
        pytest.skip("berthd not built")
    d = tempfile.mkdtemp(prefix="berth-bus-")
    conf = os.path.join(d, "bus.conf")
    with open(conf, "w") as f:
        f.write(f"""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <auth>EXTERNAL</auth>
  <listen>unix:path={d}/bus.sock</listen>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <include>{REPO}/dbus/io.berth.berthd.conf</include>
</busconfig>
""")
    bus = subprocess.Popen(["dbus-daemon", f"--config-file={conf}", "--nofork", "--nopidfile"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    addr = f"unix:path={d}/bus.sock"
    for _ in range(100):
        if os.path.exists(f"{d}/bus.sock"):
            break
        time.sleep(0.02)
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=addr)
    daemon = subprocess.Popen([BERTHD], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if subprocess.run(["busctl", "status", "org.freedesktop.machine1"], env=env,
                          capture_output=True).returncode == 0:
            break
        time.sleep(0.05)
    yield env
    daemon.terminate()
    daemon.wait(10)
    bus.terminate()
    bus.wait(10)
    shutil.rmtree(d, ignore_errors=True)


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

# SPDX-License-Identifier: LGPL-2.1-or-later
"""berthd on a private system bus for the tests: a real dbus-daemon of type system with berth's bus
policy (Bus), berthd on it (Berthd), and busctl-based calls. The bus and berthd fixtures that use
these are in conftest.py."""

import contextlib
import json
import os
import signal
import subprocess
import tempfile
import time

from conftest import BUILD, REPO

BERTHD = os.environ.get("BERTHD_BINARY", os.path.join(BUILD, "src", "machined", "berthd"))
POLICY = os.path.join(REPO, "dbus", "io.berth.berthd.conf")
STATE = "/run/systemd/machines"
DEST = ["org.freedesktop.machine1", "/org/freedesktop/machine1", "org.freedesktop.machine1.Manager"]

BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <auth>EXTERNAL</auth>
  <listen>unix:path={sock}</listen>
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
  <include>{policy}</include>
  {extra}
</busconfig>
"""


class Bus:
    """A dbus-daemon of type system with berth's policy, in a temporary directory."""

    def __init__(self, extra=""):
        self.dir = tempfile.mkdtemp(prefix="berth-bus-")
        os.chmod(self.dir, 0o755)
        sock = os.path.join(self.dir, "bus.sock")
        conf = os.path.join(self.dir, "bus.conf")
        with open(conf, "w") as f:
            f.write(BUS_CONF.format(sock=sock, policy=POLICY, extra=extra))
        self.conf, self.sock = conf, sock
        self.address = f"unix:path={sock}"
        self.env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.address, SYSTEMD_LOG_LEVEL="err")
        self.start()

    def start(self):
        # what it activates inherits this environment: the address of this bus, not the host's
        out = subprocess.run(["dbus-daemon", f"--config-file={self.conf}", "--fork", "--print-pid"],
                             capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL,
                             env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.address))
        self.pid = int(out.stdout.split()[0])

    def restart(self):
        """Stops this dbus-daemon and starts a new one on the same address (everyone loses the bus)."""
        os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while os.path.exists(f"/proc/{self.pid}") and time.monotonic() < deadline:
            time.sleep(0.02)
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        self.start()

    def close(self):
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        subprocess.run(["rm", "-rf", self.dir])


class Berthd:
    """berthd on bus, started as `berthd --terminate-timeout=2s ARGS…`, or by `command` (an argv that
    ends up exec'ing berthd); returns once berthd answers on the bus."""

    def __init__(self, bus, *args, command=None):
        self.bus = bus
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(command or [BERTHD, "--terminate-timeout=2s", *args], env=bus.env,
                                     stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("berthd exited: " + self.output())
            if busctl(bus, "call", *DEST, "ListMachines", check=False).returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("berthd did not take the name")

    def output(self):
        if self.log.closed:
            return self.output_at_exit
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def fds(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=10)
        if not self.log.closed:
            self.output_at_exit = self.output()
            self.log.close()


def busctl(bus, *args, check=True, user=None, timeout=30):
    cmd = ["busctl", "--system", "--json=short", "--", *args]
    if user:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
    r = subprocess.run(cmd, env=bus.env, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed: {r.stderr}")
    return r


def call(bus, method, sig=None, *args, **kw):
    extra = [sig, *[str(a) for a in args]] if sig else []
    r = busctl(bus, "call", *DEST, method, *extra, **kw)
    return json.loads(r.stdout)["data"] if r.returncode == 0 and r.stdout.strip() else r


def register(bus, name, leader, root="", create=False, **kw):
    if create:
        return call(bus, "CreateMachine", "sayssusa(sv)", name, 0, "test", "container", leader, root, 0, **kw)
    return call(bus, "RegisterMachine", "sayssus", name, 0, "test", "container", leader, root, **kw)


def machines(bus):
    return {m[0]: m for m in call(bus, "ListMachines")[0]}


def sleeper(prefix=()):
    return subprocess.Popen([*prefix, "sleep", "100000"], stdin=subprocess.DEVNULL)


def kill_and_reap(p):
    if p.poll() is None:
        p.kill()
    p.wait(timeout=10)


def wait_for(pred, timeout=5.0, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


@contextlib.contextmanager
def private_berthd(bus_extra=""):
    """A private bus with berthd on it, for the benches and load scripts: yields (bus, berthd).
    bus_extra: more of the bus's configuration (limits)."""
    bus = Bus(bus_extra)
    try:
        daemon = Berthd(bus)
        try:
            yield bus, daemon
        finally:
            daemon.stop()
    finally:
        bus.close()

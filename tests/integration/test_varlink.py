# SPDX-License-Identifier: LGPL-2.1-or-later
"""berthd's Varlink socket (io.systemd.Machine.List, as systemd-machined >= 256 serves it) and
berthctl's front, which lists over it without loading libsystemd: the same output as the D-Bus path,
the fallback when the socket is not there, the protocol's answers and errors, and clients that
misbehave."""

import json
import os
import signal
import socket
import subprocess

import pytest

from conftest import BUILD, Machine
from daemon import Berthd, wait_for

CTL = os.path.join(BUILD, "src", "ctl", "berthctl")
CTL_BUS = os.path.join(BUILD, "src", "ctl", "berthctl-bus")
VARLINK_DIR = "/run/berth/machine"


def socket_path(d):
    """berthd's Varlink socket for its bus: the one its process has open under /run/berth/machine."""
    out = subprocess.run(["ss", "-xlpn"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if f"pid={d.proc.pid}," in line and VARLINK_DIR + "/" in line:
            return next(w for w in line.split() if w.startswith(VARLINK_DIR + "/"))
    raise AssertionError("berthd listens on no Varlink socket")


def ctl(bus, *args, quick_only=False, user=None):
    """berthctl; quick_only: the full tool is replaced by /bin/false, so only the front can answer."""
    env = dict(bus.env)
    if quick_only:
        env["BERTHCTL_BUS_BINARY"] = "/bin/false"
    cmd = [CTL, "--no-pager", *args]
    if user:
        cmd = ["setpriv", f"--reuid={user}", "--regid=nogroup", "--clear-groups", *cmd]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30)


class Conn:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(10)
        self.s.connect(path)
        self.buf = b""

    def send(self, method, parameters=None, **flags):
        msg = {"method": method, **flags}
        if parameters is not None:
            msg["parameters"] = parameters
        self.s.sendall(json.dumps(msg).encode() + b"\0")

    def reply(self):
        while b"\0" not in self.buf:
            data = self.s.recv(65536)
            if not data:
                raise EOFError
            self.buf += data
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def replies(self):
        out = [self.reply()]
        while out[-1].get("continues"):
            out.append(self.reply())
        return out

    def closed_by_peer(self):
        try:
            return self.s.recv(1) == b""
        except ConnectionResetError:  # closed with our bytes unread
            return True
        except socket.timeout:
            return False

    def close(self):
        self.s.close()


@pytest.fixture
def two_machines(bus, berthd, bbtree, tmp_path):
    from guests import make_busybox_tree
    other = make_busybox_tree(str(tmp_path / "bb2"))
    with Machine("-q", "-D", bbtree, "-M", "vl-one", "--private-network", "/bin/sleep", "100000", env=bus.env) as a, \
         Machine("-q", "-D", other, "-M", "vl-two", "/bin/sleep", "100000", env=bus.env) as b:
        subprocess.run(["nsenter", "-t", str(a.leader), "-n", "ip", "link", "add", "d0", "type", "veth", "peer", "d1"], check=True)
        subprocess.run(["nsenter", "-t", str(a.leader), "-n", "ip", "addr", "add", "192.0.2.9/24", "dev", "d0"],
                       check=True)
        assert wait_for(lambda: "2 machines listed" in ctl(bus, "list").stdout, timeout=10)
        yield a, b


def test_front_lists_as_the_dbus_path_does(bus, berthd, two_machines):
    for args in (["list"], ["-a", "list"], ["--no-legend", "list"], ["-l", "-a", "list"],
                 ["--json=short", "-a", "list"], ["--json=pretty", "list"], []):
        quick = ctl(bus, *args, quick_only=True)
        full = subprocess.run([CTL_BUS, "--no-pager", *args], env=bus.env, capture_output=True, text=True)
        assert quick.returncode == 0 and full.returncode == 0, (args, quick.stderr, full.stderr)
        assert quick.stdout == full.stdout, (args, quick.stdout, full.stdout)
    rows = json.loads(ctl(bus, "--json=short", "list", quick_only=True).stdout)["machines"]
    assert {r["machine"]: r["addresses"] for r in rows}["vl-one"] == ["192.0.2.9"]
    # an address that comes later is seen at the next list (berthd keeps them until netlink says)
    leader = two_machines[0].leader
    subprocess.run(["nsenter", "-t", str(leader), "-n", "ip", "addr", "add", "192.0.2.10/24", "dev", "d0"],
                   check=True)
    rows = json.loads(ctl(bus, "--json=short", "list", quick_only=True).stdout)["machines"]
    assert {r["machine"]: r["addresses"] for r in rows}["vl-one"] == ["192.0.2.9", "192.0.2.10"]
    # any user may list, as with ListMachines
    r = ctl(bus, "list", quick_only=True, user="nobody")
    assert r.returncode == 0 and "vl-one" in r.stdout, r.stderr
    # everything else goes to the full tool, with the same command line
    r = ctl(bus, "status", "vl-one")
    assert r.returncode == 0 and "State: running" in r.stdout, r.stderr
    r = ctl(bus, "list", "--columns=tasks", quick_only=True)
    assert r.returncode == 1 and r.stdout == "", "--columns= must go to the full tool"


def test_front_falls_back_without_the_socket(bus):
    # no berthd on this bus: the front hands over, and the full tool says what is wrong
    r = ctl(bus, "list")
    assert r.returncode == 1 and "No machine manager is running on the system bus" in r.stderr, r.stderr
    r = ctl(bus, "list", quick_only=True)
    assert r.returncode == 1 and r.stdout == ""
    d = Berthd(bus)
    try:
        assert ctl(bus, "list", quick_only=True).stdout == "No machines.\n"
    finally:
        d.stop()
    assert ctl(bus, "list", quick_only=True).returncode == 1  # its socket went with it
    # bad command lines are the full tool's to explain
    r = ctl(bus, "list", "--bogus")
    assert r.returncode == 1 and "unrecognized option '--bogus'" in r.stderr and r.stderr.count("bogus") == 1
    r = ctl(bus, "--version", quick_only=True)
    assert r.returncode == 0 and r.stdout.startswith("berthctl ")


def test_varlink_protocol(bus, berthd, two_machines):
    path = socket_path(berthd)
    assert os.stat(path).st_mode & 0o777 == 0o666
    c = Conn(path)
    try:
        c.send("io.systemd.Machine.List", {"acquireMetadata": "graceful"}, more=True)
        replies = c.replies()
        # in no promised order (systemd-machined's is its hash table's): the two started at once
        assert sorted(r["parameters"]["name"] for r in replies) == [".host", "vl-one", "vl-two"]
        assert all(r.get("continues") for r in replies[:-1]) and "continues" not in replies[-1]
        one = next(r["parameters"] for r in replies if r["parameters"]["name"] == "vl-one")
        assert one["class"] == "container" and one["leader"] == two_machines[0].leader
        assert "ID=busybox" in one["OSRelease"]
        assert {"family": 2, "address": [192, 0, 2, 9]}.items() <= one["addresses"][0].items()
        assert set(one["timestamp"]) == {"realtime", "monotonic"}
        # by name, by PID (any process of the machine), without metadata unless asked for
        c.send("io.systemd.Machine.List", {"name": "vl-two"})
        r = c.reply()["parameters"]
        assert r["name"] == "vl-two" and "OSRelease" not in r and "addresses" not in r
        c.send("io.systemd.Machine.List", {"pid": two_machines[1].leader})
        assert c.reply()["parameters"]["name"] == "vl-two"
        c.send("io.systemd.Machine.List", {"name": "vl-one", "pid": two_machines[1].leader})
        assert c.reply() == {"error": "io.systemd.Machine.NoSuchMachine", "parameters": {}}
        c.send("io.systemd.Machine.List", {"name": "nope"})
        assert c.reply() == {"error": "io.systemd.Machine.NoSuchMachine", "parameters": {}}
        c.send("io.systemd.Machine.List")
        assert c.reply()["error"] == "org.varlink.service.ExpectedMore"
        c.send("io.systemd.Machine.List", {"name": 7})
        assert c.reply() == {"error": "org.varlink.service.InvalidParameter", "parameters": {"parameter": "name"}}
        c.send("io.systemd.Machine.List", {"acquireMetadata": "sometimes"}, more=True)
        assert c.reply()["parameters"] == {"parameter": "acquireMetadata"}
        c.send("io.systemd.Machine.Terminate", {"name": "vl-one"})
        assert c.reply() == {"error": "org.varlink.service.MethodNotFound",
                             "parameters": {"method": "io.systemd.Machine.Terminate"}}
        c.send("org.varlink.service.GetInfo")
        info = c.reply()["parameters"]
        assert info["product"] == "berthd" and "io.systemd.Machine" in info["interfaces"]
        c.send("io.systemd.Machine.List", {"name": "vl-one"}, oneway=True)
        c.send("io.systemd.Machine.List", {"name": "vl-two"})
        assert c.reply()["parameters"]["name"] == "vl-two"  # no reply to the oneway call
    finally:
        c.close()


def test_misbehaving_clients_are_dropped(bus, berthd, two_machines):
    path = socket_path(berthd)
    fds = berthd.fds()
    garbage = Conn(path)
    garbage.s.sendall(b"this is not json\0")
    assert garbage.closed_by_peer()
    endless = Conn(path)
    endless.s.sendall(b"{" * (70 * 1024))  # longer than any request, and no end
    assert endless.closed_by_peer()
    # a client that asks and never reads: berthd stops reading it once its replies wait, and the
    # others are answered all along
    greedy = Conn(path)
    greedy.s.setblocking(False)
    request = json.dumps({"method": "io.systemd.Machine.List", "parameters": {"acquireMetadata": "yes"},
                          "more": True}).encode() + b"\0"
    sent = 0
    try:
        while sent < 64 * 1024 * 1024:
            sent += greedy.s.send(request * 64)
    except BlockingIOError:
        pass
    assert "vl-one" in ctl(bus, "list", quick_only=True).stdout
    # one user cannot take every connection; root still lists
    script = ("import socket,sys,time\n"
              "def closed(s):\n try:\n  return s.recv(1)==b''\n except ConnectionResetError:\n  return True\n"
              " except BlockingIOError:\n  return False\n"
              "ss=[]\nfor i in range(40):\n s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); ss.append(s)\n"
              "time.sleep(0.5)\n[s.setblocking(False) for s in ss]\nprint(sum(closed(s) for s in ss))\n")
    r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "/usr/bin/python3", "-c",
                        script, path], capture_output=True, text=True, timeout=30)
    assert r.stdout.strip() == "8", r.stdout + r.stderr  # 32 kept, the rest refused
    assert "vl-two" in ctl(bus, "list", quick_only=True).stdout
    for c in (garbage, endless, greedy):
        c.close()
    assert wait_for(lambda: berthd.fds() == fds, timeout=10), (berthd.fds(), fds)
    assert berthd.proc.poll() is None


def test_sockets_of_a_killed_berthd_are_collected(bus):
    """A killed berthd leaves its registration and Varlink sockets; the next berthd of the same bus
    replaces them, and a berthd of any bus removes those nobody listens on (a bus that is gone)."""
    import time
    from daemon import Bus

    d = Berthd(bus)
    varlink = socket_path(d)
    registry = "/run/berth/registry/" + os.path.basename(varlink).rsplit(".", 1)[1]
    d.stop(signal.SIGKILL)
    assert os.path.exists(varlink) and os.path.exists(registry)
    time.sleep(1.5)  # a socket younger than a second may belong to a berthd between bind and listen
    other = Bus()
    try:
        d2 = Berthd(other)
        try:
            assert not os.path.exists(varlink) and not os.path.exists(registry)
            assert os.path.exists(socket_path(d2))  # its own, alive
        finally:
            d2.stop()
    finally:
        other.close()

# SPDX-License-Identifier: LGPL-2.1-or-later
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import guests  # noqa: E402
import leakcheck  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("BERTH_BUILD_DIR", os.path.join(REPO, "build"))
SPAWN = os.environ.get("BERTH_SPAWN_BINARY", os.path.join(BUILD, "src", "spawn", "berth-spawn"))


def pytest_collection_modifyitems(config, items):
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="integration tests need root")
        for item in items:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def leak_check():
    """Every integration test ends with a leak check against the state before it."""
    before = leakcheck.snapshot()
    yield
    leaks = leakcheck.check(before)
    assert not leaks, "left behind:\n" + "\n".join(leaks)


def spawn(*args, input=None, timeout=60, env=None):
    return subprocess.run([SPAWN, *args], input=input, capture_output=True, text=True, timeout=timeout,
                          env=env, stdin=None if input is not None else subprocess.DEVNULL)


def assert_cwd_outcome(cwd, r):
    """The one outcome each --chdir= escape attempt must have: refused as a path, refused as a
    directory that does not exist in the machine (the host's fds are not there), or a directory of
    the machine's own (its root), with no host directory in sight."""
    if ".." in cwd:
        assert r.returncode == 1 and "is not an absolute, normalized path" in r.stderr, (cwd, r)
    elif cwd.startswith("/proc/self/fd/") and r.returncode != 0:  # no such fd in the machine's PID 1
        assert r.returncode == 1 and f"Failed to change to the working directory '{cwd}' in the machine" in r.stderr, (cwd, r)
    else:  # an fd of the machine's own (its root, with -U)
        assert r.returncode == 0 and r.stdout.split() == ["/", "0"], (cwd, r)


@pytest.fixture
def bbtree():
    with tempfile.TemporaryDirectory(prefix="berth-bb-") as d:
        yield guests.make_busybox_tree(os.path.join(d, "bb"))


PROBE = os.path.join(BUILD, "tests", "probe", "probe")


@pytest.fixture
def probetree(bbtree):
    """The busybox tree with our probe binary at /bin/probe (it makes the syscalls tests ask for)."""
    if not os.path.exists(PROBE):
        pytest.skip("probe not built")
    shutil.copy2(PROBE, os.path.join(bbtree, "bin/probe"))
    return bbtree


@pytest.fixture(scope="session")
def debian_cached():
    return guests.debian_systemd_tree()


@pytest.fixture(scope="session")
def sysvinit_cached():
    return guests.debian_sysvinit_tree()


@pytest.fixture(scope="module")
def debian(debian_cached):
    with tempfile.TemporaryDirectory(prefix="berth-deb-", dir="/var/tmp") as d:
        yield guests.copy_tree(debian_cached, os.path.join(d, "debian"))


def is_pid1_of_a_namespace(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("NSpid:"):
                    ids = line.split()[1:]
                    return len(ids) > 1 and ids[-1] == "1"
    except (FileNotFoundError, ProcessLookupError):
        pass
    return False


def leader_of(launcher_pid, timeout=10):
    """The machine's PID 1 (host view): the launcher's child that is PID 1 of its own namespace
    (the launcher may briefly have other children, such as the process that holds a throwaway
    user namespace for an idmapped mount)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{launcher_pid}/task/{launcher_pid}/children") as f:
                kids = f.read().split()
        except FileNotFoundError:
            return None
        for kid in kids:
            if is_pid1_of_a_namespace(kid):
                return int(kid)
        time.sleep(0.01)
    return None


class Machine:
    """A machine booted in the background by berth-spawn."""

    def __init__(self, *args, env=None):
        self.proc = subprocess.Popen([SPAWN, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)
        self.leader = leader_of(self.proc.pid)

    def exec(self, *cmd, timeout=30):
        return subprocess.run(["nsenter", "-t", str(self.leader), "-a", *cmd], capture_output=True,
                              text=True, timeout=timeout)

    def wait_running(self, timeout=60):
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the machine exited ({self.proc.returncode}): {self.proc.stderr.read()}")
            state = self.exec("systemctl", "is-system-running").stdout.strip()
            if state in ("running", "degraded"):
                return state
            time.sleep(0.2)
        return state

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        self.stdout, self.stderr = out, err
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.stop(signal.SIGTERM)


@pytest.fixture
def bus():
    """A private dbus-daemon of type system with berth's policy (daemon.Bus)."""
    import daemon
    b = daemon.Bus()
    yield b
    b.close()


@pytest.fixture
def berthd(bus):
    """berthd on that bus (daemon.Berthd), stopped with SIGTERM at the end."""
    import daemon
    d = daemon.Berthd(bus)
    yield d
    d.stop()

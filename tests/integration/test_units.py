# SPDX-License-Identifier: LGPL-2.1-or-later
"""The systemd units load (systemd-analyze verify, with this build's binaries in ExecStart=) next to
systemd-container's own, and berthd tells a Type=notify unit it is ready only once it owns
org.freedesktop.machine1."""

import os
import shutil
import socket
import subprocess

import pytest

from conftest import BUILD, REPO
from test_machined import BERTHD, Berthd, Bus, busctl

SPAWN_BIN = os.path.join(BUILD, "src", "spawn", "berth-spawn")


def test_units_verify(tmp_path):
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze missing")
    built = os.path.join(BUILD, "units")
    for name, src in [("berthd.service", os.path.join(built, "berthd.service")),
                      ("berth-spawn@web.service", os.path.join(built, "berth-spawn@.service")),
                      ("berth-machines.target", os.path.join(REPO, "units", "berth-machines.target"))]:
        with open(src) as f:
            text = f.read()
        text = text.replace("/usr/local/sbin/berthd", BERTHD).replace("/usr/local/bin/berth-spawn", SPAWN_BIN)
        text = text.replace("/usr/sbin/berthd", BERTHD).replace("/usr/bin/berth-spawn", SPAWN_BIN)
        (tmp_path / name).write_text(text)
    units = [str(tmp_path / n) for n in ("berthd.service", "berth-spawn@web.service", "berth-machines.target")]
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", *units], capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = (tmp_path / "berthd.service").read_text().splitlines()
    assert not any(l.startswith("BusName=") for l in lines)  # it would clash with machined's


def test_berthd_notifies_ready_after_taking_the_name(tmp_path):
    bus = Bus()
    path = str(tmp_path / "notify")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(10)
    try:
        bus.env["NOTIFY_SOCKET"] = path
        d = Berthd(bus)
        try:
            msg = s.recv(4096).decode()
            assert "READY=1" in msg, msg
            out = busctl(bus, "call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                         "NameHasOwner", "s", "org.freedesktop.machine1").stdout
            assert "true" in out
        finally:
            d.stop()
    finally:
        s.close()
        bus.close()

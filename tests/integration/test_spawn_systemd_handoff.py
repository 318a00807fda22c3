# SPDX-License-Identifier: LGPL-2.1-or-later
"""On a systemd host berth-spawn registers with systemd-machined and hands its --property= values to
systemd, which owns the machine's scope (issue 12). The systemd host is a machine: Debian bookworm
with systemd-machined and dbus, booted by berth, with the host's berth build bound in; berth-spawn runs
inside it and systemd there shows the scope's properties. The tree is built once (guests.py)."""

import os

import pytest

import guests
from conftest import BUILD, SPAWN, Machine

INNER = """
{spawn} -q -D /srv/bb -M inner --register=yes --property=MemoryMax=123M --property=CPUQuota=50% \\
    --property=TasksMax=77 --property=AllowedCPUs=0 /bin/sleep 1000 >/tmp/inner.log 2>&1 &
for i in $(seq 100); do
  systemctl show -p ActiveState machine-inner.scope | grep -q =active && break; sleep 0.1
done
systemctl show machine-inner.scope -p MemoryMax -p CPUQuotaPerSecUSec -p TasksMax -p AllowedCPUs
machinectl show inner -p Leader -p Unit
kill %1; wait %1
echo "LOG<$(cat /tmp/inner.log)>"
"""


@pytest.fixture(scope="session")
def machined_cached():
    try:
        return guests.debian_machined_tree()
    except guests.TreeUnavailable as e:
        pytest.skip(str(e))


def test_properties_handed_to_systemd_machined(machined_cached, bbtree):
    with Machine("-q", "-D", machined_cached, "-x", "-M", "deb-handoff", "-b", "--console=passive",
                 "--unified-cgroup-hierarchy=yes", f"--bind-ro={BUILD}", f"--bind={bbtree}:/srv/bb") as m:
        assert m.wait_running() in ("running", "degraded")
        r = m.exec("bash", "-c", INNER.format(spawn=SPAWN), timeout=60)
        out = r.stdout.splitlines()
        assert "MemoryMax=128974848" in out, r.stdout + r.stderr
        assert "CPUQuotaPerSecUSec=500ms" in out, r.stdout
        assert "TasksMax=77" in out, r.stdout
        assert "AllowedCPUs=0" in out, r.stdout
        assert "Unit=machine-inner.scope" in out, r.stdout
        # berth-spawn wrote none of them itself: it would have warned that this machine's cgroup2 has
        # no memory, cpu, cpuset or pids controller (the host's are on v1)
        assert "LOG<" in r.stdout and "not applied" not in r.stdout, r.stdout
        assert m.stop() == 0

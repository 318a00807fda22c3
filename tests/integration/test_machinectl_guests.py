# SPDX-License-Identifier: LGPL-2.1-or-later
"""Stock machinectl 252 and `systemctl -M` against berthd with the other guest kinds: a Debian
tree booted with systemd, and a Debian tree with sysvinit. (Busybox guests: test_machinectl.py.)"""

import subprocess

from conftest import Machine
from daemon import machines, wait_for
from test_machinectl import mctl


def boot(bus, *args):
    return Machine(*args, "-b", "--console=passive", env=bus.env)


def sysv_ready(m):
    return wait_for(lambda: m.exec("runlevel").stdout.strip().endswith("2"), timeout=30, step=0.1)


def test_systemd_guest(bus, berthd, debian):
    with boot(bus, "-q", "-D", debian, "-M", "deb-mctl") as m:
        assert m.wait_running(60) in ("running", "degraded")
        r = mctl(bus, "list")
        assert "deb-mctl" in r.stdout and "debian" in r.stdout, r.stdout + r.stderr
        r = mctl(bus, "status", "deb-mctl")
        assert r.returncode == 0 and "Debian GNU/Linux 12" in r.stdout, r.stdout + r.stderr
        r = mctl(bus, "shell", "deb-mctl", "/bin/echo", "ok")
        assert "ok" in r.stdout, r.stdout + r.stderr
        # a shell is a login session the guest sees (utmp), and ends as one (wtmp)
        r = mctl(bus, "shell", "deb-mctl", "/usr/bin/who")
        assert "root" in r.stdout and "pts/" in r.stdout, r.stdout + r.stderr
        r = mctl(bus, "shell", "deb-mctl", "/usr/bin/who")
        assert r.stdout.count("pts/") == 1, r.stdout  # the first session's record was closed
        r = mctl(bus, "shell", "deb-mctl", "/usr/bin/last", "-w")
        assert "root" in r.stdout and "pts/" in r.stdout, r.stdout
        # systemctl -M reaches the guest's own systemd through the state file and its bus
        r = subprocess.run(["systemctl", "-M", "deb-mctl", "is-system-running"], capture_output=True, text=True,
                           timeout=30, stdin=subprocess.DEVNULL)
        assert r.stdout.strip() in ("running", "degraded"), r.stdout + r.stderr
        r = mctl(bus, "reboot", "deb-mctl")
        assert r.returncode == 0, r.stderr
        assert m.proc.wait(timeout=60) == 133  # nspawn's convention for a guest reboot
        assert wait_for(lambda: "deb-mctl" not in machines(bus), timeout=5)


def test_systemd_guest_poweroff_and_login(bus, berthd, debian):
    with boot(bus, "-q", "-D", debian, "-M", "deb-mctl2") as m:
        assert m.wait_running(60) in ("running", "degraded")
        script = "(sleep 3; printf '\\035\\035\\035') | script -qec 'machinectl -M .host login deb-mctl2' /dev/null"
        r = subprocess.run(["bash", "-c", script], env=bus.env, capture_output=True, text=True, timeout=30)
        assert "login:" in r.stdout, r.stdout + r.stderr
        assert mctl(bus, "poweroff", "deb-mctl2").returncode == 0
        assert m.proc.wait(timeout=60) == 0


def test_sysvinit_guest(bus, berthd, sysvinit_cached):
    with boot(bus, "-q", "-D", sysvinit_cached, "-M", "sysv-mctl", "--read-only") as m:
        assert sysv_ready(m)
        r = mctl(bus, "list", "-a")
        assert "sysv-mctl" in r.stdout and ".host" in r.stdout
        r = mctl(bus, "shell", "sysv-mctl", "/bin/echo", "ok")
        assert "ok" in r.stdout, r.stdout + r.stderr
        r = mctl(bus, "show", "sysv-mctl", "-p", "State")
        assert r.stdout.strip() == "State=running"
        assert mctl(bus, "poweroff", "sysv-mctl").returncode == 0  # SIGTERM to the launcher: runlevel 0
        assert m.proc.wait(timeout=60) == 0


def test_sysvinit_guest_reboot_and_kill(bus, berthd, sysvinit_cached):
    with boot(bus, "-q", "-D", sysvinit_cached, "-M", "sysv-mctl2", "--read-only") as m:
        assert sysv_ready(m)
        assert mctl(bus, "reboot", "sysv-mctl2").returncode == 0  # SIGINT: ctrlaltdel in inittab
        assert m.proc.wait(timeout=60) == 133
    with boot(bus, "-q", "-D", sysvinit_cached, "-M", "sysv-mctl3", "--read-only") as m:
        assert sysv_ready(m)
        assert mctl(bus, "kill", "--signal=KILL", "sysv-mctl3").returncode == 0
        m.proc.wait(timeout=30)
        assert wait_for(lambda: "sysv-mctl3" not in machines(bus), timeout=5)


def test_command_machine(bus, berthd, bbtree):
    """A command-only machine (no init): shell and terminate work, poweroff ends it too."""
    with Machine("-q", "-D", bbtree, "-M", "cmd-mctl", "/bin/sleep", "1000", env=bus.env) as m:
        assert wait_for(lambda: "cmd-mctl" in machines(bus), timeout=10)
        r = mctl(bus, "shell", "cmd-mctl", "/bin/echo", "ok")
        assert "ok" in r.stdout, r.stdout + r.stderr
        assert mctl(bus, "terminate", "cmd-mctl").returncode == 0
        m.proc.wait(timeout=30)
        assert wait_for(lambda: "cmd-mctl" not in machines(bus), timeout=5)

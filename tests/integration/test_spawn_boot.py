# SPDX-License-Identifier: LGPL-2.1-or-later
"""Booting real inits: busybox, Debian with systemd 252, Debian with sysvinit; stopping them."""
import os
import shutil
import signal
import subprocess
import time

import pytest

import guests
from conftest import SPAWN, Machine, spawn


def write_inittab(tree, text):
    with open(os.path.join(tree, "etc/inittab"), "w") as f:
        f.write(text)


def test_busybox_poweroff_exits_0(bbtree):
    write_inittab(bbtree, "::sysinit:/bin/echo booted\n::once:/bin/poweroff\n")
    r = spawn("-q", "-D", bbtree, "-b", timeout=30)
    assert r.returncode == 0, r.stderr
    assert "booted" in r.stdout


def test_busybox_reboot_exits_133(bbtree):
    write_inittab(bbtree, "::sysinit:/bin/echo booted\n::once:/bin/reboot\n")
    r = spawn("-q", "-D", bbtree, "-b", timeout=30)
    assert r.returncode == 133, r.stderr


def test_sigterm_shuts_busybox_down_cleanly(bbtree):
    with Machine("-D", bbtree, "-b", "-M", "bbterm") as m:
        time.sleep(0.5)
        assert m.stop(signal.SIGTERM, timeout=30) == 0
        assert "shutting-down" in m.stdout
        assert "Container bbterm has been shut down." in m.stderr


def test_shutdown_requested_before_init_catches_it_is_not_lost(bbtree):
    """SIGTERM to the launcher while the machine's init has no handler yet (here a script that
    sleeps before it becomes busybox's init): the kernel drops the request, the launcher sees that
    from the init's SigCgt and asks again until one lands; the machine powers off cleanly."""
    # named busybox, so that the launcher asks it as it asks busybox's init (SIGUSR1)
    os.makedirs(os.path.join(bbtree, "usr/lib/slow"), exist_ok=True)
    with open(os.path.join(bbtree, "usr/lib/slow/busybox"), "w") as f:
        f.write("#!/bin/sh\nsleep 2\nexec /bin/busybox init\n")
    os.chmod(os.path.join(bbtree, "usr/lib/slow/busybox"), 0o755)
    os.unlink(os.path.join(bbtree, "sbin/init"))
    os.symlink("../usr/lib/slow/busybox", os.path.join(bbtree, "sbin/init"))
    write_inittab(bbtree, "::sysinit:/bin/echo booted\n::respawn:/bin/sleep 1000\n")
    env = dict(os.environ, BERTH_LOG_LEVEL="debug")
    with Machine("-D", bbtree, "-b", "-M", "bbearly", "--shutdown-timeout=20s", env=env) as m:
        time.sleep(0.2)
        assert m.stop(signal.SIGTERM, timeout=30) == 0, m.stderr
        assert "does not catch the shutdown signal yet" in m.stderr
        assert "did not shut down in time" not in m.stderr
        assert "booted" in m.stdout


def test_init_ignoring_shutdown_is_killed_after_timeout(bbtree):
    with Machine("-q", "-D", bbtree, "--shutdown-timeout=1s", "--kill-signal=SIGUSR1", "/bin/sh", "-c",
                 "trap '' USR1 TERM; while :; do sleep 1; done") as m:
        time.sleep(0.3)
        t0 = time.monotonic()
        assert m.stop(signal.SIGTERM, timeout=30) == 1
        assert time.monotonic() - t0 < 10


def test_second_signal_kills_at_once(bbtree):
    with Machine("-D", bbtree, "--kill-signal=SIGUSR1", "/bin/sh", "-c",
                 "trap '' USR1; while :; do sleep 1; done") as m:
        time.sleep(0.3)
        m.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        assert m.stop(signal.SIGINT, timeout=10) == 1
        assert "Second signal received" in m.stderr


def test_guest_killed_from_host_is_noticed(bbtree):
    with Machine("-q", "-D", bbtree, "-b") as m:
        time.sleep(0.3)
        t0 = time.monotonic()
        os.kill(m.leader, signal.SIGKILL)
        assert m.proc.wait(5) == 1
        assert time.monotonic() - t0 < 1.5


def test_launcher_sigkill_kills_guest_and_next_start_cleans(bbtree):
    m = Machine("-q", "-D", bbtree, "-b", "-M", "crashy")
    time.sleep(0.3)
    leader = m.leader
    m.proc.kill()
    m.proc.wait()
    for _ in range(100):
        if not os.path.exists(f"/proc/{leader}"):
            break
        time.sleep(0.02)
    assert not os.path.exists(f"/proc/{leader}"), "the guest outlived its launcher"
    # Its cgroups are left (nobody could remove them); the next start removes them.
    r = spawn("-q", "-D", bbtree, "-M", "crashy", "/bin/true")
    assert r.returncode == 0, r.stderr


def test_interactive_console_and_escape(bbtree):
    if not shutil.which("tmux"):
        pytest.skip("tmux missing")
    write_inittab(bbtree, "::sysinit:/bin/echo booted\n::respawn:-/bin/sh\n")
    sess = f"berth-test-{os.getpid()}"
    out = f"/tmp/{sess}.rc"
    subprocess.run(["tmux", "new-session", "-d", "-s", sess, "-x", "100", "-y", "20",
                    f"{SPAWN} -D {bbtree} -M tty-test -b; echo RC=$? > {out}"], check=True)
    try:
        def screen():
            return subprocess.run(["tmux", "capture-pane", "-p", "-t", sess], capture_output=True, text=True).stdout
        deadline = time.monotonic() + 10
        while "booted" not in screen() and time.monotonic() < deadline:
            time.sleep(0.1)
        subprocess.run(["tmux", "send-keys", "-t", sess, "hostname; tty", "Enter"])
        time.sleep(0.5)
        assert "tty-test" in screen()
        assert "/dev/console" in screen()
        subprocess.run(["tmux", "send-keys", "-t", sess, "C-]", "C-]", "C-]"])
        deadline = time.monotonic() + 10
        while not os.path.exists(out) and time.monotonic() < deadline:
            time.sleep(0.1)
        with open(out) as f:
            assert f.read().strip() == "RC=1"
    finally:
        subprocess.run(["tmux", "kill-session", "-t", sess], stderr=subprocess.DEVNULL)
        if os.path.exists(out):
            os.unlink(out)


def test_debian_systemd_boots_to_running_and_powers_off(debian):
    with Machine("-D", debian, "-M", "deb-boot", "-b", "--console=passive") as m:
        assert m.wait_running(60) in ("running", "degraded")
        assert m.exec("hostname").stdout.strip() == "deb-boot"
        assert m.exec("systemd-detect-virt", "-c").stdout.strip() in ("container-other", "berth")
        assert m.stop(signal.SIGTERM, timeout=60) == 0
        assert "Container deb-boot has been shut down." in m.stderr


def test_debian_guest_poweroff_and_reboot(debian):
    with Machine("-q", "-D", debian, "-M", "deb-pw", "-b", "--console=passive") as m:
        m.wait_running(60)
        m.exec("systemctl", "--no-block", "poweroff")
        assert m.proc.wait(60) == 0
    with Machine("-q", "-D", debian, "-M", "deb-rb", "-b", "--console=passive") as m:
        m.wait_running(60)
        m.exec("systemctl", "--no-block", "reboot")
        assert m.proc.wait(60) == 133


def test_debian_login_prompt(debian):
    if not shutil.which("tmux"):
        pytest.skip("tmux missing")
    sess = f"berth-login-{os.getpid()}"
    subprocess.run(["tmux", "new-session", "-d", "-s", sess, "-x", "120", "-y", "30",
                    f"{SPAWN} -D {debian} -M deb-login -b"], check=True)
    try:
        def screen():
            return subprocess.run(["tmux", "capture-pane", "-p", "-t", sess], capture_output=True, text=True).stdout
        deadline = time.monotonic() + 60
        while "login:" not in screen() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "deb-login login:" in screen()
        subprocess.run(["tmux", "send-keys", "-t", sess, "root", "Enter"])
        deadline = time.monotonic() + 20
        while "root@deb-login" not in screen() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "root@deb-login" in screen()
        subprocess.run(["tmux", "send-keys", "-t", sess, "poweroff", "Enter"])
        deadline = time.monotonic() + 60
        while subprocess.run(["tmux", "has-session", "-t", sess], stderr=subprocess.DEVNULL).returncode == 0 \
                and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", sess], stderr=subprocess.DEVNULL)


def test_debian_notify_ready(debian, tmp_path):
    import socket
    sock_path = str(tmp_path / "notify")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(sock_path)
    s.settimeout(60)
    env = dict(os.environ, NOTIFY_SOCKET=sock_path)
    with Machine("-q", "-D", debian, "-M", "deb-ready", "-b", "--console=passive", "--notify-ready=yes", env=env) as m:
        assert s.recv(100) == b"READY=1"
        # Ready means the guest's systemd finished starting up.
        assert m.exec("systemctl", "is-system-running").stdout.strip() in ("running", "degraded", "starting")
        assert m.stop() == 0
    s.close()


def test_debian_boots_on_pure_cgroup2_view(debian):
    script = f"""
set -e
mount --make-rprivate /
umount -l /sys/fs/cgroup
mount -t cgroup2 cgroup2 /sys/fs/cgroup
{SPAWN} -q -D {debian} -M deb-v2 -b --console=passive &
P=$!
L=
for i in $(seq 100); do
  for k in $(cat /proc/$P/task/$P/children 2>/dev/null); do
    grep -Eq '^NSpid:.*[[:space:]]1$' /proc/$k/status 2>/dev/null && L=$k
  done
  [ -n "$L" ] && break; sleep 0.1
done
for i in $(seq 300); do S=$(nsenter -t $L -a systemctl is-system-running 2>/dev/null || true); case $S in running|degraded) break;; esac; sleep 0.2; done
echo STATE=$S
nsenter -t $L -a findmnt -no FSTYPE /sys/fs/cgroup
kill -TERM $P; wait $P; echo RC=$?
test ! -e /sys/fs/cgroup/machine.slice && echo CLEAN
"""
    r = subprocess.run(["unshare", "-m", "bash", "-c", script], capture_output=True, text=True, timeout=120)
    assert "STATE=running" in r.stdout or "STATE=degraded" in r.stdout, r.stdout + r.stderr
    assert "cgroup2" in r.stdout
    assert "RC=0" in r.stdout and "CLEAN" in r.stdout


def test_sysvinit_boots_and_shuts_down(sysvinit_cached):
    with Machine("-q", "-D", sysvinit_cached, "-M", "sysv", "-b", "--console=passive", "--read-only") as m:
        for _ in range(100):
            if m.exec("runlevel").stdout.strip().endswith("2"):
                break
            time.sleep(0.1)
        assert m.exec("runlevel").stdout.strip().endswith("2")
        assert m.stop(signal.SIGTERM, timeout=60) == 0


def test_machine_found_by_name_in_the_image_store(tmp_path):
    name = f"berth-test-{os.getpid()}"
    tree = os.path.join("/var/lib/machines", name)
    os.makedirs("/var/lib/machines", exist_ok=True)
    guests.make_busybox_tree(tree, inittab="::sysinit:/bin/echo booted-by-name\n::once:/bin/poweroff\n")
    try:
        r = spawn("-M", name, "-b", "--console=passive", timeout=30)
        assert r.returncode == 0, r.stderr
        assert f"Spawning container {name} on {tree}." in r.stderr
        assert "booted-by-name" not in r.stdout  # passive: the console is not shown
        r = spawn("-q", "-M", name, "-b", "--console=pipe", timeout=30)
        assert "booted-by-name" in r.stdout
    finally:
        shutil.rmtree(tree)


def test_read_only_console_shows_output(bbtree):
    if not shutil.which("script"):
        pytest.skip("script missing")
    write_inittab(bbtree, "::sysinit:/bin/echo on-the-console\n::once:/bin/poweroff\n")
    r = subprocess.run(["script", "-qec", f"{SPAWN} -q -D {bbtree} -b --console=read-only", "/dev/null"],
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert "on-the-console" in r.stdout, r.stdout + r.stderr


def test_e24_terminal_on_stdin_only_is_not_handed_over(bbtree):
    # stdin is a terminal, stdout is not: the machine must not get our terminal (TIOCSTI), only its
    # own console.
    cmd = "stat -L -c %t:%T /proc/self/fd/0; stat -L -c %t:%T /dev/console"
    r = subprocess.run(["script", "-qec", f"{SPAWN} -q -D {bbtree} /bin/sh -c '{cmd}' | cat", "/dev/null"],
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    lines = r.stdout.split()
    assert len(lines) == 2 and lines[0] == lines[1], r.stdout

# SPDX-License-Identifier: LGPL-2.1-or-later
"""berthctl against a real berthd on a private system bus: listing, status, persistent machines
started and supervised by berthd (console log, restart on reboot, surviving a berthd restart,
autostart), shell with the command's exit status, stopping verbs, and bad input."""

import json
import os
import shutil
import signal
import subprocess
import tempfile

import pytest

import guests
import leakcheck
from conftest import BUILD, SPAWN
from daemon import Berthd, Bus, wait_for

CTL = os.environ.get("BERTHCTL_BINARY", os.path.join(BUILD, "src", "ctl", "berthctl"))
POOL = "/var/lib/machines"
SETTINGS_DIR = "/etc/systemd/nspawn"


class Env:
    """A bus, berthd (which starts machines with our build of berth-spawn) and a place for logs."""

    def __init__(self):
        self.bus = Bus()
        self.dir = tempfile.mkdtemp(prefix="berth-ctl-")
        self.log_dir = os.path.join(self.dir, "log")
        self.autostart_dir = os.path.join(self.dir, "autostart")
        self.bus.env["BERTH_SPAWN_BINARY"] = SPAWN
        self.berthd = None
        self.foreign = set()
        self.started = set()  # what the test started (berthctl start) or made images of: all it may stop
        self.images = []
        self.settings = []

    def start_berthd(self):
        first = self.berthd is None
        self.berthd = Berthd(self.bus, f"--log-dir={self.log_dir}", f"--autostart-dir={self.autostart_dir}")
        if first:  # machines of the host's own berthd, which ours finds in /run/berth too
            self.foreign = set(self.running())

    def ctl(self, *args, input=None, user=None, timeout=60):
        if args and args[0] == "start":
            self.started.update(a for a in args[1:] if not a.startswith("-"))
        cmd = [CTL, "--no-pager", *args]
        if user:
            cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
        return subprocess.run(cmd, env=self.bus.env, capture_output=True, text=True, timeout=timeout,
                              input=input, stdin=None if input is not None else subprocess.DEVNULL)

    def image(self, name):
        path = os.path.join(POOL, name)
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(POOL, exist_ok=True)
        guests.make_busybox_tree(path)
        self.images.append(path)
        return path

    def settings_file(self, name, text):
        """/etc/systemd/nspawn/NAME.nspawn (trusted: every key applies), removed by close()."""
        os.makedirs(SETTINGS_DIR, exist_ok=True)
        path = os.path.join(SETTINGS_DIR, name + ".nspawn")
        with open(path, "w") as f:
            f.write(text)
        self.settings.append(path)

    def log(self, name):
        try:
            with open(os.path.join(self.log_dir, name + ".log"), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def running(self):
        r = self.ctl("list", "--json=short")
        assert r.returncode == 0, r.stderr
        return {m["machine"]: m for m in json.loads(r.stdout)["machines"]}

    def leader(self, name):
        r = self.ctl("show", name, "-P", "Leader")
        return int(r.stdout) if r.returncode == 0 else None

    def ours(self):
        return set(self.running()) & (self.started | {os.path.basename(p) for p in self.images})

    def close(self):
        for name in sorted(self.ours() if self.berthd and self.berthd.proc.poll() is None else []):
            self.ctl("terminate", name)
        if self.berthd:
            wait_for(lambda: not self.ours(), timeout=15)
        # launchers the test orphaned (berthd killed) stop with their supervisor
        subprocess.run(["pkill", "-TERM", "-f", f"berth-supervise {self.log_dir}"])
        wait_for(lambda: subprocess.run(["pgrep", "-f", f"berth-supervise {self.log_dir}"],
                                        capture_output=True).returncode != 0, timeout=15)
        if self.berthd:
            self.berthd.stop()
        self.bus.close()
        for p in self.settings:
            os.unlink(p)
        for p in self.images:
            leakcheck.remove_journal_links(p)
            shutil.rmtree(p, ignore_errors=True)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def env():
    e = Env()
    e.start_berthd()
    yield e
    e.close()


def booted(env, name):
    return wait_for(lambda: "booted" in env.log(name), timeout=15)


def test_help_and_version():
    r = subprocess.run([CTL, "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    for verb in ("list", "status", "start", "shell", "poweroff", "list-images", "logs", "enable"):
        assert verb in r.stdout
    r = subprocess.run([CTL, "shell", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "shell [[USER@]NAME" in r.stdout
    assert subprocess.run([CTL, "--version"], capture_output=True, text=True).stdout.startswith("berthctl ")


def test_empty_list_and_json(env):
    if env.foreign:
        pytest.skip(f"the host runs machines of its own: {sorted(env.foreign)}")
    r = env.ctl("list")
    assert r.returncode == 0 and "No machines." in r.stdout
    assert env.ctl("list", "--no-legend").stdout.strip() == ""
    r = env.ctl("list", "-a", "--json=pretty")
    host = json.loads(r.stdout)["machines"][0]
    assert host["machine"] == ".host" and host["class"] == "host"
    assert set(host) == {"machine", "class", "service", "os", "version", "addresses"}
    r = env.ctl("show", "-p", "PoolPath")
    assert r.stdout == "PoolPath=/var/lib/machines\n"


def test_start_status_shell_poweroff(env):
    tree = env.image("bt-ctl-a")
    with open(os.path.join(tree, "etc/inittab"), "a") as f:  # a console line that starts with a CR, as busybox's own
        f.write("::sysinit:/bin/sh -c 'printf \"\\\\rsysinit-after-cr\\\\r\\\\n\"'\n")
    r = env.ctl("start", "bt-ctl-a")
    assert r.returncode == 0, r.stderr
    assert booted(env, "bt-ctl-a"), env.log("bt-ctl-a")
    m = env.running()["bt-ctl-a"]
    assert m["class"] == "container" and m["service"] == "berth" and m["os"] == "busybox"
    assert wait_for(lambda: "sysinit-after-cr" in env.log("bt-ctl-a"), timeout=10)
    for lc, branch in (("C.UTF-8", "\u2500"), ("C", "`-")):  # the process tree's glyphs follow the locale
        r = subprocess.run([CTL, "--no-pager", "status", "bt-ctl-a"], env=dict(env.bus.env, LC_ALL=lc),
                           capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr
        assert "State: running" in r.stdout and "Root: /var/lib/machines/bt-ctl-a" in r.stdout
        assert branch in r.stdout and "init" in r.stdout, (lc, r.stdout)
        assert "booted" in r.stdout  # the last console lines
        assert "\n                  sysinit-after-cr\n" in r.stdout, r.stdout  # in the column, not after a CR
    assert env.leader("bt-ctl-a") > 1
    # shell in scripts: plain pipes, the command's exit status
    r = env.ctl("shell", "bt-ctl-a", "/bin/sh", "-c", "echo out; echo err >&2; exit 7")
    assert (r.returncode, r.stdout, r.stderr) == (7, "out\n", "err\n")
    r = env.ctl("shell", "bt-ctl-a", "/bin/cat", input="piped\n")
    assert (r.returncode, r.stdout) == (0, "piped\n")
    r = env.ctl("shell", "bt-ctl-a", "cat", "/etc/os-release")
    assert "ID=busybox" in r.stdout
    r = env.ctl("shell", "nobody@bt-ctl-a", "/bin/sh", "-c", "id -u")
    assert r.stdout.strip() == "65534", r.stderr
    r = env.ctl("shell", "bt-ctl-a", "/nonexistent")
    assert r.returncode == 127
    # a terminal: a pty in the machine, still with the exit status
    r = subprocess.run(["script", "-qec", f"{CTL} -q shell bt-ctl-a /bin/sh -c 'tty; exit 3'", "/dev/null"],
                       env=env.bus.env, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode == 3 and "/dev/pts/" in r.stdout, r.stdout + r.stderr
    r = env.ctl("poweroff", "bt-ctl-a", "--timeout=20s")
    assert r.returncode == 0, r.stderr
    assert "bt-ctl-a" not in env.running()
    assert wait_for(lambda: "the machine stopped, status 0" in env.log("bt-ctl-a"), timeout=10)
    r = env.ctl("logs", "bt-ctl-a", "-n", "1")
    assert r.stdout.strip().endswith("status 0 --")


def test_reboot_restarts_the_machine(env):
    env.image("bt-ctl-r")
    assert env.ctl("start", "bt-ctl-r").returncode == 0
    assert booted(env, "bt-ctl-r")
    first = env.leader("bt-ctl-r")
    assert env.ctl("reboot", "bt-ctl-r").returncode == 0
    assert wait_for(lambda: env.leader("bt-ctl-r") not in (None, first), timeout=20), env.log("bt-ctl-r")
    assert "the guest asked for a reboot" in env.log("bt-ctl-r")
    assert env.ctl("terminate", "bt-ctl-r", "--timeout=10s").returncode == 0
    assert "bt-ctl-r" not in env.running()


def test_machine_survives_berthd_restart(env):
    env.image("bt-ctl-s")
    assert env.ctl("start", "bt-ctl-s").returncode == 0
    assert booted(env, "bt-ctl-s")
    leader = env.leader("bt-ctl-s")
    env.berthd.stop(signal.SIGKILL)
    env.start_berthd()
    assert env.leader("bt-ctl-s") == leader
    r = env.ctl("shell", "bt-ctl-s", "/bin/echo", "still here")
    assert r.stdout == "still here\n"
    env.berthd.stop(signal.SIGTERM)
    env.start_berthd()
    assert env.leader("bt-ctl-s") == leader
    assert env.ctl("poweroff", "bt-ctl-s", "--timeout=20s").returncode == 0


def test_enable_starts_with_berthd(env):
    env.image("bt-ctl-e")
    assert env.ctl("enable", "bt-ctl-e").returncode == 0
    assert os.listdir(env.autostart_dir) == ["bt-ctl-e"]
    env.berthd.stop()
    env.start_berthd()
    assert wait_for(lambda: "bt-ctl-e" in env.running(), timeout=15), env.berthd.output()
    assert env.ctl("disable", "bt-ctl-e").returncode == 0
    assert os.listdir(env.autostart_dir) == []
    assert env.ctl("enable", "bt-ctl-missing").returncode == 1


def test_kill_and_terminate(env):
    env.image("bt-ctl-k")
    assert env.ctl("start", "bt-ctl-k").returncode == 0
    assert booted(env, "bt-ctl-k")
    r = env.ctl("kill", "bt-ctl-k", "--kill-whom=leader", "-s", "SIGKILL")
    assert r.returncode == 0, r.stderr
    assert wait_for(lambda: "bt-ctl-k" not in env.running(), timeout=10)
    # terminate: the machine stops now, whatever its init does with the shutdown signal
    assert env.ctl("start", "bt-ctl-k").returncode == 0
    assert booted(env, "bt-ctl-k")
    r = env.ctl("terminate", "bt-ctl-k")
    assert r.returncode == 0, r.stderr
    assert wait_for(lambda: "bt-ctl-k" not in env.running(), timeout=10)
    r = env.ctl("terminate", "bt-ctl-k")
    assert r.returncode == 1 and "No machine 'bt-ctl-k' known." in r.stderr


@pytest.mark.parametrize("args,message", [
    (["frobnicate"], "Unknown command verb 'frobnicate'"),
    (["status"], "Too few arguments"),
    (["login", "a", "b"], "Too many arguments"),
    (["status", "bt-ctl-none"], "No machine 'bt-ctl-none' known."),
    (["start", "bt-ctl-none"], "No image 'bt-ctl-none' known."),
    (["start", "bad_name"], "Invalid machine name 'bad_name'."),
    (["kill", "-s", "SIGFOO", "x"], "Invalid signal 'SIGFOO'."),
    (["list", "--json=xml"], "Invalid --json= mode"),
    (["--frob"], "unrecognized option"),
])
def test_bad_input(env, args, message):
    r = env.ctl(*args)
    assert r.returncode == 1 and message in r.stderr, r.stderr


def test_not_root(env):
    env.image("bt-ctl-n")
    assert env.ctl("list", user="65534").returncode == 0
    r = env.ctl("start", "bt-ctl-n", user="65534")
    assert r.returncode == 1 and "needs root" in r.stderr, r.stderr
    assert "bt-ctl-n" not in env.running()


def test_no_daemon():
    bus = Bus()
    try:
        r = subprocess.run([CTL, "list"], env=bus.env, capture_output=True, text=True, timeout=30)
        assert r.returncode == 1 and "start berthd" in r.stderr, r.stderr
    finally:
        bus.close()
    r = subprocess.run([CTL, "list"], env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path=/nonexistent"),
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "system bus" in r.stderr


def test_list_images(env):
    env.image("bt-ctl-i")
    r = env.ctl("list-images", "--json=short")
    images = {i["name"]: i for i in json.loads(r.stdout)["images"]}
    assert images["bt-ctl-i"]["type"] == "directory" and images["bt-ctl-i"]["ro"] is False
    # numbers for scripts: microseconds since the epoch (usage: bytes where the pool can tell)
    assert isinstance(images["bt-ctl-i"]["modified"], int)
    assert abs(images["bt-ctl-i"]["modified"] / 1e6 - os.stat("/var/lib/machines/bt-ctl-i").st_mtime) < 5
    assert images["bt-ctl-i"].get("usage") is None or isinstance(images["bt-ctl-i"]["usage"], int)
    r = env.ctl("image-status", "bt-ctl-i")
    assert "Path: /var/lib/machines/bt-ctl-i" in r.stdout and "BusyBox" in r.stdout
    r = env.ctl("show-image", "bt-ctl-i", "-p", "Type")
    assert r.stdout == "Type=directory\n"


def test_copy_and_bind(env, tmp_path):
    env.image("bt-ctl-c")
    assert env.ctl("start", "bt-ctl-c").returncode == 0
    assert booted(env, "bt-ctl-c")
    src = tmp_path / "in.txt"
    src.write_text("from the host\n")
    r = env.ctl("copy-to", "bt-ctl-c", str(src), "/root/in.txt")
    assert r.returncode == 0, r.stderr
    assert env.ctl("shell", "bt-ctl-c", "/bin/cat", "/root/in.txt").stdout == "from the host\n"
    r = env.ctl("copy-to", "bt-ctl-c", str(src), "/root/in.txt")
    assert r.returncode == 1 and "bt-ctl-c" in r.stderr  # exists: refuse without --force
    assert env.ctl("copy-to", "--force", "bt-ctl-c", str(src), "/root/in.txt").returncode == 0
    out = tmp_path / "os-release"
    r = env.ctl("copy-from", "bt-ctl-c", "/etc/os-release", str(out))
    assert r.returncode == 0, r.stderr
    assert "ID=busybox" in out.read_text()
    share = tmp_path / "share"
    share.mkdir()
    (share / "f").write_text("shared\n")
    # a persistent machine has its own user namespace (-U), into which machined binds nothing
    r = env.ctl("bind", "--read-only", "--mkdir", "bt-ctl-c", str(share), "/mnt/share")
    assert r.returncode == 1
    assert r.stderr.strip() == "Failed to bind-mount into machine 'bt-ctl-c': Can't bind mount on container with user namespacing applied."
    # unless its settings file says otherwise
    env.settings_file("bt-ctl-c", "[Exec]\nPrivateUsers=no\n")
    assert env.ctl("poweroff", "bt-ctl-c", "--timeout=20s").returncode == 0
    assert env.ctl("start", "bt-ctl-c").returncode == 0
    assert booted(env, "bt-ctl-c")
    r = env.ctl("bind", "--read-only", "--mkdir", "bt-ctl-c", str(share), "/mnt/share")
    assert r.returncode == 0, r.stderr
    r = env.ctl("shell", "bt-ctl-c", "/bin/sh", "-c", "cat /mnt/share/f; touch /mnt/share/g")
    assert r.stdout == "shared\n" and r.returncode != 0
    assert env.ctl("poweroff", "bt-ctl-c", "--timeout=20s").returncode == 0


def test_image_verbs(env):
    env.image("bt-ctl-img")
    env.images += [os.path.join(POOL, n) for n in ("bt-ctl-img2", "bt-ctl-img3", ".bt-ctl-hidden")]
    r = env.ctl("clone", "bt-ctl-img", "bt-ctl-img2")
    assert r.returncode == 0, r.stderr
    assert os.path.exists(os.path.join(POOL, "bt-ctl-img2", "etc/os-release"))
    assert env.ctl("rename", "bt-ctl-img2", "bt-ctl-img3").returncode == 0
    assert env.ctl("read-only", "bt-ctl-img3").returncode == 0
    assert env.ctl("show-image", "bt-ctl-img3", "-P", "ReadOnly").stdout == "yes\n"
    assert env.ctl("read-only", "bt-ctl-img3", "no").returncode == 0
    assert env.ctl("show-image", "bt-ctl-img3", "-P", "ReadOnly").stdout == "no\n"
    assert env.ctl("read-only", "bt-ctl-img3").returncode == 0
    assert env.ctl("remove", "bt-ctl-img3").returncode == 0  # as machinectl 252: read-only directories too
    assert not os.path.exists(os.path.join(POOL, "bt-ctl-img3"))
    r = env.ctl("rename", "bt-ctl-img", ".#bt-ctl-tmp")
    assert r.returncode == 1
    r = env.ctl("remove", "bt-ctl-nothere")
    assert r.returncode == 1 and "No image 'bt-ctl-nothere' known." in r.stderr
    env.image(".bt-ctl-hidden")
    assert ".bt-ctl-hidden" not in env.ctl("list-images").stdout
    assert ".bt-ctl-hidden" in env.ctl("list-images", "-a").stdout
    r = env.ctl("clean")
    assert r.returncode == 0 and "Removed image '.bt-ctl-hidden'" in r.stdout, r.stdout + r.stderr
    assert os.path.exists(os.path.join(POOL, "bt-ctl-img"))


def test_login_prompt_and_escape(env):
    env.image("bt-ctl-l")
    assert env.ctl("start", "bt-ctl-l").returncode == 0
    assert booted(env, "bt-ctl-l")
    # a terminal (script), the login prompt, then ^] three times leaves
    script = f"(sleep 2; printf '\\035\\035\\035') | script -qec '{CTL} login bt-ctl-l' /dev/null"
    r = subprocess.run(["bash", "-c", script], env=env.bus.env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "login:" in r.stdout and "Connection to machine bt-ctl-l terminated" in r.stdout, r.stdout
    assert env.ctl("poweroff", "bt-ctl-l", "--timeout=20s").returncode == 0


def complete(env, line):
    """What the bash completion of berthctl offers for a command line ending at the cursor."""
    comp = os.path.join(os.path.dirname(__file__), "..", "..", "shell-completion", "bash", "berthctl")
    script = f"""
source /usr/share/bash-completion/bash_completion
source {comp}
berthctl() {{ {CTL} "$@"; }}
COMP_LINE={line!r}; COMP_POINT=${{#COMP_LINE}}
read -ra COMP_WORDS <<< "$COMP_LINE"
[[ $COMP_LINE == *' ' ]] && COMP_WORDS+=('')
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
_berthctl
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    r = subprocess.run(["bash", "-c", script], env=env.bus.env, capture_output=True, text=True, timeout=30)
    return r.stdout.split()


@pytest.mark.skipif(not os.path.exists("/usr/share/bash-completion/bash_completion"), reason="no bash-completion")
def test_bash_completion(env):
    env.image("bt-ctl-comp")
    assert "poweroff" in complete(env, "berthctl pow")
    assert "--json" in complete(env, "berthctl list --js")
    assert "bt-ctl-comp" in complete(env, "berthctl start bt-ctl-c")
    assert env.ctl("start", "bt-ctl-comp").returncode == 0
    assert complete(env, "berthctl status bt-ctl-c") == ["bt-ctl-comp"]
    assert "bt-ctl-comp" in complete(env, "berthctl -q shell ")
    assert env.ctl("terminate", "bt-ctl-comp", "--timeout=10s").returncode == 0
    assert {"import-tar", "import-oci"} <= set(complete(env, "berthctl imp"))
    assert "bt-ctl-comp" in complete(env, "berthctl export-tar bt-ctl")
    assert complete(env, "berthctl --format x") == ["xz"]
    assert {"pull-tar", "pull-raw", "pull-oci"} == set(complete(env, "berthctl pull-"))
    assert complete(env, "berthctl --tls-verify n") == ["no"]
    assert complete(env, "berthctl --verify c") == ["checksum"]
    assert {"list-transfers"} == set(complete(env, "berthctl list-t"))
    assert complete(env, "berthctl list --columns memory,ta") == ["memory,tasks", "memory,tasks-max"]
    assert complete(env, "berthctl list --columns c") == ["cpu"]


def test_systemd_host_uses_units(tmp_path):
    """With systemd as PID 1 (simulated in a private mount namespace: /run/systemd/system exists
    there only) and no berthd, start/enable/disable go to berth-spawn@NAME.service."""
    log = tmp_path / "systemctl.log"
    fake = tmp_path / "bin" / "systemctl"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\necho \"$*\" >> {log}\n")
    fake.chmod(0o755)
    bus = Bus()
    try:
        script = f"""
set -e
mount --make-rprivate /
mount -t tmpfs tmpfs /run/systemd
mkdir /run/systemd/system
export PATH={fake.parent}:$PATH
{CTL} start bt-ctl-unit
{CTL} enable bt-ctl-unit
{CTL} disable bt-ctl-unit
"""
        r = subprocess.run(["unshare", "-m", "sh", "-c", script], env=bus.env, capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 0, r.stderr
        assert log.read_text().splitlines() == [
            "--quiet start berth-spawn@bt-ctl-unit.service",
            "--quiet enable berth-spawn@bt-ctl-unit.service",
            "--quiet enable berth-machines.target",
            "--quiet disable berth-spawn@bt-ctl-unit.service",
        ]
    finally:
        bus.close()


def test_start_failure_says_why(env):
    path = env.image("bt-ctl-noinit")
    for p in ("sbin/init", "bin/init", "init"):
        if os.path.lexists(os.path.join(path, p)):
            os.unlink(os.path.join(path, p))
    r = env.ctl("start", "bt-ctl-noinit")
    assert r.returncode == 1
    assert "bt-ctl-noinit" in r.stderr and "init" in r.stderr.split(":", 1)[1], r.stderr
    assert "bt-ctl-noinit" not in env.running()
    r = env.ctl("start", "bt-ctl-noinit", "bt-ctl-none")  # several names: each is tried, the status fails
    assert r.returncode == 1 and "No image 'bt-ctl-none' known." in r.stderr

# SPDX-License-Identifier: LGPL-2.1-or-later
"""Where people rely on nspawn's and machined's behaviour (issue 16): each test names the nspawn 252
behaviour it checks, and fails on a berth that differs."""

import json
import os
import shlex
import shutil
import signal
import subprocess
import time
import uuid

import pytest

import guests
from conftest import BUILD, SPAWN, Machine, spawn
from test_machined import Berthd, Bus, call, machines, register, wait_for
from test_machinectl import mctl


@pytest.fixture
def bus():
    b = Bus()
    yield b
    b.close()


@pytest.fixture
def berthd(bus):
    d = Berthd(bus)
    yield d
    d.stop()


# ---- 8: the shutdown signal of an init that is not systemd, busybox or sysvinit ----

@pytest.fixture
def otherinit(probetree):
    """A tree whose /sbin/init is some other init: the probe, which logs each signal it gets to
    /probe-init.log and halts on SIGRTMIN+3, powers off on SIGRTMIN+4, reboots on SIGINT."""
    os.unlink(os.path.join(probetree, "sbin/init"))
    os.symlink("../bin/probe", os.path.join(probetree, "sbin/init"))
    return probetree


def signals_logged(tree):
    try:
        with open(os.path.join(tree, "probe-init.log")) as f:
            return f.read().split()
    except FileNotFoundError:
        return []


def init_up(tree):
    """The probe init logs "up" once it takes every signal."""
    return signals_logged(tree)[:1] == ["up"]


def boot_other(tree, name, *args, env=None):
    m = Machine("-q", "-D", tree, "-M", name, "-b", "--console=passive", "--shutdown-timeout=60s", *args,
                env=env)
    assert m.leader, "the machine did not start"
    assert wait_for(lambda: init_up(tree), timeout=10)
    return m


@pytest.mark.parametrize("how", ["sigterm", "terminate"])
def test_other_init_gets_sigrtmin3(bus, berthd, otherinit, how):
    """nspawn sends SIGRTMIN+3 to any init it boots when asked to stop (the unit stopped, or
    machinectl terminate): runit, openrc-init, s6 and tini-style inits halt on it."""
    with boot_other(otherinit, "other-init", env=bus.env) as m:
        assert wait_for(lambda: "other-init" in machines(bus), timeout=10)
        start = time.monotonic()
        if how == "sigterm":
            m.proc.send_signal(signal.SIGTERM)
        else:
            r = mctl(bus, "terminate", "other-init")
            assert r.returncode == 0, r.stderr
        assert m.proc.wait(timeout=30) == 0, m.proc.stderr.read()
        assert time.monotonic() - start < 10  # halted by the init, not killed after the timeout
        assert signals_logged(otherinit) == ["up", "SIGRTMIN+3"]


def test_other_init_poweroff_and_kill_signal(bus, berthd, otherinit):
    """machinectl poweroff sends SIGRTMIN+4; --kill-signal= overrides the default, as in nspawn."""
    with boot_other(otherinit, "other-init2", env=bus.env) as m:
        assert wait_for(lambda: "other-init2" in machines(bus), timeout=10)
        assert mctl(bus, "poweroff", "other-init2").returncode == 0
        assert m.proc.wait(timeout=30) == 0
        assert signals_logged(otherinit) == ["up", "SIGRTMIN+4"]
    os.unlink(os.path.join(otherinit, "probe-init.log"))
    with boot_other(otherinit, "other-init3", "--kill-signal=SIGINT", env=bus.env) as m:
        m.proc.send_signal(signal.SIGTERM)
        assert m.proc.wait(timeout=30) == 133  # the init rebooted: nspawn's exit code for that
        assert signals_logged(otherinit) == ["up", "SIGINT"]


def test_berthd_terminate_without_launcher(bus, berthd, otherinit):
    """A machine registered by something that does not shut its guest down itself: berthd sends
    the leader nspawn's SIGRTMIN+3."""
    p = subprocess.Popen(["unshare", "-p", "-f", "--kill-child", "-R", otherinit, "/bin/probe"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    init = None
    try:
        assert wait_for(lambda: os.path.exists(f"/proc/{p.pid}/task/{p.pid}/children") and
                        open(f"/proc/{p.pid}/task/{p.pid}/children").read().split())
        with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
            init = int(f.read().split()[0])
        assert wait_for(lambda: init_up(otherinit))
        register(bus, "other-reg", init)
        call(bus, "TerminateMachine", "s", "other-reg")
        assert p.wait(timeout=10) is not None
        assert signals_logged(otherinit) == ["up", "SIGRTMIN+3"]
    finally:
        if p.poll() is None and init:
            os.kill(init, signal.SIGKILL)  # a namespace's init outlives unshare's --kill-child
        p.wait(timeout=10)


# ---- 1: operation slots come back on every path ----

SLOT_CLIENT = r"""
import dbus, dbus.lowlevel, json, os, signal, subprocess, sys, time
address, berthd, src, srcdir, workdir, rounds = sys.argv[1:7]
berthd, rounds = int(berthd), int(rounds)
bus = dbus.bus.BusConnection(address)
mgr = dbus.Interface(bus.get_object("org.freedesktop.machine1", "/org/freedesktop/machine1"),
                     "org.freedesktop.machine1.Manager")
berth = dbus.Interface(bus.get_object("org.freedesktop.machine1", "/org/freedesktop/machine1"),
                       "io.berth.Machine1.Manager")
counts = {}

def done(kind, got, error):
    if got != error:
        print(json.dumps({"round": r, "kind": kind, "expected": error, "got": got}), flush=True)
        sys.exit(1)
    counts[kind] = counts.get(kind, 0) + 1

def expect(kind, fn, *args, error=None):
    try:
        fn(*args, timeout=60)
        got = None
    except dbus.exceptions.DBusException as e:
        got = e.get_dbus_message()
    done(kind, got, error)

def helpers():
    with open(f"/proc/{berthd}/task/{berthd}/children") as f:
        return {int(p) for p in f.read().split()}

def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:  # gone: ENOENT, or ESRCH while it exits
        return None

def disconnect_early(method, sig, *args):
    c = dbus.bus.BusConnection(address)
    m = dbus.lowlevel.MethodCallMessage("org.freedesktop.machine1", "/org/freedesktop/machine1",
                                        "org.freedesktop.machine1.Manager", method)
    m.append(*args, signature=sig)
    c.send_message(m)
    c.flush()
    c.close()

def killed_import(name):
    # busctl waits for the answer to an import whose helper waits for data; the helper is killed
    before = helpers()
    rd, wr = os.pipe()
    call = ("import dbus, sys\n"
            "o = dbus.bus.BusConnection(sys.argv[1]).get_object('org.freedesktop.machine1', '/org/freedesktop/machine1')\n"
            "try:\n"
            "    o.ImportTar(dbus.types.UnixFd(int(sys.argv[2])), sys.argv[3], True, False, timeout=60,\n"
            "                dbus_interface='io.berth.Machine1.Manager')\n"
            "except dbus.exceptions.DBusException as e:\n"
            "    print(e.get_dbus_message())\n")
    p = subprocess.Popen([sys.executable, "-c", call, address, str(rd), name], pass_fds=(rd,),
                         stdout=subprocess.PIPE, text=True)
    os.close(rd)
    deadline = time.monotonic() + 10
    new = set()
    while time.monotonic() < deadline:
        new = {h for h in helpers() - before if comm(h) == "berth-import"}
        if new:
            break
        time.sleep(0.005)
    for h in new:
        os.kill(h, signal.SIGKILL)
    out, _ = p.communicate(timeout=30)
    os.close(wr)
    done("helper-killed", out.strip(), "The transfer of '%s' was killed." % name)

with open(os.path.join(workdir, "file"), "w") as f:
    f.write("payload\n")
os.mkdir(os.path.join(workdir, "dir"))
nope = os.path.join(workdir, "nope")
back = os.path.join(workdir, "back")
for r in range(rounds):
    expect("clean", mgr.CleanPool, "hidden")
    expect("clone", mgr.CloneImage, src, "bt-img-c", False)
    expect("clone-fails", mgr.CloneImage, src, "bt-img-c", False, error="An image called 'bt-img-c' already exists.")
    expect("remove", mgr.RemoveImage, "bt-img-c")
    d = os.open(srcdir, os.O_RDONLY | os.O_DIRECTORY)
    expect("import", berth.ImportFileSystem, dbus.types.UnixFd(d), "bt-img-i", True, False)
    os.close(d)
    rd, wr = os.pipe()
    os.write(wr, b"this is no tarball" * 100)
    os.close(wr)
    expect("import-fails", berth.ImportTar, dbus.types.UnixFd(rd), "bt-img-t", True, False, error=IMPORT_ERROR)
    os.close(rd)
    expect("copy-to", mgr.CopyToMachine, "slots", os.path.join(workdir, "file"), "/tmp/file%d" % r)
    if os.path.exists(back):
        os.unlink(back)
    expect("copy-from", mgr.CopyFromMachine, "slots", "/tmp/file%d" % r, back)
    expect("copy-fails", mgr.CopyFromMachine, "slots", "/tmp/nope", nope, error=COPY_ERROR % nope)
    expect("bind", mgr.BindMountMachine, "slots", os.path.join(workdir, "dir"), "/mnt/b", True, True)
    expect("bind-fails", mgr.BindMountMachine, "slots", nope, "/mnt/c", True, True, error=BIND_ERROR % nope)
    disconnect_early("CloneImage", "ssb", src, "bt-img-d", False)
    killed_import("bt-img-k")
print(json.dumps(counts), flush=True)
"""

IMPORT_ERROR = "Not a tar archive: Unrecognized archive format"
COPY_ERROR = "Failed to copy '/tmp/nope' from machine 'slots' to '%s': No such file or directory"
BIND_ERROR = "Failed to bind mount '%s' into machine 'slots' at '/mnt/c': No such file or directory"


def test_operation_slots_come_back(bus, bbtree, tmp_path):
    """berthd has 64 operation slots: every kind of image operation, 70 times over (more than
    the slots), succeeding, failing, with a client gone early and with a killed helper, leaves
    berthd able to do the next one (it stopped after 64 cleans)."""
    from test_machined_images import PoolBerthd
    d = PoolBerthd(bus, "64m")
    try:
        src = d.pool("bt-img-src")
        guests.make_busybox_tree(src)
        berthd_pid = d.proc.pid  # unshare and sh exec berthd
        with Machine("-q", "-D", bbtree, "-M", "slots", "/bin/sleep", "1000000", env=bus.env) as m:
            assert wait_for(lambda: "slots" in machines(bus), timeout=10)
            fds = len(os.listdir(f"/proc/{berthd_pid}/fd"))
            work = tmp_path / "work"
            work.mkdir()
            preamble = f"IMPORT_ERROR = {IMPORT_ERROR!r}\nCOPY_ERROR = {COPY_ERROR!r}\nBIND_ERROR = {BIND_ERROR!r}\n"
            r = subprocess.run(["/usr/bin/python3", "-c", preamble + SLOT_CLIENT, bus.address, str(berthd_pid),
                                "bt-img-src", src, str(work), os.environ.get("BERTH_SLOT_ROUNDS", "70")],
                               capture_output=True, text=True, timeout=600, env=bus.env)
            assert r.returncode == 0, r.stdout + r.stderr
            counts = json.loads(r.stdout.splitlines()[-1])
            assert min(counts.values()) == int(os.environ.get("BERTH_SLOT_ROUNDS", "70")), counts
            assert wait_for(lambda: len(os.listdir(f"/proc/{berthd_pid}/fd")) == fds, timeout=10)
            m.proc.send_signal(signal.SIGTERM)
    finally:
        d.stop()


# ---- 4, 5, 6, 7: the launcher's options, settings and environment ----

@pytest.mark.parametrize("option", ["--capability=help", "--drop-capability=help"])
def test_capability_help(option):
    """nspawn lists the capability names for --capability=help and --drop-capability=help."""
    r = spawn(option)
    assert r.returncode == 0, r.stderr
    stock = subprocess.run(["systemd-nspawn", option], capture_output=True, text=True).stdout
    assert r.stdout.split()[:41] == stock.split()[:41]
    assert r.stdout.split()[0] == "cap_chown" and "cap_sys_admin" in r.stdout.split()


@pytest.fixture
def named_tree(tmp_path):
    """A busybox tree whose name is its own, with a trusted settings file for it in /run/systemd/nspawn."""
    name = "compat-" + uuid.uuid4().hex[:8]
    tree = guests.make_busybox_tree(str(tmp_path / name))
    os.makedirs("/run/systemd/nspawn", exist_ok=True)
    settings = f"/run/systemd/nspawn/{name}.nspawn"
    try:
        yield tree, settings
    finally:
        if os.path.exists(settings):
            os.unlink(settings)


def test_settings_environment_is_unquoted(named_tree):
    """Environment= in a .nspawn file is unquoted as Parameters= is: BAZ="hello world" is BAZ=hello world."""
    tree, settings = named_tree
    with open(settings, "w") as f:
        f.write('[Exec]\nEnvironment=BAZ="hello world" QUX=\'a b\'\nEnvironment=PLAIN=1\n')
    r = spawn("-q", "-D", tree, "/bin/sh", "-c", 'echo "[$BAZ][$QUX][$PLAIN]"')
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[hello world][a b][1]"


def test_ephemeral_reads_the_trees_settings(named_tree):
    """-x looks the settings file up by the tree's name, not by the machine's randomized one."""
    tree, settings = named_tree
    with open(settings, "w") as f:
        f.write("[Exec]\nEnvironment=FROM_SETTINGS=yes\n")
    r = spawn("-q", "-D", tree, "-x", "/bin/sh", "-c", 'echo "[$FROM_SETTINGS]"; hostname')
    assert r.returncode == 0, r.stderr
    out = r.stdout.split()
    assert out[0] == "[yes]"
    assert out[1].startswith(os.path.basename(tree) + "-")  # the machine itself still has a random suffix


def host_os_release():
    with open("/etc/os-release") as f:
        return dict(shlex.split(line)[0].split("=", 1) for line in f if "=" in line and not line.startswith("#"))


def test_container_host_variables(bbtree):
    """PID 1 gets nspawn's $container_host_id, $container_host_version_id … from the host's os-release."""
    r = spawn("-q", "-D", bbtree, "/bin/env")
    assert r.returncode == 0, r.stderr
    env = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
    host = host_os_release()
    assert env["container_host_id"] == host["ID"]
    assert env["container_host_version_id"] == host["VERSION_ID"]
    for field in ["BUILD_ID", "VARIANT_ID", "IMAGE_ID", "IMAGE_VERSION"]:
        assert env.get("container_host_" + field.lower()) == host.get(field)


# ---- 3: --tmpfs= takes mount flags ----

@pytest.mark.parametrize("opts,want,unwanted", [
    ("nosuid", {"nosuid", "nodev"}, {"noexec"}),
    ("noexec", {"noexec"}, set()),
    ("nodev", {"nodev"}, set()),
    ("rw,nosuid,noexec,mode=0700", {"rw", "nosuid", "noexec", "mode=700"}, set()),
    ("ro,size=1m", {"ro", "size=1024k"}, {"rw"}),
])
def test_tmpfs_mount_flags(bbtree, opts, want, unwanted):
    """--tmpfs=PATH:OPTIONS takes what mount -o takes, as nspawn does."""
    r = spawn("-q", "-D", bbtree, f"--tmpfs=/var:{opts}", "/bin/grep", " /var ", "/proc/self/mounts")
    assert r.returncode == 0, r.stderr
    fields = r.stdout.split()
    assert fields[2] == "tmpfs", r.stdout
    options = set(fields[3].split(","))
    assert want <= options and not (unwanted & options), options


# ---- smaller ones ----

@pytest.mark.parametrize("option", ["--pipe", "-P", "--console=pipe"])
def test_pipe_mode_is_quiet(bbtree, option):
    """nspawn 252's pipe mode prints nothing of its own: only the command's output."""
    r = spawn("-D", bbtree, option, "/bin/echo", "hello")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hello\n" and r.stderr == ""


def test_bare_private_users_is_yes(bbtree):
    """A bare --private-users is --private-users=yes, as in nspawn."""
    bare = spawn("-q", "-D", bbtree, "--private-users", "/bin/cat", "/proc/self/uid_map")
    yes = spawn("-q", "-D", bbtree, "--private-users=yes", "/bin/cat", "/proc/self/uid_map")
    assert bare.returncode == 0 and yes.returncode == 0, bare.stderr + yes.stderr
    assert bare.stdout.split() == yes.stdout.split() == ["0", "0", "65536"]


# ---- 2: --volatile=yes on a usr-merged tree ----

@pytest.mark.parametrize("userns", [[], ["-U"]], ids=["root", "userns"])
def test_volatile_yes_runs_dynamic_programs(debian_cached, userns):
    """nspawn gives the volatile root the tree's /bin, /sbin, /lib* links into /usr, so the ELF
    loader (/lib64/ld-linux-…) and /bin/sh are found."""
    r = spawn("-q", "-D", debian_cached, "--volatile=yes", *userns, "/usr/bin/true")
    assert r.returncode == 0, r.stderr
    r = spawn("-q", "-D", debian_cached, "--volatile=yes", *userns, "/bin/sh", "-c",
              "readlink /bin /sbin /lib /lib64; stat -c '%u %F' /bin; ls /")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:4] == ["usr/bin", "usr/sbin", "usr/lib", "usr/lib64"], r.stdout
    assert lines[4] == "0 symbolic link", r.stdout  # root's own link, also under -U
    assert "etc" not in lines[5:], r.stdout  # still an empty root: nothing else of the tree



def test_volatile_usr_merged_busybox_and_state(bbtree, debian_cached):
    """The busybox tree made usr-merged (/bin -> usr/bin, /sbin -> /usr/sbin) runs under
    --volatile=yes; a link that does not point into usr (/lib -> opt/lib) is not taken; and
    --volatile=state still runs the Debian tree's programs with a fresh /var."""
    os.rmdir(os.path.join(bbtree, "usr/bin"))  # empty: bin takes its place
    for d in ("bin", "sbin"):
        shutil.move(os.path.join(bbtree, d), os.path.join(bbtree, "usr", d))
    os.symlink("usr/bin", os.path.join(bbtree, "bin"))
    os.symlink("/usr/sbin", os.path.join(bbtree, "sbin"))
    os.makedirs(os.path.join(bbtree, "opt/lib"))
    with open(os.path.join(bbtree, "usr/lib/os-release"), "w") as f:  # --volatile=yes needs it in /usr
        f.write("ID=busybox\n")
    os.symlink("opt/lib", os.path.join(bbtree, "lib"))
    r = spawn("-q", "-D", bbtree, "--volatile=yes", "/bin/sh", "-c", "readlink /bin; readlink /sbin; ls -a /")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split()
    assert lines[:2] == ["usr/bin", "/usr/sbin"], r.stdout
    assert "lib" not in lines[2:] and "opt" not in lines[2:], r.stdout
    r = spawn("-q", "-D", debian_cached, "--volatile=state", "/bin/sh", "-c", "/usr/bin/true && ls -A /var | wc -l")
    assert r.returncode == 0 and r.stdout.split() == ["0"], r.stdout + r.stderr

# ---- 9: D-Bus activation beside systemd-container's activation file ----

STOCK_ACTIVATION = "/usr/share/dbus-1/system-services/org.freedesktop.machine1.service"

# Runs in a private mount namespace: berth installed (meson install --destdir) appears at /usr/local
# and its bus policy in system.d, /run/dbus is a tmpfs; then the stock system bus (its own
# system.conf, its launch helper, its standard service directories) starts, and a stock client
# calls machine1 with no berthd running.
ACTIVATION_SCRIPT = r"""
set -eu
dest=$1 work=$2
mount -t tmpfs tmpfs /run/dbus
mount --bind "$dest/usr/local" /usr/local
mkdir "$work/system.d"
cp -a /usr/share/dbus-1/system.d/. "$dest/usr/share/dbus-1/system.d/." "$work/system.d/"
mount --bind "$work/system.d" /usr/share/dbus-1/system.d
dbus-daemon --system --fork
bus=$(cat /run/dbus/pid)
trap 'kill $bus; while [ -e /proc/$bus/exe ]; do sleep 0.05; done' EXIT
machinectl -M .host list --no-legend --no-pager >"$work/list" 2>&1 || { cat "$work/list"; exit 3; }
pid=$(busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
      GetConnectionUnixProcessID s org.freedesktop.machine1 | cut -d' ' -f2)
readlink /proc/$pid/exe
kill $pid
while [ -e /proc/$pid/exe ]; do sleep 0.05; done
"""


def test_bus_activation_beside_systemd_container(tmp_path):
    """A client calling machine1 with no berthd running starts berthd through the system bus, even
    with systemd-container's Exec=/bin/false activation file in /usr/share."""
    if not os.path.exists(STOCK_ACTIVATION):
        pytest.skip("systemd-container's activation file is not installed")
    dest = tmp_path / "dest"
    subprocess.run(["meson", "install", "-C", BUILD, "--destdir", str(dest), "--no-rebuild", "--quiet"],
                   check=True, capture_output=True)
    assert (dest / "usr/local/share/dbus-1/system-services/org.freedesktop.machine1.service").exists()
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", ACTIVATION_SCRIPT, "sh",
                        str(dest), str(tmp_path)], capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == "/usr/local/sbin/berthd", r.stdout + r.stderr


# ---- smaller: the rootidmap bind option ----

@pytest.mark.parametrize("userns", [[], ["-U"]], ids=["root", "userns"])
def test_bind_rootidmap(bbtree, tmp_path, userns):
    """--bind=SRC:DST:rootidmap: the owner of SRC is the machine's root, every other owner is nobody,
    and what the machine's root writes there belongs to SRC's owner on the host (nspawn 252)."""
    src = tmp_path / "share"
    src.mkdir()
    (src / "mine").write_text("x")
    (src / "roots").write_text("y")
    os.chown(src, 1234, 1234)
    os.chown(src / "mine", 1234, 1234)
    r = spawn("-q", "-D", bbtree, *userns, f"--bind={src}:/mnt:rootidmap", "/bin/sh", "-c",
              "stat -c '%u %g' /mnt /mnt/mine /mnt/roots && echo z > /mnt/new")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:3] == ["0 0", "0 0", "65534 65534"], r.stdout
    st = os.stat(src / "new")
    assert (st.st_uid, st.st_gid) == (1234, 1234)


# ---- smaller: the $SYSTEMD_NSPAWN_* knobs berth honours ----

def test_env_tmpfs_tmp_off(bbtree):
    """$SYSTEMD_NSPAWN_TMPFS_TMP=0: the machine keeps the tree's /tmp instead of a fresh tmpfs."""
    os.makedirs(os.path.join(bbtree, "tmp"), exist_ok=True)
    with open(os.path.join(bbtree, "tmp", "kept"), "w") as f:
        f.write("x")
    script = "grep -c ' /tmp ' /proc/self/mounts; ls /tmp"
    r = spawn("-q", "-D", bbtree, "/bin/sh", "-c", script, env=dict(os.environ, SYSTEMD_NSPAWN_TMPFS_TMP="0"))
    assert r.stdout.split() == ["0", "kept"], r.stdout + r.stderr
    r = spawn("-q", "-D", bbtree, "/bin/sh", "-c", script)
    assert r.stdout.split() == ["1"], r.stdout + r.stderr
    r = spawn("-q", "-D", bbtree, "/bin/true", env=dict(os.environ, SYSTEMD_NSPAWN_TMPFS_TMP="maybe"))
    assert r.returncode == 1 and "Failed to parse $SYSTEMD_NSPAWN_TMPFS_TMP='maybe': use yes or no." in r.stderr



@pytest.mark.parametrize("value, want", [
    (None, ["ro", "ro", "ro", "no"]),
    ("1", ["rw", "rw", "rw", "yes"]),
    ("network", ["ro", "ro", "rw", "no"]),
])
def test_env_api_vfs_writable(bbtree, value, want):
    """$SYSTEMD_NSPAWN_API_VFS_WRITABLE: true leaves /sys and /proc/sys writable (the machine's root
    sets its own domain name through /proc/sys), "network" only /proc/sys/net; unset, all read-only.
    The per-mount flag is read (mountinfo's 6th field): a host may have a read-only sysfs superblock."""
    script = ("for m in /sys /proc/sys /proc/sys/net; do "
              "awk -v p=$m '{ if ($5 == \"/\" || index(p \"/\", $5 \"/\") == 1) if (length($5) >= l) "
              "{ l = length($5); o = $6 } } END { split(o, a, \",\"); print a[1] }' /proc/self/mountinfo; done; "
              "echo berth-test > /proc/sys/kernel/domainname 2>/dev/null && echo yes || echo no")
    env = dict(os.environ)
    if value is not None:
        env["SYSTEMD_NSPAWN_API_VFS_WRITABLE"] = value
    r = spawn("-q", "-D", bbtree, "/bin/sh", "-c", script, env=env)
    assert r.returncode == 0 and r.stdout.split() == want, r.stdout + r.stderr


def test_env_api_vfs_writable_bad_value(bbtree):
    env = dict(os.environ, SYSTEMD_NSPAWN_API_VFS_WRITABLE="sometimes")
    r = spawn("-q", "-D", bbtree, "/bin/true", env=env)
    assert r.returncode == 1
    assert "Failed to parse $SYSTEMD_NSPAWN_API_VFS_WRITABLE='sometimes': use yes, no or network." in r.stderr



def test_env_lock_off(bbtree):
    """$SYSTEMD_NSPAWN_LOCK=0: a second machine on a tree in use is not refused as busy."""
    with Machine("-q", "-D", bbtree, "-M", "locked", "/bin/sleep", "30"):
        r = spawn("-q", "-D", bbtree, "-M", "other", "/bin/true")
        assert r.returncode == 1 and "is currently busy (in use by another machine)." in r.stderr, r.stderr
        r = spawn("-q", "-D", bbtree, "-M", "other", "/bin/true", env=dict(os.environ, SYSTEMD_NSPAWN_LOCK="0"))
        assert r.returncode == 0, r.stderr
    r = spawn("-q", "-D", bbtree, "/bin/true", env=dict(os.environ, SYSTEMD_NSPAWN_LOCK="maybe"))
    assert r.returncode == 1 and "Failed to parse $SYSTEMD_NSPAWN_LOCK='maybe': use yes or no." in r.stderr

def test_env_container_service(bus, berthd, bbtree):
    """$SYSTEMD_NSPAWN_CONTAINER_SERVICE names the container manager: $container in the machine and
    the service it is registered with."""
    env = dict(bus.env, SYSTEMD_NSPAWN_CONTAINER_SERVICE="my-manager")
    p = subprocess.Popen([SPAWN, "-q", "-D", bbtree, "-M", "svcname", "/bin/sh", "-c", "echo $container; read x"],
                         env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: "svcname" in machines(bus), timeout=10)
        assert machines(bus)["svcname"][2] == "my-manager"
    finally:
        out, _ = p.communicate("\n", timeout=30)
    assert p.returncode == 0 and out.split() == ["my-manager"], out

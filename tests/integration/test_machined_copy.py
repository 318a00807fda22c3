# SPDX-License-Identifier: LGPL-2.1-or-later
"""berthd's CopyFromMachine/CopyToMachine (+WithFlags) and BindMountMachine on a berth-spawn machine
registered with a private berthd: trees in and out with their metadata, replace semantics, guest
symlinks that must not reach host files, read-only and read-write bind mounts, authorization."""

import os
import stat
import subprocess

import pytest

from conftest import Machine
from daemon import call, machines, wait_for

NAME = "cp1"
MACHINE_PATH = "/org/freedesktop/machine1/machine/" + NAME


def dsend(bus, method, *args, user=None, path="/org/freedesktop/machine1",
          iface="org.freedesktop.machine1.Manager"):
    """A call with dbus-send, which prints the error name: (ok, output)."""
    typed = []
    for a in args:
        if isinstance(a, bool):
            typed.append(f"boolean:{'true' if a else 'false'}")
        elif isinstance(a, int):
            typed.append(f"uint64:{a}")
        else:
            typed.append(f"string:{a}")
    cmd = ["dbus-send", "--system", "--print-reply", "--reply-timeout=120000", "--dest=org.freedesktop.machine1",
           path, f"{iface}.{method}", *typed]
    if user is not None:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
    r = subprocess.run(cmd, env=bus.env, capture_output=True, text=True, timeout=150, stdin=subprocess.DEVNULL)
    return r.returncode == 0, r.stdout + r.stderr


def ok(bus, method, *args, **kw):
    good, out = dsend(bus, method, *args, **kw)
    assert good, f"{method}{args}: {out}"


def fails(bus, method, *args, error, text=None, **kw):
    good, out = dsend(bus, method, *args, **kw)
    assert not good, f"{method}{args} succeeded"
    assert error in out, out
    if text:
        assert text in out, out
    return out


@pytest.fixture
def box(bus, berthd, bbtree):  # noqa: F811
    """A busybox machine registered with the test's berthd; m.root is its tree on the host."""
    with Machine("-q", "-D", bbtree, "-M", NAME, "-b", env=bus.env) as m:
        assert wait_for(lambda: NAME in machines(bus), timeout=10), m.proc.stderr
        # busybox init is up once it has started its respawned sleep (then it handles SIGTERM)
        assert wait_for(lambda: children(m.leader), timeout=10)
        m.root = bbtree
        yield m
        rc = m.stop()
        assert rc == 0, m.stderr
    assert wait_for(lambda: NAME not in machines(bus))


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return f.read().split()
    except FileNotFoundError:
        return []


def make_sample(top):
    """A small tree with owners, modes, times, a FIFO and symlinks (relative, absolute, dangling)."""
    os.makedirs(os.path.join(top, "sub/deeper"))
    with open(os.path.join(top, "plain"), "w") as f:
        f.write("hello\n")
    with open(os.path.join(top, "sub/deeper/secret"), "w") as f:
        f.write("x" * 100000)
    os.chmod(os.path.join(top, "sub/deeper/secret"), 0o600)
    os.chown(os.path.join(top, "sub/deeper/secret"), 1000, 1000)
    os.chmod(os.path.join(top, "sub"), 0o750)
    os.chown(os.path.join(top, "sub"), 1000, 10)
    os.chmod(os.path.join(top, "plain"), 0o4755)
    os.symlink("sub/deeper/secret", os.path.join(top, "rel"))
    os.symlink("/etc/shadow", os.path.join(top, "abs"))
    os.lchown(os.path.join(top, "abs"), 1000, 1000)
    os.mkfifo(os.path.join(top, "fifo"), 0o640)
    for p in ["plain", "sub/deeper/secret", "sub/deeper", "sub", ""]:
        os.utime(os.path.join(top, p), ns=(1_000_000_123, 1_500_000_456_000_789))


def snapshot(top, shift=0):
    """Everything we preserve, per relative path (directory times only below the top)."""
    out = {}
    for d, dirs, files in os.walk(top):
        for n in [""] + dirs + files if d == top else dirs + files:
            p = os.path.join(d, n) if n else d
            st = os.lstat(p)
            entry = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid - shift, st.st_gid - shift,
                     st.st_mtime_ns if not stat.S_ISLNK(st.st_mode) else None)
            if stat.S_ISLNK(st.st_mode):
                entry += (os.readlink(p),)
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    entry += (f.read(),)
            out[os.path.relpath(p, top)] = entry
    return out


def test_copy_file_in_and_out(box, bus, tmp_path):
    src = tmp_path / "file"
    src.write_text("payload\n")
    os.chown(src, 1000, 10)
    os.chmod(src, 0o640)
    os.utime(src, ns=(1_000_000_000, 1_234_567_890_123_456_789))
    ok(bus, "CopyToMachine", NAME, str(src), "/root/file")
    inside = os.path.join(box.root, "root/file")
    assert snapshot(inside) == snapshot(str(src))
    assert box.exec("cat", "/root/file").stdout == "payload\n"

    back = tmp_path / "back"
    ok(bus, "CopyFromMachine", NAME, "/root/file", str(back))
    assert snapshot(str(back)) == snapshot(str(src))
    # an empty destination means "the same path" (the machine's /tmp is its own tmpfs)
    box.exec("mkdir", "-p", str(tmp_path))
    ok(bus, "CopyToMachine", NAME, str(src), "")
    assert box.exec("cat", str(src)).stdout == "payload\n"
    # and nothing temporary is left behind in either directory
    assert sorted(os.listdir(os.path.join(box.root, "root"))) == ["file"]
    assert sorted(os.listdir(tmp_path)) == ["back", "file"]


def test_copy_tree_in_and_out(box, bus, tmp_path):
    src = str(tmp_path / "tree")
    make_sample(src)
    want = snapshot(src)
    ok(bus, "CopyToMachine", NAME, src, "/tree")
    assert snapshot(os.path.join(box.root, "tree")) == want
    r = box.exec("ls", "-ln", "/tree/sub/deeper/secret")
    assert " 1000 " in r.stdout, r
    ok(bus, "CopyFromMachineWithFlags", NAME, "/tree", str(tmp_path / "again"), 0)
    assert snapshot(str(tmp_path / "again")) == want


def test_destination_exists_and_replace(box, bus, tmp_path):
    (tmp_path / "new").write_text("new\n")
    inside = os.path.join(box.root, "etc/os-release")
    old = open(inside).read()
    out = fails(bus, "CopyToMachine", NAME, str(tmp_path / "new"), "/etc/os-release", error="FileExists",
                text="File exists")
    assert "/etc/os-release" in out
    assert open(inside).read() == old
    ok(bus, "CopyToMachineWithFlags", NAME, str(tmp_path / "new"), "/etc/os-release", 1)
    assert open(inside).read() == "new\n"

    # a directory replaces a directory (and the old contents go)
    make_sample(str(tmp_path / "tree"))
    os.makedirs(tmp_path / "dest/stale")
    fails(bus, "CopyFromMachine", NAME, "/etc", str(tmp_path / "dest"), error="FileExists")
    ok(bus, "CopyFromMachineWithFlags", NAME, "/etc", str(tmp_path / "dest"), 1)
    assert sorted(os.listdir(tmp_path / "dest")) == sorted(os.listdir(os.path.join(box.root, "etc")))
    assert sorted(os.listdir(tmp_path)) == ["dest", "new", "tree"]

    fails(bus, "CopyToMachineWithFlags", NAME, str(tmp_path / "new"), "/x", 2, error="InvalidArgs")
    fails(bus, "CopyFromMachine", NAME, "/nonexistent", str(tmp_path / "nothing"), error="FileNotFound",
          text="No such file")
    fails(bus, "CopyToMachine", NAME, str(tmp_path / "new"), "/no/such/dir/x", error="FileNotFound")
    assert not os.path.lexists(tmp_path / "nothing")


def test_guest_symlinks_do_not_reach_the_host(box, bus, tmp_path):
    hostside = tmp_path / "hostside"
    hostside.mkdir()
    (hostside / "data").write_text("host secret\n")
    os.symlink("/etc/shadow", os.path.join(box.root, "leak"))
    os.symlink(str(hostside), os.path.join(box.root, "abs"))
    os.symlink("../../../../../../../.." + str(hostside), os.path.join(box.root, "var/rel"))

    # the last component is copied as the symlink it is
    ok(bus, "CopyFromMachine", NAME, "/leak", str(tmp_path / "leak"))
    assert os.readlink(tmp_path / "leak") == "/etc/shadow"
    # symlinks in the middle resolve inside the machine: its tree has no such directory
    for p in ["/abs/data", "/var/rel/data"]:
        fails(bus, "CopyFromMachine", NAME, p, str(tmp_path / "got"), error="FileNotFound")
        fails(bus, "CopyToMachine", NAME, str(tmp_path / "leak"), p + "2", error="FileNotFound")
    assert not os.path.lexists(tmp_path / "got")
    assert sorted(os.listdir(hostside)) == ["data"]
    # a directory inside the machine that leads back to itself resolves there too
    assert box.exec("sh", "-c", f"mkdir -p {hostside} && echo guest data > {hostside}/data").returncode == 0
    ok(bus, "CopyFromMachine", NAME, "/var/rel/data", str(tmp_path / "got"))
    assert (tmp_path / "got").read_text() == "guest data\n"
    ok(bus, "CopyToMachine", NAME, str(tmp_path / "got"), "/abs/new")
    assert sorted(os.listdir(hostside)) == ["data"]
    assert box.exec("cat", f"{hostside}/new").stdout == "guest data\n"


@pytest.mark.parametrize("method,args", [
    ("CopyToMachine", ["relative", "/x"]),
    ("CopyToMachine", ["/a/../etc/passwd", "/x"]),
    ("CopyFromMachine", ["/etc/passwd", "/tmp/../x"]),
    ("CopyFromMachine", ["", "/x"]),
    ("CopyFromMachine", ["/", "/tmp/x"]),
    ("CopyToMachine", ["/etc/passwd", "/"]),
    ("BindMountMachine", ["/tmp", "mnt", False, True]),
    ("BindMountMachine", ["/tmp/..", "/mnt", False, True]),
])
def test_invalid_paths(box, bus, method, args):
    fails(bus, method, NAME, *args, error="org.freedesktop.DBus.Error.InvalidArgs")


def test_bind_mount(box, bus, tmp_path):
    share = tmp_path / "share"
    share.mkdir()
    (share / "hello").write_text("from the host\n")
    ok(bus, "BindMountMachine", NAME, str(share), "/mnt/rw", False, True)
    assert box.exec("cat", "/mnt/rw/hello").stdout == "from the host\n"
    r = box.exec("sh", "-c", "echo from the guest > /mnt/rw/reply")
    assert r.returncode == 0, r.stderr
    assert (share / "reply").read_text() == "from the guest\n"

    ok(bus, "BindMountMachine", NAME, str(share), "/mnt/ro", True, True)
    assert box.exec("cat", "/mnt/ro/hello").stdout == "from the host\n"
    r = box.exec("sh", "-c", "echo x > /mnt/ro/nope")
    assert r.returncode != 0 and "Read-only" in r.stderr, r
    assert not (share / "nope").exists()

    # a file, onto a file made for it
    (tmp_path / "one").write_text("one file\n")
    ok(bus, "BindMountMachine", NAME, str(tmp_path / "one"), "/etc/one", True, True)
    assert box.exec("cat", "/etc/one").stdout == "one file\n"
    # without mkdir the destination must exist; the source must exist
    fails(bus, "BindMountMachine", NAME, str(share), "/mnt/missing", False, False, error="FileNotFound")
    fails(bus, "BindMountMachine", NAME, str(tmp_path / "none"), "/mnt/x", False, True, error="FileNotFound")
    # a directory onto a file
    fails(bus, "BindMountMachine", NAME, str(share), "/etc/passwd", False, False, error="ENOTDIR")
    # a symlink in the machine pointing at a host path resolves inside the machine
    os.symlink(str(tmp_path), os.path.join(box.root, "mnt/evil"))
    box.exec("mkdir", "-p", str(tmp_path))
    ok(bus, "BindMountMachine", NAME, str(share), "/mnt/evil/target", False, True)
    assert not (tmp_path / "target").exists()
    assert box.exec("cat", str(tmp_path) + "/target/hello").stdout == "from the host\n"
    # the host sees none of it
    with open("/proc/self/mountinfo") as f:
        assert str(share) not in f.read()


def test_machine_object_methods(box, bus, tmp_path):
    (tmp_path / "f").write_text("via the object\n")
    kw = dict(path=MACHINE_PATH, iface="org.freedesktop.machine1.Machine")
    ok(bus, "CopyTo", str(tmp_path / "f"), "/f", **kw)
    ok(bus, "CopyToWithFlags", str(tmp_path / "f"), "/f", 1, **kw)
    ok(bus, "CopyFrom", "/f", str(tmp_path / "g"), **kw)
    ok(bus, "CopyFromWithFlags", "/f", str(tmp_path / "g"), 1, **kw)
    assert (tmp_path / "g").read_text() == "via the object\n"
    ok(bus, "BindMount", str(tmp_path), "/mnt/obj", True, True, **kw)
    assert box.exec("cat", "/mnt/obj/g").stdout == "via the object\n"


def test_non_root_and_unknown_machine(box, bus, tmp_path):
    calls = [("CopyToMachine", ["/etc/passwd", "/x"]), ("CopyFromMachine", ["/etc/passwd", "/tmp/x"]),
             ("CopyToMachineWithFlags", ["/etc/passwd", "/x", 1]),
             ("CopyFromMachineWithFlags", ["/etc/passwd", "/tmp/x", 0]),
             ("BindMountMachine", ["/tmp", "/mnt", False, True])]
    for method, args in calls:
        fails(bus, method, NAME, *args, user=65534, error="AccessDenied")
        fails(bus, method, "nosuchmachine", *args, error="org.freedesktop.machine1.NoSuchMachine")
    kw = dict(path=MACHINE_PATH, iface="org.freedesktop.machine1.Machine", user=65534)
    for method, args in [("CopyTo", ["/etc/passwd", "/x"]), ("CopyFromWithFlags", ["/etc/passwd", "/tmp/x", 0]),
                         ("BindMount", ["/tmp", "/mnt", False, True])]:
        fails(bus, method, *args, error="AccessDenied", **kw)
    assert not os.path.exists(os.path.join(box.root, "x"))


def test_host_and_userns(bus, berthd, bbtree, tmp_path):  # noqa: F811
    (tmp_path / "f").write_text("f\n")
    fails(bus, "CopyToMachine", ".host", str(tmp_path / "f"), "/tmp/x", error="NotSupported")
    fails(bus, "BindMountMachine", ".host", "/tmp", "/mnt", False, False, error="NotSupported")

    os.chown(tmp_path / "f", 1000, 1000)
    with Machine("-q", "-D", bbtree, "-M", "cpu", "-U", "/bin/sleep", "1000", env=bus.env) as m:
        assert wait_for(lambda: "cpu" in machines(bus), timeout=10), m.proc.stderr
        shift = call(bus, "GetMachineUIDShift", "s", "cpu")[0]
        assert shift > 0
        fails(bus, "BindMountMachine", "cpu", "/tmp", "/mnt", False, False, error="NotSupported",
              text="user namespacing")
        # in: host IDs below 65536 become the same IDs inside (on disk: the tree keeps its own IDs)
        ok(bus, "CopyToMachine", "cpu", str(tmp_path / "f"), "/home/alice/f")
        st = os.stat(os.path.join(bbtree, "home/alice/f"))
        assert (st.st_uid, st.st_gid) == (1000, 1000)
        r = m.exec("ls", "-ln", "/home/alice/f")
        assert " 1000 " in r.stdout, r
        # out: the host sees the machine's IDs shifted; and back in, they round-trip
        ok(bus, "CopyFromMachine", "cpu", "/home/alice/f", str(tmp_path / "out"))
        st = os.stat(tmp_path / "out")
        assert (st.st_uid, st.st_gid) == (shift + 1000, shift + 1000)
        ok(bus, "CopyToMachine", "cpu", str(tmp_path / "out"), "/home/alice/g")
        assert os.stat(os.path.join(bbtree, "home/alice/g")).st_uid == 1000
        m.stop()
    assert wait_for(lambda: "cpu" not in machines(bus))


def test_stock_machinectl(box, bus, tmp_path):
    def mctl(*args):
        r = subprocess.run(["machinectl", "-M", ".host", "--no-pager", *args], env=bus.env, capture_output=True,
                           text=True, timeout=60, stdin=subprocess.DEVNULL)
        return r

    (tmp_path / "f").write_text("by machinectl\n")
    r = mctl("copy-to", NAME, str(tmp_path / "f"), "/root/f")
    assert r.returncode == 0, r.stderr
    r = mctl("copy-to", NAME, str(tmp_path / "f"), "/root/f")
    assert r.returncode != 0 and "File exists" in r.stderr, r.stderr
    r = mctl("copy-to", "--force", NAME, str(tmp_path / "f"), "/root/f")
    assert r.returncode == 0, r.stderr
    r = mctl("copy-from", NAME, "/root/f", str(tmp_path / "g"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "g").read_text() == "by machinectl\n"
    r = mctl("bind", "--read-only", "--mkdir", NAME, str(tmp_path), "/mnt/m")
    assert r.returncode == 0, r.stderr
    assert box.exec("cat", "/mnt/m/g").stdout == "by machinectl\n"

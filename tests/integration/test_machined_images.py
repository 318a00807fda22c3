# SPDX-License-Identifier: LGPL-2.1-or-later
"""berthd's image-changing methods (RemoveImage, RenameImage, CloneImage, MarkImageReadOnly,
SetImageLimit, SetPoolLimit, CleanPool and the Image object twins) on directory and raw images:
results on disk, settings files that follow, locks of running machines, errors, and failures that
leave nothing half-made. Images are made under /var/lib/machines with names "bt-img-*"; CleanPool
and the full-disk cases run against a berthd whose /var/lib/machines is a private tmpfs."""

import os
import stat
import subprocess
import time
import uuid

import pytest

import guests
from conftest import Machine
from daemon import BERTHD, DEST, Berthd, busctl, call

POOL = "/var/lib/machines"
SETTINGS_DIRS = ["/etc/systemd/nspawn", "/run/systemd/nspawn"]
MACHINE1 = "org.freedesktop.machine1"


def dcall(bus, method, *args, path="/org/freedesktop/machine1", iface="org.freedesktop.machine1.Manager",
          user=None, timeout=60):
    """dbus-send, which shows the error name: returns (ok, output)."""
    cmd = ["dbus-send", "--system", "--print-reply", f"--reply-timeout={timeout * 1000}", f"--dest={MACHINE1}",
           path, f"{iface}.{method}", *args]
    if user:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
    r = subprocess.run(cmd, env=bus.env, capture_output=True, text=True, timeout=timeout + 10,
                       stdin=subprocess.DEVNULL)
    return r.returncode == 0, r.stdout + r.stderr


def ok(bus, method, sig, *args):
    """A call that must succeed (raises with busctl's message otherwise)."""
    return busctl(bus, "call", *DEST, method, sig, *[str(a) for a in args], timeout=60)


def expect_error(bus, name, method, *args, **kw):
    good, out = dcall(bus, method, *args, **kw)
    assert not good, f"{method}{args} succeeded: {out}"
    assert name in out, f"{method}{args}: expected {name}, got: {out}"
    return out


def chattr_minus_i(path):
    subprocess.run(["chattr", "-i", path], capture_output=True)


def purge(prefix, root=POOL):
    """Removes everything this test made: images (also read-only ones), temporaries, settings."""
    if not os.path.isdir(root):
        return
    for n in os.listdir(root):
        if n.lstrip(".#").startswith(prefix) or n.startswith("." + prefix) or prefix in n:
            p = os.path.join(root, n)
            chattr_minus_i(p)
            if os.path.isdir(p) and not os.path.islink(p):
                subprocess.run(["rm", "-rf", "--one-file-system", p], check=False)
            else:
                os.unlink(p)
    for d in SETTINGS_DIRS:
        if os.path.isdir(d):
            for n in os.listdir(d):
                if n.startswith(prefix):
                    os.unlink(os.path.join(d, n))


@pytest.fixture
def prefix():
    p = "bt-img-" + uuid.uuid4().hex[:8]
    try:
        yield p
    finally:
        purge(p)


def make_image(path):
    """A busybox tree with a bit of everything a copy must keep."""
    guests.make_busybox_tree(path)
    data = os.path.join(path, "root/data")
    with open(data, "wb") as f:
        f.write(os.urandom(100_000))
    os.chown(data, 1000, 1000)
    os.chmod(data, 0o640)
    os.chmod(os.path.join(path, "tmp"), 0o1777)
    suid = os.path.join(path, "bin/suid")
    with open(suid, "w") as f:
        f.write("#!/bin/sh\n")
    os.chmod(suid, 0o4755)
    os.symlink("/etc/passwd", os.path.join(path, "root/abs-link"))
    os.symlink("../nowhere", os.path.join(path, "root/dangling"))
    os.mkfifo(os.path.join(path, "root/fifo"), 0o600)
    os.mknod(os.path.join(path, "dev/null"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    os.setxattr(data, "user.berth", b"kept")
    os.makedirs(os.path.join(path, "var/empty/deep/er"))
    os.utime(data, ns=(1_000_000_000_123_456_789, 1_100_000_000_987_654_321))
    with open(os.path.join(path, "var/sparse"), "wb") as f:
        f.truncate(64 << 20)
    return path


def tree(root):
    """Everything a copy must keep, keyed by relative path."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            entry = [stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_rdev]
            if not stat.S_ISDIR(st.st_mode):
                entry.append(st.st_mtime_ns)
            if stat.S_ISLNK(st.st_mode):
                entry.append(os.readlink(p))
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    entry.append(hash(f.read()))
                try:
                    entry.append(os.getxattr(p, "user.berth"))
                except OSError:
                    pass
            out[os.path.relpath(p, root)] = entry
    return out


def image_props(bus, name):
    path = call(bus, "GetImage", "s", name)[0]
    r = busctl(bus, "get-property", MACHINE1, path, "org.freedesktop.machine1.Image", "ReadOnly", "Type")
    lines = r.stdout.split("\n")
    import json
    vals = [json.loads(line)["data"] for line in lines if line.strip()]
    return path, vals[0], vals[1]


def is_immutable(path):
    r = subprocess.run(["lsattr", "-d", path], capture_output=True, text=True, check=True)
    return "i" in r.stdout.split()[0]


def listed(bus):
    return {i[0]: i for i in call(bus, "ListImages")[0]}


def test_clone_copies_everything(bus, berthd, prefix):
    src = make_image(os.path.join(POOL, prefix))
    ok(bus, "CloneImage", "ssb", prefix, prefix + "-c", "false")
    dst = os.path.join(POOL, prefix + "-c")
    assert tree(dst) == tree(src)
    st_src, st_dst = os.stat(src), os.stat(dst)
    assert (st_dst.st_mode, st_dst.st_uid, st_dst.st_mtime_ns) == (st_src.st_mode, st_src.st_uid, st_src.st_mtime_ns)
    assert os.stat(os.path.join(dst, "var/sparse")).st_blocks == 0  # holes stay holes
    imgs = listed(bus)
    assert imgs[prefix + "-c"][1] == "directory" and imgs[prefix + "-c"][2] is False
    assert not [n for n in os.listdir(POOL) if n.startswith(".#" + prefix)]
    # the Image object's twin, and the clone of a clone
    path = call(bus, "GetImage", "s", prefix + "-c")[0]
    busctl(bus, "call", MACHINE1, path, "org.freedesktop.machine1.Image", "Clone", "sb", prefix + "-d", "false")
    assert tree(os.path.join(POOL, prefix + "-d")) == tree(src)
    # the target exists
    out = expect_error(bus, "FileExists", "CloneImage", f"string:{prefix}", f"string:{prefix}-c", "boolean:false")
    assert "already exists" in out
    assert berthd.proc.poll() is None


def test_clone_read_only(bus, berthd, prefix):
    make_image(os.path.join(POOL, prefix))
    with open(os.path.join(POOL, prefix + ".nspawn"), "w") as f:
        f.write("[Exec]\nBoot=no\n")
    ok(bus, "CloneImage", "ssb", prefix, prefix + "-ro", "true")
    dst = os.path.join(POOL, prefix + "-ro")
    assert is_immutable(dst)
    _, ro, typ = image_props(bus, prefix + "-ro")
    assert ro is True and typ == "directory"
    with open(os.path.join(POOL, prefix + "-ro.nspawn")) as f:
        assert f.read() == "[Exec]\nBoot=no\n"  # the settings follow the clone
    # a read-only image can still be removed (as with systemd 252), settings too
    ok(bus, "RemoveImage", "s", prefix + "-ro")
    assert not os.path.exists(dst) and not os.path.exists(dst + ".nspawn")


def test_rename_takes_settings_along(bus, berthd, prefix):
    make_image(os.path.join(POOL, prefix))
    os.makedirs("/run/systemd/nspawn", exist_ok=True)
    for d in [POOL, "/run/systemd/nspawn"]:
        with open(os.path.join(d, prefix + ".nspawn"), "w") as f:
            f.write("[Exec]\n")
    ok(bus, "RenameImage", "ss", prefix, prefix + "-new")
    assert not os.path.exists(os.path.join(POOL, prefix))
    assert os.path.exists(os.path.join(POOL, prefix + "-new/bin/busybox"))
    for d in [POOL, "/run/systemd/nspawn"]:
        assert not os.path.exists(os.path.join(d, prefix + ".nspawn"))
        assert os.path.exists(os.path.join(d, prefix + "-new.nspawn"))
    assert prefix + "-new" in listed(bus) and prefix not in listed(bus)
    # onto an existing image: refused, nothing moves
    make_image(os.path.join(POOL, prefix + "-other"))
    expect_error(bus, "FileExists", "RenameImage", f"string:{prefix}-new", f"string:{prefix}-other")
    assert os.path.exists(os.path.join(POOL, prefix + "-new/bin/busybox"))
    # through the Image object, keeping a read-only mark
    ok(bus, "MarkImageReadOnly", "sb", prefix + "-new", "true")
    path = call(bus, "GetImage", "s", prefix + "-new")[0]
    busctl(bus, "call", MACHINE1, path, "org.freedesktop.machine1.Image", "Rename", "s", prefix + "-again")
    assert is_immutable(os.path.join(POOL, prefix + "-again"))


def test_remove(bus, berthd, prefix):
    make_image(os.path.join(POOL, prefix))
    os.makedirs("/run/systemd/nspawn", exist_ok=True)
    for p in [os.path.join(POOL, prefix + ".nspawn"), f"/run/systemd/nspawn/{prefix}.nspawn"]:
        with open(p, "w") as f:
            f.write("[Exec]\n")
    ok(bus, "RemoveImage", "s", prefix)
    assert not os.path.exists(os.path.join(POOL, prefix))
    assert not os.path.exists(os.path.join(POOL, prefix + ".nspawn"))
    assert not os.path.exists(f"/run/systemd/nspawn/{prefix}.nspawn")
    assert not os.path.exists(os.path.join(POOL, f".#{prefix}.lck"))
    expect_error(bus, "org.freedesktop.machine1.NoSuchImage", "RemoveImage", f"string:{prefix}")
    # the Image object's Remove
    make_image(os.path.join(POOL, prefix + "-b"))
    path = call(bus, "GetImage", "s", prefix + "-b")[0]
    busctl(bus, "call", MACHINE1, path, "org.freedesktop.machine1.Image", "Remove")
    assert not os.path.exists(os.path.join(POOL, prefix + "-b"))


def test_mark_read_only_and_back(bus, berthd, prefix):
    d = make_image(os.path.join(POOL, prefix))
    ok(bus, "MarkImageReadOnly", "sb", prefix, "true")
    assert is_immutable(d) and image_props(bus, prefix)[1] is True
    with pytest.raises(PermissionError):
        os.mkdir(os.path.join(d, "new"))
    ok(bus, "MarkImageReadOnly", "sb", prefix, "false")
    assert not is_immutable(d) and image_props(bus, prefix)[1] is False
    os.mkdir(os.path.join(d, "new"))


def test_raw_image(bus, berthd, prefix):
    raw = os.path.join(POOL, prefix + ".raw")
    with open(raw, "wb") as f:
        f.write(os.urandom(4096))
        f.seek(32 << 20)
        f.write(b"end")
    os.chmod(raw, 0o644)
    ok(bus, "MarkImageReadOnly", "sb", prefix, "true")
    assert stat.S_IMODE(os.stat(raw).st_mode) == 0o444
    assert image_props(bus, prefix)[1:] == (True, "raw")
    ok(bus, "MarkImageReadOnly", "sb", prefix, "false")
    assert stat.S_IMODE(os.stat(raw).st_mode) == 0o644
    ok(bus, "CloneImage", "ssb", prefix, prefix + "-c", "true")
    copy = os.path.join(POOL, prefix + "-c.raw")
    with open(raw, "rb") as a, open(copy, "rb") as b:
        assert a.read() == b.read()
    assert stat.S_IMODE(os.stat(copy).st_mode) == 0o444
    assert os.stat(copy).st_blocks * 512 < 8 << 20  # still sparse
    ok(bus, "RenameImage", "ss", prefix + "-c", prefix + "-r")
    assert os.path.exists(os.path.join(POOL, prefix + "-r.raw")) and not os.path.exists(copy)
    ok(bus, "RemoveImage", "s", prefix + "-r")
    ok(bus, "RemoveImage", "s", prefix)
    assert not [n for n in os.listdir(POOL) if prefix in n]


def wait_locked(path, timeout=10):
    st = os.stat(path)
    lock = f"/run/systemd/nspawn/locks/inode-{st.st_dev}:{st.st_ino}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(lock):
            return True
        time.sleep(0.05)
    return False


def test_image_in_use_by_a_machine(bus, berthd, prefix):
    d = make_image(os.path.join(POOL, prefix))
    with Machine("-D", d, "-M", prefix, "--register=no", "/bin/sleep", "100") as m:
        assert m.leader and wait_locked(d)
        for args in [("RemoveImage", f"string:{prefix}"),
                     ("RenameImage", f"string:{prefix}", f"string:{prefix}-x"),
                     ("MarkImageReadOnly", f"string:{prefix}", "boolean:true")]:
            out = expect_error(bus, "System.Error.EBUSY", *args)
            assert f"Image '{prefix}' is in use" in out
        # CleanPool is tested in a private pool; cloning a running image is allowed (as in 252)
        ok(bus, "CloneImage", "ssb", prefix, prefix + "-c", "false")
        assert os.path.exists(os.path.join(d, "bin/busybox")) and not is_immutable(d)
        assert m.proc.poll() is None
        m.stop()
    ok(bus, "RemoveImage", "s", prefix)
    assert not os.path.exists(d)


@pytest.mark.parametrize("new", ["", "../x", "a/b", ".#x", "x" * 300, ".host", ".", "..", "tab\tname"])
def test_invalid_new_names(bus, berthd, prefix, new):
    make_image(os.path.join(POOL, prefix))
    for args in [("RenameImage", f"string:{prefix}", f"string:{new}"),
                 ("CloneImage", f"string:{prefix}", f"string:{new}", "boolean:false")]:
        expect_error(bus, "org.freedesktop.DBus.Error.InvalidArgs", *args)
    assert sorted(n for n in os.listdir(POOL) if prefix in n) == [prefix]


def test_unknown_host_and_bad_mode(bus, berthd, prefix):
    for args in [("RemoveImage", f"string:{prefix}"), ("RenameImage", f"string:{prefix}", "string:y"),
                 ("CloneImage", f"string:{prefix}", "string:y", "boolean:false"),
                 ("MarkImageReadOnly", f"string:{prefix}", "boolean:true"),
                 ("SetImageLimit", f"string:{prefix}", "uint64:1000")]:
        expect_error(bus, "org.freedesktop.machine1.NoSuchImage", *args)
    for args in [("RemoveImage", "string:.host"), ("RenameImage", "string:.host", "string:y"),
                 ("MarkImageReadOnly", "string:.host", "boolean:true")]:
        assert "read-only" in expect_error(bus, "System.Error.EROFS", *args)
    expect_error(bus, "NotSupported", "CloneImage", "string:.host", f"string:{prefix}", "boolean:false")
    expect_error(bus, "InvalidArgs", "CleanPool", "string:bogus")
    # quota is btrfs-only; this pool is ext4
    make_image(os.path.join(POOL, prefix))
    assert "btrfs" in expect_error(bus, "NotSupported", "SetImageLimit", f"string:{prefix}", "uint64:1000000")
    assert "btrfs" in expect_error(bus, "NotSupported", "SetPoolLimit", "uint64:1000000")
    expect_error(bus, "InvalidArgs", "SetPoolLimit", "uint64:18446744073709551614")


def test_unprivileged_callers_are_refused(bus, berthd, prefix):
    d = make_image(os.path.join(POOL, prefix))
    for args in [("RemoveImage", f"string:{prefix}"), ("RenameImage", f"string:{prefix}", "string:y"),
                 ("CloneImage", f"string:{prefix}", f"string:{prefix}-c", "boolean:false"),
                 ("MarkImageReadOnly", f"string:{prefix}", "boolean:true"),
                 ("SetImageLimit", f"string:{prefix}", "uint64:1000"), ("SetPoolLimit", "uint64:1000"),
                 ("CleanPool", "string:hidden"), ("CleanPool", "string:all")]:
        expect_error(bus, "AccessDenied", *args, user=65534)
    path = call(bus, "GetImage", "s", prefix)[0]
    for args in [("Remove",), ("Rename", "string:y"), ("Clone", "string:y", "boolean:false"),
                 ("MarkReadOnly", "boolean:true"), ("SetLimit", "uint64:1000")]:
        expect_error(bus, "AccessDenied", *args, path=path, iface="org.freedesktop.machine1.Image", user=65534)
    assert os.path.exists(os.path.join(d, "bin/busybox")) and not is_immutable(d)
    assert sorted(n for n in os.listdir(POOL) if prefix in n) == [prefix]


# ---- a berthd whose /var/lib/machines is a small private tmpfs ----

class PoolBerthd(Berthd):
    """berthd in its own mount namespace, /var/lib/machines a tmpfs of the given size; setup is a
    shell snippet run there first (bind mounts of sources)."""

    def __init__(self, bus, size, setup=""):
        script = f"mount -t tmpfs -o size={size},mode=0700 tmpfs {POOL} && {setup} exec {BERTHD} --terminate-timeout=2s"
        super().__init__(bus, command=["unshare", "-m", "--propagation", "private", "sh", "-ec", script])

    def pool(self, *names):
        return os.path.join(f"/proc/{self.proc.pid}/root{POOL}", *names)


@pytest.fixture
def pool_berthd(bus):
    d = PoolBerthd(bus, "64m")
    yield d
    d.stop()


@pytest.fixture
def full_pool_berthd(bus, bbtree):
    """A 1 MiB pool with two images bind-mounted in from outside: a busybox tree (2 MB) and a 4 MiB
    raw file, neither of which fits a copy."""
    raw = os.path.join(os.path.dirname(bbtree), "big.raw")
    with open(raw, "wb") as f:
        f.write(os.urandom(4 << 20))
    setup = (f"mkdir {POOL}/bt-img-src && mount --bind {bbtree} {POOL}/bt-img-src && "
             f"touch {POOL}/bt-img-raw.raw && mount --bind {raw} {POOL}/bt-img-raw.raw && ")
    d = PoolBerthd(bus, "1m", setup)
    yield d
    d.stop()


def test_clean_pool(bus, pool_berthd):
    d = pool_berthd
    for n in [".bt-img-hidden", ".bt-img-hidden-ro", "bt-img-a", "bt-img-ro", "bt-img-busy"]:
        os.makedirs(d.pool(n, "etc"))
    ok(bus, "MarkImageReadOnly", "sb", ".bt-img-hidden-ro", "true")
    ok(bus, "MarkImageReadOnly", "sb", "bt-img-ro", "true")
    with open(d.pool("bt-img-b.raw"), "wb") as f:
        f.write(b"x" * 8192)
    out = call(bus, "CleanPool", "s", "hidden")[0]
    assert [n for n, _ in out] == [".bt-img-hidden"]
    names = set(os.listdir(d.pool()))
    assert ".bt-img-hidden" not in names and {".bt-img-hidden-ro", "bt-img-a", "bt-img-b.raw"} <= names

    # a lock held as berth-spawn and systemd-nspawn hold it (a POSIX lock conflicts with their OFD lock)
    import fcntl
    st = os.stat(d.pool("bt-img-busy"))
    lockpath = f"/run/systemd/nspawn/locks/inode-{st.st_dev}:{st.st_ino}"
    fd = os.open(lockpath, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX)
        out = call(bus, "CleanPool", "s", "all")[0]
        assert sorted(out) == [["bt-img-a", 18446744073709551615], ["bt-img-b", 8192]], out
    finally:
        os.close(fd)
        os.unlink(lockpath)
    names = set(os.listdir(d.pool()))
    assert {"bt-img-busy", "bt-img-ro", ".bt-img-hidden-ro"} <= names
    assert not {"bt-img-a", "bt-img-b.raw"} & names


def test_clone_into_a_full_pool_leaves_nothing(bus, full_pool_berthd):
    d = full_pool_berthd
    before = sorted(os.listdir(d.pool()))
    out = expect_error(bus, "System.Error.ENOSPC", "CloneImage", "string:bt-img-src", "string:bt-img-copy",
                       "boolean:false")
    assert "No space left" in out and "bt-img-src" in out
    expect_error(bus, "System.Error.ENOSPC", "CloneImage", "string:bt-img-raw", "string:bt-img-copy",
                 "boolean:false")
    assert sorted(os.listdir(d.pool())) == before
    assert "bt-img-copy" not in listed(bus)
    assert d.proc.poll() is None
    # and the pool still works: a small clone fits
    os.makedirs(d.pool("bt-img-small", "etc"))
    ok(bus, "CloneImage", "ssb", "bt-img-small", "bt-img-small2", "false")
    assert os.path.isdir(d.pool("bt-img-small2", "etc"))


@pytest.fixture
def btrfs_pool_berthd(bus, tmp_path):
    """A pool on a fresh btrfs (on a loop device that goes away with berthd's mount namespace),
    with quota enabled and one subvolume image, bt-img-sub."""
    fs = tmp_path / "pool.btrfs"
    with open(fs, "wb") as f:
        f.truncate(256 << 20)
    subprocess.run(["mkfs.btrfs", "-q", str(fs)], check=True, capture_output=True)
    setup = (f"mount -o loop {fs} {POOL} && btrfs -q subvolume create {POOL}/bt-img-sub >/dev/null && "
             f"btrfs quota enable {POOL} && ")
    d = PoolBerthd(bus, "1m", setup)
    yield d
    d.stop()


def test_btrfs_subvolumes(bus, btrfs_pool_berthd):
    d = btrfs_pool_berthd
    make_image(d.pool("bt-img-sub"))
    os.makedirs(d.pool("bt-img-dir", "etc"))
    imgs = listed(bus)
    assert imgs["bt-img-sub"][1] == "subvolume" and imgs["bt-img-dir"][1] == "directory"

    def prop(name, what):
        path = call(bus, "GetImage", "s", name)[0]
        r = busctl(bus, "get-property", MACHINE1, path, "org.freedesktop.machine1.Image", what)
        import json
        return json.loads(r.stdout)["data"]

    # snapshots, writable and read-only; a plain directory becomes a subvolume in the pool
    ok(bus, "CloneImage", "ssb", "bt-img-sub", "bt-img-snap", "false")
    ok(bus, "CloneImage", "ssb", "bt-img-sub", "bt-img-snap-ro", "true")
    ok(bus, "CloneImage", "ssb", "bt-img-dir", "bt-img-dir2", "false")
    assert tree(d.pool("bt-img-snap")) == tree(d.pool("bt-img-sub"))
    assert os.stat(d.pool("bt-img-snap")).st_ino == 256
    assert prop("bt-img-snap", "Type") == "subvolume" and prop("bt-img-snap", "ReadOnly") is False
    assert prop("bt-img-snap-ro", "Type") == "subvolume" and prop("bt-img-snap-ro", "ReadOnly") is True
    assert prop("bt-img-dir2", "Type") == "subvolume"
    with pytest.raises(OSError):
        os.mkdir(d.pool("bt-img-snap-ro", "new"))

    ok(bus, "MarkImageReadOnly", "sb", "bt-img-snap", "true")
    assert prop("bt-img-snap", "ReadOnly") is True
    ok(bus, "MarkImageReadOnly", "sb", "bt-img-snap", "false")
    os.mkdir(d.pool("bt-img-snap", "new"))

    ok(bus, "SetImageLimit", "st", "bt-img-snap", 100 << 20)
    ok(bus, "SetImageLimit", "st", "bt-img-snap", 18446744073709551615)
    ok(bus, "SetPoolLimit", "t", 200 << 20)
    ok(bus, "SetPoolLimit", "t", 18446744073709551615)
    assert "btrfs subvolumes" in expect_error(bus, "NotSupported", "SetImageLimit", "string:bt-img-dir", "uint64:1000")

    ok(bus, "RenameImage", "ss", "bt-img-snap", "bt-img-snap2")
    for n in ["bt-img-snap2", "bt-img-snap-ro", "bt-img-dir2", "bt-img-sub", "bt-img-dir"]:
        ok(bus, "RemoveImage", "s", n)
    assert sorted(os.listdir(d.pool())) == []


def test_vendor_images_are_read_only(bus, berthd, prefix):
    vendor = "/usr/lib/machines"
    made = not os.path.exists(vendor)
    os.makedirs(os.path.join(vendor, prefix, "etc"))
    try:
        assert listed(bus)[prefix][2] is True
        for args in [("RemoveImage", f"string:{prefix}"), ("RenameImage", f"string:{prefix}", f"string:{prefix}-x"),
                     ("MarkImageReadOnly", f"string:{prefix}", "boolean:false")]:
            assert "read-only" in expect_error(bus, "System.Error.EROFS", *args)
        assert os.path.isdir(os.path.join(vendor, prefix, "etc"))
        # cloning a vendor image into the pool is how one gets a writable copy
        ok(bus, "CloneImage", "ssb", prefix, prefix + "-w", "false")
        assert os.path.isdir(os.path.join(POOL, prefix + "-w", "etc"))
    finally:
        subprocess.run(["rm", "-rf", os.path.join(vendor, prefix)], check=True)
        if made:
            os.rmdir(vendor)

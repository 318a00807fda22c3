# SPDX-License-Identifier: LGPL-2.1-or-later
"""Images in and out of the pool: berthctl import-tar/-raw/-fs/-oci and export-tar/-raw through
berthd's transfer methods (run by berth-import). Round trips keep owners, modes, links, xattrs and
sparse files; hostile tarballs (catalogue I07), a full pool (F06) and a berthd killed mid-import
(F10) leave nothing under the final name and nothing hidden either. Images are "bt-imp-*"."""

import gzip
import hashlib
import io
import json
import os
import signal
import stat
import subprocess
import tarfile
import time
import uuid

import pytest

import guests
from conftest import SPAWN
from test_berthctl import CTL
from daemon import Berthd
from test_machined_images import PoolBerthd, purge

POOL = "/var/lib/machines"


def ctl(bus, *args, input=None, user=None, timeout=120):
    cmd = [CTL, "--no-pager", *args]
    if user:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
    return subprocess.run(cmd, env=bus.env, capture_output=True, timeout=timeout, input=input,
                          stdin=None if input is not None else subprocess.DEVNULL)


def pool_entries(prefix, root=POOL):
    return sorted(n for n in os.listdir(root) if prefix in n) if os.path.isdir(root) else []


@pytest.fixture
def prefix():
    p = "bt-imp-" + uuid.uuid4().hex[:8]
    yield p
    purge(p)


def manifest(root):
    """What a round trip must keep: type, mode, owner, size, link target, content, xattrs."""
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            e = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
            if stat.S_ISLNK(st.st_mode):
                e += (os.readlink(p),)
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    e += (st.st_size, hashlib.sha256(f.read()).hexdigest())
                e += (tuple(sorted((x, os.getxattr(p, x)) for x in os.listxattr(p) if x.startswith("user."))),)
            out[rel] = e
    return out


def rich_tree(path):
    """A busybox tree plus what tar must keep: owners, setuid, a hard link, xattrs, a FIFO, a sparse file."""
    guests.make_busybox_tree(path)
    with open(os.path.join(path, "etc/secret"), "w") as f:
        f.write("s3cret\n")
    os.chown(os.path.join(path, "etc/secret"), 1000, 1000)
    os.chmod(os.path.join(path, "etc/secret"), 0o640)
    os.link(os.path.join(path, "etc/secret"), os.path.join(path, "etc/secret-link"))
    os.chmod(os.path.join(path, "bin/busybox"), 0o4755)
    os.setxattr(os.path.join(path, "etc/os-release"), "user.berth", b"kept")
    os.mkfifo(os.path.join(path, "run/fifo"))
    with open(os.path.join(path, "var/sparse"), "wb") as f:
        f.truncate(64 << 20)
        f.write(b"head")
    return path


def test_tar_round_trip_boots(bus, berthd, prefix, tmp_path):
    src = rich_tree(str(tmp_path / "src"))
    archive = tmp_path / "tree.tar.gz"
    subprocess.run(["tar", "--numeric-owner", "--xattrs", "--xattrs-include=user.*", "-S", "-czf", str(archive),
                    "-C", src, "."], check=True)
    r = ctl(bus, "import-tar", str(archive), prefix)
    assert r.returncode == 0, r.stderr
    assert f"Imported image '{prefix}'".encode() in r.stdout
    img = os.path.join(POOL, prefix)
    assert manifest(img) == manifest(src)
    st = os.stat(os.path.join(img, "var/sparse"))
    assert st.st_blocks * 512 < (1 << 20), "the sparse file was filled in"
    assert os.stat(os.path.join(img, "etc/secret")).st_ino == os.stat(os.path.join(img, "etc/secret-link")).st_ino
    assert prefix.encode() in ctl(bus, "list-images").stdout
    assert pool_entries(prefix) == [prefix], "a hidden temporary was left"

    # the imported image boots
    r = subprocess.run([SPAWN, "-q", "-M", prefix, "--register=no", "/bin/cat", "/etc/os-release"], capture_output=True,
                       text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert r.returncode == 0 and "ID=busybox" in r.stdout, r.stderr

    # export as .tar.xz (compression from the suffix), import again: the same tree
    out = tmp_path / "out.tar.xz"
    r = ctl(bus, "export-tar", prefix, str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes()[:6] == b"\xfd7zXZ\x00"
    r = ctl(bus, "import-tar", str(out), prefix + "-again")
    assert r.returncode == 0, r.stderr
    assert manifest(os.path.join(POOL, prefix + "-again")) == manifest(src)

    # to stdout, uncompressed, and back in from stdin
    exp = subprocess.run([CTL, "export-tar", prefix], env=bus.env, capture_output=True, stdin=subprocess.DEVNULL)
    assert exp.returncode == 0, exp.stderr
    assert "./etc/os-release" in tarfile.open(fileobj=io.BytesIO(exp.stdout)).getnames()
    r = ctl(bus, "import-tar", "-", prefix + "-stdin", input=exp.stdout)
    assert r.returncode == 0, r.stderr
    assert manifest(os.path.join(POOL, prefix + "-stdin")) == manifest(src)


def test_import_refuses_existing_and_force_replaces(bus, berthd, prefix, tmp_path):
    src = guests.make_busybox_tree(str(tmp_path / "src"))
    archive = tmp_path / "t.tar"
    subprocess.run(["tar", "-cf", str(archive), "-C", src, "."], check=True)
    assert ctl(bus, "import-tar", str(archive), prefix).returncode == 0
    with open(os.path.join(POOL, prefix, "marker"), "w") as f:
        f.write("old\n")
    r = ctl(bus, "import-tar", str(archive), prefix)
    assert r.returncode == 1 and b"already exists" in r.stderr and b"--force" in r.stderr
    assert os.path.exists(os.path.join(POOL, prefix, "marker"))
    r = ctl(bus, "--force", "import-tar", str(archive), prefix)
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(os.path.join(POOL, prefix, "marker"))
    assert pool_entries(prefix) == [prefix]

    # the name comes from the file name when none is given; --read-only marks the image
    named = tmp_path / f"{prefix}-named.tar"
    os.rename(archive, named)
    r = ctl(bus, "--read-only", "import-tar", str(named))
    assert r.returncode == 0, r.stderr
    assert b"yes" in ctl(bus, "show-image", "-P", "ReadOnly", prefix + "-named").stdout

    # import-fs copies a directory; it refuses a file
    r = ctl(bus, "import-fs", src, prefix + "-fs")
    assert r.returncode == 0, r.stderr
    assert manifest(os.path.join(POOL, prefix + "-fs")) == manifest(src)
    r = ctl(bus, "import-fs", str(named), prefix + "-fs2")
    assert r.returncode == 1 and b"Not a directory" in r.stderr
    # --force swaps the old tree out once the copy is complete
    with open(os.path.join(POOL, prefix + "-fs", "marker"), "w") as f:
        f.write("old\n")
    r = ctl(bus, "--force", "import-fs", src, prefix + "-fs")
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(os.path.join(POOL, prefix + "-fs", "marker"))
    assert [n for n in pool_entries(prefix) if n.startswith(".")] == [], "the replaced tree was left hidden"


def test_bad_names_and_unprivileged(bus, berthd, prefix, tmp_path):
    archive = tmp_path / "t.tar"
    subprocess.run(["tar", "-cf", str(archive), "-C", str(tmp_path), "."], check=True)
    for bad in ["../x", ".#x", ".host", "a/b", "a\nb\x1b[2J"]:
        r = ctl(bus, "import-tar", str(archive), bad)
        assert r.returncode == 1 and b"Invalid image name" in r.stderr, (bad, r.stderr)
        assert b"\x1b" not in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr  # escaped, one line
    os.chmod(archive, 0o644)
    os.chmod(tmp_path, 0o755)
    r = ctl(bus, "import-tar", str(archive), prefix, user="65534")
    assert r.returncode == 1 and (b"denied" in r.stderr.lower() or b"root" in r.stderr), r.stderr
    r = ctl(bus, "export-tar", "bt-imp-none", str(tmp_path / "o.tar"))
    assert r.returncode == 1 and b"No image" in r.stderr
    assert not (tmp_path / "o.tar").exists(), "a failed export left its file"
    assert pool_entries(prefix) == []


def _tar(path, members):
    """members: (TarInfo kwargs, data) pairs."""
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as t:
        for kw, data in members:
            kw = dict(kw)
            ti = tarfile.TarInfo(kw.pop("name"))
            for k, v in kw.items():
                setattr(ti, k, v)
            if data is not None:
                ti.size = len(data)
            t.addfile(ti, io.BytesIO(data) if data is not None else None)


OK_FILE = ({"name": "./etc/os-release"}, b"ID=x\n")

HOSTILE = {
    "dotdot": [OK_FILE, ({"name": "../../../tmp/HOSTDIR/pwned"}, b"x")],
    "absolute": [OK_FILE, ({"name": "/tmp/HOSTDIR/pwned"}, b"x")],
    "symlink-then-write": [({"name": "a", "type": tarfile.SYMTYPE, "linkname": "/tmp/HOSTDIR"}, None),
                           ({"name": "a/pwned"}, b"x")],
    "relative-symlink-then-write": [({"name": "a", "type": tarfile.SYMTYPE, "linkname": "../../../../tmp/HOSTDIR"},
                                     None), ({"name": "a/pwned"}, b"x")],
    "hardlink-absolute": [({"name": "shadow", "type": tarfile.LNKTYPE, "linkname": "/etc/shadow"}, None)],
    "hardlink-dotdot": [({"name": "shadow", "type": tarfile.LNKTYPE, "linkname": "../../../../etc/shadow"}, None)],
    "too-deep": [({"name": "d/" * 600 + "f"}, b"x")],
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_tarballs(bus, berthd, prefix, tmp_path, case):
    hostdir = f"/tmp/{prefix}-hostdir"
    os.makedirs(hostdir)
    try:
        members = [({k: (v.replace("HOSTDIR", prefix + "-hostdir") if isinstance(v, str) else v)
                     for k, v in kw.items()}, data) for kw, data in HOSTILE[case]]
        archive = tmp_path / "evil.tar"
        _tar(str(archive), members)
        shadow = os.stat("/etc/shadow")
        r = ctl(bus, "import-tar", str(archive), prefix)
        assert r.returncode == 1, r.stdout
        assert b"refusing" in r.stderr or b"symlink" in r.stderr, r.stderr
        assert os.listdir(hostdir) == [], "a write escaped the image"
        assert os.stat("/etc/shadow").st_nlink == shadow.st_nlink
        assert pool_entries(prefix) == [], "a partial image was left"
        # the name is free again
        _tar(str(archive), [OK_FILE])
        assert ctl(bus, "import-tar", str(archive), prefix).returncode == 0
    finally:
        subprocess.run(["rm", "-rf", hostdir])


def test_devices_skipped_truncated_refused(bus, berthd, prefix, tmp_path):
    archive = tmp_path / "dev.tar"
    _tar(str(archive), [OK_FILE, ({"name": "dev/sda", "type": tarfile.BLKTYPE, "devmajor": 8, "devminor": 0}, None),
                        ({"name": "dev/mem", "type": tarfile.CHRTYPE, "devmajor": 1, "devminor": 1}, None),
                        ({"name": "run/fifo", "type": tarfile.FIFOTYPE}, None),
                        ({"name": "bin/suid", "mode": 0o4755}, b"#!/bin/sh\n")])
    r = ctl(bus, "import-tar", str(archive), prefix)
    assert r.returncode == 0, r.stderr
    img = os.path.join(POOL, prefix)
    assert not os.path.lexists(os.path.join(img, "dev/sda")) and not os.path.lexists(os.path.join(img, "dev/mem"))
    assert stat.S_ISFIFO(os.lstat(os.path.join(img, "run/fifo")).st_mode)
    assert os.stat(os.path.join(img, "bin/suid")).st_mode & 0o4000

    data = (tmp_path / "dev.tar").read_bytes()
    (tmp_path / "cut.tar.gz").write_bytes(gzip.compress(data)[:200])
    r = ctl(bus, "import-tar", str(tmp_path / "cut.tar.gz"), prefix + "-cut")
    assert r.returncode == 1 and b"import image" in r.stderr
    (tmp_path / "junk.tar").write_bytes(os.urandom(4096))
    r = ctl(bus, "import-tar", str(tmp_path / "junk.tar"), prefix + "-junk")
    assert r.returncode == 1
    assert pool_entries(prefix) == [prefix]


def test_raw_import_export(bus, berthd, prefix, tmp_path):
    raw = tmp_path / "disk.raw"
    with open(raw, "wb") as f:
        f.truncate(32 << 20)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(raw)], check=True)
    want = hashlib.sha256(raw.read_bytes()).hexdigest()
    subprocess.run(["xz", "-T0", "-1", "-k", str(raw)], check=True)
    r = ctl(bus, "import-raw", str(raw) + ".xz", prefix)
    assert r.returncode == 0, r.stderr
    dst = os.path.join(POOL, prefix + ".raw")
    with open(dst, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == want
    assert os.stat(dst).st_blocks * 512 < (16 << 20), "zeros were not made holes"
    assert b"raw" in ctl(bus, "show-image", "-P", "Type", prefix).stdout

    out = tmp_path / "out.raw.zst"
    r = ctl(bus, "export-raw", prefix, str(out))
    assert r.returncode == 0, r.stderr
    back = subprocess.run(["zstd", "-dc", str(out)], capture_output=True, check=True).stdout
    assert hashlib.sha256(back).hexdigest() == want
    r = ctl(bus, "export-tar", prefix, str(tmp_path / "x.tar"))
    assert r.returncode == 1 and b"export-raw" in r.stderr

    q = tmp_path / "vm.qcow2"
    q.write_bytes(b"QFI\xfb" + b"\0" * 4092)
    r = ctl(bus, "import-raw", str(q), prefix + "-q")
    assert r.returncode == 1 and b"qemu-img convert" in r.stderr
    assert pool_entries(prefix) == [prefix + ".raw"]


def _blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    os.makedirs(os.path.join(layout, "blobs/sha256"), exist_ok=True)
    with open(os.path.join(layout, "blobs/sha256", digest), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}


def _layer(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in files:
            ti = tarfile.TarInfo(name)
            if data is None:
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
                t.addfile(ti)
            else:
                ti.size = len(data)
                ti.mode = 0o755
                t.addfile(ti, io.BytesIO(data))
    return gzip.compress(buf.getvalue())


def make_oci_layout(layout, bbtree):
    """Two layers: a busybox tree with /etc/gone and /opt/old, then whiteouts of both and /opt/new."""
    base = io.BytesIO()
    with tarfile.open(fileobj=base, mode="w") as t:
        t.add(bbtree, arcname=".")
        for name, data in [("etc/gone", b"x"), ("opt/old/file", b"x")]:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    l1 = _blob(layout, gzip.compress(base.getvalue()))
    l2 = _blob(layout, _layer([("etc/.wh.gone", b""), ("opt/", None), ("opt/.wh..wh..opq", b""),
                               ("opt/new", b"new\n")]))
    config = _blob(layout, json.dumps({"architecture": "amd64", "os": "linux", "config": {
        "Entrypoint": ["/bin/sh", "-c"], "Cmd": ["echo \"$GREETING\" from 'oci' in $(pwd)"],
        "Env": ["PATH=/bin:/sbin", "GREETING=hi"],
        "WorkingDir": "/opt"}}).encode())
    tl = "application/vnd.oci.image.layer.v1.tar+gzip"
    manifest = _blob(layout, json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                                         "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
                                         "layers": [{"mediaType": tl, **l1}, {"mediaType": tl, **l2}]}).encode())
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", **manifest,
             "platform": {"os": "linux", "architecture": "amd64"}}]}, f)


@pytest.mark.parametrize("as_tar", [False, True])
def test_import_oci(bus, berthd, prefix, tmp_path, bbtree, as_tar):
    layout = str(tmp_path / "layout")
    make_oci_layout(layout, bbtree)
    src = layout
    if as_tar:
        src = str(tmp_path / "image.oci.tar")
        subprocess.run(["tar", "-cf", src, "-C", layout, "."], check=True)
    r = ctl(bus, "import-oci", src, prefix)
    assert r.returncode == 0, r.stderr
    img = os.path.join(POOL, prefix)
    assert os.path.exists(os.path.join(img, "bin/busybox"))
    assert not os.path.lexists(os.path.join(img, "etc/gone")), "whiteout not applied"
    assert os.listdir(os.path.join(img, "opt")) == ["new"], "opaque directory not applied"
    assert not any(n.startswith(".wh.") for _, d, f in os.walk(img) for n in d + f)
    with open(os.path.join(POOL, prefix + ".nspawn")) as f:
        settings = f.read()
    assert "Parameters=/bin/sh -c " in settings and "WorkingDirectory=/opt" in settings, settings
    r = subprocess.run([SPAWN, "-q", "-M", prefix, "--register=no"], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "hi from oci in /opt", r.stdout + r.stderr
    assert pool_entries(prefix) == sorted([prefix, prefix + ".nspawn"])


def test_import_oci_bad_layouts(bus, berthd, prefix, tmp_path, bbtree):
    layout = tmp_path / "bad"
    layout.mkdir()
    r = ctl(bus, "import-oci", str(layout), prefix)
    assert r.returncode == 1 and b"index.json" in r.stderr
    (layout / "index.json").write_text(json.dumps({"manifests": [{"digest": "sha256:../../../../etc/passwd"}]}))
    r = ctl(bus, "import-oci", str(layout), prefix)
    assert r.returncode == 1 and b"Invalid digest" in r.stderr
    (layout / "index.json").write_text(json.dumps({"manifests": [
        {"digest": "sha256:" + "0" * 64, "platform": {"os": "linux", "architecture": "s390x"}}]}))
    r = ctl(bus, "import-oci", str(layout), prefix)
    assert r.returncode == 1 and b"no image for linux/" in r.stderr
    # a layer changed after the manifest named it
    good = str(tmp_path / "good")
    make_oci_layout(good, bbtree)
    blobs = os.path.join(good, "blobs", "sha256")
    biggest = max(os.listdir(blobs), key=lambda n: os.path.getsize(os.path.join(blobs, n)))
    with open(os.path.join(blobs, biggest), "ab") as f:
        f.write(b"\0")
    r = ctl(bus, "import-oci", good, prefix)
    assert r.returncode == 1 and b"does not match its digest" in r.stderr, r.stderr
    assert pool_entries(prefix) == []


def test_export_of_a_running_machine_is_refused(bus, berthd, prefix, tmp_path):
    img = guests.make_busybox_tree(os.path.join(POOL, prefix))
    p = subprocess.Popen([SPAWN, "-q", "-M", prefix, "--register=no", "/bin/sleep", "60"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        r = ctl(bus, "export-tar", prefix, str(tmp_path / "o.tar"))
        assert r.returncode == 1 and b"in use by a running machine" in r.stderr, r.stderr
        assert not (tmp_path / "o.tar").exists()
    finally:
        p.terminate()
        p.wait(timeout=30)
    r = ctl(bus, "export-tar", prefix, str(tmp_path / "o.tar"))
    assert r.returncode == 0, r.stderr
    assert img


def test_import_into_a_full_pool(bus, prefix, tmp_path):
    """F06: a 64 MiB pool and a tarball that unpacks to 100 MiB (and a raw image as large)."""
    d = PoolBerthd(bus, "64m")
    try:
        big = tmp_path / "big.tar.gz"
        with tarfile.open(big, "w:gz") as t:
            ti = tarfile.TarInfo("big")  # not zeros: those would become holes
            ti.size = 100 << 20
            t.addfile(ti, io.BytesIO(b"\x01" * ti.size))
        r = ctl(bus, "import-tar", str(big), prefix)
        assert r.returncode == 1 and b"No space left" in r.stderr, r.stderr
        raw = tmp_path / "big.raw.gz"
        raw.write_bytes(gzip.compress(os.urandom(1 << 20) * 100, compresslevel=1))
        r = ctl(bus, "import-raw", str(raw), prefix)
        assert r.returncode == 1 and b"No space left" in r.stderr, r.stderr
        assert os.listdir(d.pool()) == [], "something was left in the full pool"
        assert d.proc.poll() is None
        small = tmp_path / "small.tar"
        _tar(str(small), [OK_FILE])
        assert ctl(bus, "import-tar", str(small), prefix).returncode == 0
    finally:
        d.stop()


def test_berthd_killed_mid_import_leaves_nothing(bus, prefix, tmp_path):
    """F10: the helper dies with berthd; the next berthd sweeps the hidden temporary."""
    d = Berthd(bus)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    p = subprocess.Popen([CTL, "import-tar", str(fifo), prefix], env=bus.env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    w = open(fifo, "wb")
    try:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as t:
            ti = tarfile.TarInfo("etc/os-release")
            ti.size = 5
            t.addfile(ti, io.BytesIO(b"ID=x\n"))
        w.write(buf.getvalue()[:1024])
        w.flush()
        deadline = time.monotonic() + 10
        while not pool_entries(prefix) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pool_entries(prefix) and pool_entries(prefix)[0].startswith(".#import-"), pool_entries(prefix)
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
    finally:
        w.close()
        p.wait(timeout=30)
    assert p.returncode != 0
    d2 = Berthd(bus)
    try:
        assert pool_entries(prefix) == [], "the restarted berthd did not sweep the temporary"
    finally:
        d2.stop()

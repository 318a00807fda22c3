# SPDX-License-Identifier: LGPL-2.1-or-later
"""Disk images (-i), ephemeral machines (-x) and --volatile=."""
import os
import shutil
import subprocess
import time

import pytest

import leakcheck

from conftest import Machine, spawn


def need(*tools):
    for t in tools:
        if not shutil.which(t):
            pytest.skip(f"{t} missing")


def mkfs_image(tree, path, fstype):
    if fstype == "squashfs":
        need("mksquashfs")
        subprocess.run(["mksquashfs", tree, path, "-quiet", "-noappend"], check=True, stdout=subprocess.DEVNULL)
    elif fstype == "erofs":
        need("mkfs.erofs")
        subprocess.run(["mkfs.erofs", path, tree], check=True, capture_output=True)
    elif fstype == "ext4":
        subprocess.run(["truncate", "-s", "64M", path], check=True)
        subprocess.run(["mkfs.ext4", "-q", "-d", tree, path], check=True)
    elif fstype == "btrfs":
        need("mkfs.btrfs")
        subprocess.run(["truncate", "-s", "128M", path], check=True)
        subprocess.run(["mkfs.btrfs", "-q", "--rootdir", tree, path], check=True, capture_output=True)
    elif fstype == "xfs":
        need("mkfs.xfs")
        # mkfs.xfs cannot copy a tree in Debian 12: fill it through a loop mount.
        subprocess.run(["truncate", "-s", "320M", path], check=True)
        subprocess.run(["mkfs.xfs", "-q", path], check=True)
        mnt = path + ".mnt"
        os.mkdir(mnt)
        subprocess.run(["mount", "-o", "loop", path, mnt], check=True)
        try:
            subprocess.run(["cp", "-a", tree + "/.", mnt], check=True)
        finally:
            subprocess.run(["umount", mnt], check=True)
            os.rmdir(mnt)
    return path


def partitioned_image(tree, path, table):
    need("sfdisk")
    subprocess.run(["truncate", "-s", "80M", path], check=True)
    if table == "gpt":
        layout = "label: gpt\nstart=2048, size=131072, type=4f68bce3-e8cd-4db1-96e7-fbcaf984b709\n"
    else:
        layout = "label: dos\nstart=2048, size=131072, type=83\n"
    subprocess.run(["sfdisk", "-q", path], input=layout, text=True, check=True)
    subprocess.run(["mkfs.ext4", "-q", "-d", tree, "-E", f"offset={2048 * 512}", path, "64M"], check=True)
    return path


@pytest.mark.parametrize("fstype", ["ext4", "btrfs", "xfs", "squashfs", "erofs"])
def test_bare_filesystem_image(bbtree, tmp_path, fstype):
    img = mkfs_image(bbtree, str(tmp_path / f"bb.{fstype}"), fstype)
    r = spawn("-q", "-i", img, "/bin/sh", "-c", "cat /etc/os-release | head -1; grep ' / ' /proc/self/mountinfo")
    assert r.returncode == 0, r.stderr
    assert "ID=busybox" in r.stdout
    assert " / / " in r.stdout or fstype in r.stdout


@pytest.mark.parametrize("table", ["gpt", "dos"])
def test_partitioned_image(bbtree, tmp_path, table):
    img = partitioned_image(bbtree, str(tmp_path / f"bb.{table}"), table)
    r = spawn("-q", "-i", img, "/bin/sh", "-c", "touch /written && cat /etc/os-release | head -1")
    assert r.returncode == 0, r.stderr
    assert "ID=busybox" in r.stdout


def test_gpt_read_only_flag_and_usr_partition(bbtree, tmp_path):
    need("sfdisk")
    img = str(tmp_path / "two.gpt")
    usr = tmp_path / "usrtree"
    usr.mkdir()
    (usr / "marker").write_text("from-usr-partition\n")
    subprocess.run(["truncate", "-s", "160M", img], check=True)
    layout = ("label: gpt\n"
              "start=2048, size=131072, type=4f68bce3-e8cd-4db1-96e7-fbcaf984b709\n"
              "start=133120, size=131072, type=8484680c-9521-48c6-9c11-b0720656f69e, attrs=\"GUID:60\"\n")
    subprocess.run(["sfdisk", "-q", img], input=layout, text=True, check=True)
    subprocess.run(["mkfs.ext4", "-q", "-d", bbtree, "-E", f"offset={2048 * 512}", img, "64M"], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-d", str(usr), "-E", f"offset={133120 * 512}", img, "64M"], check=True)
    r = spawn("-q", "-i", img, "/bin/sh", "-c", "cat /usr/marker; touch /usr/x 2>/dev/null || echo usr-ro")
    assert r.stdout.split() == ["from-usr-partition", "usr-ro"], r.stderr


def test_read_only_image_boots_with_writable_run_and_tmp(bbtree, tmp_path):
    img = mkfs_image(bbtree, str(tmp_path / "bb.squashfs"), "squashfs")
    r = spawn("-q", "-i", img, "/bin/sh", "-c", "touch /x 2>/dev/null || echo root-ro; touch /run/a /tmp/b && echo rw")
    assert r.stdout.split() == ["root-ro", "rw"]


@pytest.mark.parametrize("content", [b"", b"\0" * 4096, b"garbage" * 1000])
def test_not_an_image(tmp_path, content):
    img = tmp_path / "junk.img"
    img.write_bytes(content + b"\0" * (8 << 20))
    r = spawn("-q", "-i", str(img), "/bin/true")
    assert r.returncode == 1
    assert "has no root filesystem berth can find" in r.stderr


def test_disallowed_filesystem(tmp_path):
    need("mkfs.minix")
    img = str(tmp_path / "minix.img")
    subprocess.run(["truncate", "-s", "8M", img], check=True)
    subprocess.run(["mkfs.minix", img], check=True, capture_output=True)
    r = spawn("-q", "-i", img, "/bin/true")
    assert r.returncode == 1
    assert "berth does not mount" in r.stderr


def test_ephemeral_directory_is_thrown_away(bbtree):
    r = spawn("-q", "-D", bbtree, "-x", "/bin/sh", "-c", "echo x > /etc/eph; hostname")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith("bb-")  # a random suffix, so many can run at once
    assert not os.path.exists(os.path.join(bbtree, "etc/eph"))


def test_many_ephemeral_machines_from_one_image(bbtree, tmp_path):
    img = mkfs_image(bbtree, str(tmp_path / "bb.squashfs"), "squashfs")
    ms = [Machine("-q", "-i", img, "-x", "/bin/sh", "-c", "touch /proof; sleep 30") for _ in range(4)]
    try:
        for m in ms:
            assert m.leader
        names = {m.exec("hostname").stdout.strip() for m in ms}
        assert len(names) == 4
    finally:
        for m in ms:
            m.stop()


def test_ephemeral_layer_removed_after_launcher_crash(bbtree):
    m = Machine("-q", "-D", bbtree, "-x", "-M", "eph-crash", "/bin/sleep", "30")
    time.sleep(0.3)
    assert os.path.isdir("/var/lib/berth/ephemeral/eph-crash")
    m.proc.kill()
    m.proc.wait()
    # Any later run collects what the dead launcher left.
    r = spawn("-q", "-D", bbtree, "-M", "other", "/bin/true")
    assert r.returncode == 0
    assert not os.path.exists("/var/lib/berth/ephemeral/eph-crash")
    spawn("-q", "-D", bbtree, "-M", "eph-crash", "/bin/true")  # and its cgroups, on the next start


@pytest.mark.parametrize("mode,expect", [
    ("overlay", ["root-rw", "var-rw"]),
    ("state", ["root-ro", "var-rw"]),
    ("yes", ["root-rw", "var-rw"]),
])
def test_volatile(bbtree, mode, expect):
    # A /usr-merged tree, so that --volatile=yes (only /usr from the tree) has a shell.
    shutil.move(os.path.join(bbtree, "bin/busybox"), os.path.join(bbtree, "usr/bin/busybox"))
    for a in ("sh", "touch", "mkdir", "echo"):
        os.symlink("busybox", os.path.join(bbtree, "usr/bin", a))
    with open(os.path.join(bbtree, "usr/lib/os-release"), "w") as f:
        f.write("ID=busybox\n")
    r = spawn("-q", "-D", bbtree, f"--volatile={mode}", "/usr/bin/sh", "-c",
              "(touch /probe 2>/dev/null && echo root-rw) || echo root-ro; mkdir -p /var/x && echo var-rw")
    assert r.stdout.split() == expect, r.stderr
    assert not os.path.exists(os.path.join(bbtree, "probe"))
    assert not os.path.exists(os.path.join(bbtree, "var/x"))


def test_image_locks_are_shared_with_systemd_nspawn(bbtree):
    need("systemd-nspawn")
    nspawn = ["systemd-nspawn", "--register=no", "--keep-unit", "-q", "-D", bbtree]
    before = leakcheck.nspawn_cgroups()
    with Machine("-q", "-D", bbtree, "-M", "locked", "/bin/sleep", "30"):
        r = subprocess.run([*nspawn, "/bin/true"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
        assert r.returncode != 0 and "busy" in r.stderr
        r = spawn("-q", "-D", bbtree, "-M", "other", "-x", "/bin/true")
        assert r.returncode == 1 and "is currently busy" in r.stderr
    p = subprocess.Popen([*nspawn, "/bin/sleep", "30"], stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        r = spawn("-q", "-D", bbtree, "/bin/true")
        assert r.returncode == 1 and "is currently busy" in r.stderr, r.stderr
    finally:
        p.terminate()
        p.wait()
    # nspawn leaves these on a host without systemd; they are not ours, but the leak check sees them.
    subprocess.run(["rm", "-rf", "/run/systemd/nspawn/propagate"], check=False)
    leakcheck.remove_nspawn_cgroups(before)


# ---- hostile partition tables and corrupt filesystems (issue: bad input) ----

ROOT_GUID = "4f68bce3-e8cd-4db1-96e7-fbcaf984b709"


def _patch_gpt_entry(path, index, first=None, last=None):
    """Rewrites entry index of the primary GPT and fixes both CRCs, as a hostile tool would."""
    import struct
    import zlib
    with open(path, "r+b") as f:
        f.seek(512)
        hdr = bytearray(f.read(92))
        entries_lba, n, size = struct.unpack_from("<QII", hdr, 0x48)
        f.seek(entries_lba * 512)
        entries = bytearray(f.read(n * size))
        if first is not None:
            struct.pack_into("<Q", entries, index * size + 32, first)
        if last is not None:
            struct.pack_into("<Q", entries, index * size + 40, last)
        struct.pack_into("<I", hdr, 0x58, zlib.crc32(entries) & 0xffffffff)
        struct.pack_into("<I", hdr, 0x10, 0)
        struct.pack_into("<I", hdr, 0x10, zlib.crc32(bytes(hdr[:struct.unpack_from("<I", hdr, 0x0c)[0]])) & 0xffffffff)
        f.seek(entries_lba * 512)
        f.write(entries)
        f.seek(512)
        f.write(hdr)


def _two_partition_gpt(tree, path, second_type=ROOT_GUID):
    need("sfdisk")
    subprocess.run(["truncate", "-s", "160M", path], check=True)
    layout = (f"label: gpt\nstart=2048, size=131072, type={ROOT_GUID}\n"
              f"start=133120, size=131072, type={second_type}\n")
    subprocess.run(["sfdisk", "-q", path], input=layout, text=True, check=True)
    for off in (2048, 133120):
        subprocess.run(["mkfs.ext4", "-q", "-d", tree, "-E", f"offset={off * 512}", path, "64M"], check=True)
    return path


def test_two_root_partitions_are_ambiguous(bbtree, tmp_path):
    img = _two_partition_gpt(bbtree, str(tmp_path / "two-roots.gpt"))
    r = spawn("-q", "-i", img, "/bin/true")
    assert r.returncode == 1 and "ambiguous" in r.stderr, r.stderr


@pytest.mark.parametrize("patch", ["overlap", "past-the-end", "huge-start"])
def test_hostile_partition_table(bbtree, tmp_path, patch):
    img = _two_partition_gpt(bbtree, str(tmp_path / "evil.gpt"), second_type="933ac7e1-2eb4-4f13-b844-0e14e2aef915")
    assert spawn("-q", "-i", img, "/bin/true").returncode == 0  # sane before the patch
    if patch == "overlap":
        _patch_gpt_entry(img, 1, first=100000)
        r = spawn("-q", "-i", img, "/bin/true")
        assert r.returncode == 1 and "overlap or reach past" in r.stderr, r.stderr
    else:
        # libblkid itself drops an entry past the last usable LBA: that partition is not mounted.
        # huge-start: a start sector whose byte offset does not even fit in 64 bits.
        if patch == "huge-start":
            _patch_gpt_entry(img, 1, first=1 << 55, last=(1 << 55) + 10)
        else:
            _patch_gpt_entry(img, 1, last=(1 << 40))
        r = spawn("-q", "-i", img, "/bin/sh", "-c", "grep ' /home ' /proc/self/mountinfo || echo no-home")
        assert (r.returncode == 1 and "overlap or reach past" in r.stderr) or r.stdout.strip() == "no-home", r


def test_bad_gpt_crc(bbtree, tmp_path):
    """A primary GPT with a bad CRC: the backup is used; both bad: no table, refused."""
    img = partitioned_image(bbtree, str(tmp_path / "crc.gpt"), "gpt")
    with open(img, "r+b") as f:
        f.seek(512 + 0x10)
        f.write(b"\xde\xad\xbe\xef")
    r = spawn("-q", "-i", img, "/bin/true")
    assert r.returncode == 0, r.stderr
    size = os.path.getsize(img)
    with open(img, "r+b") as f:
        f.seek(size - 512 + 0x10)
        f.write(b"\xde\xad\xbe\xef")
    r = spawn("-q", "-i", img, "/bin/true")
    assert r.returncode == 1 and f"Image {img} has no root filesystem berth can find" in r.stderr, r.stderr


def test_corrupt_filesystem(bbtree, tmp_path):
    img = mkfs_image(bbtree, str(tmp_path / "corrupt.ext4"), "ext4")
    with open(img, "r+b") as f:  # keep the superblock (1024-2047), wreck the group descriptors after it
        f.seek(2048)
        f.write(os.urandom(64 * 1024))
    r = spawn("-q", "-i", img, "/bin/true")
    assert r.returncode == 1, r.stdout
    assert r.stderr.startswith("Failed to mount the root partition (ext4) of the image: "), r.stderr

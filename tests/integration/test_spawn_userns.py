# SPDX-License-Identifier: LGPL-2.1-or-later
"""-U: a user namespace per machine, idmapped trees; root inside is nobody outside."""
import os
import signal
import subprocess
import time

import pytest

from conftest import Machine, spawn


def uid_map(pid):
    with open(f"/proc/{pid}/uid_map") as f:
        return [int(x) for x in f.read().split()]


def host_map(*args):
    """The UID map of a machine started with args, as the host sees it."""
    with Machine("-q", *args, "/bin/sleep", "30") as m:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the maps are written after the leader exists
            with open(f"/proc/{m.leader}/comm") as f:
                if f.read().strip() == "sleep":
                    break
            time.sleep(0.02)
        return uid_map(m.leader)


def test_root_inside_is_a_shifted_uid_outside(bbtree):
    r = spawn("-q", "-D", bbtree, "-U", "/bin/sh", "-c", "id -u; cat /proc/self/uid_map; ls -ln /etc/passwd")
    lines = r.stdout.splitlines()
    assert lines[0] == "0", r.stderr
    inner, outer, count = (int(x) for x in lines[1].split())
    assert inner == 0 and outer >= 0x80000 and outer % 0x10000 == 0 and count == 65536
    assert " 0 " in lines[2]  # the tree keeps its ownership: idmapped, not chowned
    assert os.stat(os.path.join(bbtree, "etc/passwd")).st_uid == 0
    assert host_map("-D", bbtree, "-U") == [0, outer, 65536]


def test_files_written_inside_keep_on_disk_ownership(bbtree):
    r = spawn("-q", "-D", bbtree, "-U", "-u", "alice", "/bin/sh", "-c", "touch /home/alice/mine")
    assert r.returncode == 0, r.stderr
    assert os.stat(os.path.join(bbtree, "home/alice/mine")).st_uid == 1000


def test_two_machines_get_disjoint_ranges(bbtree, tmp_path):
    import guests
    other = guests.make_busybox_tree(str(tmp_path / "other"))
    with Machine("-q", "-D", bbtree, "-M", "u1", "-U", "/bin/sleep", "30") as a, \
            Machine("-q", "-D", other, "-M", "u2", "-U", "/bin/sleep", "30") as b:
        time.sleep(0.5)
        ma, mb = uid_map(a.leader), uid_map(b.leader)
        assert ma[1] != mb[1]
        assert ma[1] + ma[2] <= mb[1] or mb[1] + mb[2] <= ma[1]


def test_fixed_range_and_its_conflict(bbtree, tmp_path):
    import guests
    other = guests.make_busybox_tree(str(tmp_path / "other"))
    with Machine("-q", "-D", bbtree, "-M", "f1", "--private-users=1048576", "/bin/sleep", "30") as a:
        time.sleep(0.5)
        assert uid_map(a.leader)[:3] == [0, 1048576, 65536]
        r = spawn("-q", "-D", other, "-M", "f2", "--private-users=1048576:65536", "/bin/true")
        assert r.returncode == 1 and "UID range 1048576 is used by another machine" in r.stderr


def test_userns_is_a_boundary(bbtree):
    r = spawn("-q", "-D", bbtree, "-U", "/bin/sh", "-c",
              "mknod /tmp/sda b 8 0 2>/dev/null && echo MKNOD; "
              "echo x > /sys/kernel/uevent_helper 2>/dev/null && echo SYS; "
              "mount -t proc proc /mnt 2>/dev/null && (echo c > /mnt/sysrq-trigger) 2>/dev/null && echo SYSRQ; "
              "echo ok")
    assert r.stdout.split() == ["ok"], r.stdout + r.stderr


def test_bad_private_users_values(bbtree):
    for v, msg in [("12345", "multiple of"), ("65536:100", "multiple of"), ("bogus", "Invalid --private-users=")]:
        r = spawn("-q", "-D", bbtree, f"--private-users={v}", "/bin/true")
        assert r.returncode == 1 and msg in r.stderr, r.stderr
    r = spawn("-q", "-D", bbtree, "-U", "--private-users-ownership=bogus", "/bin/true")
    assert r.returncode == 1 and "Invalid --private-users-ownership=" in r.stderr
    r = spawn("-q", "-D", bbtree, "-U", "-x", "--private-users-ownership=chown", "/bin/true")
    assert r.returncode == 1 and "changes a directory tree in place" in r.stderr


def test_ownership_chown_then_auto_and_yes(bbtree):
    """chown moves the tree into the machine's range once (setuid bits kept); later runs see it as
    theirs without idmapping, and --private-users=yes takes the base from the tree's owner."""
    import struct
    suid = os.path.join(bbtree, "bin/suid")
    with open(suid, "w") as f:
        f.write("#!/bin/sh\n")
    os.chmod(suid, 0o4755)
    os.link(os.path.join(bbtree, "etc/passwd"), os.path.join(bbtree, "etc/passwd-link"))
    capfile = os.path.join(bbtree, "bin/pinger")
    with open(capfile, "w") as f:
        f.write("x")
    cap = struct.pack("<IIIII", 0x02000001, 1 << 13, 0, 0, 0)  # cap_net_raw+ep, VFS_CAP_REVISION_2
    os.setxattr(capfile, "security.capability", cap)
    script = "ls -ln /etc/passwd /bin/suid /home | grep -E 'passwd|suid|alice' | awk '{print $1, $3, $4}'"
    r = spawn("-q", "-D", bbtree, "-U", "--private-users-ownership=chown", "/bin/sh", "-c", script)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:3] == ["-rwsr-xr-x 0 0", "-rw-r--r-- 0 0", "drwxr-xr-x 1000 1000"], r.stdout
    st = os.stat(bbtree)
    base = st.st_uid
    assert base >= 0x80000 and base % 0x10000 == 0 and st.st_gid == base
    assert os.stat(os.path.join(bbtree, "home/alice")).st_uid == base + 1000
    assert os.stat(suid).st_mode & 0o4000 and os.stat(suid).st_uid == base
    # a hard link is moved once (not twice, into nobody); file capabilities survive the chown
    assert os.stat(os.path.join(bbtree, "etc/passwd-link")).st_uid == base
    assert os.getxattr(capfile, "security.capability") == cap and os.stat(capfile).st_uid == base
    for args in (["-U"], ["--private-users=yes"]):
        r = spawn("-q", "-D", bbtree, *args, "/bin/sh", "-c", script)
        assert r.stdout.splitlines()[:3] == lines[:3], (args, r)
        assert host_map("-D", bbtree, *args)[1] == base
    assert os.stat(bbtree).st_uid == base  # nothing chowned again
    # map insists on on-disk IDs: the chowned tree then shows as nobody's
    r = spawn("-q", "-D", bbtree, "-U", "--private-users-ownership=map", "/bin/sh", "-c", "ls -ln /etc/passwd")
    assert r.stdout.split()[2:4] == ["65534", "65534"], r.stdout


def test_ownership_off_and_yes_on_a_root_owned_tree(bbtree):
    r = spawn("-q", "-D", bbtree, "-U", "--private-users-ownership=off", "/bin/sh", "-c", "ls -ln /etc/passwd")
    assert r.returncode == 0 and r.stdout.split()[2:4] == ["65534", "65534"], r.stdout + r.stderr
    assert os.stat(bbtree).st_uid == 0
    # yes on a root-owned tree: base 0, the identity map
    assert host_map("-D", bbtree, "--private-users=yes") == [0, 0, 65536]


def test_user_namespace_from_settings_files(bbtree):
    """PrivateUsers=, PrivateUsersOwnership=, SystemCallFilter= and AmbientCapability= are honoured
    from /run/systemd/nspawn only (nspawn's trust rule); beside the tree they are ignored."""
    name = os.path.basename(bbtree)
    text = ("[Exec]\nPrivateUsers=pick\nSystemCallFilter=~uname\nAmbientCapability=CAP_NET_BIND_SERVICE\n"
            "[Files]\nPrivateUsersOwnership=off\n")
    beside = os.path.join(os.path.dirname(bbtree), name + ".nspawn")
    with open(beside, "w") as f:
        f.write(text)
    script = ("cat /proc/self/uid_map; ls -ln /etc/passwd | awk '{print $3}'; [ -n \"$(uname -s)\" ] || echo no-uname;"
              " grep CapBnd /proc/self/status")
    r = spawn("-q", "-D", bbtree, "/bin/sh", "-c", script)
    assert r.stdout.split()[:4] == ["0", "0", "4294967295", "0"] and "no-uname" not in r.stdout, r.stdout + r.stderr
    for key in ("PrivateUsers", "SystemCallFilter", "AmbientCapability", "PrivateUsersOwnership"):
        assert f"{key}= is ignored" in r.stderr, r.stderr
    os.unlink(beside)
    os.makedirs("/run/systemd/nspawn", exist_ok=True)
    trusted = f"/run/systemd/nspawn/{name}.nspawn"
    with open(trusted, "w") as f:
        f.write(text)
    try:
        r = spawn("-q", "-D", bbtree, "/bin/sh", "-c", script)
        out = r.stdout.split()
        assert out[0] == "0" and int(out[1]) >= 0x80000 and out[2:4] == ["65536", "65534"], r.stdout + r.stderr
        assert "no-uname" in out  # SystemCallFilter=~uname
        assert int(out[-1], 16) & (1 << 10)  # CAP_NET_BIND_SERVICE stays in the bounding set
        # the command line wins
        r = spawn("-q", "-D", bbtree, "--private-users=no", "/bin/cat", "/proc/self/uid_map")
        assert r.stdout.split() == ["0", "0", "4294967295"], r.stdout
    finally:
        os.unlink(trusted)


def test_debian_boots_with_userns(debian):
    with Machine("-D", debian, "-M", "deb-u", "-U", "-b", "--console=passive") as m:
        assert m.wait_running(60) in ("running", "degraded")
        assert uid_map(m.leader)[1] >= 0x80000
        assert m.stop(signal.SIGTERM, timeout=60) == 0


@pytest.mark.parametrize("layer", [["-x"], ["--volatile=overlay"], ["--volatile=state"]])
def test_userns_on_an_overlay(bbtree, layer):
    # The overlay's lower layer is idmapped (an overlay itself cannot be).
    r = spawn("-q", "-D", bbtree, "-U", *layer, "/bin/sh", "-c",
              "id -u; stat -c '%u %g' / /etc/passwd; (echo x >> /etc/passwd) 2>/dev/null && echo wrote; "
              "mkdir -p /var/new && stat -c %u /var/new")
    out = r.stdout.split()
    assert out[:5] == ["0", "0", "0", "0", "0"], r.stdout + r.stderr
    assert out[-1] == "0"
    with open(os.path.join(bbtree, "etc/passwd")) as f:
        assert not f.read().endswith("x\n")  # the tree is never written


def test_identity_userns_with_ephemeral(bbtree):
    r = spawn("-q", "-D", bbtree, "--private-users=identity", "-x", "/bin/sh", "-c", "id -u")
    assert r.returncode == 0 and r.stdout.strip() == "0", r.stderr


def test_debian_ephemeral_with_userns(debian):
    with Machine("-D", debian, "-M", "deb-ux", "-U", "-x", "-b", "--console=passive") as m:
        assert m.wait_running(60) in ("running", "degraded")
        assert m.stop(signal.SIGTERM, timeout=60) == 0


def test_bind_idmap_and_device_nodes(bbtree, tmp_path):
    """--bind=SRC:DST:idmap shows the host's owners as the machine's; a device node bound in is a
    node of the machine's own, openable by its root; the host's nodes are untouched."""
    src = tmp_path / "shared"
    src.mkdir()
    (src / "f").write_text("x")
    before = os.stat("/dev/fuse")
    r = spawn("-q", "-D", bbtree, "-U", f"--bind={src}:/plain", f"--bind={src}:/mapped:idmap", "--bind=/dev/fuse",
              "/bin/sh", "-c", "ls -ln /plain/f /mapped/f | awk '{print $3}'; cat /dev/fuse 2>&1; true")
    out = r.stdout.split("\n")
    assert out[:2] == ["0", "65534"], r.stdout + r.stderr  # ls sorts: /mapped/f, then /plain/f
    assert "Operation not permitted" in r.stdout  # opened: a real fuse device with nothing mounted
    after = os.stat("/dev/fuse")
    assert (after.st_uid, after.st_gid, after.st_mode) == (before.st_uid, before.st_gid, before.st_mode)


def test_userns_with_a_disk_image(bbtree, tmp_path):
    img = str(tmp_path / "bb.ext4")
    subprocess.run(["truncate", "-s", "64M", img], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-d", bbtree, img], check=True)
    r = spawn("-q", "-U", "-i", img, "/bin/sh", "-c", "cat /proc/self/uid_map; ls -ln /etc/passwd; touch /new")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert int(lines[0].split()[1]) >= 0x80000  # a shifted range
    assert lines[1].split()[2:4] == ["0", "0"]  # the image's ownership, through an idmapped mount
    out = subprocess.run(["debugfs", "-R", "stat /new", img], capture_output=True, text=True).stdout
    assert "User:     0" in out, out  # written as the image's root, not as the shifted UID


RANGE_X = 0x30000000  # a range of -U's (0x80000-0x6fff0000) that the machines' names do not hash to here


def test_pick_keeps_the_range_a_tree_is_owned_in(bbtree, tmp_path):
    """-U (pick, auto), as nspawn: a tree chowned into a range before keeps it while it is free; when
    another machine has it, the machine gets another range and sees the tree idmapped from its own."""
    r = spawn("-q", "-D", bbtree, f"--private-users={RANGE_X}", "--private-users-ownership=chown", "/bin/true")
    assert r.returncode == 0 and os.stat(bbtree).st_uid == RANGE_X, r.stderr
    script = "ls -ln /etc/passwd /home | grep -E 'passwd|alice' | awk '{print $3, $4}'; touch /new"
    r = spawn("-q", "-D", bbtree, "-U", "/bin/sh", "-c", script)
    assert r.returncode == 0 and r.stdout.splitlines() == ["0 0", "1000 1000"], r.stdout + r.stderr
    assert host_map("-D", bbtree, "-U")[1] == RANGE_X
    assert os.stat(os.path.join(bbtree, "new")).st_uid == RANGE_X
    os.unlink(os.path.join(bbtree, "new"))
    # the range taken by another machine
    from guests import make_busybox_tree
    other = make_busybox_tree(str(tmp_path / "other"))
    with Machine("-q", "-D", other, f"--private-users={RANGE_X}", "/bin/sleep", "100000"):
        r = spawn("-D", bbtree, "-U", "/bin/sh", "-c", script)
        assert r.returncode == 0 and r.stdout.splitlines() == ["0 0", "1000 1000"], r.stdout + r.stderr
        assert f"UIDs {RANGE_X}-{RANGE_X + 0xffff}, in which {bbtree} is owned, are used by another machine" in r.stderr
        # what the machine writes lands in the tree's own range, not the machine's
        assert os.stat(os.path.join(bbtree, "new")).st_uid == RANGE_X
        assert os.stat(bbtree).st_uid == RANGE_X  # nothing chowned
        assert host_map("-D", bbtree, "-U")[1] != RANGE_X


IDMAPPED_BIND = r"""
import ctypes, os, struct, subprocess, sys
libc = ctypes.CDLL(None, use_errno=True)
def check(r):
    if r < 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return r
src, dst = sys.argv[1].encode(), sys.argv[2].encode()
holder = subprocess.Popen(["unshare", "-U", "sleep", "60"])
for _ in range(1000):  # until it is in its namespace
    if os.stat(f"/proc/{holder.pid}/ns/user").st_ino != os.stat("/proc/self/ns/user").st_ino:
        break
    __import__("time").sleep(0.005)
for m in ("uid_map", "gid_map"):
    with open(f"/proc/{holder.pid}/{m}", "w") as f:
        f.write("0 0 2147483648\n")
userns = os.open(f"/proc/{holder.pid}/ns/user", os.O_RDONLY)
tree = check(libc.syscall(428, -100, src, 1 | 0o2000000 | 0x8000))  # open_tree(OPEN_TREE_CLONE, AT_RECURSIVE)
attr = struct.pack("QQQQ", 0x00100000, 0, 0, userns)  # MOUNT_ATTR_IDMAP
check(libc.syscall(442, tree, b"", 0x1000 | 0x8000, attr, len(attr)))  # mount_setattr
check(libc.syscall(429, tree, b"", -100, dst, 0x4))  # move_mount(MOVE_MOUNT_F_EMPTY_PATH)
holder.kill()
"""


def test_auto_chowns_where_the_root_cannot_be_idmapped(bbtree, tmp_path):
    """auto falls back to chown (nspawn's "map where available, chown where not") for a root whose
    mount refuses idmapping: here a mount that is idmapped already (identity-mapped: an idmapped
    mount cannot be idmapped again)."""
    target = str(tmp_path / "mapped")
    os.mkdir(target)
    subprocess.run(["/usr/bin/python3", "-c", IDMAPPED_BIND, bbtree, target], check=True)
    try:
        script = "ls -ln /etc/passwd | awk '{print $3, $4}'"
        r = spawn("-D", target, "-U", "/bin/sh", "-c", script)
        assert r.returncode == 0 and r.stdout == "0 0\n", r.stdout + r.stderr
        assert f"{target} cannot be idmapped; moving its ownership to UIDs" in r.stderr, r.stderr
        base = os.stat(bbtree).st_uid
        assert base >= 0x80000 and base % 0x10000 == 0 and os.stat(os.path.join(bbtree, "etc/passwd")).st_uid == base
        # the next start finds the tree in its range: nothing to map, nothing to chown
        r = spawn("-D", target, "-U", "/bin/sh", "-c", script)
        assert r.returncode == 0 and r.stdout == "0 0\n" and "cannot be idmapped" not in r.stderr, r.stderr
        # map, asked for, still fails with the reason
        r = spawn("-q", "-D", target, "-U", "--private-users-ownership=map", "/bin/true")
        assert r.returncode == 1 and "Failed to make an idmapped mount of" in r.stderr, r.stderr
    finally:
        subprocess.run(["umount", target], check=True)

# SPDX-License-Identifier: LGPL-2.1-or-later
"""nspawn 252's integration, file and image options (issue 10): each with nspawn's meaning, checked
from inside the machine and from the host, its .nspawn key, and its bad input."""
import os
import platform
import re
import shutil
import subprocess
import time

import pytest

from conftest import SPAWN, spawn

TRUSTED_SETTINGS = "/run/systemd/nspawn"


def sh(tree, script, *args):
    return spawn("-q", "-D", tree, *args, "/bin/sh", "-c", script)


@pytest.fixture
def trusted_settings():
    """Writes NAME.nspawn into /run/systemd/nspawn (a trusted directory); removed afterwards."""
    made_dir = not os.path.isdir(TRUSTED_SETTINGS)
    written = []

    def write(name, text):
        os.makedirs(TRUSTED_SETTINGS, exist_ok=True)
        path = os.path.join(TRUSTED_SETTINGS, name + ".nspawn")
        with open(path, "w") as f:
            f.write(text)
        written.append(path)

    yield write
    for p in written:
        os.unlink(p)
    if made_dir:
        os.rmdir(TRUSTED_SETTINGS)


# --personality


@pytest.mark.skipif(platform.machine() != "x86_64", reason="x86 personalities need an x86-64 host")
def test_personality(bbtree):
    assert sh(bbtree, "uname -m").stdout.strip() == "x86_64"
    r = sh(bbtree, "uname -m", "--personality=x86")
    assert r.stdout.strip() == "i686", r.stderr
    assert sh(bbtree, "uname -m", "--personality=x86-64").stdout.strip() == "x86_64"
    # Personality= is not privileged: it works from the file beside the tree
    with open(bbtree + ".nspawn", "w") as f:
        f.write("[Exec]\nPersonality=x86\n")
    try:
        assert sh(bbtree, "uname -m").stdout.strip() == "i686"
        assert sh(bbtree, "uname -m", "--personality=x86-64").stdout.strip() == "x86_64"  # the command line wins
    finally:
        os.unlink(bbtree + ".nspawn")
    r = spawn("-q", "-D", bbtree, "--personality=arm64", "/bin/true")
    assert r.returncode == 1
    assert "Unknown or unsupported personality 'arm64': use x86 or x86-64 (on an x86-64 host)." in r.stderr


# --suppress-sync


def test_suppress_sync(probetree):
    def probe(call, *args):
        r = spawn("-q", "-D", probetree, *args, "/bin/probe", "try", call)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    # Without it the calls are real: a bad fd is refused, O_SYNC opens work.
    assert probe("fsync_badfd") == "EBADF"
    assert probe("open_osync") == "OK"
    # With it the sync family does nothing (and so "succeeds" even on a bad fd); O_SYNC/O_DSYNC are refused.
    for call in ("fsync_badfd", "fdatasync_badfd", "syncfs_badfd"):
        assert probe(call, "--suppress-sync=yes") == "OK", call
    assert probe("open_osync", "--suppress-sync=yes") == "EINVAL"
    assert probe("open_odsync", "--suppress-sync=yes") == "EINVAL"
    assert probe("fsync_badfd", "--suppress-sync=no") == "EBADF"
    # SuppressSync= beside the tree
    with open(probetree + ".nspawn", "w") as f:
        f.write("[Exec]\nSuppressSync=yes\n")
    try:
        assert probe("fsync_badfd") == "OK"
    finally:
        os.unlink(probetree + ".nspawn")
    r = spawn("-q", "-D", probetree, "--suppress-sync=sometimes", "/bin/true")
    assert r.returncode == 1 and "Invalid --suppress-sync= value 'sometimes': use yes or no." in r.stderr


# --inaccessible


def test_inaccessible(bbtree):
    with open(os.path.join(bbtree, "etc/secret"), "w") as f:
        f.write("top secret\n")
    os.makedirs(os.path.join(bbtree, "srv/private"))
    with open(os.path.join(bbtree, "srv/private/key"), "w") as f:
        f.write("key\n")
    masks = ["--inaccessible=/etc/secret", "--inaccessible=/srv/private"]
    r = sh(bbtree, "cat /etc/secret | wc -c; ls -A /srv/private | wc -l; stat -c '%a %F' /etc/secret /srv/private",
           *masks)
    out = r.stdout.split("\n")
    assert out[0] == "0" and out[1] == "0", r.stdout + r.stderr  # nothing of the content, even for root
    assert out[2] == "0 regular empty file" and out[3] == "0 directory", r.stdout
    # and for a user of the machine, neither readable nor listable
    r = sh(bbtree, "cat /etc/secret; ls /srv/private; id -u", "-u", "alice", *masks)
    assert "cat: can't open '/etc/secret': Permission denied" in r.stderr, r.stderr
    assert "ls: can't open '/srv/private': Permission denied" in r.stderr, r.stderr
    assert r.stdout.strip() == "1000"
    # the host's files are untouched
    assert open(os.path.join(bbtree, "etc/secret")).read() == "top secret\n"
    assert os.listdir(os.path.join(bbtree, "srv/private")) == ["key"]


def test_inaccessible_bad_input_and_trust(bbtree, trusted_settings):
    r = spawn("-q", "-D", bbtree, "--inaccessible=/no/such/path", "/bin/true")
    assert r.returncode == 1
    assert ("--inaccessible=/no/such/path: cannot mask it: No such file or directory (it must exist in the machine)."
            in r.stderr)
    for bad in ("etc/passwd", "/", "/etc/../root", ""):
        r = spawn("-q", "-D", bbtree, f"--inaccessible={bad}", "/bin/true")
        assert r.returncode == 1
        assert f"Invalid --inaccessible= path '{bad}': use an absolute, normalized path other than /." in r.stderr
    # Inaccessible= is privileged: ignored beside the tree, honoured from /run/systemd/nspawn
    with open(bbtree + ".nspawn", "w") as f:
        f.write("[Files]\nInaccessible=/etc/passwd\n")
    try:
        r = sh(bbtree, "wc -c < /etc/passwd")
        assert int(r.stdout) > 0
        assert "Inaccessible= is ignored in a settings file that is not in /etc/systemd/nspawn" in r.stderr
    finally:
        os.unlink(bbtree + ".nspawn")
    trusted_settings("bb", "[Files]\nInaccessible=/etc/passwd\n")
    r = sh(bbtree, "wc -c < /etc/passwd")
    assert r.stdout.strip() == "0", r.stdout + r.stderr


# --timezone


def host_zone():
    link = os.readlink("/etc/localtime") if os.path.islink("/etc/localtime") else None
    return link.split("zoneinfo/", 1)[1] if link and "zoneinfo/" in link else None


def test_timezone_modes(bbtree):
    host = open("/etc/localtime", "rb").read()
    localtime = os.path.join(bbtree, "etc/localtime")
    # copy: the host's file, as a file of the tree
    r = sh(bbtree, "cat /etc/localtime | wc -c; stat -c %F /etc/localtime", "--timezone=copy")
    assert r.stdout.split("\n")[:2] == [str(len(host)), "regular file"], r.stdout + r.stderr
    assert open(localtime, "rb").read() == host
    # delete
    assert sh(bbtree, "test -e /etc/localtime || echo gone", "--timezone=delete").stdout.strip() == "gone"
    assert not os.path.lexists(localtime)
    # off: left alone
    with open(localtime, "w") as f:
        f.write("mine")
    assert sh(bbtree, "cat /etc/localtime", "--timezone=off").stdout == "mine"
    # bind: the host's file over the tree's, which stays as it was
    r = sh(bbtree, "cat /etc/localtime | wc -c; grep -c ' /etc/localtime ' /proc/self/mountinfo", "--timezone=bind")
    assert r.stdout.split() == [str(len(host)), "1"], r.stdout + r.stderr
    assert open(localtime).read() == "mine"
    # symlink: only where the tree has the host's zone
    zone = host_zone()
    if zone:
        os.unlink(localtime)
        assert sh(bbtree, "test -e /etc/localtime || echo none", "--timezone=symlink").stdout.strip() == "none"
        zfile = os.path.join(bbtree, "usr/share/zoneinfo", zone)
        os.makedirs(os.path.dirname(zfile))
        shutil.copy("/etc/localtime", zfile)
        r = sh(bbtree, "readlink /etc/localtime", "--timezone=symlink")
        assert r.stdout.strip() == "../usr/share/zoneinfo/" + zone, r.stdout + r.stderr
        # auto: the host's is a symlink, so is the machine's
        os.unlink(localtime)
        assert sh(bbtree, "readlink /etc/localtime").stdout.strip() == "../usr/share/zoneinfo/" + zone
    r = spawn("-q", "-D", bbtree, "--timezone=utc", "/bin/true")
    assert r.returncode == 1
    assert "Invalid --timezone= mode 'utc': use off, copy, bind, symlink, delete or auto." in r.stderr


def test_timezone_setting_and_read_only(bbtree):
    with open(bbtree + ".nspawn", "w") as f:
        f.write("[Exec]\nTimezone=copy\n")
    try:
        sh(bbtree, "true")
        assert open(os.path.join(bbtree, "etc/localtime"), "rb").read() == open("/etc/localtime", "rb").read()
    finally:
        os.unlink(bbtree + ".nspawn")
    # auto on a read-only root binds (the tree has a file to bind over)
    with open(os.path.join(bbtree, "etc/localtime"), "w") as f:
        f.write("old")
    r = sh(bbtree, "cat /etc/localtime | wc -c", "--read-only")
    assert r.stdout.strip() == str(len(open("/etc/localtime", "rb").read())), r.stdout + r.stderr
    assert open(os.path.join(bbtree, "etc/localtime")).read() == "old"


# --pivot-root


def make_alt_root(tree):
    alt = os.path.join(tree, "deploy/a")
    os.makedirs(alt)
    for d in ("bin", "etc", "sbin"):
        shutil.copytree(os.path.join(tree, d), os.path.join(alt, d), symlinks=True)
    for d in ("proc", "sys", "dev", "run", "tmp"):
        os.makedirs(os.path.join(alt, d))
    with open(os.path.join(alt, "etc/which"), "w") as f:
        f.write("deployment a\n")
    return alt


def test_pivot_root(bbtree):
    alt = make_alt_root(bbtree)
    r = sh(bbtree, "cat /etc/which; ls /deploy 2>&1 | head -1", "--pivot-root=/deploy/a")
    assert r.stdout.split("\n")[0] == "deployment a", r.stdout + r.stderr
    assert "No such file or directory" in r.stdout  # the old root is gone
    r = sh(bbtree, "cat /etc/which; cat /sysroot/deploy/a/etc/which; test -e /sysroot/etc/which || echo old-root",
           "--pivot-root=/deploy/a:/sysroot")
    assert r.stdout.split("\n")[:3] == ["deployment a", "deployment a", "old-root"], r.stdout + r.stderr
    assert os.path.isdir(os.path.join(alt, "sysroot"))  # made in the new root, as nspawn
    # PivotRoot= beside the tree; -b finds the init of the new root
    with open(bbtree + ".nspawn", "w") as f:
        f.write("[Exec]\nPivotRoot=/deploy/a\n")
    try:
        assert sh(bbtree, "cat /etc/which").stdout.strip() == "deployment a"
    finally:
        os.unlink(bbtree + ".nspawn")


def test_pivot_root_bad_input(bbtree):
    r = spawn("-q", "-D", bbtree, "--pivot-root=/nope", "/bin/true")
    assert r.returncode == 1
    assert f"--pivot-root=/nope: not a directory in {bbtree}: No such file or directory" in r.stderr
    r = spawn("-q", "-D", bbtree, "--pivot-root=/etc/passwd", "/bin/true")
    assert r.returncode == 1 and f"--pivot-root=/etc/passwd: not a directory in {bbtree}: Not a directory" in r.stderr
    os.makedirs(os.path.join(bbtree, "empty"))
    r = spawn("-q", "-D", bbtree, "--pivot-root=/empty", "/bin/true")
    assert r.returncode == 1 and "doesn't look like an OS tree" in r.stderr
    # a symlink in the image cannot lead the new root out of it
    os.symlink("/", os.path.join(bbtree, "escape"))
    r = spawn("-q", "-D", bbtree, "--pivot-root=/escape", "/bin/cat", "/etc/os-release")
    assert r.returncode == 0 and "BusyBox test tree" in r.stdout, r.stdout + r.stderr
    for bad in ("deploy", "/a/../b", "/a:relative", "/a:/"):
        r = spawn("-q", "-D", bbtree, f"--pivot-root={bad}", "/bin/true")
        assert r.returncode == 1
        assert f"Invalid --pivot-root= value '{bad}': use PATH or PATH:OLDROOT, absolute and normalized." in r.stderr


# dm-verity, SELinux, --no-pager


def test_verity_needs_device_mapper(bbtree):
    has_dm = os.path.exists("/dev/mapper/control") or " device-mapper\n" in open("/proc/misc").read()
    h = "0123456789abcdef" * 4
    for args in ([f"--root-hash={h}"], [f"--root-hash={h}", "--root-hash-sig=base64:AAAA"]):
        r = spawn("-q", "-D", bbtree, *args, "/bin/true")
        assert r.returncode == 1
        if has_dm:
            assert "dm-verity checked images are not supported by berth-spawn yet" in r.stderr
        else:
            assert ("--root-hash=, --root-hash-sig= and --verity-data= need dm-verity, but this kernel has no "
                    "device-mapper (no /dev/mapper/control, no device-mapper in /proc/misc).") in r.stderr
    r = spawn("-q", "-D", bbtree, "--root-hash=xyz", "/bin/true")
    assert r.returncode == 1 and "Invalid --root-hash= 'xyz': use at least 128 bits in hexadecimal." in r.stderr
    r = spawn("-q", "-D", bbtree, "--verity-data=/no/such.verity", "/bin/true")
    assert r.returncode == 1 and "Verity data /no/such.verity: No such file or directory" in r.stderr


@pytest.mark.skipif(os.path.exists("/sys/fs/selinux/enforce"), reason="this host has SELinux")
def test_selinux_needs_selinux(bbtree):
    for opt in ("--selinux-context=system_u:system_r:container_t:s0", "-Zsystem_u:system_r:container_t:s0",
                "--selinux-apifs-context=system_u:object_r:container_file_t:s0"):
        r = spawn("-q", "-D", bbtree, opt, "/bin/true")
        assert r.returncode == 1
        assert ("--selinux-context= and --selinux-apifs-context= need SELinux, which is not enabled on this host "
                "(no /sys/fs/selinux).") in r.stderr


def test_no_pager(bbtree):
    r = spawn("-q", "-D", bbtree, "--no-pager", "/bin/echo", "ok")
    assert r.returncode == 0 and r.stdout == "ok\n", r.stderr


# --help against stock systemd-nspawn 252

# Options of stock nspawn that berth-spawn does not offer yet, each with the reason.
NOT_YET = {}
# berth-spawn's own options that nspawn 252 lacks, each with the reason.
BERTH_ONLY = {
    "--shutdown-timeout": "how long a poweroff may take before the machine is killed (nspawn has no knob)",
    "--lxcfs": "lxcfs's /proc and /sys files for the machine's own view of its limits (issue 12; nspawn has none)",
    "--unified-cgroup-hierarchy": "the cgroup view per guest; nspawn has only $SYSTEMD_NSPAWN_UNIFIED_HIERARCHY, "
                                  "which berth reads too",
    "--network-setup": "whether berth or systemd-networkd addresses -n's and zones' links (nspawn always leaves "
                       "them to networkd)",
}


def help_options(program):
    import re
    out = subprocess.run([program, "--help"], capture_output=True, text=True, timeout=10).stdout
    found = set()
    for line in out.splitlines():
        m = re.match(r"\s+(-[a-zA-Z]\b)?\s*(--[a-z0-9-]+)?", line)
        if m:
            found |= {g for g in m.groups() if g}
    return found


def test_help_covers_stock_nspawn():
    from conftest import SPAWN
    if not shutil.which("systemd-nspawn"):
        pytest.skip("no stock systemd-nspawn")
    stock, ours = help_options("systemd-nspawn"), help_options(SPAWN)
    # the scrape must find the options, or the comparison checks nothing
    assert len(stock) >= 80 and {"--directory", "-D", "--bind-ro", "--link-journal", "-j"} <= stock, stock
    assert {"--directory", "-D", "--inaccessible"} <= ours, ours
    missing = stock - ours - set(NOT_YET)
    assert not missing, f"options of systemd-nspawn --help missing from berth-spawn --help: {sorted(missing)}"
    extra = ours - stock - set(BERTH_ONLY)
    assert not extra, f"berth-spawn options nspawn lacks, not listed in BERTH_ONLY: {sorted(extra)}"
    stale = sorted(set(NOT_YET) & ours)
    if stale:
        import warnings
        warnings.warn(f"listed as not done yet, but berth-spawn has them now (remove from NOT_YET): {stale}")


def test_help_options_are_accepted(bbtree):
    """Every option --help shows is one the parser knows (no 'unrecognized option')."""
    from conftest import SPAWN
    for opt in sorted(help_options(SPAWN)):
        if opt in ("-h", "--help", "--version"):
            continue
        r = spawn(opt + ("" if len(opt) == 2 else "="), "--version")
        assert "unrecognized option" not in r.stderr and "invalid option" not in r.stderr, (opt, r.stderr)


# --link-journal (Debian with systemd: journald writes /var/log/journal/MACHINE-ID)

JOURNAL_UUID = "0e3f6a2b9c4d4e5fa1b2c3d4e5f6a7b8"


@pytest.fixture
def host_journal():
    """The host's /var/log/journal (made if missing, then removed); our machine's directory goes."""
    made = not os.path.isdir("/var/log/journal")
    os.makedirs("/var/log/journal", exist_ok=True)
    mine = os.path.join("/var/log/journal", JOURNAL_UUID)
    yield mine
    if os.path.islink(mine):
        os.unlink(mine)
    shutil.rmtree(mine, ignore_errors=True)
    if made:
        shutil.rmtree("/var/log/journal", ignore_errors=True)


def log_inside_and_find(bus, m, marker):
    r = m.exec("systemd-cat", "-t", "berth-test", "echo", marker)
    assert r.returncode == 0, r.stderr
    m.exec("journalctl", "--flush")
    import daemon
    return lambda *args: daemon.wait_for(lambda: marker in subprocess.run(
        ["journalctl", "--no-pager", "-o", "cat", "-t", "berth-test", *args], capture_output=True, text=True,
        env=bus.env, timeout=30).stdout, timeout=15, step=0.3)


@pytest.mark.parametrize("mode", ["host", "guest"])
def test_link_journal(bus, berthd, debian, host_journal, mode):
    from conftest import Machine
    name = f"journal-{mode}"
    with Machine("-q", "-D", debian, "-M", name, "-b", "--console=passive", f"--uuid={JOURNAL_UUID}",
                 f"--link-journal={mode}", env=bus.env) as m:
        assert m.wait_running(60) in ("running", "degraded")
        found = log_inside_and_find(bus, m, f"hello from {mode}")
        if mode == "host":
            assert os.path.isdir(host_journal) and not os.path.islink(host_journal)
            assert any(f.endswith(".journal") for f in os.listdir(host_journal))  # the files are the host's
        else:
            assert os.readlink(host_journal) == os.path.join(debian, "var/log/journal", JOURNAL_UUID)
        assert found("--directory", host_journal), "journalctl --directory"
        assert found("-m"), "journalctl -m"
        assert found("-M", name), "journalctl -M"
        assert m.stop() == 0
    if mode == "guest":  # the link stays, as nspawn's: the next boot with the default (auto) uses it
        assert os.path.islink(host_journal)


def test_link_journal_bad_input(bbtree, host_journal):
    r = spawn("-q", "-D", bbtree, "--link-journal=yes", "/bin/true")
    assert r.returncode == 1
    assert "Invalid --link-journal= mode 'yes': use no, auto, host, try-host, guest or try-guest." in r.stderr
    r = spawn("-q", "-D", bbtree, "-x", "--link-journal=guest", "/bin/true")
    assert r.returncode == 1 and "--link-journal=guest and --ephemeral may not be combined" in r.stderr
    # a directory on the host where guest mode wants its link
    os.makedirs(host_journal)
    r = spawn("-q", "-D", bbtree, f"--uuid={JOURNAL_UUID}", "--link-journal=guest", "/bin/true")
    assert r.returncode == 1
    assert f"{host_journal} exists on the host as a directory: the journal is stored there" in r.stderr
    # auto binds it in, -j (try-guest) too
    for args in ([], ["-j"]):
        r = spawn("-q", "-D", bbtree, f"--uuid={JOURNAL_UUID}", *args, "/bin/sh", "-c",
                  f"grep -c ' /var/log/journal/{JOURNAL_UUID} ' /proc/self/mountinfo")
        assert r.stdout.strip() == "1", (args, r.stdout, r.stderr)
    # a tree without a machine ID gets a new one at each boot: try-guest and try-host link nothing
    # (a persistent machine started by berthctl would leave a link per boot), guest still does
    before = set(os.listdir("/var/log/journal"))
    for mode in ("try-guest", "try-host"):
        r = spawn("-q", "-D", bbtree, f"--link-journal={mode}", "/bin/true")
        assert r.returncode == 0, r.stderr
    assert set(os.listdir("/var/log/journal")) == before
    r = spawn("-q", "-D", bbtree, "--link-journal=guest", "/bin/true")
    assert r.returncode == 0, r.stderr
    made = set(os.listdir("/var/log/journal")) - before
    assert len(made) == 1, made
    os.unlink(os.path.join("/var/log/journal", made.pop()))
    # a read-only tree without /var/log/journal: auto links nothing and the machine runs
    shutil.rmtree(os.path.join(bbtree, "var/log/journal"))
    r = spawn("-q", "-D", bbtree, f"--uuid={JOURNAL_UUID}", "--read-only", "/bin/sh", "-c",
              f"test -e /var/log/journal/{JOURNAL_UUID} || echo unlinked")
    assert r.returncode == 0 and r.stdout.strip() == "unlinked", r.stderr


# --overlay, --overlay-ro


@pytest.fixture
def layers(tmp_path):
    low, up = tmp_path / "low", tmp_path / "up"
    low.mkdir()
    up.mkdir()
    (low / "a").write_text("lower a\n")
    (low / "b").write_text("lower b\n")
    return low, up


def listing(d):
    return sorted(os.listdir(d))


USERNS_BASE = 0x70000000


@pytest.mark.parametrize("userns", [[], [f"--private-users={USERNS_BASE}:65536"]], ids=["U0", "U1"])
def test_overlay_writes_go_to_the_upper_layer(bbtree, layers, userns):
    low, up = layers
    if userns:
        # The layers are the host's, as with --bind: files keep their host owners, so the machine's root
        # owns what is owned by its UID 0 on the host (as with nspawn).
        for p in (low, low / "a", low / "b", up):
            os.chown(p, USERNS_BASE, USERNS_BASE)
        r = sh(bbtree, "touch /data/x 2>&1; stat -c %u /data/a", f"--overlay={low}:{up}:/data",
               "--private-users=pick")
        assert "Permission denied" in r.stdout and r.stdout.split()[-1] == "65534", r.stdout + r.stderr
    r = sh(bbtree, "cat /data/a; echo new > /data/c; echo changed > /data/a; rm /data/b; ls /data | tr '\\n' ' '",
           f"--overlay={low}:{up}:/data", *userns)
    assert r.stdout.split("\n")[:2] == ["lower a", "a c "], r.stdout + r.stderr
    if userns:
        assert os.stat(up / "c").st_uid == USERNS_BASE
    # from the host: the lower layer is untouched, the upper holds the writes (and b's whiteout)
    assert listing(low) == ["a", "b"] and (low / "a").read_text() == "lower a\n"
    assert (up / "a").read_text() == "changed\n" and (up / "c").read_text() == "new\n"
    assert os.path.exists(up / "b") and os.stat(up / "b").st_rdev == 0  # overlayfs's whiteout
    # the work directory next to the upper one is gone
    assert listing(up.parent) == ["low", "up"]


def test_overlay_ro_and_two_paths(bbtree, layers):
    low, up = layers
    (up / "a").write_text("upper a\n")
    r = sh(bbtree, "cat /data/a /data/b; touch /data/x 2>&1", f"--overlay-ro={low}:{up}:/data")
    assert r.stdout.split("\n")[:3] == ["upper a", "lower b", "touch: /data/x: Read-only file system"], r.stdout
    # two paths: the second is the upper layer on the host and the destination in the machine
    dest = str(up)
    r = sh(bbtree, f"cat {dest}/a {dest}/b; echo w > {dest}/w", f"--overlay={low}:{dest}")
    assert r.stdout.split("\n")[:2] == ["upper a", "lower b"], r.stdout + r.stderr
    assert (up / "w").read_text() == "w\n" and not (low / "w").exists()


def test_overlay_temporary_upper_over_image_dir(bbtree):
    before = listing("/var/tmp")
    r = sh(bbtree, "echo hi > /etc/scratch && cat /etc/scratch && cat /etc/os-release | head -1",
           "--overlay=+/etc::/etc")
    assert r.stdout.split("\n")[:2] == ["hi", "ID=busybox"], r.stdout + r.stderr
    assert not os.path.exists(os.path.join(bbtree, "etc/scratch"))  # the image is not written
    assert listing("/var/tmp") == before  # the temporary upper layer is gone


def test_overlay_bad_input_and_trust(bbtree, layers, trusted_settings):
    low, up = layers
    for bad in ("/only", f"{low}:{up}:relative", f"{low}:{up}:/", f"{low}:+relative:/x", f"{low}:/x/../y"):
        r = spawn("-q", "-D", bbtree, f"--overlay={bad}", "/bin/true")
        assert r.returncode == 1
        assert f"Invalid --overlay= '{bad}': use [+]PATH:[+]PATH[:...]:DEST" in r.stderr, (bad, r.stderr)
    r = spawn("-q", "-D", bbtree, f"--overlay-ro={low}::/x", "/bin/true")
    assert r.returncode == 1 and "Invalid --overlay-ro=" in r.stderr  # no temporary layer for a read-only one
    r = spawn("-q", "-D", bbtree, f"--overlay={low}/missing:{up}:/x", "/bin/true")
    assert r.returncode == 1 and f"Overlay source {low}/missing: No such file or directory" in r.stderr
    r = spawn("-q", "-D", bbtree, f"--overlay={low}:+/etc:/x", "/bin/true")
    assert r.returncode == 1 and "The upper layer of --overlay=/x must be a host directory" in r.stderr
    assert listing(up.parent) == ["low", "up"]  # no work directory left behind
    # Overlay= is privileged: ignored beside the tree, honoured from /run/systemd/nspawn
    with open(bbtree + ".nspawn", "w") as f:
        f.write(f"[Files]\nOverlay={low}:{up}:/data\n")
    try:
        r = sh(bbtree, "cat /data/a 2>&1")
        assert "No such file" in r.stdout and "Overlay= is ignored" in r.stderr, r.stdout + r.stderr
    finally:
        os.unlink(bbtree + ".nspawn")
    trusted_settings("bb", f"[Files]\nOverlayReadOnly={low}:{up}:/data\n")
    assert sh(bbtree, "cat /data/a").stdout == "lower a\n"


# --set-credential, --load-credential


def test_credentials_for_pid1_only(bbtree, tmp_path):
    secret = tmp_path / "pw"
    secret.write_bytes(b"s3cret\x00bin\n")
    args = ["--set-credential=greeting:hello\\nworld\\x21", f"--load-credential=pw:{secret}"]
    r = sh(bbtree, "echo $CREDENTIALS_DIRECTORY; cat $CREDENTIALS_DIRECTORY/greeting; echo;"
           " stat -c '%a %U %n' $CREDENTIALS_DIRECTORY $CREDENTIALS_DIRECTORY/*; od -c $CREDENTIALS_DIRECTORY/pw | head -1;"
           " touch $CREDENTIALS_DIRECTORY/x 2>&1", *args)
    out = r.stdout.split("\n")
    assert out[:3] == ["/run/host/credentials", "hello", "world!"], r.stdout + r.stderr
    assert out[3:6] == ["500 root /run/host/credentials", "400 root /run/host/credentials/greeting",
                        "400 root /run/host/credentials/pw"], r.stdout
    assert "s   3   c   r   e   t  \\0   b   i   n  \\n" in out[6], out[6]
    assert "Read-only file system" in out[7], out
    # a user of the machine can neither list nor read them
    r = sh(bbtree, "ls /run/host/credentials; cat /run/host/credentials/pw", "-u", "alice", *args)
    assert "ls: can't open '/run/host/credentials': Permission denied" in r.stderr, r.stderr
    assert "cat: can't open '/run/host/credentials/pw': Permission denied" in r.stderr
    assert "s3cret" not in r.stdout
    # without credentials there is no such directory or variable
    r = sh(bbtree, "echo x${CREDENTIALS_DIRECTORY}x; test -e /run/host/credentials || echo none")
    assert r.stdout.split() == ["xx", "none"]


def test_credentials_bad_input(bbtree, tmp_path):
    for spec, msg in [("nocolon", "Invalid --set-credential= 'nocolon'"), ("../x:v", "Invalid --set-credential= '../x:v'"),
                      (":v", "Invalid --set-credential= ':v'"), ("a/b:v", "Invalid --set-credential= 'a/b:v'"),
                      ("a:bad\\q", "Invalid --set-credential= 'a:bad\\q'"), ("x" * 300 + ":v", "Invalid --set-credential=")]:
        r = spawn("-q", "-D", bbtree, f"--set-credential={spec}", "/bin/true")
        assert r.returncode == 1 and msg in r.stderr, (spec, r.stderr)
    r = spawn("-q", "-D", bbtree, "--set-credential=a:1", "--load-credential=a:/etc/hostname", "/bin/true")
    assert r.returncode == 1 and "Duplicate credential 'a', refusing." in r.stderr
    r = spawn("-q", "-D", bbtree, "--load-credential=a:/no/such/file", "/bin/true")
    assert r.returncode == 1 and "Failed to read credential 'a' from /no/such/file: No such file or directory" in r.stderr
    big = tmp_path / "big"
    big.write_bytes(b"x" * (1024 * 1024 + 1))
    r = spawn("-q", "-D", bbtree, f"--load-credential=big:{big}", "/bin/true")
    assert r.returncode == 1 and f"Credential 'big' ({big}) is larger than 1048576 bytes." in r.stderr
    half = tmp_path / "half"
    half.write_bytes(b"x" * (600 * 1024))
    r = spawn("-q", "-D", bbtree, f"--load-credential=a:{half}", f"--load-credential=b:{half}", "/bin/true")
    assert r.returncode == 1 and "The credentials together are larger than 1048576 bytes." in r.stderr


def test_credentials_reach_systemd(debian):
    """The guest's systemd 252 takes them as its system credentials ($CREDENTIALS_DIRECTORY of PID 1)."""
    from conftest import Machine
    with Machine("-q", "-D", debian, "-M", "creds", "-b", "--console=passive", "--register=no",
                 "--set-credential=berth.test:from the host") as m:
        assert m.wait_running(60) in ("running", "degraded")
        r = m.exec("systemd-creds", "--system", "cat", "berth.test")
        assert r.stdout.strip() == "from the host", r.stdout + r.stderr
        r = m.exec("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "cat",
                   "/run/host/credentials/berth.test")
        assert r.returncode != 0 and "Permission denied" in r.stderr, r.stdout + r.stderr
        assert m.stop() == 0



# --template


def tree_state(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            out[os.path.relpath(p, root)] = (st.st_mode, st.st_uid, st.st_size, st.st_mtime_ns)
    return out


def test_template(bbtree, tmp_path):
    before = tree_state(bbtree)
    new = tmp_path / "machines" / "copy"
    new.parent.mkdir()
    r = spawn("-q", "-D", str(new), f"--template={bbtree}", "/bin/sh", "-c",
              "cat /etc/os-release | head -1; echo persisted > /root/note; hostname")
    assert r.stdout.split() == ["ID=busybox", "copy"], r.stdout + r.stderr
    assert tree_state(bbtree) == before  # the template is untouched
    assert (new / "root/note").read_text() == "persisted\n"  # the copy persists
    assert os.stat(new / "home/alice").st_uid == 1000  # owners kept
    # an existing tree is used as it is
    r = spawn("-q", "-D", str(new), f"--template={bbtree}", "/bin/cat", "/root/note")
    assert r.stdout == "persisted\n", r.stderr
    assert listing(new.parent) == ["copy"]  # nothing half-made beside it


def test_template_bad_input(bbtree, tmp_path):
    new = str(tmp_path / "new")
    not_tree = tmp_path / "empty"
    not_tree.mkdir()
    cases = [
        ([f"--template={bbtree}/etc/passwd"], f"Template {bbtree}/etc/passwd is not a directory."),
        ([f"--template={tmp_path}/missing"], f"Template {tmp_path}/missing: No such file or directory"),
        ([f"--template={not_tree}"], f"Template {not_tree} doesn't look like an OS tree"),
        ([f"--template={bbtree}", "-x"], "--template= may not be combined with --image= or --ephemeral."),
    ]
    for args, msg in cases:
        r = spawn("-q", "-D", new, *args, "/bin/true")
        assert r.returncode == 1 and msg in r.stderr, (args, r.stderr)
        assert listing(tmp_path) == sorted(["empty"]), listing(tmp_path)  # nothing made
    r = spawn("-q", "-D", f"{bbtree}/sub", f"--template={bbtree}", "/bin/true")
    assert r.returncode == 1 and f"--directory={bbtree}/sub is inside its template {bbtree}." in r.stderr
    r = spawn("-q", "--template=", "/bin/true")
    assert r.returncode == 1 and "--template= needs a path." in r.stderr


# --oci-bundle


def oci_config(**over):
    cfg = {
        "ociVersion": "1.0.2",
        "root": {"path": "rootfs"},
        "hostname": "ocihost",
        "process": {"args": ["/bin/sh", "-c", "echo $GREETING; pwd; hostname; cat /data/file; "
                                            "grep ' /scratch ' /proc/self/mountinfo | cut -d- -f2 | cut -d' ' -f2"],
                    "env": ["PATH=/bin:/sbin", "GREETING=hello oci"], "cwd": "/tmp"},
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
            {"destination": "/data", "type": "bind", "source": "data", "options": ["rbind", "ro"]},
            {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "size=1m"]},
        ],
    }
    cfg.update(over)
    return cfg


@pytest.fixture
def bundle(tmp_path):
    import guests
    b = tmp_path / "ocib"
    b.mkdir()
    guests.make_busybox_tree(str(b / "rootfs"))
    (b / "data").mkdir()
    (b / "data/file").write_text("from the bundle\n")
    return b


def write_config(bundle, cfg):
    import json
    (bundle / "config.json").write_text(cfg if isinstance(cfg, str) else json.dumps(cfg))


def test_oci_bundle(bundle):
    write_config(bundle, oci_config())
    r = spawn("-q", f"--oci-bundle={bundle}")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:5] == ["hello oci", "/tmp", "ocihost", "from the bundle", "tmpfs"], r.stdout
    # the bind is read-only, as its options say; the command line wins over the bundle
    r = spawn("-q", f"--oci-bundle={bundle}", "--hostname=cli", "-E", "GREETING=cli", "/bin/sh", "-c",
              "echo $GREETING; hostname; touch /data/x 2>&1")
    assert r.stdout.split("\n")[:3] == ["cli", "cli", "touch: /data/x: Read-only file system"], r.stdout + r.stderr
    assert sorted(os.listdir(bundle / "data")) == ["file"]


HOSTILE = [
    ({"root": {"path": "/"}}, 'root.path "/" must be a relative path inside the bundle'),
    ({"root": {"path": "../../.."}}, 'root.path "../../.." must be a relative path inside the bundle'),
    ({"root": {"path": "rootfs/../.."}}, 'root.path "rootfs/../.." must be a relative path inside the bundle'),
    ({"mounts": [{"destination": "/host", "type": "bind", "source": "/", "options": ["rbind"]}]},
     'mount source "/" must be a relative path inside the bundle'),
    ({"mounts": [{"destination": "/host", "type": "bind", "source": "../../etc"}]},
     'mount source "../../etc" must be a relative path inside the bundle'),
    ({"mounts": [{"destination": "../../etc", "type": "bind", "source": "data"}]},
     'mount destination "../../etc" must be an absolute, normalized path other than /'),
    ({"mounts": [{"destination": "/a/../../etc", "type": "tmpfs"}]},
     'mount destination "/a/../../etc" must be an absolute, normalized path other than /'),
    ({"mounts": [{"destination": "/", "type": "tmpfs"}]}, 'mount destination "/" must be an absolute'),
    ({"mounts": [{"destination": "/proc/sys", "type": "bind", "source": "data"}]},
     "refusing to bind over /proc/sys, one of the machine's API file systems"),
    ({"mounts": [{"destination": "/x", "type": "nfs", "source": "server:/"}]},
     'mounts of type "nfs" (at /x) are not supported (bind and tmpfs are)'),
    ({"hostname": "x" * 70000}, '"hostname" is longer than 65536 bytes'),
    ({"hostname": "bad host"}, '"hostname" is not a valid hostname'),
    ({"process": {"args": ["/bin/true"] * 2000}}, '"args" has more than 1024 entries'),
    ({"process": {"args": "/bin/true"}}, '"args" must be an array'),
    ({"process": {"args": ["/bin/true", 1]}}, '"args" must hold strings'),
    ({"process": {"args": ["/bin/true"], "env": ["NOEQUALS"]}}, '"NOEQUALS" is not a valid environment assignment'),
    ({"process": {"args": ["/bin/true"], "cwd": "relative"}}, 'process.cwd "relative" must be an absolute'),
    ({"process": {"args": ["/bin/true"], "user": {"uid": 1000, "gid": 1000}}}, "process.user.uid 1000 is not supported"),
    ({"ociVersion": "2.0"}, 'ociVersion "2.0" is not supported (1.x is)'),
    ({"root": "rootfs"}, '"root" must be an object'),
]


@pytest.mark.parametrize("over,msg", HOSTILE, ids=[m[:40] for _, m in HOSTILE])
def test_oci_bundle_hostile_config(bundle, over, msg):
    write_config(bundle, oci_config(**over))
    r = spawn("-q", f"--oci-bundle={bundle}")
    assert r.returncode == 1
    assert msg in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_oci_bundle_bad_files(bundle, tmp_path):
    for text, msg in [("{", "Failed to parse"), ("[1, 2]", "not a JSON object"), ('{"a": 1} trailing', "Failed to parse"),
                      ("[" * 100 + "]" * 100, "Failed to parse"), ('{"ociVersion": "1.0"}', '"root": {"path": ...} is missing')]:
        write_config(bundle, text)
        r = spawn("-q", f"--oci-bundle={bundle}")
        assert r.returncode == 1 and msg in r.stderr, (text[:20], r.stderr)
    (bundle / "config.json").write_bytes(b" " * (1024 * 1024 + 1))
    r = spawn("-q", f"--oci-bundle={bundle}")
    assert r.returncode == 1 and f"OCI bundle {bundle}: config.json is larger than 1048576 bytes." in r.stderr
    os.unlink(bundle / "config.json")
    os.symlink("/etc/passwd", bundle / "config.json")
    r = spawn("-q", f"--oci-bundle={bundle}")
    assert r.returncode == 1 and f"OCI bundle {bundle}: config.json: Too many levels of symbolic links" in r.stderr
    r = spawn("-q", f"--oci-bundle={tmp_path}/nope")
    assert r.returncode == 1 and f"OCI bundle {tmp_path}/nope: No such file or directory" in r.stderr
    os.unlink(bundle / "config.json")
    write_config(bundle, oci_config())
    r = spawn("-q", f"--oci-bundle={bundle}", "-D", str(bundle / "rootfs"))
    assert r.returncode == 1 and "--oci-bundle= may not be combined with --directory= or --image=." in r.stderr


# --bind-user (a host user with a home that exists on every Debian host: man, /var/cache/man). The
# records are nss-systemd's: checked as JSON in a busybox tree, and through the guest's own NSS in the
# Debian tree with libnss-systemd bound in.


def host_user():
    import pwd
    try:
        pw = pwd.getpwnam("man")
    except KeyError:
        pytest.skip("no user 'man' on this host")
    if not os.path.isdir(pw.pw_dir):
        pytest.skip("the home of 'man' is missing")
    return pw


def test_bind_user(bbtree):
    import json
    pw = host_user()
    r = sh(bbtree, "cat /proc/self/uid_map /proc/self/gid_map | tr -s ' ' | sed 's/^ //';"
           " stat -c '%u %g' /run/host/home/man; ls /run/host/home/man | head -1; cat /run/host/userdb/man.user;"
           " echo; cat /run/host/userdb/60514.group", "-U", "--bind-user=man")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    # the host user's UID and GID are mapped to 60514, the rest of the range around it
    assert lines[1] == f"60514 {pw.pw_uid} 1" and lines[4] == f"60514 {pw.pw_gid} 1", r.stdout
    assert lines[0].split()[::2] == ["0", "60514"] and lines[2].split()[::2] == ["60515", "5021"], r.stdout
    # its home, as the host has it, owned by the mapped user
    assert lines[6] == "60514 60514" and lines[7] == sorted(os.listdir(pw.pw_dir))[0], r.stdout
    user, group = json.loads(lines[8]), json.loads(lines[9])
    assert user == {"userName": "man", "uid": 60514, "gid": 60514, "realName": pw.pw_gecos,
                    "homeDirectory": "/run/host/home/man", "shell": pw.pw_shell, "disposition": "regular"}, user
    assert group["gid"] == 60514 and group["disposition"] == "regular"


NSS_SYSTEMD = "/usr/lib/x86_64-linux-gnu/libnss_systemd.so.2"


@pytest.fixture
def nss_systemd_args(debian_cached, tmp_path):
    """Options that make the cached bookworm tree a guest with libnss-systemd (the host's: the same
    systemd 252, and self-contained) and "systemd" in nsswitch.conf, bound in read-only over an
    ephemeral copy, so the cache is not written."""
    if not os.path.exists(NSS_SYSTEMD):
        pytest.skip("libnss-systemd is not installed on this host")
    with open(os.path.join(debian_cached, "etc/nsswitch.conf")) as f:
        conf = f.read()
    nsswitch = tmp_path / "nsswitch.conf"
    nsswitch.write_text(conf.replace("passwd:         files", "passwd:         files systemd")
                            .replace("group:          files", "group:          files systemd"))
    return ["-D", debian_cached, "-x", f"--bind-ro={NSS_SYSTEMD}", f"--bind-ro={nsswitch}:/etc/nsswitch.conf"]


def test_bind_user_seen_by_the_guest(nss_systemd_args):
    """The guest's own NSS (nss-systemd, reading /run/host/userdb as nspawn's guests do) knows the
    bound user and group, and its home is theirs. docker-registry: a host user (from a package the
    suite installs) with a home directory, whom the Debian tree does not have."""
    import grp
    import pwd
    try:
        pw = pwd.getpwnam("docker-registry")
    except KeyError:
        pytest.skip("no user 'docker-registry' on this host")
    group = grp.getgrgid(pw.pw_gid).gr_name
    r = spawn("-q", *nss_systemd_args, "-U", "--bind-user=docker-registry", "/bin/sh", "-c",
              "getent passwd docker-registry; getent group 60514; id docker-registry;"
              " stat -c '%U %G' /run/host/home/docker-registry")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        f"docker-registry:x:60514:60514:{pw.pw_gecos}:/run/host/home/docker-registry:{pw.pw_shell}",
        f"{group}:x:60514:",
        f"uid=60514(docker-registry) gid=60514({group}) groups=60514({group})",
        f"docker-registry {group}"], r.stdout


def test_bind_user_collision(nss_systemd_args):
    """As nspawn: a user the machine has already (Debian's own 'man') is refused, not shadowed."""
    host_user()
    r = spawn("-q", *nss_systemd_args, "-U", "--bind-user=man", "/bin/true")
    assert r.returncode == 1
    assert "--bind-user=man: the machine has a user 'man' with that name or UID 60514 already." in r.stderr, r.stderr


def test_bind_user_bad_input(bbtree, trusted_settings):
    for args, msg in [(["--bind-user=man"], "--bind-user= needs a user namespace of the machine's own"),
                      (["-U", "--bind-user=no-such-user-here"], "--bind-user=no-such-user-here: no such user on the host."),
                      (["-U", "--bind-user=root"], "--bind-user=root: refusing to bind root (UID or GID 0) into a machine."),
                      (["-U", "--bind-user=nobody"], "--bind-user=nobody: the user's home /nonexistent is not a directory"),
                      (["-U", "--bind-user=man", "--bind-user=man"], "--bind-user=man given twice."),
                      (["-U", "--bind-user=a:b"], "Invalid user name 'a:b' for --bind-user=."),
                      (["--private-users=identity", "--bind-user=man"], "--bind-user= needs a user namespace")]:
        r = spawn("-q", "-D", bbtree, *args, "/bin/true")
        assert r.returncode == 1 and msg in r.stderr, (args, r.stderr)
    # BindUser= is privileged
    with open(bbtree + ".nspawn", "w") as f:
        f.write("[Files]\nBindUser=man\n")
    try:
        r = sh(bbtree, "test -e /run/host/home/man || echo none", "-U")
        assert r.stdout.strip() == "none" and "BindUser= is ignored" in r.stderr, r.stdout + r.stderr
    finally:
        os.unlink(bbtree + ".nspawn")
    trusted_settings("bb", "[Files]\nBindUser=man\n")
    host_user()
    assert sh(bbtree, "stat -c %u /run/host/home/man", "-U").stdout.strip() == "60514"


def test_overlay_dirs_of_a_killed_launcher_are_collected(bbtree, layers):
    import glob
    low, up = layers
    args = ["-q", "-D", bbtree, "-M", "ovkill", "--overlay=+/etc::/etc", f"--overlay={low}:{up}:/data", "/bin/true"]
    r = spawn(*args, env=dict(os.environ, BERTH_DEBUG_KILL_AT="clone-child"))
    assert r.returncode == -9, r
    assert len(glob.glob("/var/tmp/berth-overlay-ovkill@??????")) == 1
    assert len(glob.glob(f"{up.parent}/.#berth-overlay-work-ovkill@??????")) == 1
    # the next launcher of the machine removes what the dead one left, and its own at the end
    r = spawn(*args)
    assert r.returncode == 0, r.stderr
    assert glob.glob("/var/tmp/berth-overlay-ovkill@*") == []
    assert listing(up.parent) == ["low", "up"]


def test_debug_log_shows_when_each_step_started(bbtree):
    """BERTH_LOG_LEVEL=debug: every parent and child step and each part of the teardown, in order,
    with the CLOCK_MONOTONIC time it started at (where a start's time goes)."""
    t0 = time.monotonic()
    r = spawn("-q", "-D", bbtree, "-M", "dbgsteps", "/bin/true", env=dict(os.environ, BERTH_LOG_LEVEL="debug"))
    t1 = time.monotonic()
    assert r.returncode == 0, r.stderr
    marks = re.findall(r"^(parent|child|teardown): ([\w-]+) \(at (\d+\.\d{6})\)$", r.stderr, re.M)
    names = [f"{role}:{name}" for role, name, _ in marks]
    steps = subprocess.run([SPAWN], env=dict(os.environ, BERTH_DEBUG_KILL_AT="help"), capture_output=True,
                           text=True).stdout.split()
    assert [n.split(":")[1] for n in names if n.startswith("parent:")] == steps, r.stderr
    assert "child:pivot-root" in names and names[-1] == "teardown:done", names
    parent = [float(t) for role, _, t in marks if role != "child"]
    assert parent == sorted(parent) and t0 <= parent[0] and parent[-1] <= t1, marks

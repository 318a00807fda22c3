# SPDX-License-Identifier: LGPL-2.1-or-later
"""Guest trees for the tests: a busybox tree made in milliseconds, and Debian trees (bookworm,
trixie and sid with systemd; bookworm with sysvinit, OpenRC and runit) made with debootstrap and
cached outside the checkout. `python3 guests.py [KEY...]` builds them (in parallel) ahead of a run."""

import os
import shutil
import subprocess
import tempfile

CACHE = os.environ.get("BERTH_GUEST_CACHE", "/var/cache/berth/guests")
DEBS = "/var/cache/berth/debs"
MIRROR = os.environ.get("BERTH_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# Bump when the recipe changes, so old caches are not reused.
RECIPE = "v2"

BUSYBOX_APPLETS = ["sh", "cat", "echo", "ls", "ps", "mount", "umount", "hostname", "id", "sleep",
                   "true", "false", "env", "pwd", "cut", "grep", "poweroff", "reboot", "halt", "init",
                   "mkdir", "mknod", "dd", "touch", "rm", "readlink", "head", "tail", "wc", "kill",
                   "stat", "chroot", "sed", "test", "[", "uname", "date", "ip", "ifconfig", "getty",
                   "login", "setsid", "nsenter", "unshare", "chmod", "ln", "cp", "dmesg", "sysctl",
                   "find", "xargs", "tr", "sort", "uniq", "awk", "seq"]

DEFAULT_INITTAB = """::sysinit:/bin/echo booted
::respawn:/bin/sleep 100000
::shutdown:/bin/echo shutting-down
"""


def make_busybox_tree(path, inittab=DEFAULT_INITTAB, os_release=True):
    """A tree whose every binary is busybox; /sbin/init is busybox init."""
    for d in ["bin", "sbin", "etc", "proc", "sys", "dev", "run", "tmp", "root", "var", "usr/bin", "usr/lib"]:
        os.makedirs(os.path.join(path, d), exist_ok=True)
    shutil.copy2("/bin/busybox", os.path.join(path, "bin/busybox"))
    for a in BUSYBOX_APPLETS:
        link = os.path.join(path, "bin", a)
        if not os.path.lexists(link):
            os.symlink("busybox", link)
    os.symlink("../bin/busybox", os.path.join(path, "sbin/init"))
    files = {
        "etc/inittab": inittab,
        "etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
                      "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n",
        "etc/group": "root:x:0:\ntty:x:5:\nwheel:x:10:alice\nnogroup:x:65534:\nalice:x:1000:\n",
        "etc/machine-id": "",
    }
    if os_release:
        files["etc/os-release"] = 'ID=busybox\nNAME="BusyBox test tree"\n'
    for name, content in files.items():
        with open(os.path.join(path, name), "w") as f:
            f.write(content)
    os.makedirs(os.path.join(path, "home/alice"), exist_ok=True)
    os.chown(os.path.join(path, "home/alice"), 1000, 1000)
    return path


class TreeUnavailable(Exception):
    """The archive could not provide this tree (a suite without the package, a failed download)."""


def _debootstrap(name, include, post, suite="bookworm"):
    final = os.path.join(CACHE, f"{name}-{RECIPE}")
    if os.path.exists(os.path.join(final, "etc/os-release")):
        return final
    os.makedirs(CACHE, exist_ok=True)
    os.makedirs(DEBS, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{name}-", dir=CACHE)
    try:
        # debootstrap mounts /proc and /sys inside the tree: in a private mount namespace of its own,
        # so nothing reaches the host's mount table (other tests run beside it).
        r = subprocess.run(["unshare", "-m", "--propagation", "private",
                            "debootstrap", "--variant=minbase", f"--cache-dir={DEBS}", f"--include={include}",
                            suite, tmp, MIRROR], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise TreeUnavailable(f"debootstrap {suite} --include={include} failed: {r.stdout.strip()[-600:]}")
        post(tmp)
        os.chmod(tmp, 0o755)  # mkdtemp made it 0700: nobody but root could walk the guest's /
        if os.path.exists(final):
            shutil.rmtree(final)
        os.rename(tmp, final)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def _prepare_debian(root):
    # The machine name is the hostname; a login prompt accepts root without a password.
    for f in ["etc/hostname"]:
        p = os.path.join(root, f)
        if os.path.exists(p):
            os.unlink(p)
    with open(os.path.join(root, "etc/machine-id"), "w"):
        pass
    subprocess.run(["chroot", root, "passwd", "-d", "root"], check=True, stdout=subprocess.DEVNULL)
    # A container has no use for these, and they slow boot down or fail without hardware.
    for unit in ["systemd-timesyncd.service", "apt-daily.timer", "apt-daily-upgrade.timer",
                 "e2scrub_all.timer", "fstrim.timer"]:
        for d in ["etc/systemd/system/timers.target.wants", "etc/systemd/system/sysinit.target.wants",
                  "etc/systemd/system/multi-user.target.wants"]:
            p = os.path.join(root, d, unit)
            if os.path.lexists(p):
                os.unlink(p)


def _prepare_runit(root):
    _prepare_debian(root)
    # A container has no tty1..tty6: getty-run's services would respawn forever. The console is
    # /dev/console, and login goes through berthctl login/machinectl login (a getty on a pty).
    sv = os.path.join(root, "etc/runit/runsvdir/default")
    for name in os.listdir(sv) if os.path.isdir(sv) else []:
        if name.startswith("getty-tty"):
            os.unlink(os.path.join(sv, name))


def _prepare_openrc(root):
    # debootstrap takes sysv-rc for sysvinit-core's "sysv-rc | file-rc | openrc" (and --exclude does
    # not stop it): OpenRC replaces it with apt, in a mount namespace of its own for the tree's /proc.
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                        'mount -t proc proc "$1/proc" && DEBIAN_FRONTEND=noninteractive chroot "$1" '
                        'apt-get install -y -q --no-install-recommends openrc', "sh", root],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise TreeUnavailable(f"apt-get install openrc failed: {r.stdout.strip()[-600:]}")
    subprocess.run(["chroot", root, "apt-get", "clean"], check=True)
    _prepare_debian(root)


_SYSTEMD = "systemd,systemd-sysv,dbus,login,passwd,iproute2,procps"


class Guest:
    """One tree of the guest matrix: how it is made, and what proves it is the tree asked for."""

    def __init__(self, key, name, suite, include, init_package, codename, post=_prepare_debian, min_systemd=None):
        self.key, self.name, self.suite, self.include = key, name, suite, include
        self.init_package, self.codename, self.post, self.min_systemd = init_package, codename, post, min_systemd

    def build(self):
        return _debootstrap(self.name, self.include, self.post, self.suite)


# The guest matrix (issue 10). bookworm's sysvinit/OpenRC/runit trees share the bookworm debs.
GUESTS = {g.key: g for g in [
    Guest("bookworm", "debian-bookworm-systemd", "bookworm", _SYSTEMD, "systemd-sysv", "bookworm", min_systemd=252),
    Guest("trixie", "debian-trixie-systemd", "trixie", _SYSTEMD, "systemd-sysv", "trixie", min_systemd=257),
    Guest("sid", "debian-sid-systemd", "sid", _SYSTEMD, "systemd-sysv", "sid", min_systemd=258),
    Guest("sysvinit", "debian-bookworm-sysvinit", "bookworm", "sysvinit-core,login,passwd,procps", "sysvinit-core",
          "bookworm"),
    # sysvinit's init runs OpenRC.
    Guest("openrc", "debian-bookworm-openrc", "bookworm", "sysvinit-core,login,passwd,procps", "openrc",
          "bookworm", post=_prepare_openrc),
    Guest("runit", "debian-bookworm-runit", "bookworm", "runit-init,login,passwd,procps", "runit-init", "bookworm",
          post=_prepare_runit),
]}


def installed_packages(root):
    """Package -> version of what dpkg says is installed in the tree."""
    out, pkg, version = {}, None, None
    with open(os.path.join(root, "var/lib/dpkg/status")) as f:
        for line in f.read().split("\n") + [""]:
            if line.startswith("Package: "):
                pkg = line.split(": ", 1)[1]
            elif line.startswith("Version: "):
                version = line.split(": ", 1)[1]
            elif line == "Status: install ok installed" and pkg:
                out[pkg] = version
            elif line == "":
                pkg = version = None
    return out


def systemd_version_of_tree(root):
    """The N of libsystemd-shared-N.so in the tree (what nspawn and berth-spawn look at), or None."""
    for d in ["usr/lib/systemd", "usr/lib/x86_64-linux-gnu/systemd", "usr/lib64/systemd"]:
        try:
            names = os.listdir(os.path.join(root, d))
        except FileNotFoundError:
            continue
        for n in names:
            if n.startswith("libsystemd-shared-") and n.endswith(".so"):
                return int(n[len("libsystemd-shared-"):-3].split(".")[0].split("-")[0])
    return None


def tree_identity_problems(guest, root):
    """Why the tree at root is not the one guest names (empty when it is): the suite from
    os-release/debian_version, the init package, and systemd's version for systemd guests."""
    problems = []
    with open(os.path.join(root, "etc/os-release")) as f:
        osrel = dict(line.split("=", 1) for line in f.read().splitlines() if "=" in line)
    codename = osrel.get("VERSION_CODENAME", "").strip('"')
    with open(os.path.join(root, "etc/debian_version")) as f:
        debver = f.read().strip()
    if guest.codename == "sid":
        if not debver.endswith("/sid"):
            problems.append(f"/etc/debian_version is {debver!r}, not a sid tree")
    elif codename != guest.codename:
        problems.append(f"os-release says VERSION_CODENAME={codename!r}, not {guest.codename!r}")
    pkgs = installed_packages(root)
    if guest.init_package not in pkgs:
        problems.append(f"{guest.init_package} is not installed")
    if guest.min_systemd:
        v = systemd_version_of_tree(root)
        if v is None or v < guest.min_systemd:
            problems.append(f"systemd {v} in the tree, {guest.min_systemd} or later wanted")
    return problems


def build_trees(keys, workers=4):
    """Builds (or finds cached) the trees in parallel: key -> path, or key -> TreeUnavailable."""
    from concurrent.futures import ThreadPoolExecutor
    def one(key):
        try:
            return GUESTS[key].build()
        except TreeUnavailable as e:
            return e
    with ThreadPoolExecutor(max_workers=workers) as ex:
        return dict(zip(keys, ex.map(one, keys)))


def debian_systemd_tree():
    return GUESTS["bookworm"].build()


def debian_sysvinit_tree():
    return GUESTS["sysvinit"].build()


# A systemd host in a machine: systemd-machined (systemd-container) and dbus, plus the libraries the
# host's berth build links, so that berth-spawn bound in from the host runs inside it (not in the matrix).
def debian_machined_tree():
    return _debootstrap("debian-bookworm-machined", _SYSTEMD + ",systemd-container,libjson-c5,libmnl0,libseccomp2,"
                        "libcap2,libblkid1", _prepare_debian)


def copy_tree(src, dst):
    subprocess.run(["cp", "-a", "--reflink=auto", src + "/.", dst], check=True)
    return dst


if __name__ == "__main__":
    import sys
    wanted = sys.argv[1:] or list(GUESTS)
    failed = False
    for key, res in build_trees(wanted).items():
        if isinstance(res, TreeUnavailable):
            print(f"{key}: skipped, {res}")
            continue
        problems = tree_identity_problems(GUESTS[key], res)
        failed |= bool(problems)
        print(f"{key}: {res}" + (" WRONG TREE: " + "; ".join(problems) if problems else ""))
    sys.exit(1 if failed else 0)

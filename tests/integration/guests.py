# SPDX-License-Identifier: LGPL-2.1-or-later
"""Guest trees for the tests: a busybox tree made in milliseconds, and Debian bookworm trees
(systemd, sysvinit) made with debootstrap and cached outside the checkout."""

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


def _debootstrap(name, include, post):
    final = os.path.join(CACHE, f"{name}-{RECIPE}")
    if os.path.exists(os.path.join(final, "etc/os-release")):
        return final
    os.makedirs(CACHE, exist_ok=True)
    os.makedirs(DEBS, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{name}-", dir=CACHE)
    try:
        subprocess.run(["debootstrap", "--variant=minbase", f"--cache-dir={DEBS}", f"--include={include}",
                        "bookworm", tmp, MIRROR], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
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


def debian_systemd_tree():
    return _debootstrap("debian-bookworm-systemd",
                        "systemd,systemd-sysv,dbus,login,passwd,iproute2,procps", _prepare_debian)


def debian_sysvinit_tree():
    return _debootstrap("debian-bookworm-sysvinit", "sysvinit-core,login,passwd,procps", _prepare_debian)


def copy_tree(src, dst):
    subprocess.run(["cp", "-a", "--reflink=auto", src + "/.", dst], check=True)
    return dst

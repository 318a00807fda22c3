# SPDX-License-Identifier: LGPL-2.1-or-later
"""What a machine may leave behind on the host, snapshotted before and after each test."""

import glob
import os
import re
import subprocess
import time

STATE_DIRS = ["/run/berth", "/var/lib/berth/ephemeral", "/run/systemd/machines"]


def _mounts():
    with open("/proc/self/mountinfo") as f:
        return {" ".join(l.split()[3:5]) for l in f}


def _loops():
    out = set()
    for p in glob.glob("/sys/block/loop*/loop/backing_file"):
        with open(p) as f:
            out.add(p.split("/")[3] + " " + f.read().strip())
    return out


def _cgroups():
    out = set()
    for h in glob.glob("/sys/fs/cgroup/*") + ["/sys/fs/cgroup"]:
        if not os.path.isdir(h) or os.path.islink(h):
            continue
        # machine.slice, and any other slice a test put a machine in (--slice=)
        slices = [os.path.basename(s) for s in glob.glob(os.path.join(h, "*.slice"))]
        for top in sorted(set(["machine.slice", "payload", "supervisor"] + slices)):
            base = os.path.join(h, top)
            for dirpath, dirnames, _ in os.walk(base):
                out.add(dirpath)
    return out


def _links():
    r = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True)
    return {l.split(":")[1].strip().split("@")[0] for l in r.stdout.splitlines() if ":" in l}


def nft_elements(family):
    """The elements of the sets and maps in berth's table of one family: "SET: ELEMENT" each."""
    r = subprocess.run(["nft", "list", "table", family, "berth"], capture_output=True, text=True)
    text = " ".join(r.stdout.split())
    out = []
    for name, body in re.findall(r"(?:set|map) (\S+) \{([^}]*)\}", text):
        m = re.search(r"elements = \{ ?(.*)", body)
        if m:
            out += [f"{name}: {e.strip()}" for e in m.group(1).split(",")]
    return out


def _nft_tables():
    """What berth's nftables tables hold for machines (a machine's subnet, its published ports). The
    tables themselves stay once made: empty, they do nothing."""
    return {f"{family} berth {e}" for family in ("ip", "ip6") for e in nft_elements(family)}


def _dnsmasqs():
    """dnsmasq processes serving a machine (their lease file is under /run/berth)."""
    out = set()
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(d + "/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"dnsmasq") and any(a.startswith(b"--dhcp-leasefile=/run/berth/") for a in argv):
            out.add(d.split("/")[2] + " " + b" ".join(argv).decode(errors="replace").strip())
    return out


def _processes():
    zombies, guests = set(), set()
    for d in glob.glob("/proc/[0-9]*"):
        pid = d.split("/")[2]
        try:
            with open(d + "/stat") as f:
                stat = f.read()
            fields = stat.rsplit(")", 1)[1].split()
            # A zombie handed to PID 1 is for PID 1 to reap (this host's PID 1 does so lazily);
            # ours would hang below a launcher or below the test runner.
            if fields[0] == "Z" and fields[1] != "1":
                zombies.add(pid + " " + stat.split("(")[1].split(")")[0])
            with open(d + "/environ", "rb") as f:
                if b"container=berth\0" in f.read():
                    guests.add(pid)
        except OSError:
            continue
    return {"zombie " + z for z in zombies} | {"guest process " + g for g in guests}


# Kept on purpose: compiled seccomp filters (a cache keyed by the filter's inputs);
# berthd's registration sockets (one per bus address): a killed berthd's is refused and replaced by
# the next berthd's; the same for its Varlink sockets (io.systemd.Machine).
CACHES = ["/run/berth/seccomp", "/run/berth/registry", "/run/berth/machine"]
# Directories berth makes once and keeps (their contents are state and are checked): the first
# machine on a fresh host creates them, which is not a leak.
RUNTIME_DIRS = {"/run/berth/spawn", "/run/berth/uid", "/run/berth/network", "/run/berth/network/.lock",
                "/run/berth/network/.forward-checked"}  # the once-per-boot forward-policy check


def _state_files():
    out = set()
    for d in STATE_DIRS:
        for dirpath, dirnames, filenames in os.walk(d):
            if any(dirpath.startswith(c) for c in CACHES):
                continue
            for n in dirnames + filenames:
                p = os.path.join(dirpath, n)
                if p not in CACHES and p not in RUNTIME_DIRS:
                    out.add(p)
    return out


JOURNAL_DIR = "/var/log/journal"


def _journal_links():
    """--link-journal=guest/try-guest's host-side links into machines' trees (kept on purpose when the
    tree stays, as nspawn does; a test that removes the tree removes them with remove_journal_links())."""
    try:
        names = os.listdir(JOURNAL_DIR)
    except FileNotFoundError:
        return set()
    out = set()
    for n in names:
        p = os.path.join(JOURNAL_DIR, n)
        if os.path.islink(p):
            out.add(p + " -> " + os.readlink(p))
    return out


def remove_journal_links(tree):
    """Removes the host's journal links into tree (a machine's tree the test is removing)."""
    for link in _journal_links():
        path, target = link.split(" -> ", 1)
        if target.startswith(tree.rstrip("/") + "/"):
            os.unlink(path)


def _overlay_dirs():
    """--overlay='s temporary upper layers (below /var/tmp). Work directories beside a given upper one
    are checked by the overlay tests."""
    return set(glob.glob("/var/tmp/berth-overlay-*"))


LAYER_STORE = "/var/lib/machines/.#layers"


def _layer_store():
    """pull-oci's layer store: layers (a test removes those it pulled) and a pull's temporaries."""
    out = set()
    for d in (LAYER_STORE, os.path.join(LAYER_STORE, "sha256")):
        if os.path.isdir(d):
            out |= {os.path.join(d, n) for n in os.listdir(d) if n not in ("sha256", ".lock")}
    return out


def nspawn_cgroups():
    """The payload/ and supervisor/ cgroups stock systemd-nspawn --keep-unit leaves at the roots of
    the unified and name=systemd hierarchies on a host without systemd."""
    return {f"/sys/fs/cgroup/{h}/{d}" for h in ("unified", "systemd") for d in ("payload", "supervisor")
            if os.path.isdir(f"/sys/fs/cgroup/{h}/{d}")}


def remove_nspawn_cgroups(before):
    """Removes what stock nspawn left since before (not ours: see DESIGN.md)."""
    for d in nspawn_cgroups() - before:
        try:
            os.rmdir(d)
        except OSError:
            pass


def snapshot():
    return {
        "mounts": _mounts(),
        "loop devices": _loops(),
        "cgroups": _cgroups(),
        "network links": _links(),
        "nftables": _nft_tables() if os.path.exists("/usr/sbin/nft") else set(),
        "dnsmasq": _dnsmasqs(),
        "processes": _processes(),
        "state files": _state_files(),
        "overlay directories": _overlay_dirs(),
        "journal links": _journal_links(),
        "layer store": _layer_store(),
        "fds": {str(len(os.listdir("/proc/self/fd")))},
    }


def diff(before, after):
    lines = []
    for k in before:
        added = after[k] - before[k]
        if k == "fds":
            if added:
                lines.append(f"fds: {before[k]} -> {after[k]}")
            continue
        for a in sorted(added):
            lines.append(f"{k}: leaked {a}")
    return lines


# For developers sharing one machine between several test runs: a regular expression of leaks
# that belong to the other runs (never set in CI).
IGNORE = os.environ.get("BERTH_LEAKCHECK_IGNORE")


def check(before, settle=3.0):
    """Returns the leaks still there after settle seconds (empty list when clean)."""
    deadline = time.monotonic() + settle
    while True:
        d = diff(before, snapshot())
        if IGNORE:
            d = [x for x in d if not re.search(IGNORE, x)]
        if not d or time.monotonic() > deadline:
            return d
        time.sleep(0.1)

# SPDX-License-Identifier: LGPL-2.1-or-later
"""berthd answers GetMachineOSRelease and GetMachineAddresses itself, without forking into the
machine: the OS release read through the guest's root (and again when the guest changes it), the
addresses from netlink in the guest's network namespace; a hostile root gives no host data."""
import ipaddress
import json
import os
import shutil
import subprocess
import time

import pytest

import guests

from conftest import BUILD, Machine
from daemon import busctl, call, kill_and_reap, machines, register, wait_for


CTL = os.path.join(BUILD, "src", "ctl", "berthctl")


def _chrooted(root, setup=""):
    """A leader in its own mount namespace whose root is root (a busybox tree), after setup ran there."""
    script = setup.format(root=root) + f"exec chroot {root} /bin/sleep 100000"
    p = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                         stdin=subprocess.DEVNULL)
    assert wait_for(lambda: os.path.realpath(f"/proc/{p.pid}/root") == os.path.realpath(root))
    return p


def _os_release(bus, name):
    return call(bus, "GetMachineOSRelease", "s", name)[0]


def test_os_release_changes_inside_the_guest_are_seen(bus, berthd, bbtree):
    p = _chrooted(bbtree)
    path = os.path.join(bbtree, "etc/os-release")
    try:
        register(bus, "peek-os", p.pid)
        assert _os_release(bus, "peek-os") == {"ID": "busybox", "NAME": "BusyBox test tree"}
        with open(path, "w") as f:  # rewritten in place (same inode)
            f.write("ID=busybox\nVERSION_ID=2\n")
        assert _os_release(bus, "peek-os") == {"ID": "busybox", "VERSION_ID": "2"}
        with open(path + ".new", "w") as f:  # replaced, as a package upgrade does (a new inode)
            f.write("ID=other\nPRETTY_NAME='Other 3'\n")
        os.rename(path + ".new", path)
        assert _os_release(bus, "peek-os") == {"ID": "other", "PRETTY_NAME": "Other 3"}
        r = subprocess.run(["machinectl", "-M", ".host", "status", "peek-os"], env=bus.env,
                           capture_output=True, text=True, timeout=30)
        assert "OS: Other 3" in r.stdout, r.stdout + r.stderr
        os.unlink(path)  # the fallback, through a relative symlink resolved inside the guest
        with open(os.path.join(bbtree, "usr/lib/os-release"), "w") as f:
            f.write("ID=fallback\n")
        os.symlink("../usr/lib/os-release", path)
        assert _os_release(bus, "peek-os") == {"ID": "fallback"}
        with open(os.path.join(bbtree, "usr/lib/os-release"), "w") as f:  # the link's target, in place
            f.write("ID=fallback\nVERSION_ID=5\n")
        assert _os_release(bus, "peek-os") == {"ID": "fallback", "VERSION_ID": "5"}
        os.unlink(path)
        os.unlink(os.path.join(bbtree, "usr/lib/os-release"))
        r = call(bus, "GetMachineOSRelease", "s", "peek-os", check=False)
        assert "Machine does not contain OS release information" in r.stderr, r.stderr
    finally:
        kill_and_reap(p)
        wait_for(lambda: set(machines(bus)) == {".host"})


SETUP = {
    # the guest's own /proc, whose PID/root links lead to the host (the host's PIDs: no PID namespace)
    "magic": "mount -t proc proc {root}/proc; ",
    # a FUSE connection over /etc whose daemon never answers: a lookup there waits forever
    "fuse": "exec 3<>/dev/fuse; mount -i -t fuse -o fd=3,rootmode=40000,user_id=0,group_id=0 hang {root}/etc; ",
    "tmpfs": "mount -t tmpfs tmpfs {root}/etc; echo ID=mounted > {root}/etc/os-release; ",
}


def test_hostile_root_gives_no_host_data_and_does_not_stall(bus, berthd, tmp_path):
    def root(name, make):
        r = tmp_path / name
        for d in ("bin", "etc", "usr/lib", "proc"):
            (r / d).mkdir(parents=True)
        shutil.copy2("/bin/busybox", r / "bin/busybox")
        (r / "bin/sleep").symlink_to("busybox")
        make(r)
        return str(r)

    def guest_shadow(r):
        (r / "etc/os-release").symlink_to("/etc/shadow")
        (r / "etc/shadow").write_text("ID=guest-secret\n")
        os.chmod(r / "etc/shadow", 0o600)

    cases = {  # name: (how the root is made, the error berthd must answer with)
        "abs": (lambda r: (r / "etc/os-release").symlink_to("/etc/shadow"),
                "Machine does not contain OS release information"),
        "up": (lambda r: (r / "etc/os-release").symlink_to("../../../../../../../../etc/shadow"),
               "Machine does not contain OS release information"),
        "magic": (lambda r: (r / "etc/os-release").symlink_to(f"/proc/{os.getpid()}/root/etc/shadow"),
                  "Too many levels of symbolic links"),
        "shadow": (guest_shadow, "Access denied"),
        "fifo": (lambda r: os.mkfifo(r / "etc/os-release"), "File descriptor in bad state"),
        "fuse": (lambda r: None, "a FUSE file system is mounted in it"),
        "tmpfs": (lambda r: None, None),  # a mount point crossed, no FUSE: read as usual
    }
    leaders = {}
    try:
        for name, (make, _) in cases.items():
            leaders[name] = _chrooted(root(name, make), SETUP.get(name, ""))
            register(bus, f"peek-{name}", leaders[name].pid)
        fds = berthd.fds()
        for name, (_, message) in cases.items():
            t0 = time.monotonic()
            r = call(bus, "GetMachineOSRelease", "s", f"peek-{name}", check=False)
            assert time.monotonic() - t0 < 2, name
            if message is None:
                assert r == [{"ID": "mounted"}], (name, r)
                continue
            assert r.returncode == 1 and message in r.stderr, (name, r.stderr)
            assert "root:" not in r.stdout + r.stderr and "guest-secret" not in r.stdout + r.stderr
        assert berthd.fds() == fds and berthd.proc.poll() is None
        assert _os_release(bus, ".host")["ID"] == "debian"
    finally:
        for p in leaders.values():
            kill_and_reap(p)
        wait_for(lambda: set(machines(bus)) == {".host"})


def _guest_addresses(leader):
    out = subprocess.run(["nsenter", "-t", str(leader), "-n", "ip", "-j", "addr"], capture_output=True,
                         text=True, check=True).stdout
    return sorted(((4 if a["family"] == "inet" else 6), a["local"]) for link in json.loads(out)
                  if "LOOPBACK" not in link["flags"] for a in link["addr_info"])


def _berthd_addresses(bus, name):
    return sorted(((4 if fam == 2 else 6), str(ipaddress.ip_address(bytes(b))))
                  for fam, b in call(bus, "GetMachineAddresses", "s", name)[0])


@pytest.mark.skipif(not (shutil.which("dnsmasq") and shutil.which("nft")),
                    reason="dnsmasq-base and nftables are needed")
def test_addresses_of_network_veth_and_private_network(bus, berthd, bbtree, tmp_path):
    other = guests.make_busybox_tree(str(tmp_path / "bb"))  # a tree runs one machine at a time
    with Machine("-q", "-D", bbtree, "-M", "peek-veth", "-n", "/bin/sleep", "100000", env=bus.env) as veth, \
         Machine("-q", "-D", other, "-M", "peek-priv", "--private-network", "/bin/sleep", "100000",
                 env=bus.env) as priv:
        assert wait_for(lambda: {"peek-veth", "peek-priv"} <= set(machines(bus)), timeout=10)
        assert wait_for(lambda: any(v == 4 for v, _ in _guest_addresses(veth.leader)), timeout=10)
        # the same as the guest sees (its IPv6 link-local address may come a moment later)
        assert wait_for(lambda: _berthd_addresses(bus, "peek-veth") == _guest_addresses(veth.leader), timeout=5)
        got = _berthd_addresses(bus, "peek-veth")
        assert got[0][0] == 4 and ipaddress.ip_address(got[0][1]) in ipaddress.ip_network("10.0.0.0/8"), got
        assert _berthd_addresses(bus, "peek-priv") == []  # only loopback, which is skipped
        inside = ["nsenter", "-t", str(priv.leader), "-n", "ip"]
        subprocess.run([*inside, "link", "add", "d0", "type", "veth", "peer", "d1"], check=True)
        subprocess.run([*inside, "addr", "add", "192.0.2.7/24", "dev", "d0"], check=True)
        subprocess.run([*inside, "addr", "add", "2001:db8::7/64", "dev", "d0", "nodad"], check=True)
        assert _berthd_addresses(bus, "peek-priv") == [(4, "192.0.2.7"), (6, "2001:db8::7")]
        r = subprocess.run(["machinectl", "-M", ".host", "status", "peek-priv"], env=bus.env,
                           capture_output=True, text=True, timeout=30)
        assert "Address: 192.0.2.7" in r.stdout and "2001:db8::7" in r.stdout, r.stdout + r.stderr
        # berthd's one-call list: what the per-machine calls answer, for every machine
        details = json.loads(busctl(bus, "call", "org.freedesktop.machine1", "/org/freedesktop/machine1",
                                    "io.berth.Machine1.Manager", "ListMachinesWithDetails").stdout)["data"][0]
        assert {d[0] for d in details} == {".host", "peek-veth", "peek-priv"}
        for name, cls, service, path, os_release, addresses in details:
            assert os_release == _os_release(bus, name), name
            if name != ".host":
                assert addresses == call(bus, "GetMachineAddresses", "s", name)[0], name
        def listed():  # in the kernel's order; the guest's IPv6 link-local address may come meanwhile
            rows = json.loads(subprocess.run([CTL, "list", "--json=short"], env=bus.env, capture_output=True,
                                             text=True, check=True).stdout)["machines"]
            return {r["machine"]: (r["os"], sorted(r["addresses"], key=lambda a: (":" in a, a))) for r in rows}

        def expected():
            return {"peek-veth": ("busybox", [a for _, a in _guest_addresses(veth.leader)]),
                    "peek-priv": ("busybox", ["192.0.2.7", "2001:db8::7"])}
        assert wait_for(lambda: listed() == expected(), timeout=5), (listed(), expected())

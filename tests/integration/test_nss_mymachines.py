# SPDX-License-Identifier: LGPL-2.1-or-later
"""Stock nss-mymachines (Debian's libnss-mymachines, unpacked into a cache, never installed) resolves
a berth machine's name through berthd's GetMachineAddresses on a private system bus; the host's
/etc/nsswitch.conf is replaced in a private mount namespace only."""
import glob
import os
import re
import subprocess
import time

import pytest

from conftest import BUILD, Machine

from daemon import BERTHD, Berthd, Bus

CACHE = "/var/cache/berth/nss-mymachines"
CTL = os.path.join(BUILD, "src", "ctl", "berthctl")


def nss_dir():
    found = glob.glob(f"{CACHE}/usr/lib/*/libnss_mymachines.so.2")
    if not found:
        tmp = CACHE + ".tmp"
        subprocess.run(["rm", "-rf", tmp], check=True)
        os.makedirs(tmp)
        r = subprocess.run(["apt-get", "download", "libnss-mymachines"], cwd=tmp, capture_output=True, text=True,
                           timeout=120)
        debs = glob.glob(f"{tmp}/*.deb")
        if r.returncode != 0 or not debs:
            subprocess.run(["rm", "-rf", tmp])
            pytest.skip(f"libnss-mymachines cannot be downloaded: {r.stderr.strip()}")
        subprocess.run(["dpkg-deb", "-x", debs[0], tmp], check=True)
        os.remove(debs[0])
        os.rename(tmp, CACHE)
        found = glob.glob(f"{CACHE}/usr/lib/*/libnss_mymachines.so.2")
    return os.path.dirname(found[0])


def test_getent_hosts_resolves_a_networked_machine(bbtree, tmp_path):
    if not os.path.exists(BERTHD):
        pytest.skip("berthd not built")
    lib = nss_dir()
    (tmp_path / "nsswitch.conf").write_text("hosts: mymachines\n")
    bus = Bus()
    daemon = Berthd(bus)
    try:
        with Machine("-q", "-D", bbtree, "-M", "nss-web", "-n", "-b", env=bus.env) as m:
            for _ in range(100):  # exec may enter the machine a moment before its links are configured
                found = re.search(r"inet (10\.[\d.]+)/", m.exec("ip", "-4", "-o", "addr", "show", "host0").stdout)
                if found:
                    break
                time.sleep(0.05)
            assert found, "host0 got no IPv4 address"
            addr = found.group(1)
            argv = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                    f"mount --bind {tmp_path}/nsswitch.conf /etc/nsswitch.conf && exec getent \"$0\" \"$1\"", "ahostsv4", "nss-web"]
            env = dict(bus.env, LD_LIBRARY_PATH=lib)
            deadline = time.monotonic() + 5
            while True:
                r = subprocess.run(argv, env=env, capture_output=True, text=True)
                if r.returncode == 0 or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert r.returncode == 0, (r.returncode, r.stderr, daemon.output())
            assert {line.split()[0] for line in r.stdout.splitlines()} == {addr}, r.stdout
            assert r.stdout.splitlines()[0].split() == [addr, "STREAM", "nss-web"], r.stdout
            r = subprocess.run(argv[:-1] + ["nss-none"], env=env, capture_output=True, text=True)
            assert (r.returncode, r.stdout) == (2, ""), r
            # the launcher registered the veth's host side: stock machinectl and berthctl name it
            for tool in (["machinectl", "-M", ".host", "--no-pager"], [CTL]):
                st = subprocess.run(tool + ["status", "nss-web"], env=bus.env, capture_output=True, text=True)
                assert re.search(r"^\s+Iface: ve-nss-web$", st.stdout, re.M), (tool, st.stdout, st.stderr)
            assert m.stop() == 0
    finally:
        daemon.stop()
        bus.close()

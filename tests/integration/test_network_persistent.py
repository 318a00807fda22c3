# SPDX-License-Identifier: LGPL-2.1-or-later
"""Networked machines and berthd: a persistent machine (berthctl start) keeps its address and MAC
across a restart, a machine outlives a SIGKILLed berthd and is re-adopted, and the network of a
machine whose launcher was killed is collected by berthd without another berth-spawn starting."""
import os
import re
import shutil
import signal
import subprocess

import pytest

from conftest import Machine
from daemon import machines, wait_for
from test_berthctl import CTL, booted, env  # noqa: F401 (a fixture)

pytestmark = pytest.mark.skipif(not (shutil.which("dnsmasq") and shutil.which("nft")),
                                reason="dnsmasq-base and nftables are needed")

NETDIR = "/run/berth/network"


def guest_network(env, name):
    """(IPv4 address/prefix, MAC) of host0 in machine NAME, once the launcher has set them."""
    out = {}

    def probe():
        r = env.ctl("shell", name, "/bin/sh", "-c", "ip -4 -o addr show host0; cat /sys/class/net/host0/address")
        addr = re.search(r"inet (10\.\d+\.\d+\.\d+/\d+)", r.stdout)
        mac = re.search(r"^([0-9a-f]{2}(:[0-9a-f]{2}){5})$", r.stdout, re.M)
        out["r"] = r
        if addr and mac:
            out["v"] = (addr.group(1), mac.group(1))
        return "v" in out
    assert wait_for(probe, timeout=15), out["r"]
    return out["v"]


def dnsmasqs():
    return subprocess.run(["pgrep", "-a", "dnsmasq"], capture_output=True, text=True).stdout


def links():
    return subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout


def start_booted(env, name):
    r = env.ctl("start", name)
    assert r.returncode == 0, r.stderr
    assert booted(env, name), env.log(name)


def list_shows_more_addresses_by_locale(env, name, address):
    """berthctl list shows the first address and an ellipsis for the others (IPv6): "…" in a UTF-8
    locale, "..." in the C locale (as machinectl), never libsmartcols' \\x escapes."""
    for lc, mark in (("C.UTF-8", "\u2026"), ("C", "...")):
        r = subprocess.run([CTL, "--no-pager", "list"], env=dict(env.bus.env, LC_ALL=lc), capture_output=True,
                           timeout=30)
        row = next((line for line in r.stdout.decode().splitlines() if line.startswith(name + " ")), "")
        assert row.rstrip().endswith(address + mark), (lc, r.stdout)
        assert b"\\x" not in r.stdout, (lc, r.stdout)


def test_persistent_machine_keeps_its_address_across_a_restart(env):
    """berthctl start gives what systemd-nspawn@.service gives: -n (and -U), no settings file needed."""
    name = "bt-net-keep"
    env.image(name)
    start_booted(env, name)
    first = guest_network(env, name)
    assert f": ve-{name}@" in links()
    list_shows_more_addresses_by_locale(env, name, first[0].split("/")[0])
    uid_map = env.ctl("shell", name, "/bin/cat", "/proc/self/uid_map").stdout.split()
    assert uid_map[0] == "0" and int(uid_map[1]) >= 65536 and uid_map[2] == "65536", uid_map
    assert env.ctl("poweroff", name, "--timeout=20s").returncode == 0
    assert wait_for(lambda: not os.path.exists(f"{NETDIR}/{name}.net"), timeout=10)
    start_booted(env, name)
    assert guest_network(env, name) == first
    assert env.ctl("poweroff", name, "--timeout=20s").returncode == 0
    assert wait_for(lambda: f"ve-{name}" not in links(), timeout=10)


def test_machine_outlives_a_killed_berthd_and_leaves_nothing(env):
    name = "bt-net-surv"
    env.image(name)
    start_booted(env, name)
    leader = env.leader(name)
    before = guest_network(env, name)
    env.berthd.stop(signal.SIGKILL)
    env.start_berthd()
    # re-adopted, its network untouched by the new berthd
    assert env.leader(name) == leader
    assert guest_network(env, name) == before
    assert f"--interface=ve-{name}" in dnsmasqs()
    assert os.path.exists(f"{NETDIR}/{name}.net")
    assert env.ctl("poweroff", name, "--timeout=20s").returncode == 0
    # the launcher's teardown: the record first, then the link and the dnsmasq
    assert wait_for(lambda: f"ve-{name}" not in links() + dnsmasqs(), timeout=10)
    assert not os.path.exists(f"{NETDIR}/{name}.net")
    assert not os.path.exists(f"{NETDIR}/{name}.leases")
    # the leak check that follows covers berth's nftables tables and everything else


def test_settings_file_network_overrides_the_default(env):
    """--settings=override, as systemd-nspawn@.service: a trusted NAME.nspawn's [Network] wins over -n."""
    name = "bt-net-host"
    env.image(name)
    env.settings_file(name, "[Network]\nVirtualEthernet=no\n")
    start_booted(env, name)
    r = env.ctl("shell", name, "/bin/readlink", "/proc/1/ns/net")
    assert r.stdout.strip() == os.readlink("/proc/self/ns/net"), r.stdout + r.stderr
    assert f"ve-{name}" not in links() and not os.path.exists(f"{NETDIR}/{name}.net")
    assert env.ctl("poweroff", name, "--timeout=20s").returncode == 0


def nft_ruleset():
    return subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout


@pytest.mark.parametrize("network", ["-n", "--network-zone=killzone"])
def test_killed_launcher_network_is_collected_by_berthd(bus, berthd, bbtree, network):
    """berth-spawn SIGKILLed: its machine dies with it (PR_SET_PDEATHSIG), and berthd, noticing the
    leader gone with its launcher, removes the rest without another berth-spawn starting."""
    name = "net-kill"
    zone = network.startswith("--network-zone")
    m = Machine("-q", "-D", bbtree, "-M", name, network, "-b", env=bus.env)
    try:
        assert wait_for(lambda: name in machines(bus), timeout=15), m.proc.stderr.read()
        assert wait_for(lambda: os.path.exists(f"{NETDIR}/{name}.net"), timeout=10)
        assert wait_for(lambda: "inet 10." in m.exec("ip", "-4", "-o", "addr", "show", "host0").stdout, timeout=10)
        if zone:
            with open(f"{NETDIR}/zones/killzone.zone") as f:
                subnet = f.read().split()[0]
            lease, interface, link = f"{NETDIR}/zones/killzone.leases", "--interface=vz-killzone", "vz-killzone"
        else:
            with open(f"{NETDIR}/{name}.net") as f:
                subnet = f.read().split()[0]
            lease, interface, link = f"{NETDIR}/{name}.leases", f"--interface=ve-{name}", f"ve-{name}"
        assert os.path.exists(lease) and interface in dnsmasqs() and subnet in nft_ruleset()
        assert f": {link}" in links()
    finally:
        m.proc.kill()
        m.proc.wait()
    assert wait_for(lambda: name not in machines(bus), timeout=10)
    assert wait_for(lambda: not os.path.exists(f"{NETDIR}/{name}.net"), timeout=10), berthd.output()
    # the helper's last step is berth's nftables table, rendered without the machine
    assert wait_for(lambda: subnet not in nft_ruleset(), timeout=5), nft_ruleset()
    assert interface not in dnsmasqs()
    assert not os.path.exists(lease)
    assert f": {link}" not in links()
    assert f": vb-{name}" not in links()
    assert not os.path.exists(f"{NETDIR}/zones")


def test_berthd_that_starts_collects_what_a_launcher_killed_meanwhile_left(bus, berthd, bbtree):
    """berthd down, the launcher killed meanwhile: the next berthd finds the machine gone at start
    (its state file names it) and collects its network, no berth-spawn starting."""
    import daemon
    name = "net-gone"
    m = Machine("-q", "-D", bbtree, "-M", name, "-n", "-b", env=bus.env)
    try:
        assert wait_for(lambda: name in machines(bus), timeout=15), m.proc.stderr.read()
        assert wait_for(lambda: os.path.exists(f"{NETDIR}/{name}.leases"), timeout=10)
    finally:
        berthd.stop(signal.SIGKILL)
        m.proc.kill()
        m.proc.wait()
    assert f"--interface=ve-{name}" in dnsmasqs() and os.path.exists(f"{NETDIR}/{name}.net")
    again = daemon.Berthd(bus)
    try:
        assert wait_for(lambda: f"--interface=ve-{name}" not in dnsmasqs(), timeout=10), again.output()
        assert wait_for(lambda: not os.path.exists(f"{NETDIR}/{name}.net"), timeout=5)
        assert not os.path.exists(f"{NETDIR}/{name}.leases")
        assert name not in machines(bus)
    finally:
        again.stop()

# SPDX-License-Identifier: LGPL-2.1-or-later
"""A host where systemd-networkd configures ve-*/vz-* links (its stock 80-container-*.network): berth
makes the links as nspawn does and leaves addresses, DHCP and NAT to networkd; --network-setup=berth
or a masked file gives berth's own. A real systemd-networkd runs in a network and mount namespace
of the test's own (its /run/systemd/netif private), and the launcher runs there too: the host's
network and files are not touched."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import SPAWN

NETWORKD = next((p for p in ("/lib/systemd/systemd-networkd", "/usr/lib/systemd/systemd-networkd")
                 if os.path.exists(p)), None)

pytestmark = pytest.mark.skipif(not (NETWORKD and shutil.which("dnsmasq") and shutil.which("nft")),
                                reason="systemd-networkd (package systemd), dnsmasq-base and nftables are needed")

# networkd waits for udev to announce a link where /sys is writable (systemd's udev_available()): no udev
# runs on a host without systemd, and this network namespace's links are not in the host's sysfs
# anyway. /sys read-only in the test's mount namespace (as in a container) makes networkd take links
# as the kernel announces them; its cgroup mounts stay as they are.
# Waits for networkd, runs the launcher in the background with the guest's script, and once the
# guest says READY shows the host side; the launcher's exit status and the links afterwards.
SCRIPT = r"""
set -u
mount -t tmpfs tmpfs /run/systemd
mount -o remount,bind,ro /sys
{mask}
ip link set lo up
{networkd} >/tmp/networkd-$$.log 2>&1 &
ND=$!
trap 'kill $ND 2>/dev/null; wait $ND 2>/dev/null; rm -f /tmp/networkd-$$.log' EXIT
i=0; while [ ! -e /run/systemd/netif/state ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
OUT=$(mktemp)
{spawn} -q -D {tree} -M {name} --register=no {args} /bin/sh -c '{guest}; echo READY; sleep 1' >$OUT 2>&1 &
P=$!
i=0; while ! grep -q READY $OUT && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
echo "== host"
ip -o link show {link}
ip -4 -o addr show {link}
ls /run/berth/network 2>/dev/null
pgrep -a dnsmasq | grep -c "interface={link}"
wait $P; echo "== rc $?"
echo "== guest"; cat $OUT; rm -f $OUT
echo "== after"; ip -o link show {link} 2>&1
"""

GUEST_DHCP = "ip link set host0 up; udhcpc -i host0 -n -q -t 20 -T 1 -s /bin/true 2>&1; ip -4 -o addr show host0"
MASK = ("mount -t tmpfs tmpfs /etc/systemd/network && "
        "ln -s /dev/null /etc/systemd/network/80-container-ve.network")


def run_script(script):
    """Runs script in a mount and network namespace of its own; its output and its "== NAME" parts."""
    made = not os.path.isdir("/run/systemd")  # the mount point of the private /run/systemd (never .../system)
    if made:
        os.mkdir("/run/systemd", 0o755)
    try:
        r = subprocess.run(["unshare", "-m", "-n", "--propagation", "private", "sh", "-c", script],
                           capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    finally:
        if made:
            os.rmdir("/run/systemd")
    return r, dict(re.findall(r"^== (\w+)\n(.*?)(?=^== |\Z)", r.stdout + "\n== end\n", re.S | re.M))


def run_with_networkd(tree, name, args, link, guest=GUEST_DHCP, mask=False):
    script = SCRIPT.format(mask=MASK if mask else "", networkd=NETWORKD, spawn=SPAWN, tree=tree, name=name,
                           args=" ".join(args), guest=guest, link=link)
    r, parts = run_script(script)
    rc = re.search(r"^== rc (\d+)$", r.stdout, re.M)
    assert rc, (r.stdout, r.stderr)
    return int(rc.group(1)), parts, r


def host_addresses(text, prefixlen):
    """The IPv4 addresses networkd gave the host side (it may give a link more than one)."""
    return re.findall(rf"inet (\d+\.\d+\.\d+\.\d+)/{prefixlen} ", text)


def lease_server(guest):
    m = re.search(r"lease of \d+\.\d+\.\d+\.\d+ obtained from (\d+\.\d+\.\d+\.\d+)", guest)
    assert m, guest
    return m.group(1)


def test_networkd_addresses_the_link(bbtree):
    rc, parts, r = run_with_networkd(bbtree, "nd-veth", ["-n"], "ve-nd-veth")
    assert rc == 0, r.stdout
    host = parts["host"]
    # networkd, not berth: its address on the host side (from its pool), no record, no dnsmasq
    assert re.search(r"inet 10\.", host) is None, r.stdout
    assert "nd-veth.net" not in host and host.rstrip().endswith("0"), r.stdout
    # the guest's DHCP client gets its lease from networkd's DHCP server on that link
    assert lease_server(parts["guest"]) in host_addresses(host, 28), r.stdout
    assert "networkd configures" not in parts["guest"]
    assert "does not exist" in parts["after"] or "not found" in parts["after"].lower(), r.stdout


def test_network_setup_berth_forces_berths_own(bbtree):
    rc, parts, r = run_with_networkd(bbtree, "nd-berth", ["-n", "--network-setup=berth"], "ve-nd-berth",
                                     guest="ip -4 -o addr show host0")
    assert rc == 0, r.stdout
    assert ("systemd-networkd configures ve-* links here too (80-container-ve.network): mask it with "
            "'ln -s /dev/null /etc/systemd/network/80-container-ve.network' to leave them to berth.") in parts["guest"]
    assert re.search(r"host0\s+inet 10\.\d+\.\d+\.\d+/28", parts["guest"]), r.stdout  # berth's, from outside
    assert "nd-berth.net" in parts["host"] and parts["host"].rstrip().endswith("1"), r.stdout


def test_masked_file_leaves_the_link_to_berth(bbtree):
    rc, parts, r = run_with_networkd(bbtree, "nd-mask", ["-n"], "ve-nd-mask", guest="ip -4 -o addr show host0",
                                     mask=True)
    assert rc == 0, r.stdout
    assert "networkd" not in parts["guest"], r.stdout  # no warning: nothing else configures it
    assert re.search(r"host0\s+inet 10\.\d+\.\d+\.\d+/28", parts["guest"]), r.stdout
    assert "nd-mask.net" in parts["host"], r.stdout


def test_port_is_refused_while_networkd_addresses_the_link(bbtree):
    rc, parts, r = run_with_networkd(bbtree, "nd-port", ["-n", "-p", "8080:80"], "ve-nd-port")
    assert rc == 1, r.stdout
    assert ("Cannot use --port= while systemd-networkd addresses the machine's link: use "
            "--network-setup=berth (and mask 80-container-ve.network for it).") in parts["guest"], r.stdout
    assert "ve-nd-port" not in parts["host"].split("\n")[0]
    # a zone's bridge that networkd addresses: the same, naming the zone's file
    rc, parts, r = run_with_networkd(bbtree, "nd-port", ["--network-zone=ndp", "-p", "8080:80"], "vz-ndp")
    assert rc == 1, r.stdout
    assert ("Cannot use --port= while systemd-networkd addresses the machine's link: use "
            "--network-setup=berth (and mask 80-container-vz.network for it).") in parts["guest"], r.stdout


def test_zone_bridge_for_networkd_goes_with_its_last_machine(bbtree):
    rc, parts, r = run_with_networkd(bbtree, "nd-zone", ["--network-zone=ndz"], "vz-ndz")
    assert rc == 0, r.stdout
    host = parts["host"]
    # 80-container-vz.network's address on the bridge serves the lease
    assert lease_server(parts["guest"]) in host_addresses(host, 24), r.stdout
    assert "zones" not in host, r.stdout  # no zone of berth's
    assert "does not exist" in parts["after"] or "not found" in parts["after"].lower(), r.stdout


KILLED_SCRIPT = r"""
set -u
mount -t tmpfs tmpfs /run/systemd
mount -o remount,bind,ro /sys
ip link set lo up
{networkd} >/dev/null 2>&1 &
ND=$!
trap 'kill $ND 2>/dev/null; wait $ND 2>/dev/null' EXIT
i=0; while [ ! -e /run/systemd/netif/state ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
{spawn} -q -D {tree} -M nd-killed --register=no --network-zone=ndk /bin/sleep 1000 >/dev/null 2>&1 &
P=$!
i=0; while [ -z "$(ip -o link show master vz-ndk 2>/dev/null)" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
echo "== before"; ip -o link show vz-ndk; ls /run/berth/network/external
kill -9 $P $(pgrep -P $P); wait $P 2>/dev/null
i=0; while [ -n "$(ip -o link show master vz-ndk 2>/dev/null)" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
echo "== killed"; ip -o link show vz-ndk 2>&1
{collect}; echo "rc $?"
echo "== after"; ip -o link show vz-ndk 2>&1; ls /run/berth/network/external 2>&1
{spawn} -q -D {tree} -M nd-killed --register=no /bin/true; echo "restart rc $?"  # its cgroups and name lock
"""


def test_zone_bridge_for_networkd_of_a_killed_launcher_is_collected(bbtree):
    """berth keeps a mark of the zone bridges it made for networkd: when the last member's launcher is
    SIGKILLed, the bridge is collected as berth's own zones are (here by berthd's helper, which the
    next berth-spawn's start runs the same way)."""
    collect = os.path.join(os.path.dirname(SPAWN), "berth-network-collect")
    script = KILLED_SCRIPT.format(networkd=NETWORKD, spawn=SPAWN, tree=bbtree, collect=collect)
    r, parts = run_script(script)
    assert "vz-ndk" in parts["before"] and "ndk" in parts["before"].split(), r.stdout + r.stderr
    assert "vz-ndk" in parts["killed"], r.stdout  # left by the killed launcher
    assert "rc 0" in parts["killed"], r.stdout
    assert "does not exist" in parts["after"] and "No such file" in parts["after"], r.stdout
    assert not os.path.exists("/run/berth/network/external")
    assert "restart rc 0" in parts["after"], r.stdout + r.stderr

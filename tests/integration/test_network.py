# SPDX-License-Identifier: LGPL-2.1-or-later
"""-n/--network-veth without systemd-networkd: nspawn's links and MACs, an address, a route, DNS
and NAT from the first instruction, and nothing left behind. "Upstream" is a network namespace
this test makes (198.18.0.2, a TCP server and a DNS server for up.test): no traffic leaves the host."""
import ipaddress
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

import leakcheck
from daemon import wait_for
from conftest import SPAWN, Machine, leader_of, spawn

pytestmark = pytest.mark.skipif(not (shutil.which("dnsmasq") and shutil.which("nft")),
                                reason="dnsmasq-base and nftables are needed")

UP_HOST, UP_ADDR, UP_PORT = "198.18.0.1", "198.18.0.2", 7777
SERVER = f"""
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("{UP_ADDR}", {UP_PORT})); s.listen(8)
while True:
    c, a = s.accept(); c.sendall(("upstream saw " + a[0] + "\\n").encode()); c.close()
"""


def _wait_port(pid, port):
    for _ in range(100):
        r = subprocess.run(["nsenter", "-t", str(pid), "-n", "ss", "-Hltn", f"sport = :{port}"],
                           capture_output=True, text=True)
        if r.stdout.strip():
            return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port} upstream")


def _netns_holder():
    """A process in a network namespace of its own (once it is there)."""
    holder = subprocess.Popen(["unshare", "-n", "sleep", "infinity"])
    for _ in range(100):
        if os.readlink(f"/proc/{holder.pid}/ns/net") != os.readlink("/proc/self/ns/net"):
            break
        time.sleep(0.01)
    return holder


@pytest.fixture
def upstream(tmp_path):
    """A network namespace linked to the host (up-PID on the host, 198.18.0.0/30) with a TCP
    server and a DNS server; yields a resolv.conf naming that server, for the launcher's dnsmasq."""
    holder = _netns_holder()
    link = f"up-{os.getpid() % 100000}"
    procs = []
    try:
        ns = ["nsenter", "-t", str(holder.pid), "-n"]
        subprocess.run(["ip", "link", "add", link, "type", "veth", "peer", "name", "eth0", "netns",
                        str(holder.pid)], check=True)
        subprocess.run(["ip", "addr", "add", f"{UP_HOST}/30", "dev", link], check=True)
        subprocess.run(["ip", "link", "set", link, "up"], check=True)
        for cmd in (["ip", "addr", "add", f"{UP_ADDR}/30", "dev", "eth0"], ["ip", "link", "set", "eth0", "up"],
                    ["ip", "link", "set", "lo", "up"]):
            subprocess.run(ns + cmd, check=True)
        procs.append(subprocess.Popen(ns + ["python3", "-c", SERVER]))
        procs.append(subprocess.Popen(ns + ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
                                            "--no-hosts", f"--listen-address={UP_ADDR}", "--bind-interfaces",
                                            f"--address=/up.test/{UP_ADDR}", "--pid-file=", "--user=root"]))
        _wait_port(holder.pid, UP_PORT)
        resolv = tmp_path / "resolv.conf"
        resolv.write_text(f"nameserver {UP_ADDR}\n")
        yield str(resolv)
    finally:
        for p in procs:
            p.kill()
            p.wait()
        subprocess.run(["ip", "link", "del", link], stderr=subprocess.DEVNULL)
        holder.kill()
        holder.wait()


def with_resolv(resolv, *args):
    """argv that runs berth-spawn with the host's /etc/resolv.conf replaced (in a private mount
    namespace) by the upstream's, the way an administrator's resolver would be."""
    return ["unshare", "-m", "--propagation", "private", "sh", "-c",
            'mount --bind "$0" /etc/resolv.conf && exec "$@"', resolv, SPAWN, *args]


GUEST_PROBE = (f"ip -4 -o addr show host0; ip route; cat /etc/resolv.conf; "
               f"echo | nc {UP_ADDR} {UP_PORT}; nslookup up.test; nslookup $(hostname)")


def parse_probe(out):
    addr = re.search(r"inet (10\.\d+\.\d+\.\d+)/28", out)
    assert addr, out
    guest = ipaddress.ip_address(addr.group(1))
    net = ipaddress.ip_network(f"{guest}/28", strict=False)
    return guest, net


def host0_ipv4(m, pattern=r"inet 10\.\d+\.\d+\.\d+/", timeout=10):
    """`ip -4 -o addr show host0` in machine m once host0 has its address: Machine() hands a machine
    over as soon as its leader exists, which can be before the launcher has set up its links."""
    deadline = time.monotonic() + timeout
    while True:
        out = m.exec("ip", "-4", "-o", "addr", "show", "host0").stdout
        if re.search(pattern, out) or time.monotonic() > deadline:
            return out
        time.sleep(0.05)


def test_busybox_command_has_network_from_first_instruction(bbtree, upstream):
    r = subprocess.run(with_resolv(upstream, "-q", "-D", bbtree, "-M", "net-bb", "-n", "/bin/sh", "-c",
                                   GUEST_PROBE), capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    guest, net = parse_probe(r.stdout)
    gateway = net.network_address + 1
    assert guest == net.network_address + 2
    assert net.subnet_of(ipaddress.ip_network("10.0.0.0/8"))
    assert f"default via {gateway} dev host0" in r.stdout
    assert f"nameserver {gateway}\n" in r.stdout
    # NAT: upstream sees the host's address on its link, not the machine's
    assert f"upstream saw {UP_HOST}\n" in r.stdout
    # DNS: forwarded by the machine's dnsmasq to the host's resolver; its own name is its address
    assert re.search(rf"Name:\s+up\.test\s+Address( 1)?:\s+{UP_ADDR}", r.stdout), r.stdout
    assert re.search(rf"Name:\s+net-bb\s+Address( 1)?:\s+{guest}", r.stdout), r.stdout


def test_dns_answers_the_first_instruction(bbtree):
    """resolv.conf names the machine's dnsmasq, so the guest starts only once dnsmasq answers: a
    lookup as the very first instruction gets its answer (it was refused in most runs while dnsmasq
    was still loading)."""
    for _ in range(5):
        r = spawn("-q", "-D", bbtree, "-M", "net-dns1", "-n", "/bin/busybox", "nslookup", "net-dns1")
        assert r.returncode == 0, r.stdout + r.stderr
        assert re.search(r"Name:\s+net-dns1\s+Address( 1)?:\s+10\.", r.stdout), r.stdout


def test_links_macs_and_names_are_nspawns(bbtree):
    """The same host: systemd-nspawn -n and berth-spawn -n give host0 the same MAC, and a long
    name is shortened to the same ve- name."""
    if not shutil.which("systemd-nspawn"):
        pytest.skip("systemd-nspawn missing")
    name = "a-rather-long-machine-name"
    cmd = "cat /sys/class/net/host0/address; sleep 1"
    out = {}
    before = leakcheck.nspawn_cgroups()
    for tool in ("berth", "nspawn"):
        argv = ([SPAWN, "-q"] if tool == "berth" else ["systemd-nspawn", "-q", "--register=no", "--keep-unit"])
        p = subprocess.Popen(argv + ["-D", bbtree, "-M", name, "-n", "/bin/sh", "-c", cmd], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        mac = p.stdout.readline().strip()
        links = subprocess.run(["ip", "-o", "link", "show", "type", "veth"], capture_output=True, text=True).stdout
        host = [l.split(":")[1].strip().split("@")[0] for l in links.splitlines() if ": ve-a-rather" in l]
        # the full name is the shortened link's alternative name (nspawn's NAMING_NSPAWN_LONG_HASH)
        alt = subprocess.run(["ip", "-o", "link", "show", "dev", "ve-" + name], capture_output=True, text=True)
        host.append(alt.stdout.split(":")[1].strip().split("@")[0] if alt.returncode == 0 else alt.stderr.strip())
        p.communicate(timeout=30)
        leakcheck.remove_nspawn_cgroups(before)
        assert p.returncode == 0, p.stderr
        out[tool] = (mac, host)
    assert re.fullmatch(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}", out["berth"][0]), out
    assert out["berth"] == out["nspawn"]
    assert len(out["berth"][1][0]) == 15 and out["berth"][1][0].startswith("ve-a-rather")
    assert out["berth"][1][1] == out["berth"][1][0], out


def berth_elements(family="ip"):
    """The elements of berth's sets and maps in one family's table (none when there is no table)."""
    return leakcheck.nft_elements(family)


def launcher_inotify_fds(pid):
    fds = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:inotify":
                fds.append(fd)
        except FileNotFoundError:
            continue
    return fds


def test_rules_while_running_and_nothing_after(bbtree):
    r = spawn("-q", "-D", bbtree, "-M", "net-rules", "-n", "/bin/sh", "-c", "ip -4 -o addr show host0")
    assert r.returncode == 0, r.stderr
    m = Machine("-q", "-D", bbtree, "-M", "net-rules", "-n", "-b")
    try:
        time.sleep(0.5)
        table = subprocess.run(["nft", "list", "table", "ip", "berth"], capture_output=True, text=True).stdout
        _, net = parse_probe(host0_ipv4(m))
        assert f"elements = {{ {net} }}" in table, table
        assert "ip saddr @machines ip daddr != @machines masquerade" in table
        procs = subprocess.run(["pgrep", "-a", "dnsmasq"], capture_output=True, text=True).stdout
        assert "--interface=ve-net-rules" in procs and "--dhcp-leasefile=/run/berth/network/net-rules.leases" in procs
        assert os.path.exists("/run/berth/network/net-rules.leases")
        # the watch that saw dnsmasq ready is closed a second later: a running machine's launcher
        # holds no inotify instance (the default limit is 128 per user)
        assert wait_for(lambda: not launcher_inotify_fds(m.proc.pid), timeout=5), launcher_inotify_fds(m.proc.pid)
    finally:
        assert m.stop(signal.SIGTERM, timeout=30) == 0
    assert berth_elements() == []  # the table stays, empty: the next machine adds its elements


def test_launcher_sigkill_is_collected_by_the_next_start(bbtree):
    m = Machine("-q", "-D", bbtree, "-M", "net-crash", "-n", "-b", "-p", "tcp:8097:80")
    time.sleep(0.5)
    assert os.path.exists("/run/berth/network/net-crash.net")
    _, net = parse_probe(host0_ipv4(m))
    assert berth_elements() == [f"machines: {net}", f"ports: tcp . 8097 : {net.network_address + 2} . 80"]
    m.proc.kill()
    m.proc.wait()
    # the dead launcher's dnsmasq, table and records stay until another launcher starts
    assert "--interface=ve-net-crash" in subprocess.run(["pgrep", "-a", "dnsmasq"], capture_output=True, text=True).stdout
    r = spawn("-q", "-D", bbtree, "-M", "net-other", "/bin/true")
    assert r.returncode == 0, r.stderr
    assert not os.path.exists("/run/berth/network/net-crash.net")
    assert berth_elements() == [] and berth_elements("ip6") == []  # the dead launcher's elements too
    assert "ve-net-crash" not in subprocess.run(["pgrep", "-a", "dnsmasq"], capture_output=True, text=True).stdout
    # its cgroups go when a machine of its name starts again
    assert spawn("-q", "-D", bbtree, "-M", "net-crash", "/bin/true").returncode == 0


def test_missing_dnsmasq_is_named_and_nothing_is_made(bbtree, tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("nft",):  # nft only: dnsmasq is "not installed"
        os.symlink(shutil.which(tool), bindir / tool)
    r = spawn("-q", "-D", bbtree, "-M", "net-nodns", "-n", "/bin/true", env={"PATH": str(bindir)})
    assert r.returncode == 1
    assert r.stderr.strip() == "dnsmasq not found: install the dnsmasq-base package for -n/--network-veth."


def test_settings_file_virtual_ethernet_needs_trust(bbtree):
    with open(os.path.join(os.path.dirname(bbtree), "bb.nspawn"), "w") as f:
        f.write("[Network]\nVirtualEthernet=yes\n")
    r = spawn("-D", bbtree, "/bin/sh", "-c", "ls /sys/class/net")
    assert r.returncode == 0, r.stderr
    assert "host0" not in r.stdout.split()  # beside the image: not trusted, ignored
    assert "bb.nspawn:2: VirtualEthernet= is ignored in a settings file that is not in /etc/systemd/nspawn" in r.stderr


def test_debian_boots_with_network(debian, upstream):
    """A Debian guest whose networkd is not enabled: the address, route and DNS are there at boot."""
    argv = with_resolv(upstream, "-q", "-D", debian, "-M", "net-deb", "-n", "-b", "--console=passive")
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    leader = leader_of(p.pid)

    def run(*cmd):
        return subprocess.run(["nsenter", "-t", str(leader), "-a", *cmd], capture_output=True, text=True, timeout=30)
    try:
        deadline = time.monotonic() + 60
        while run("systemctl", "is-system-running").stdout.strip() not in ("running", "degraded"):
            assert time.monotonic() < deadline and p.poll() is None
            time.sleep(0.2)
        guest, net = parse_probe(run("ip", "-4", "-o", "addr", "show", "host0").stdout)
        assert run("getent", "hosts", "up.test").stdout.split() == [UP_ADDR, "up.test"]
        out = run("bash", "-c", f"exec 3<>/dev/tcp/{UP_ADDR}/{UP_PORT}; cat <&3").stdout
        assert out == f"upstream saw {UP_HOST}\n"
    finally:
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=60)
    assert p.returncode == 0


PORT_SERVERS = """
import socket, threading
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind(("0.0.0.0", 80)); t.listen(8)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 5353))
def udp():
    while True:
        d, a = u.recvfrom(100); u.sendto(b"udp " + d + b" from " + a[0].encode(), a)
threading.Thread(target=udp, daemon=True).start()
while True:
    c, a = t.accept(); c.sendall(("tcp from " + a[0] + "\\n").encode()); c.close()
"""


def host_address():
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True, text=True).stdout
    addrs = [l.split()[3].split("/")[0] for l in out.splitlines() if not l.split()[1].startswith(("ve-", "up-"))]
    assert addrs, out
    return addrs[0]


def tcp_get(addr, port):
    import socket
    with socket.create_connection((addr, port), timeout=5) as s:
        return s.recv(100).decode()


def udp_ask(addr, port, data=b"ping"):
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(data, (addr, port))
        return s.recv(100).decode()


def assert_published(gateway, tcp_port, udp_port):
    """From localhost (which nspawn refuses, systemd #6106), the connection comes masqueraded from
    the link's gateway; from the host's address, with that address."""
    assert tcp_get("127.0.0.1", tcp_port) == f"tcp from {gateway}\n"
    assert tcp_get(host_address(), tcp_port) == f"tcp from {host_address()}\n"
    assert udp_ask("127.0.0.1", udp_port) == f"udp ping from {gateway}"


def test_published_ports_from_host_address_localhost_and_other_machines(bbtree):
    other = tempfile.mkdtemp(prefix="berth-bb2-")
    try:
        import guests
        tree2 = guests.make_busybox_tree(os.path.join(other, "bb2"))
        with Machine("-q", "-D", bbtree, "-M", "net-pub", "-n", "-p", "8080:80", "-p", "udp:5353",
                     "/bin/sleep", "60") as m:
            server = subprocess.Popen(["nsenter", "-t", str(m.leader), "-n", "python3", "-c", PORT_SERVERS])
            try:
                _wait_port(m.leader, 80)
                guest, net = parse_probe(host0_ipv4(m))
                gateway = str(net.network_address + 1)
                assert_published(gateway, 8080, 5353)
                # hairpin: another machine, and the machine itself, through the host's address
                r = spawn("-q", "-D", tree2, "-M", "net-pub2", "-n", "/bin/sh", "-c",
                          f"nc {host_address()} 8080 </dev/null")
                assert r.returncode == 0 and r.stdout.startswith("tcp from 10."), r
                assert m.exec("sh", "-c", f"nc {host_address()} 8080 </dev/null").stdout == f"tcp from {gateway}\n"
            finally:
                server.kill()
                server.wait()
    finally:
        shutil.rmtree(other)


@pytest.mark.parametrize("args,message", [
    (["-n", "-p", "tcp:80:"], "Invalid port specification 'tcp:80:': use [tcp|udp:]HOST[:GUEST] with ports 1-65535."),
    (["-n", "-p", "sctp:80"], "Invalid port specification 'sctp:80': use [tcp|udp:]HOST[:GUEST] with ports 1-65535."),
    (["-n", "-p", "70000"], "Invalid port specification '70000': use [tcp|udp:]HOST[:GUEST] with ports 1-65535."),
    (["-n", "-p", "8080:80", "-p", "tcp:8080:81"],
     "Duplicate port specification 'tcp:8080:81': its host port is already forwarded."),
    (["-p", "8080"], "Cannot use --port= without --network-veth (-n): the machine has no address to forward to."),
    (["--private-network", "-p", "8080"],
     "Cannot use --port= without --network-veth (-n): the machine has no address to forward to."),
])
def test_bad_ports_are_refused_before_anything_is_made(bbtree, args, message):
    r = spawn("-q", "-D", bbtree, "-M", "net-bad", *args, "/bin/true")
    assert r.returncode == 1
    assert r.stderr.strip() == message


def test_port_published_by_another_machine_is_refused(bbtree):
    other = tempfile.mkdtemp(prefix="berth-bb2-")
    try:
        import guests
        tree2 = guests.make_busybox_tree(os.path.join(other, "bb2"))
        with Machine("-q", "-D", bbtree, "-M", "net-pub", "-n", "-p", "udp:5353", "/bin/sleep", "60"):
            time.sleep(0.5)
            r = spawn("-q", "-D", tree2, "-M", "net-pub2", "-n", "-p", "udp:5353:53", "/bin/true")
            assert r.returncode == 1
            assert r.stderr.strip() == "Port udp:5353 is already published by another machine."
            assert not os.path.exists("/run/berth/network/net-pub2.net")
            # the same number over TCP is another port
            r = spawn("-q", "-D", tree2, "-M", "net-pub2", "-n", "-p", "5353", "/bin/true")
            assert r.returncode == 0, r.stderr
    finally:
        shutil.rmtree(other)


@pytest.fixture
def host_links():
    """Links a test made on the host (veths: this kernel may lack dummy), removed afterwards."""
    made = []

    def make(name, kind="veth"):
        if kind == "veth":
            subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name", name + "p"], check=True)
        else:
            subprocess.run(["ip", "link", "add", name, "type", kind], check=True)
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
        made.append(name)
        return name
    yield make
    for name in reversed(made):
        subprocess.run(["ip", "link", "del", name], stderr=subprocess.DEVNULL)


def test_network_interface_moves_in_and_back(bbtree, host_links):
    link = host_links("t-move")
    r = spawn("-q", "-D", bbtree, "-M", "net-if", "--network-interface=t-move:inside", "/bin/sh", "-c",
              "ls /sys/class/net")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["inside", "lo"]
    # back on the host, under its own name
    assert subprocess.run(["ip", "link", "show", link], capture_output=True).returncode == 0


def test_network_macvlan_gets_nspawns_name_and_mac(bbtree, host_links):
    host_links("t-par")
    r = spawn("-q", "-D", bbtree, "-M", "net-mv", "--network-macvlan=t-par", "/bin/sh", "-c",
              "ls /sys/class/net; cat /sys/class/net/mv-t-par/address")
    assert r.returncode == 0, r.stderr
    names, mac = r.stdout.split()[:-1], r.stdout.split()[-1]
    assert names == ["lo", "mv-t-par"]
    assert int(mac[:2], 16) & 3 == 2  # unicast, locally administered: derived, not the kernel's random
    again = spawn("-q", "-D", bbtree, "-M", "net-mv", "--network-macvlan=t-par:other", "/bin/cat",
                  "/sys/class/net/other/address")
    assert again.stdout.strip() == mac  # stable per host and machine name


def test_network_ipvlan(bbtree, host_links):
    host_links("t-ipp")
    probe = subprocess.run(["ip", "link", "add", "t-ipv-probe", "link", "t-ipp", "type", "ipvlan"], capture_output=True)
    r = spawn("-q", "-D", bbtree, "-M", "net-iv", "--network-ipvlan=t-ipp", "/bin/sh", "-c", "ls /sys/class/net")
    if probe.returncode == 0:
        subprocess.run(["ip", "link", "del", "t-ipv-probe"])
        assert r.returncode == 0 and r.stdout.split() == ["iv-t-ipp", "lo"], r
    else:  # this kernel has no ipvlan: said so, nothing made
        assert r.returncode == 1
        assert r.stderr.strip() == ("Failed to add ipvlan interface iv-t-ipp on t-ipp: this kernel has no ipvlan "
                                    "support (CONFIG_IPVLAN).")


def test_network_bridge_joins_the_bridge(bbtree, host_links):
    host_links("t-br", kind="bridge")
    p = subprocess.Popen([SPAWN, "-q", "-D", bbtree, "-M", "net-br", "--network-bridge=t-br", "/bin/sh", "-c",
                          "ls /sys/class/net; sleep 1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         stdin=subprocess.DEVNULL)
    assert p.stdout.readline().strip() == "host0"
    assert os.listdir("/sys/class/net/t-br/brif") == ["vb-net-br"]
    p.communicate(timeout=30)
    assert p.returncode == 0
    # the launcher waits until the link is unlisted; the bridge's sysfs entry for the port goes a
    # grace period later (the kernel's unregistering of a link)
    assert wait_for(lambda: os.listdir("/sys/class/net/t-br/brif") == [], timeout=2)


@pytest.mark.parametrize("args,message", [
    (["--network-bridge=t-nobr"], "Bridge 't-nobr' does not exist: create it first, or use --network-zone= for one berth makes."),
    (["--network-interface=t-noif"], "Network interface 't-noif' does not exist."),
    (["--network-macvlan=t-noif"], "Network interface 't-noif' does not exist."),
    (["--network-interface=a-very-long-name-x"],
     "Invalid interface specification 'a-very-long-name-x': use INTERFACE[:NAME] with names of 1-15 characters."),
    (["--network-interface=eth0", "--network-interface=eth0:x"], "Interface 'eth0:x' is given twice."),
])
def test_bad_links_are_refused(bbtree, args, message):
    r = spawn("-q", "-D", bbtree, "-M", "net-bad", *args, "/bin/true")
    assert r.returncode == 1
    assert r.stderr.strip() == message


def test_network_veth_extra(bbtree):
    p = subprocess.Popen([SPAWN, "-q", "-D", bbtree, "-M", "net-vx", "--network-veth-extra=t-vx0:inner",
                          "--network-veth-extra=t-vx1", "/bin/sh", "-c", "ls /sys/class/net; sleep 1"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    names = [p.stdout.readline().strip() for _ in range(3)]
    assert names == ["inner", "lo", "t-vx1"]
    links = subprocess.run(["ip", "-o", "link", "show", "type", "veth"], capture_output=True, text=True).stdout
    assert ": t-vx0@" in links and ": t-vx1@" in links
    p.communicate(timeout=30)
    assert p.returncode == 0, p.stderr
    # the pairs go with the machine's namespace, after the launcher's exit: a start at once waits for them
    r = spawn("-q", "-D", bbtree, "-M", "net-vx", "--network-veth-extra=t-vx0:inner", "--network-veth-extra=t-vx1",
              "/bin/true")
    assert r.returncode == 0, r.stderr
    r = spawn("-q", "-D", bbtree, "-M", "net-vx", "--network-veth-extra=lo", "/bin/true")
    assert r.returncode == 1 and r.stderr.strip() == "Network interface 'lo' already exists."


def test_network_namespace_path(bbtree):
    holder = subprocess.Popen(["unshare", "-n", "sleep", "infinity"])
    try:
        for _ in range(100):
            if os.readlink(f"/proc/{holder.pid}/ns/net") != os.readlink("/proc/self/ns/net"):
                break
            time.sleep(0.01)
        subprocess.run(["ip", "link", "add", "t-nsp", "type", "veth", "peer", "name", "in-ns", "netns", str(holder.pid)],
                       check=True)
        path = f"/proc/{holder.pid}/ns/net"
        r = spawn("-q", "-D", bbtree, "-M", "net-nsp", f"--network-namespace-path={path}", "/bin/sh", "-c",
                  "ls /sys/class/net; readlink /proc/self/ns/net")
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == ["in-ns", "lo", os.readlink(path)]
        r = spawn("-q", "-D", bbtree, "-M", "net-nsp", f"--network-namespace-path={path}", "-n", "/bin/true")
        assert r.returncode == 1
        assert r.stderr.strip() == "--network-namespace-path= cannot be combined with other network options."
        r = spawn("-q", "-D", bbtree, "-M", "net-nsp", "--network-namespace-path=/proc/self/ns/pid", "/bin/true")
        assert r.returncode == 1 and r.stderr.strip() == "/proc/self/ns/pid is not a network namespace."
    finally:
        subprocess.run(["ip", "link", "del", "t-nsp"], stderr=subprocess.DEVNULL)
        holder.kill()
        holder.wait()


def test_resolv_conf_modes(bbtree):
    etc = os.path.join(bbtree, "etc", "resolv.conf")
    with open("/etc/resolv.conf") as f:
        host = f.read()

    def run(mode, setup=None):
        if os.path.lexists(etc):
            os.unlink(etc)
        if setup:
            setup()
        r = spawn("-q", "-D", bbtree, "-M", "net-rc", f"--resolv-conf={mode}", "/bin/sh", "-c",
                  "cat /etc/resolv.conf 2>/dev/null || echo MISSING; echo x >> /etc/resolv.conf 2>/dev/null || echo NOWRITE")
        assert r.returncode == 0, r.stderr
        return r.stdout

    assert run("off") == "MISSING\n"
    assert run("copy-host") == host
    with open(etc) as f:
        assert f.read() == host + "x\n"  # a copy in the tree
    # never through a link (the guest's own, dangling here)
    assert run("copy-host", lambda: os.symlink("/nowhere/resolv.conf", etc)) == "MISSING\nNOWRITE\n"
    assert run("replace-host", lambda: os.symlink("/nowhere/resolv.conf", etc)) == host
    assert run("bind-host") == host + "NOWRITE\n"  # read-only
    assert run("delete", lambda: open(etc, "w").write("nameserver 192.0.2.99\n")) == "MISSING\n"
    with open(etc) as f:
        assert f.read() == "x\n"  # deleted, then written afresh by the command
    r = spawn("-q", "-D", bbtree, "--resolv-conf=sideways", "/bin/true")
    assert r.returncode == 1 and r.stderr.strip() == "Invalid --resolv-conf= mode 'sideways': see --resolv-conf=help."
    modes = spawn("--resolv-conf=help").stdout.split()
    assert len(modes) == 15 and {"auto", "off", "copy-stub", "replace-uplink", "bind-static", "delete"} <= set(modes)


# ---- --network-zone= ----

def zone_address(out):
    addr = re.search(r"inet (10\.\d+\.\d+\.\d+)/24", out)
    assert addr, out
    return addr.group(1), str(ipaddress.ip_network(f"{addr.group(1)}/24", strict=False))


def link_mac(name):
    with open(f"/sys/class/net/{name}/address") as f:
        return f.read().strip()


def zone_links():
    out = subprocess.run(["ip", "-o", "link", "show", "type", "bridge"], capture_output=True, text=True).stdout
    return [line.split(":")[1].strip() for line in out.splitlines()]


@pytest.fixture
def second_tree(tmp_path):
    import guests
    return guests.make_busybox_tree(str(tmp_path / "bb2"))


def test_zone_machines_reach_each_other_by_name(bbtree, second_tree):
    """Two machines in zone "lab": nspawn's vz-lab bridge with their vb- links, an address each in the
    zone's /24, and the zone's dnsmasq resolves each machine's name for the other. The bridge keeps
    its own MAC as machines come and go (one the kernel took from a port would change under the
    guests' ARP entries for the gateway). Its ports have no IPv6 address of their own (the bridge has
    the zone's). The bridge and the dnsmasq go with the zone's last machine."""
    a = Machine("-q", "-D", bbtree, "-M", "zone-a", "--network-zone=lab", "-b")
    b = None
    try:
        host0_ipv4(a)  # its port is up
        bridge_mac = link_mac("vz-lab")
        assert bridge_mac != link_mac("vb-zone-a") and int(bridge_mac[:2], 16) & 3 == 2, bridge_mac
        b = Machine("-q", "-D", second_tree, "-M", "zone-b", "--network-zone=lab", "-b")
        time.sleep(0.5)
        assert "vz-lab" in zone_links()
        masters = subprocess.run(["ip", "-o", "link", "show", "master", "vz-lab"], capture_output=True, text=True).stdout
        assert "vb-zone-a@" in masters and "vb-zone-b@" in masters, masters
        assert link_mac("vz-lab") == bridge_mac
        for port in ("vb-zone-a", "vb-zone-b"):
            assert subprocess.run(["ip", "-6", "-o", "addr", "show", "dev", port], capture_output=True,
                                  text=True).stdout == ""
        addr_a, net = zone_address(host0_ipv4(a))
        addr_b, net_b = zone_address(host0_ipv4(b))
        assert net == net_b and addr_a != addr_b
        table = subprocess.run(["nft", "list", "table", "ip", "berth"], capture_output=True, text=True).stdout
        assert net in table, table
        # by name through the zone's dnsmasq (the gateway is each machine's resolver), and reachable
        r = a.exec("/bin/busybox", "nslookup", "zone-b")
        assert r.returncode == 0 and f"Address: {addr_b}" in r.stdout, r.stdout + r.stderr
        r = b.exec("/bin/busybox", "nslookup", "zone-a")
        assert r.returncode == 0 and f"Address: {addr_a}" in r.stdout, r.stdout + r.stderr
        r = a.exec("/bin/busybox", "ping", "-c", "1", "-W", "5", addr_b)
        assert r.returncode == 0, r.stdout + r.stderr
        if os.path.exists("/proc/net/if_inet6"):
            zone_ipv6(a, b, addr_a, addr_b)
        assert b.stop(signal.SIGTERM, timeout=30) == 0
        b = None
        # the zone stays while a machine is in it, with its MAC; the one that left no longer resolves
        assert "vz-lab" in zone_links()
        assert link_mac("vz-lab") == bridge_mac
        r = a.exec("/bin/busybox", "nslookup", "zone-b")
        assert addr_b not in r.stdout, r.stdout
    finally:
        if b:
            b.stop(signal.SIGTERM, timeout=30)
        assert a.stop(signal.SIGTERM, timeout=30) == 0
    # the bridge goes a moment after the last launcher's exit: a child of it deletes the bridge (the
    # kernel's work, RCU grace periods), holding the network lock, which a next start would wait for
    assert wait_for(lambda: "vz-lab" not in zone_links() and not os.path.exists("/run/berth/network/zones"),
                    timeout=3)
    assert "vz-lab" not in subprocess.run(["pgrep", "-a", "dnsmasq"], capture_output=True, text=True).stdout


def udhcpc_lease(m_or_none, tree=None, name=None):
    """The address the zone's dnsmasq leases to machine m over DHCP (busybox udhcpc, which configures
    nothing: -s /bin/true), and the address berth gave its host0; or the same from a new machine
    (tree, name) in zone "dh" that runs just that."""
    script = "ip -4 -o addr show host0; /bin/busybox udhcpc -i host0 -n -q -t 5 -T 1 -s /bin/true 2>&1"
    if m_or_none:
        out = m_or_none.exec("/bin/busybox", "sh", "-c", script).stdout
    else:
        r = spawn("-q", "-D", tree, "-M", name, "--network-zone=dh", "/bin/busybox", "sh", "-c", script)
        assert r.returncode == 0, r.stderr
        out = r.stdout
    lease = re.search(r"lease of (10\.[\d.]+) obtained", out)
    assert lease, out
    return lease.group(1), zone_address(out)[0]


def test_zone_dhcp_gives_each_machine_its_address(bbtree, second_tree, tmp_path):
    """A guest that runs DHCP in a zone gets the address berth set on its host0. A machine that left
    keeps its lease in the zone's dnsmasq: a machine that comes next does not get that address (its
    DHCP would not either), and the machine that comes back gets it again."""
    import guests
    third = guests.make_busybox_tree(str(tmp_path / "third"))
    a = Machine("-q", "-D", bbtree, "-M", "dh-a", "--network-zone=dh", "-b")
    b = c = None
    try:
        lease_a, addr_a = udhcpc_lease(a)
        assert lease_a == addr_a
        b = Machine("-q", "-D", second_tree, "-M", "dh-b", "--network-zone=dh", "-b")
        lease_b, addr_b = udhcpc_lease(b)
        assert lease_b == addr_b
        assert a.stop(signal.SIGTERM, timeout=30) == 0
        a = None
        c = Machine("-q", "-D", third, "-M", "dh-c", "--network-zone=dh", "-b")
        lease_c, addr_c = udhcpc_lease(c)
        assert addr_c != addr_a and lease_c == addr_c
        lease, addr = udhcpc_lease(None, bbtree, "dh-a")  # dh-a again, while dh-b and dh-c run
        assert addr == addr_a and lease == addr
    finally:
        for m in (a, b, c):
            if m:
                m.stop(signal.SIGTERM, timeout=30)
    assert wait_for(lambda: not os.path.exists("/run/berth/network/zones"), timeout=3)


def zone_ipv6(a, b, addr_a, addr_b):
    """The zone's ULA /64 (::1 on its bridge): each machine ::LAST-BYTE-OF-ITS-IPv4, routed, by name
    through the zone's dnsmasq, and in berth's ip6 table (NAT66 out)."""
    got = {}
    for m, v4 in ((a, addr_a), (b, addr_b)):
        out = m.exec("ip", "-6", "-o", "addr", "show", "dev", "host0", "scope", "global").stdout
        addr = re.search(r"inet6 (fd[0-9a-f:]+)/64", out)
        assert addr, out
        got[v4] = ipaddress.ip_address(addr.group(1))
        assert int(got[v4]) & 0xffff == int(v4.split(".")[3]), (v4, got[v4])
    prefix = ipaddress.ip_network(f"{got[addr_a]}/64", strict=False)
    assert got[addr_b] in prefix
    assert f"inet6 {prefix.network_address + 1}/64" in subprocess.run(
        ["ip", "-6", "-o", "addr", "show", "dev", "vz-lab"], capture_output=True, text=True).stdout
    assert f"default via {prefix.network_address + 1} dev host0" in a.exec("ip", "-6", "route", "show", "default").stdout
    r = a.exec("/bin/busybox", "ping", "-c", "1", "-W", "5", str(got[addr_b]))
    assert r.returncode == 0, r.stdout + r.stderr
    r = a.exec("/bin/busybox", "nslookup", "-type=AAAA", "zone-b")
    assert str(got[addr_b]) in r.stdout, r.stdout + r.stderr
    table = subprocess.run(["nft", "list", "table", "ip6", "berth"], capture_output=True, text=True).stdout
    assert str(prefix) in table, table


def test_zone_of_a_killed_launcher_is_collected(bbtree):
    m = Machine("-q", "-D", bbtree, "-M", "zone-crash", "--network-zone=crashlab", "-b")
    time.sleep(0.5)
    assert "vz-crashlab" in zone_links()
    m.proc.kill()
    m.proc.wait()
    r = spawn("-q", "-D", bbtree, "-M", "zone-other", "/bin/true")
    assert r.returncode == 0, r.stderr
    assert "vz-crashlab" not in zone_links()
    assert not os.path.exists("/run/berth/network/zone-crash.net")
    assert spawn("-q", "-D", bbtree, "-M", "zone-crash", "/bin/true").returncode == 0


def test_zone_member_of_a_killed_launcher_leaves_the_zone(bbtree, second_tree):
    """A member whose launcher was killed: the next start collects it, and with it its name in the
    zone's DNS (its files in the zone's hosts directories), while the zone stays for the others."""
    a = Machine("-q", "-D", bbtree, "-M", "zk-a", "--network-zone=kl", "-b")
    b = None
    try:
        host0_ipv4(a)
        b = Machine("-q", "-D", second_tree, "-M", "zk-b", "--network-zone=kl", "-b")
        addr_b, _ = zone_address(host0_ipv4(b))
        r = a.exec("/bin/busybox", "nslookup", "zk-b")
        assert f"Address: {addr_b}" in r.stdout, r.stdout + r.stderr
        files = [f"/run/berth/network/zones/kl.{d}/zk-b" for d in ("hosts", "dhcp")]
        assert all(os.path.exists(f) for f in files)
        b.proc.kill()
        b.proc.wait()
        b = None
        r = spawn("-q", "-D", second_tree, "-M", "zk-next", "/bin/true")
        assert r.returncode == 0, r.stderr
        assert not any(os.path.exists(f) for f in files)
        assert "vz-kl" in zone_links()
        r = a.exec("/bin/busybox", "nslookup", "zk-b")
        assert addr_b not in r.stdout, r.stdout
        # its cgroups go with the next start of its name (no berthd here to collect them)
        assert spawn("-q", "-D", second_tree, "-M", "zk-b", "/bin/true").returncode == 0
    finally:
        if b:
            b.proc.kill()
            b.proc.wait()
        assert a.stop(signal.SIGTERM, timeout=30) == 0
    assert wait_for(lambda: not os.path.exists("/run/berth/network/zones"), timeout=3)


@pytest.mark.parametrize("args,message", [
    (["--network-zone=way-too-long-zone"], "Invalid zone name 'way-too-long-zone': use up to 12 letters, digits, '-', '_' or '.'."),
    (["--network-zone=a/b"], "Invalid zone name 'a/b'"),
])
def test_bad_zones_are_refused(bbtree, args, message):
    r = spawn("-q", "-D", bbtree, *args, "/bin/true")
    assert r.returncode == 1 and message in r.stderr, r.stderr
    assert not os.path.exists("/run/berth/network/zones")


def test_zone_machine_publishes_ports(bbtree, second_tree):
    """-p with --network-zone=: DNAT to the machine's address in its zone, from localhost and the
    host's address, hairpin for another machine of the zone; the port is taken while it runs."""
    with Machine("-q", "-D", bbtree, "-M", "zone-pub", "--network-zone=pz", "-p", "8081:80", "-p", "udp:5354:5353",
                 "/bin/sleep", "60") as m:
        server = subprocess.Popen(["nsenter", "-t", str(m.leader), "-n", "python3", "-c", PORT_SERVERS])
        try:
            _wait_port(m.leader, 80)
            addr, net = zone_address(host0_ipv4(m, r"inet 10\.\d+\.\d+\.\d+/24"))
            gateway = str(ipaddress.ip_network(net).network_address + 1)
            assert_published(gateway, 8081, 5354)
            # another machine of the zone, through the host's address (hairpin)
            r = spawn("-q", "-D", second_tree, "-M", "zone-pub2", "--network-zone=pz", "/bin/sh", "-c",
                      f"nc {host_address()} 8081 </dev/null")
            assert r.returncode == 0 and r.stdout.startswith("tcp from 10."), r
            # the port is this machine's while it runs, for a -n machine and a zone's alike
            for args in (["-n"], ["--network-zone=pz"]):
                r = spawn("-q", "-D", second_tree, "-M", "zone-pub3", *args, "-p", "8081", "/bin/true")
                assert r.returncode == 1 and "Port tcp:8081 is already published by another machine." in r.stderr, r
        finally:
            server.kill()
            server.wait()
    # its DNAT entries went with it
    assert "8081" not in subprocess.run(["nft", "list", "table", "ip", "berth"], capture_output=True, text=True).stdout


def test_settings_file_zone_needs_trust(bbtree):
    with open(os.path.join(os.path.dirname(bbtree), "bb.nspawn"), "w") as f:
        f.write("[Network]\nZone=lab\n")
    r = spawn("-D", bbtree, "/bin/sh", "-c", "ls /sys/class/net")
    assert r.returncode == 0, r.stderr
    assert "host0" not in r.stdout.split()
    assert "bb.nspawn:2: Zone= is ignored in a settings file that is not in /etc/systemd/nspawn" in r.stderr


def test_forward_drop_elsewhere_is_named_once(bbtree):
    """Another tool's forward chain with policy drop (Docker's FORWARD DROP) overrides berth's
    accepts: the first networked machine of the boot names it, later ones stay quiet."""
    marker = "/run/berth/network/.forward-checked"
    subprocess.run(["nft", "-f", "-"], check=True, text=True,
                   input="table ip berth-test-fw {\n chain fw { type filter hook forward priority 0; policy drop; }\n}\n")
    try:
        if os.path.exists(marker):
            os.unlink(marker)
        first = spawn("-q", "-D", bbtree, "-M", "net-fwdrop", "-n", "/bin/true")
        second = spawn("-q", "-D", bbtree, "-M", "net-fwdrop", "-n", "/bin/true")
    finally:
        subprocess.run(["nft", "delete", "table", "ip", "berth-test-fw"], check=True)
    assert first.returncode == 0 and second.returncode == 0, (first.stderr, second.stderr)
    assert ("The host's firewall drops forwarded traffic (a forward chain with policy drop in nftables table "
            "'ip berth-test-fw'): machines with -n cannot reach beyond the host.") in first.stderr, first.stderr
    assert "drops forwarded traffic" not in second.stderr, second.stderr


def test_flushed_ruleset_is_made_again_at_once(bbtree, second_tree):
    """`nft flush ruleset` (a firewall restart) while a machine runs: its launcher hears the tables
    go (NFNLGRP_NFTABLES) and makes them again from the records, without another machine starting;
    the next machine adds and removes its own elements beside."""
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, check=True).stdout
    if set(tables.split("\n")) - {"", "table ip berth", "table ip6 berth"}:
        pytest.skip(f"the host has nftables tables of its own, which a flush would destroy: {tables}")
    m = Machine("-q", "-D", bbtree, "-M", "net-flush", "-n", "-b")
    try:
        # at once, while the launcher may still be setting up (before its watch is on), then later
        subprocess.run(["nft", "flush", "ruleset"], check=True)
        for _ in range(100):  # exec may enter the machine a moment before its links are configured
            out = m.exec("ip", "-4", "-o", "addr", "show", "host0").stdout
            if "inet 10." in out:
                break
            time.sleep(0.05)
        _, net = parse_probe(out)
        for when in ("at the start", "while it runs"):
            if when == "while it runs":
                subprocess.run(["nft", "flush", "ruleset"], check=True)
            deadline = time.monotonic() + 5
            while berth_elements() != [f"machines: {net}"] and time.monotonic() < deadline:
                time.sleep(0.05)
            assert berth_elements() == [f"machines: {net}"], when
        assert berth_elements("ip6") != [] or not os.path.exists("/proc/net/if_inet6")
        table = subprocess.run(["nft", "list", "table", "ip", "berth"], capture_output=True, text=True).stdout
        assert "ip saddr @machines ip daddr != @machines masquerade" in table, table
        r = spawn("-q", "-D", second_tree, "-M", "net-flush2", "-n", "/bin/sh", "-c", "ip -4 -o addr show host0")
        assert r.returncode == 0, r.stderr
        _, net2 = parse_probe(r.stdout)
        table = subprocess.run(["nft", "list", "table", "ip", "berth"], capture_output=True, text=True).stdout
        assert f"elements = {{ {net} }}" in table, table  # net-flush2 has gone: net-flush's alone
        assert str(net2) not in table and "ip saddr @machines ip daddr != @machines masquerade" in table
    finally:
        assert m.stop(signal.SIGTERM, timeout=30) == 0
    assert berth_elements() == []


UP6_HOST, UP6_ADDR = "fd18:18::1", "fd18:18::2"
SERVER6 = f"""
import socket
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("{UP6_ADDR}", {UP_PORT})); s.listen(8)
while True:
    c, a = s.accept(); c.sendall(("upstream saw " + a[0] + "\\n").encode()); c.close()
"""
GUEST_SERVER6 = """
import socket
t = socket.socket(socket.AF_INET6); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("::", 80)); t.listen(8)
while True:
    c, a = t.accept(); c.sendall(("tcp from " + a[0] + "\\n").encode()); c.close()
"""


@pytest.fixture
def upstream6():
    """An IPv6-only "internet": a network namespace behind up6-PID (fd18:18::/64) with a TCP server."""
    holder = _netns_holder()
    link = f"up6-{os.getpid() % 100000}"
    server = None
    try:
        ns = ["nsenter", "-t", str(holder.pid), "-n"]
        subprocess.run(["ip", "link", "add", link, "type", "veth", "peer", "name", "eth0", "netns",
                        str(holder.pid)], check=True)
        subprocess.run(["ip", "addr", "add", f"{UP6_HOST}/64", "dev", link, "nodad"], check=True)
        subprocess.run(["ip", "link", "set", link, "up"], check=True)
        for cmd in (["ip", "addr", "add", f"{UP6_ADDR}/64", "dev", "eth0", "nodad"], ["ip", "link", "set", "eth0", "up"]):
            subprocess.run(ns + cmd, check=True)
        server = subprocess.Popen(ns + ["python3", "-c", SERVER6])
        _wait_port(holder.pid, UP_PORT)
        yield
    finally:
        if server:
            server.kill()
            server.wait()
        subprocess.run(["ip", "link", "del", link], stderr=subprocess.DEVNULL)
        holder.kill()
        holder.wait()


@pytest.mark.skipif(not os.path.exists("/proc/net/if_inet6"), reason="the host has no IPv6")
def test_ipv6_ula_nat66_and_published_port(bbtree, upstream6):
    with Machine("-q", "-D", bbtree, "-M", "net-v6", "-n", "-p", "8086:80", "/bin/sleep", "60") as m:
        # the machine runs once its links are there, but exec may enter it a moment before
        for _ in range(100):
            out = m.exec("sh", "-c", "ip -6 -o addr show dev host0 scope global; ip -6 route show default").stdout
            addr = re.search(r"inet6 (fd[0-9a-f:]+::2)/64", out)
            if addr and "default via" in out:
                break
            time.sleep(0.05)
        assert addr, out
        prefix = ipaddress.ip_network(f"{addr.group(1)}/64", strict=False)
        assert f"default via {prefix.network_address + 1} dev host0" in out
        # the same /64 on every start: derived from the host's machine id and the /28
        v4, _ = parse_probe(host0_ipv4(m))
        assert int(prefix.network_address) >> 64 & 0xfffff == (int(v4) - 0x0a000000) >> 4
        # NAT66: the upstream sees the host's address on its link
        r = m.exec("sh", "-c", f"nc {UP6_ADDR} {UP_PORT} </dev/null")
        assert r.stdout == f"upstream saw {UP6_HOST}\n", r
        rules = subprocess.run(["nft", "list", "table", "ip6", "berth"], capture_output=True, text=True).stdout
        assert f"{prefix}" in rules and "masquerade" in rules, rules
        # the published port on the host's IPv6 address
        server = subprocess.Popen(["nsenter", "-t", str(m.leader), "-n", "python3", "-c", GUEST_SERVER6])
        try:
            _wait_port(m.leader, 80)
            assert tcp_get(UP6_HOST, 8086) == f"tcp from {UP6_HOST}\n"
        finally:
            server.kill()
            server.wait()
    r = subprocess.run(["nft", "list", "table", "ip6", "berth"], capture_output=True, text=True)
    assert str(prefix) not in r.stdout


def test_empty_zone_left_by_a_killed_launcher_is_collected(bbtree):
    """A launcher killed after it made a zone (its record, bridge) but before it joined: no machine's
    record names the zone, and the next start removes it."""
    os.makedirs("/run/berth/network/zones", exist_ok=True)
    with open("/run/berth/network/zones/ghost.zone", "w") as f:
        f.write("10.254.254.0/24 vz-ghost\n")
    subprocess.run(["ip", "link", "add", "vz-ghost", "type", "bridge"], check=True)
    r = spawn("-q", "-D", bbtree, "-M", "zone-next", "/bin/true")
    assert r.returncode == 0, r.stderr
    assert "vz-ghost" not in zone_links()
    assert not os.path.exists("/run/berth/network/zones")


@pytest.mark.skipif(not os.path.exists("/proc/net/if_inet6"), reason="the host has no IPv6")
def test_zone_reaches_an_ipv6_upstream_through_nat66(bbtree, upstream6):
    r = spawn("-q", "-D", bbtree, "-M", "zone-v6", "--network-zone=lab6", "/bin/sh", "-c",
              f"nc {UP6_ADDR} {UP_PORT} </dev/null")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"upstream saw {UP6_HOST}\n"

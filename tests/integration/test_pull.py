# SPDX-License-Identifier: LGPL-2.1-or-later
"""berthctl pull-tar/pull-raw against an HTTP server this test runs on 127.0.0.1: --verify=
checksum and signature (SHA256SUMS and SHA256SUMS.gpg made with a throw-away key), compression
by content, --force, --read-only; list-transfers with progress, cancel-transfer; a 404, a redirect
loop, a server that stalls or drops the connection, a wrong checksum, a full pool and a berthd
killed mid-pull leave nothing in the pool. Images are "bt-pull-*"."""

import gzip
import hashlib
import http.server
import io
import json
import os
import signal
import subprocess
import tarfile
import threading
import time
import uuid

import pytest

import guests
from conftest import SPAWN
from daemon import Berthd
from test_berthctl import CTL
from test_import import ctl, manifest, pool_entries, POOL
from test_machined_images import PoolBerthd, purge

KEYRING = "/etc/systemd/import-pubring.gpg"


class Server(http.server.ThreadingHTTPServer):
    """Serves self.files {path: bytes}; self.behaviour {path: "slow"|"drop"|"stall"|"loop"} changes
    how; everything else is a 404. self.requests counts the paths asked for."""
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.files, self.behaviour, self.requests = {}, {}, []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def close(self):
        self.stop.set()
        self.shutdown()
        self.server_close()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        s = self.server
        s.requests.append(self.path)
        how = s.behaviour.get(self.path)
        if how == "loop":
            self.send_response(302)
            self.send_header("Location", self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = s.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            if how == "drop":  # half, then the connection goes
                self.wfile.write(data[:len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
            elif how == "stall":  # a few bytes, then nothing
                self.wfile.write(data[:100])
                self.wfile.flush()
                s.stop.wait(60)
            elif how == "slow":  # 256 KiB/s
                for i in range(0, len(data), 32 << 10):
                    if s.stop.is_set():
                        return
                    self.wfile.write(data[i:i + (32 << 10)])
                    self.wfile.flush()
                    time.sleep(0.125)
            else:
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture
def prefix():
    p = "bt-pull-" + uuid.uuid4().hex[:8]
    yield p
    purge(p)


@pytest.fixture
def pull_berthd(bus):
    """berthd whose pulls give up on a server silent for 2 s (BERTH_PULL_TIMEOUT_SEC)."""
    bus.env["BERTH_PULL_TIMEOUT_SEC"] = "2"
    d = Berthd(bus)
    yield d
    d.stop()


def one_file_tar(name, data, mode="w"):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as t:
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def busybox_tar(tmp_path, compression="xz"):
    src = guests.make_busybox_tree(str(tmp_path / "src"))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=f"w:{compression}") as t:
        t.add(src, arcname=".")
    return src, buf.getvalue()


def sums(**files):
    return "".join(f"{hashlib.sha256(d).hexdigest()}  {n}\n" for n, d in files.items()).encode()


def publish(server, directory, **files):
    """Puts files and their SHA256SUMS under /directory/."""
    for n, d in files.items():
        server.files[f"/{directory}/{n}"] = d
    server.files[f"/{directory}/SHA256SUMS"] = sums(**files)


def test_pull_tar_checksum_boots(bus, pull_berthd, server, prefix, tmp_path):
    src, data = busybox_tar(tmp_path)
    publish(server, "d", **{f"{prefix}.tar.xz": data})
    r = ctl(bus, "pull-tar", "--verify=checksum", server.url(f"/d/{prefix}.tar.xz"))
    assert r.returncode == 0, r.stderr
    assert f"Pulled image '{prefix}'".encode() in r.stdout  # the name from the URL, suffix dropped
    assert manifest(os.path.join(POOL, prefix)) == manifest(src)
    assert pool_entries(prefix) == [prefix]
    assert server.requests == ["/d/SHA256SUMS", f"/d/{prefix}.tar.xz"]
    r = subprocess.run([SPAWN, "-q", "-M", prefix, "--register=no", "/bin/cat", "/etc/os-release"],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert r.returncode == 0 and "ID=busybox" in r.stdout, r.stderr

    # an existing image: refused, then replaced with --force; --read-only marks it
    r = ctl(bus, "pull-tar", "--verify=checksum", server.url(f"/d/{prefix}.tar.xz"))
    assert r.returncode == 1 and b"already exists (--force replaces it)" in r.stderr, r.stderr
    open(os.path.join(POOL, prefix, "marker"), "w").close()
    r = ctl(bus, "pull-tar", "--verify=checksum", "--force", "--read-only", server.url(f"/d/{prefix}.tar.xz"))
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(os.path.join(POOL, prefix, "marker"))
    assert ctl(bus, "show-image", "-P", "ReadOnly", prefix).stdout == b"yes\n"
    assert pool_entries(prefix) == [prefix]


def test_pull_raw_compressed_by_content(bus, pull_berthd, server, prefix):
    raw = os.urandom(1 << 20) + b"\0" * (4 << 20) + b"end"
    zst = subprocess.run(["zstd", "-q", "-c"], input=raw, capture_output=True, check=True).stdout
    publish(server, "r", **{"disk.raw.zst": zst, "disk.raw.gz": gzip.compress(raw), "disk.raw": raw})
    for n in ["disk.raw.zst", "disk.raw.gz", "disk.raw"]:
        name = f"{prefix}-{n.replace('.', '-')}"
        r = ctl(bus, "pull-raw", "--verify=no", server.url(f"/r/{n}"), name)
        assert r.returncode == 0, r.stderr
        with open(os.path.join(POOL, name + ".raw"), "rb") as f:
            assert f.read() == raw, n
    assert "/r/SHA256SUMS" not in server.requests  # --verify=no fetches no checksums


@pytest.fixture
def make_key(tmp_path):
    """A throw-away signing key in its own GnuPG home; returns a signer and the public key.
    gpg starts an agent for that home: it is stopped at the end, so nothing keeps running."""
    home = tmp_path / "gnupg"
    yield lambda: _make_key(home)
    if home.exists():
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True)


def _make_key(home):
    home.mkdir(mode=0o700)
    env = dict(os.environ, GNUPGHOME=str(home))
    subprocess.run(["gpg", "--batch", "--quiet", "--passphrase", "", "--quick-gen-key", "berth-test@localhost",
                    "ed25519", "sign", "1d"], env=env, check=True, capture_output=True)
    public = subprocess.run(["gpg", "--batch", "--export"], env=env, check=True, capture_output=True).stdout

    def sign(data):
        return subprocess.run(["gpg", "--batch", "--quiet", "--detach-sign", "-o", "-"], input=data, env=env,
                              check=True, capture_output=True).stdout
    return sign, public


@pytest.fixture
def host_keyring():
    """Installs a keyring as the host's (machinectl's path); it must not be there already."""
    if os.path.exists(KEYRING):
        pytest.skip(f"{KEYRING} exists on this host; the test will not replace it")
    written = []

    def install(data):
        with open(KEYRING, "wb") as f:
            f.write(data)
        written.append(KEYRING)
    yield install
    for p in written:
        os.unlink(p)


def test_pull_signature(bus, pull_berthd, server, prefix, tmp_path, host_keyring, make_key):
    sign, public = make_key()
    _, data = busybox_tar(tmp_path, "gz")
    publish(server, "s", **{"img.tar.gz": data})
    url = server.url("/s/img.tar.gz")

    # no signature on the server
    r = ctl(bus, "pull-tar", url, prefix)
    assert r.returncode == 1, r.stderr
    assert f"Failed to download {server.url('/s/SHA256SUMS.gpg')}: The requested URL returned error: 404".encode() \
        in r.stderr, r.stderr

    # signed, but by a key the host does not trust (only the distribution's keyring is there)
    server.files["/s/SHA256SUMS.gpg"] = sign(server.files["/s/SHA256SUMS"])
    r = ctl(bus, "pull-tar", url, prefix)
    assert r.returncode == 1, r.stderr
    assert b"The signature of SHA256SUMS does not verify against the keys in /usr/lib/systemd/import-pubring.gpg" \
        in r.stderr, r.stderr

    # trusted: it pulls (--verify=signature is the default)
    host_keyring(public)
    r = ctl(bus, "pull-tar", url, prefix)
    assert r.returncode == 0, r.stderr
    assert pool_entries(prefix) == [prefix]

    # SHA256SUMS changed after signing
    server.files["/s/SHA256SUMS"] = sums(**{"img.tar.gz": b"other"})
    r = ctl(bus, "pull-tar", "--force", url, prefix)
    assert r.returncode == 1, r.stderr
    assert f"The signature of SHA256SUMS does not verify against the keys in {KEYRING}".encode() in r.stderr
    assert pool_entries(prefix) == [prefix]


def test_pull_bad_input_leaves_nothing(bus, pull_berthd, server, prefix, tmp_path):
    _, data = busybox_tar(tmp_path, "gz")
    publish(server, "b", **{"ok.tar.gz": data, "drop.tar.gz": data, "stall.tar.gz": data, "loop.tar.gz": data})
    server.files["/b/bad.tar.gz"] = data + b"x"  # SHA256SUMS has no line for it
    server.files["/b/SHA256SUMS"] += sums(**{"wrong.tar.gz": b"something else", "missing.tar.gz": b"gone"})
    server.files["/b/wrong.tar.gz"] = data
    server.behaviour.update({"/b/drop.tar.gz": "drop", "/b/stall.tar.gz": "stall", "/b/loop.tar.gz": "loop"})
    cases = {
        "missing.tar.gz": "Failed to download {url}: The requested URL returned error: 404",
        "loop.tar.gz": "Failed to download {url}: Maximum (8) redirects followed",
        "drop.tar.gz": "Failed to download {url}: transfer closed with",
        "stall.tar.gz": "Failed to download {url}: the server stalled",
        "bad.tar.gz": "{sums} lists no checksum for 'bad.tar.gz'; the file cannot be verified",
        "wrong.tar.gz": "The download of {url} does not match SHA256SUMS",
    }
    for n, message in cases.items():
        url = server.url(f"/b/{n}")
        r = ctl(bus, "pull-tar", "--verify=checksum", url, prefix)
        expected = message.format(url=url, sums=server.url("/b/SHA256SUMS"))
        assert r.returncode == 1 and expected.encode() in r.stderr, (n, r.stderr)
        assert pool_entries(prefix) == [], n
    for url, message in [("ftp://127.0.0.1/x.tar", "Invalid URL 'ftp://127.0.0.1/x.tar'"),
                         (server.url("/b/"), "Invalid URL"),
                         ]:
        r = ctl(bus, "pull-tar", "--verify=no", url, prefix)
        assert r.returncode == 1 and message.encode() in r.stderr, (url, r.stderr)
    r = ctl(bus, "pull-tar", "--verify=maybe", server.url("/b/ok.tar.gz"), prefix)
    assert r.returncode == 1 and b"Invalid --verify= 'maybe' (no, checksum or signature)." in r.stderr
    # a tarball that climbs out of the tree
    server.files["/b/evil.tar"] = one_file_tar("../../escaped", b"x")
    r = ctl(bus, "pull-tar", "--verify=no", server.url("/b/evil.tar"), prefix)
    assert r.returncode == 1 and b"../../escaped" in r.stderr, r.stderr
    assert pool_entries(prefix) == []
    # the next pull completes
    r = ctl(bus, "pull-tar", "--verify=checksum", server.url("/b/ok.tar.gz"), prefix)
    assert r.returncode == 0, r.stderr
    assert pool_entries(prefix) == [prefix]


def start_slow_pull(bus, server, prefix, size=8 << 20):
    """A pull-tar of an 8 MiB tarball at 256 KiB/s (a tree: it has a hidden temporary meanwhile)."""
    server.files["/slow/big.tar"] = one_file_tar("big", os.urandom(size - 3 * 512))
    server.behaviour["/slow/big.tar"] = "slow"
    return subprocess.Popen([CTL, "pull-tar", "--verify=no", server.url("/slow/big.tar"), prefix], env=bus.env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for_transfer(bus, prefix):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        r = ctl(bus, "list-transfers", "--json=short")
        assert r.returncode == 0, r.stderr
        rows = [t for t in json.loads(r.stdout)["transfers"] if t["local"] == prefix]
        if rows and rows[0]["progress"]:
            return rows[0]
        time.sleep(0.2)
    raise AssertionError("the pull never showed progress in list-transfers")


def test_list_and_cancel(bus, pull_berthd, server, prefix):
    p = start_slow_pull(bus, server, prefix)
    try:
        row = wait_for_transfer(bus, prefix)
        assert row["type"] == "pull-tar" and row["remote"] == server.url("/slow/big.tar"), row
        assert " of 8.0 MiB, " in row["progress"] and "/s, ETA " in row["progress"], row
        table = ctl(bus, "list-transfers").stdout.decode().splitlines()
        assert table[0].split() == ["ID", "TYPE", "LOCAL", "PROGRESS", "REMOTE"], table
        assert table[1].split()[:3] == [str(row["id"]), "pull-tar", prefix], table
        assert table[-1] == "1 transfers listed.", table
        r = ctl(bus, "cancel-transfer", str(row["id"]))
        assert r.returncode == 0, r.stderr
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 1 and f"The transfer of '{prefix}' was cancelled.".encode() in err, err
    assert pool_entries(prefix) == []
    assert ctl(bus, "list-transfers").stdout == b"No transfers.\n"
    r = ctl(bus, "cancel-transfer", "4711")
    assert r.returncode == 1 and b"No transfer 4711 (see list-transfers)." in r.stderr, r.stderr
    server.behaviour.clear()
    r = ctl(bus, "pull-tar", "--verify=no", server.url("/slow/big.tar"), prefix)
    assert r.returncode == 0, r.stderr
    assert pool_entries(prefix) == [prefix]


def test_berthd_killed_mid_pull_leaves_nothing(bus, server, prefix):
    d = Berthd(bus)
    p = start_slow_pull(bus, server, prefix)
    try:
        wait_for_transfer(bus, prefix)
        hidden = [n for n in os.listdir(POOL) if n.startswith(".#import-") and prefix in n]
        assert hidden, os.listdir(POOL)
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        deadline = time.monotonic() + 10
        while pool_entries(prefix) and time.monotonic() < deadline:
            time.sleep(0.1)
        # the helper removed its temporary itself: no berthd was restarted to sweep it
        assert pool_entries(prefix) == [], pool_entries(prefix)
        p.wait(timeout=30)
    finally:
        d.stop()
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode != 0


def test_pull_into_a_full_pool(bus, server, prefix):
    bus.env["BERTH_PULL_TIMEOUT_SEC"] = "5"
    d = PoolBerthd(bus, "16m")
    try:
        # not zeros: those would become holes
        server.files["/f/big.tar.gz"] = one_file_tar("big", b"\x01" * (32 << 20), "w:gz")
        server.files["/f/big.raw.gz"] = gzip.compress(os.urandom(1 << 20) * 32, compresslevel=1)
        for n, verb in [("big.tar.gz", "pull-tar"), ("big.raw.gz", "pull-raw")]:
            r = ctl(bus, verb, "--verify=no", server.url(f"/f/{n}"), prefix)
            assert r.returncode == 1 and b"No space left" in r.stderr, (n, r.stderr)
            assert os.listdir(d.pool()) == [], "something was left in the full pool"
        server.files["/f/small.tar"] = one_file_tar("etc/os-release", b"ID=x\n")
        r = ctl(bus, "pull-tar", "--verify=no", server.url("/f/small.tar"), prefix)
        assert r.returncode == 0, r.stderr
        assert os.listdir(d.pool()) == [prefix]
    finally:
        d.stop()


def test_ctrl_c_cancels_the_pull(bus, pull_berthd, server, prefix):
    """SIGINT to berthctl pull-* cancels the transfer in berthd, as machinectl's does."""
    p = start_slow_pull(bus, server, prefix)
    try:
        wait_for_transfer(bus, prefix)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert p.returncode == 1 and f"The transfer of '{prefix}' was cancelled.".encode() in err, err
    deadline = time.monotonic() + 10
    while pool_entries(prefix) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert pool_entries(prefix) == []
    assert ctl(bus, "list-transfers").stdout == b"No transfers.\n"

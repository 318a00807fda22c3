# SPDX-License-Identifier: LGPL-2.1-or-later
"""berthctl pull-oci against a real registry (Debian's docker-registry) on 127.0.0.1, filled by
Debian's skopeo from OCI layouts this test builds: several layers with a whiteout, an image index
with two platforms, Basic auth through the registry's htpasswd with auth.json credentials, a
tampered blob. Images are "bt-oci-*"."""

import base64
import gzip
import hashlib
import http.server
import io
import json
import signal
import os
import platform
import shutil
import socket
import subprocess
import tarfile
import threading
import time
import uuid

import pytest

from conftest import SPAWN
from test_berthctl import CTL
from test_import import ctl, pool_entries, POOL
from test_machined_images import purge

pytestmark = pytest.mark.skipif(not shutil.which("docker-registry") or not shutil.which("skopeo"),
                                reason="needs Debian's docker-registry and skopeo")

ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    def __init__(self, root, htpasswd=None, tls=False, extra=""):
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.root = root
        conf = root / "config.yml"
        auth = f"auth:\n  htpasswd:\n    realm: berth-test\n    path: {htpasswd}\n" if htpasswd else extra
        tls_conf = ""
        if tls:  # a certificate this test makes, trusted by nobody
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                            "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(root / "key.pem"),
                            "-out", str(root / "cert.pem")], check=True, capture_output=True)
            tls_conf = f"  tls:\n    certificate: {root}/cert.pem\n    key: {root}/key.pem\n"
        conf.write_text(f"""version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: {root}/storage
http:
  addr: 127.0.0.1:{self.port}
{tls_conf}{auth}""")
        self.log = open(root / "registry.log", "wb")
        self.proc = subprocess.Popen(["docker-registry", "serve", str(conf)], stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the registry did not start")

    def requests(self, what):
        with open(self.root / "registry.log", "rb") as f:
            return [l for l in f.read().decode(errors="replace").splitlines() if f'"GET {what}' in l]

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture
def registry(tmp_path):
    (tmp_path / "reg").mkdir()
    r = Registry(tmp_path / "reg")
    yield r
    r.close()


STORE = os.path.join(POOL, ".#layers")


def store_layers():
    d = os.path.join(STORE, "sha256")
    return set(os.listdir(d)) if os.path.isdir(d) else set()


def store_temporaries():
    return [n for n in os.listdir(STORE) if n.startswith(".#")] if os.path.isdir(STORE) else []


@pytest.fixture
def prefix():
    """Images "bt-oci-*"; the layers the test left in the store (an interrupted pull's) go too."""
    p = "bt-oci-" + uuid.uuid4().hex[:8]
    before = store_layers()
    yield p
    purge(p)
    for n in store_layers() - before:
        subprocess.run(["rm", "-rf", "--one-file-system", os.path.join(STORE, "sha256", n)], check=False)


def layer(files):
    """A gzipped tar layer of {path: bytes or None (a whiteout)}."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for path, data in files.items():
            if data is None:
                d, n = os.path.split(path)
                path, data = os.path.join(d, ".wh." + n), b""
            ti = tarfile.TarInfo(path)
            ti.size = len(data)
            ti.mode = 0o755 if path.startswith("bin/") else 0o644
            t.addfile(ti, io.BytesIO(data))
    return gzip.compress(buf.getvalue(), mtime=0)


def blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": "sha256:" + digest, "size": len(data)}


def image_manifest(layout, layers, cmd, arch=ARCH):
    config = json.dumps({"architecture": arch, "os": "linux", "config": {"Cmd": cmd, "Env": ["BERTH_OCI=1"]},
                         "rootfs": {"type": "layers", "diff_ids": [
                             "sha256:" + hashlib.sha256(gzip.decompress(l)).hexdigest() for l in layers]}}).encode()
    m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **blob(layout, config)},
         "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **blob(layout, l)} for l in layers]}
    return json.dumps(m).encode()


def busybox_layers():
    with open("/bin/busybox", "rb") as f:
        bb = f.read()
    base = layer({"bin/busybox": bb, "etc/os-release": b"ID=busybox\n", "etc/gone": b"x\n"})
    mid = layer({"etc/motd": b"middle\n", "etc/gone": None})
    top = layer({"etc/top": b"top\n"})
    return [base, mid, top]


def make_layout(path, layers, two_platforms=False, cmd=("/bin/busybox", "cat", "/etc/top"), other_only=False):
    """An OCI layout with one image (or an index of this platform's and another's, or of another's
    only) tagged "t"."""
    path.mkdir()
    (path / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    mine = image_manifest(path, layers, list(cmd))
    desc = {"mediaType": "application/vnd.oci.image.manifest.v1+json", **blob(path, mine),
            "annotations": {"org.opencontainers.image.ref.name": "t"}}
    if two_platforms:
        other_arch = "s390x" if ARCH != "s390x" else "amd64"
        other = image_manifest(path, [layer({"etc/wrong": b"other platform\n"})], ["/bin/false"], other_arch)
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", **blob(path, other),
             "platform": {"os": "linux", "architecture": other_arch}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", **blob(path, mine),
             "platform": {"os": "linux", "architecture": ARCH}}][:1 if other_only else 2]}
        desc = {"mediaType": "application/vnd.oci.image.index.v1+json", **blob(path, json.dumps(index).encode()),
                "annotations": {"org.opencontainers.image.ref.name": "t"}}
    (path / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [desc]}))
    return path


@pytest.fixture
def tls_registry(tmp_path):
    (tmp_path / "treg").mkdir()
    r = Registry(tmp_path / "treg", tls=True)
    yield r
    r.close()


def test_pull_oci_https_and_docker_schema2(bus, berthd, tls_registry, prefix, tmp_path):
    """HTTPS with a self-signed certificate: refused unless --tls-verify=no; the image pushed as
    a Docker v2 schema 2 manifest list."""
    push(make_layout(tmp_path / "l1", busybox_layers(), two_platforms=True), f"{tls_registry.host}/berth/d:1",
         "--format=v2s2")
    ref = f"{tls_registry.host}/berth/d:1"
    r = ctl(bus, "pull-oci", ref, prefix)
    assert r.returncode == 1 and f"Failed to fetch https://{tls_registry.host}/v2/berth/d/manifests/1".encode() \
        in r.stderr and b"certificate" in r.stderr, r.stderr
    assert pool_entries(prefix) == []
    r = ctl(bus, "pull-oci", "--tls-verify=no", ref, prefix)
    assert r.returncode == 0, r.stderr
    assert open(os.path.join(POOL, prefix, "etc/top")).read() == "top\n"
    assert not os.path.exists(os.path.join(POOL, prefix, "etc/gone"))
    manifests = [l for l in tls_registry.requests("/v2/berth/d/manifests/") if "berth-import" in l]
    assert len(manifests) == 2, manifests  # the list, then this platform's manifest (by digest)
    assert "/manifests/sha256:" in manifests[1], manifests


def push(layout, dest, *extra):
    r = subprocess.run(["skopeo", "copy", "--quiet", "--all", "--dest-tls-verify=false", *extra, f"oci:{layout}:t",
                        f"docker://{dest}"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_pull_oci_layers_whiteouts_index(bus, berthd, registry, prefix, tmp_path):
    layers = busybox_layers()
    push(make_layout(tmp_path / "l1", layers, two_platforms=True), f"{registry.host}/berth/multi:1")
    r = ctl(bus, "pull-oci", "--tls-verify=no", f"{registry.host}/berth/multi:1", prefix)
    assert r.returncode == 0, r.stderr
    assert f"Pulled image '{prefix}'".encode() in r.stdout
    img = os.path.join(POOL, prefix)
    assert open(os.path.join(img, "etc/motd")).read() == "middle\n"
    assert not os.path.exists(os.path.join(img, "etc/gone")), "the whiteout was not applied"
    assert not os.path.exists(os.path.join(img, "etc/wrong")), "the other platform's layer was applied"
    settings = open(os.path.join(POOL, prefix + ".nspawn")).read()
    assert "Parameters=/bin/busybox cat /etc/top" in settings and "Environment=BERTH_OCI=1" in settings, settings
    assert sorted(pool_entries(prefix)) == sorted([prefix, prefix + ".nspawn"]), pool_entries(prefix)
    # every layer of this platform once, none of the other's
    assert len(registry.requests("/v2/berth/multi/blobs/")) == 4, registry.requests("/v2/berth/multi/blobs/")
    r = subprocess.run([SPAWN, "-q", "-M", prefix, "--register=no"], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=60)
    assert r.returncode == 0 and r.stdout == "top\n", (r.stdout, r.stderr)


def test_pull_oci_errors(bus, berthd, registry, prefix, tmp_path):
    layers = busybox_layers()
    push(make_layout(tmp_path / "l1", layers), f"{registry.host}/berth/img:1")
    cases = [
        (f"{registry.host}/berth/img:nope", f"The registry refused http://{registry.host}/v2/berth/img/manifests/nope: "
                                            "404 manifest unknown (MANIFEST_UNKNOWN)."),
        (f"{registry.host}/berth/missing:1", "404"),
        ("debian:bookworm", "Invalid image reference 'debian:bookworm'"),
    ]
    for ref, message in cases:
        r = ctl(bus, "pull-oci", "--tls-verify=no", ref, prefix)
        assert r.returncode == 1 and message.encode() in r.stderr, (ref, r.stderr)
        assert pool_entries(prefix) == [], ref
    # https with verification against a plain-HTTP registry fails; it does not fall back silently
    r = ctl(bus, "pull-oci", f"{registry.host}/berth/img:1", prefix)
    assert r.returncode == 1 and f"Failed to fetch https://{registry.host}/v2/berth/img/manifests/1".encode() in r.stderr, \
        r.stderr
    # an index with another platform's image only
    push(make_layout(tmp_path / "l2", layers, two_platforms=True, other_only=True), f"{registry.host}/berth/other:1")
    r = ctl(bus, "pull-oci", "--tls-verify=no", f"{registry.host}/berth/other:1", prefix)
    assert r.returncode == 1 and f"{registry.host}/berth/other:1 has no image for linux/{ARCH}.".encode() in r.stderr, \
        r.stderr
    assert pool_entries(prefix) == []
    # a layer whose entry climbs out of the tree
    push(make_layout(tmp_path / "l3", [layer({"../../escaped-oci": b"x\n"})]), f"{registry.host}/berth/climb:1")
    r = ctl(bus, "pull-oci", "--tls-verify=no", f"{registry.host}/berth/climb:1", prefix)
    assert r.returncode == 1 and b"Archive member '../../escaped-oci' points outside the image; refusing." in r.stderr, \
        r.stderr
    assert pool_entries(prefix) == []
    assert not os.path.exists("/var/lib/escaped-oci") and not os.path.exists("/var/escaped-oci")
    # a tampered layer in the registry's storage
    data = [p for p in (registry.root / "storage").rglob("data")
            if p.stat().st_size == len(layers[2]) and p.read_bytes() == layers[2]]
    assert data, "the top layer is not in the registry's storage"
    data[0].write_bytes(layers[2][:-8] + b"tampered")
    r = ctl(bus, "pull-oci", "--tls-verify=no", f"{registry.host}/berth/img:1", prefix)
    assert r.returncode == 1 and b"does not match its digest" in r.stderr, r.stderr
    assert pool_entries(prefix) == []


# bcrypt (the only scheme the registry's htpasswd accepts) of "s3cret", made once with libxcrypt's
# crypt(3) ($2b$, cost 12): python's crypt module is deprecated and gone in 3.13, and neither
# htpasswd nor a bcrypt module is part of the test dependencies.
S3CRET_BCRYPT = "$2b$12$jW/gBrvbW03/qFJDWkY4RugBn4Z2qDUHU1v6eiBNaQZShQ/TmpTnW"


@pytest.fixture
def auth_registry(tmp_path):
    (tmp_path / "areg").mkdir()
    ht = tmp_path / "areg" / "htpasswd"
    ht.write_text(f"berth:{S3CRET_BCRYPT}\n")
    r = Registry(tmp_path / "areg", htpasswd=ht)
    yield r
    r.close()


def test_pull_oci_basic_auth(bus, registry, auth_registry, prefix, tmp_path):
    import daemon
    auth = tmp_path / "auth.json"
    bus.env["REGISTRY_AUTH_FILE"] = str(auth)
    d = daemon.Berthd(bus)
    try:
        layers = busybox_layers()
        push(make_layout(tmp_path / "l1", layers), f"{auth_registry.host}/berth/img:1", "--dest-creds=berth:s3cret")
        ref = f"{auth_registry.host}/berth/img:1"
        r = ctl(bus, "pull-oci", "--tls-verify=no", ref, prefix)
        assert r.returncode == 1 and f"The registry {auth_registry.host} needs credentials".encode() in r.stderr, r.stderr
        auth.write_text(json.dumps({"auths": {auth_registry.host: {
            "auth": base64.b64encode(b"berth:wrong").decode()}}}))
        r = ctl(bus, "pull-oci", "--tls-verify=no", ref, prefix)
        assert r.returncode == 1 and b"401" in r.stderr, r.stderr
        auth.write_text(json.dumps({"auths": {auth_registry.host: {
            "auth": base64.b64encode(b"berth:s3cret").decode()}}}))
        r = ctl(bus, "pull-oci", "--tls-verify=no", ref, prefix)
        assert r.returncode == 0, r.stderr
        assert open(os.path.join(POOL, prefix, "etc/top")).read() == "top\n"
    finally:
        d.stop()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """A token service as Docker's: GET /token?service=&scope= gives an RS256 JWT (signed with
    openssl by the key whose certificate the registry trusts) granting what scope asks; with
    creds set it wants those as Basic credentials."""

    def __init__(self, root, creds=None):
        import http.server
        import threading
        import urllib.parse
        self.key, self.cert = root / "token-key.pem", root / "token-cert.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                        "/CN=berth-test-token", "-keyout", str(self.key), "-out", str(self.cert)],
                       check=True, capture_output=True)
        der = subprocess.run(["openssl", "x509", "-in", str(self.cert), "-outform", "DER"], check=True,
                             capture_output=True).stdout
        outer = self
        self.issued = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
                if creds and self.headers.get("Authorization") != "Basic " + base64.b64encode(creds).decode():
                    self.send_response(401)
                    self.end_headers()
                    return
                access = []
                for scope in q.get("scope", []):
                    kind, name, actions = scope.split(":")
                    access.append({"type": kind, "name": name, "actions": actions.split(",")})
                now = int(time.time())
                header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
                claims = {"iss": "berth-test-issuer", "sub": "berth", "aud": q.get("service", [""])[0],
                          "exp": now + 600, "nbf": now - 10, "iat": now, "jti": uuid.uuid4().hex, "access": access}
                signing = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
                sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(outer.key)], input=signing.encode(),
                                     check=True, capture_output=True).stdout
                body = json.dumps({"token": signing + "." + b64url(sig)}).encode()
                outer.issued.append(q.get("scope", []))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_pull_oci_bearer_token(bus, berthd, prefix, tmp_path):
    """The registry answers 401 with a Bearer challenge; the token from its realm opens it."""
    root = tmp_path / "breg"
    root.mkdir()
    tokens = TokenServer(root)
    auth = (f"auth:\n  token:\n    realm: {tokens.url}\n    service: berth-test\n    issuer: berth-test-issuer\n"
            f"    rootcertbundle: {tokens.cert}\n")
    reg = Registry(root, extra=auth)
    try:
        push(make_layout(tmp_path / "l1", busybox_layers()), f"{reg.host}/berth/tok:1")
        n = len(tokens.issued)
        r = ctl(bus, "pull-oci", "--tls-verify=no", f"{reg.host}/berth/tok:1", prefix)
        assert r.returncode == 0, r.stderr
        assert open(os.path.join(POOL, prefix, "etc/top")).read() == "top\n"
        assert tokens.issued[n:] == [["repository:berth/tok:pull"]], tokens.issued[n:]
    finally:
        reg.close()
        tokens.close()


class LocalServer:
    """A threaded HTTP server on 127.0.0.1 for a handler class; close() sets self.dead (a handler
    that sends slowly stops) and shuts it down."""

    def serve(self, handler):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.dead.set()
        self.server.shutdown()
        self.server.server_close()


class SlowProxy(LocalServer):
    """Forwards GETs to the registry, sending blobs at 512 KiB/s, so that a pull can be caught
    in the middle; stop() makes it drop every connection (a registry that dies)."""

    def __init__(self, upstream):
        import http.client
        outer = self
        self.dead = threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                c = http.client.HTTPConnection(upstream, timeout=30)
                c.request("GET", self.path, headers={k: v for k, v in self.headers.items() if k.lower() != "host"})
                resp = c.getresponse()
                body = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                slow = "/blobs/" in self.path
                try:
                    for i in range(0, len(body), 64 << 10):
                        if outer.dead.is_set():
                            self.close_connection = True
                            return
                        self.wfile.write(body[i:i + (64 << 10)])
                        self.wfile.flush()
                        if slow:
                            time.sleep(0.125)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.serve(Handler)

    def stop(self):
        self.dead.set()


class SlowPull:
    """berthctl pull-oci of REPOSITORY:TAG through a SlowProxy in front of registry, with a berthd
    of its own (.d, which a test may replace); all of it goes at the end of the with block."""

    def __init__(self, bus, registry, ref, prefix):
        import daemon
        self.proxy = SlowProxy(registry.host)
        self.d = daemon.Berthd(bus)
        self.p = subprocess.Popen([CTL, "pull-oci", "--tls-verify=no", f"{self.proxy.host}/{ref}", prefix],
                                  env=bus.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.p.poll() is None:
            self.p.kill()
            self.p.communicate()
        self.d.stop()
        self.proxy.close()


def big_layers():
    return busybox_layers() + [layer({"var/big": os.urandom(6 << 20)})]


def wait_for_layers(n=1):
    """Until a pull streams n layers into the store's temporaries."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if len(store_temporaries()) >= n:
            return
        time.sleep(0.05)
    raise AssertionError("the pull never started fetching layers")


@pytest.mark.parametrize("how", ["cancel", "registry-dies", "berthd-killed"])
def test_pull_oci_interrupted_leaves_nothing(bus, registry, prefix, tmp_path, how):
    import daemon
    push(make_layout(tmp_path / "l1", big_layers()), f"{registry.host}/berth/big:1")
    before = store_layers()
    with SlowPull(bus, registry, "berth/big:1", prefix) as pull:
        p, proxy = pull.p, pull.proxy
        wait_for_layers()
        if how == "cancel":
            rows = json.loads(ctl(bus, "list-transfers", "--json=short").stdout)["transfers"]
            assert [r["type"] for r in rows if r["local"] == prefix] == ["pull-oci"], rows
            assert ctl(bus, "cancel-transfer", str(rows[0]["id"])).returncode == 0
        elif how == "registry-dies":
            proxy.stop()
        else:
            pull.d.proc.send_signal(signal.SIGKILL)
            pull.d.proc.wait()
        out, err = p.communicate(timeout=60)
        deadline = time.monotonic() + 10
        while (pool_entries(prefix) or store_temporaries()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert pool_entries(prefix) == [], pool_entries(prefix)
        assert store_temporaries() == [], store_temporaries()
        if how == "cancel":
            assert f"The transfer of '{prefix}' was cancelled.".encode() in err, err
        elif how == "registry-dies":
            # the cause (the fetch's failure), not its consequence (a decompressor finding the stream cut)
            assert b"Failed to fetch http://" in err and b"/berth/big/blobs/sha256:" in err, err
            assert b"truncated" not in err, err
        assert p.returncode == 1
        if how == "berthd-killed":
            pull.d.stop()
            pull.d = daemon.Berthd(bus)
        r = ctl(bus, "pull-oci", "--tls-verify=no", f"{registry.host}/berth/big:1", prefix)
        assert r.returncode == 0, r.stderr
        assert os.path.getsize(os.path.join(POOL, prefix, "var/big")) == 6 << 20
        assert store_layers() == before, "a flattened image's layers stayed in the store"

# SPDX-License-Identifier: LGPL-2.1-or-later
"""pull-oci's layer store (/var/lib/machines/.#layers): layers kept once each and shared, stacked
images (--layers=stacked) that berth-spawn mounts with overlayfs, berthctl clean of unused layers,
an interrupted pull that resumes with the layers it has, byte progress, and registries that answer
429 or trickle. Against Debian's docker-registry (see test_pull_oci.py) and small python servers."""

import hashlib
import http.server
import json
import os
import stat
import subprocess
import threading
import time

from conftest import SPAWN
from test_import import ctl, manifest, pool_entries, POOL
from test_pull_oci import (STORE, LocalServer, SlowPull, busybox_layers, layer, make_layout, prefix, push, registry,  # noqa: F401
                           store_layers, store_temporaries)


def digest(blob):
    return hashlib.sha256(blob).hexdigest()


def blob_gets(registry, repo):
    return len(registry.requests(f"/v2/{repo}/blobs/"))


def run(name, *cmd, ephemeral=False):
    args = [SPAWN, "-q", "-M", name, "--register=no"] + (["-x"] if ephemeral else []) + list(cmd)
    return subprocess.run(args, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)


def test_stacked_images_share_layers(bus, berthd, registry, prefix, tmp_path):
    base, mid, top = busybox_layers()
    other = layer({"etc/top": b"other\n", "etc/motd": None})
    push(make_layout(tmp_path / "a", [base, mid, top]), f"{registry.host}/berth/a:1")
    push(make_layout(tmp_path / "b", [base, mid, other]), f"{registry.host}/berth/b:1")
    a, b = prefix + "-a", prefix + "-b"
    before = store_layers()

    r = ctl(bus, "pull-oci", "--layers=stacked", "--tls-verify=no", f"{registry.host}/berth/a:1", a)
    assert r.returncode == 0, r.stderr
    assert blob_gets(registry, "berth/a") == 4  # the config and three layers
    assert store_layers() - before == {digest(base), digest(mid), digest(top)}
    stack = open(os.path.join(POOL, a, ".berth-stack")).read().splitlines()
    assert stack[1:] == [f".#layers/sha256/{digest(x)}" for x in (base, mid, top)], stack
    assert os.listdir(os.path.join(POOL, a)) == [".berth-stack"]
    # the whiteout in overlayfs' form, not applied: the base layer keeps etc/gone
    gone = os.lstat(os.path.join(STORE, "sha256", digest(mid), "etc/gone"))
    assert stat.S_ISCHR(gone.st_mode) and gone.st_rdev == 0, gone
    assert os.path.exists(os.path.join(STORE, "sha256", digest(base), "etc/gone"))

    # the second image on the same base fetches its own layer only
    r = ctl(bus, "pull-oci", "--layers=stacked", "--tls-verify=no", f"{registry.host}/berth/b:1", b)
    assert r.returncode == 0, r.stderr
    assert blob_gets(registry, "berth/b") == 2, registry.requests("/v2/berth/b/blobs/")
    assert store_layers() - before == {digest(base), digest(mid), digest(top), digest(other)}

    layers_before = {d: manifest(os.path.join(STORE, "sha256", d)) for d in store_layers() - before}
    # -x: the image's command from its config; writes go to a throw-away upper layer
    r = run(a, ephemeral=True)
    assert r.returncode == 0 and r.stdout == "top\n", (r.stdout, r.stderr)
    r = run(a, "/bin/busybox", "sh", "-c", "test ! -e /etc/gone && cat /etc/motd && echo x > /etc/written",
            ephemeral=True)
    assert r.returncode == 0 and r.stdout == "middle\n", (r.stdout, r.stderr)
    assert os.listdir(os.path.join(POOL, a)) == [".berth-stack"]
    # persistent: the image's own upper layer
    r = run(a, "/bin/busybox", "sh", "-c", "echo kept > /etc/written && rm /etc/motd")
    assert r.returncode == 0, r.stderr
    assert open(os.path.join(POOL, a, "upper/etc/written")).read() == "kept\n"
    assert stat.S_ISCHR(os.lstat(os.path.join(POOL, a, "upper/etc/motd")).st_mode)
    r = run(a, "/bin/busybox", "sh", "-c", "cat /etc/written; test -e /etc/motd || echo no-motd")
    assert r.stdout == "kept\nno-motd\n", (r.stdout, r.stderr)
    r = run(b, "/bin/busybox", "sh", "-c", "cat /etc/top; test -e /etc/written || echo clean")
    assert r.stdout == "other\nclean\n", (r.stdout, r.stderr)
    assert {d: manifest(os.path.join(STORE, "sha256", d)) for d in layers_before} == layers_before, \
        "a machine wrote into a layer"

    # remove and clean: a's own top layer goes, what b uses stays
    assert ctl(bus, "remove", a).returncode == 0
    r = ctl(bus, "clean")
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().splitlines() == [f"Removed layer sha256:{digest(top)}, which no image uses."], r.stdout
    assert store_layers() - before == {digest(base), digest(mid), digest(other)}
    r = run(b, "/bin/busybox", "cat", "/etc/top")
    assert r.stdout == "other\n", (r.stdout, r.stderr)
    assert ctl(bus, "remove", b).returncode == 0
    assert ctl(bus, "clean").returncode == 0
    assert store_layers() - before == set()
    assert pool_entries(prefix) == []


def test_stacked_image_with_a_missing_layer(bus, berthd, registry, prefix, tmp_path):
    layers = busybox_layers()
    push(make_layout(tmp_path / "a", layers), f"{registry.host}/berth/m:1")
    assert ctl(bus, "pull-oci", "--layers=stacked", "--tls-verify=no", f"{registry.host}/berth/m:1",
               prefix).returncode == 0
    missing = os.path.join(STORE, "sha256", digest(layers[1]))
    subprocess.run(["rm", "-rf", missing], check=True)
    r = run(prefix, ephemeral=True)
    assert r.returncode == 1 and \
        f"Layer {missing} of the stacked image {POOL}/{prefix} is missing; pull the image again." in r.stderr, r.stderr
    r = ctl(bus, "pull-oci", "--layers=stacked", "--tls-verify=no", "--force", f"{registry.host}/berth/m:1", prefix)
    assert r.returncode == 0, r.stderr
    assert run(prefix, ephemeral=True).stdout == "top\n"
    r = ctl(bus, "pull-oci", "--layers=flat", "--layers=sideways", f"{registry.host}/berth/m:1", prefix)
    assert r.returncode == 1 and b"Invalid --layers= 'sideways' (flat or stacked)." in r.stderr, r.stderr


def test_interrupted_pull_resumes(bus, registry, prefix, tmp_path):
    """A pull cut off after some layers are complete fetches only the others next time; progress
    counts the bytes of the layers the store lacks."""
    base, mid, top = busybox_layers()
    big = layer({"var/big": os.urandom(3 << 20)})
    push(make_layout(tmp_path / "l", [base, mid, top, big]), f"{registry.host}/berth/r:1")
    before = store_layers()
    with SlowPull(bus, registry, "berth/r:1", prefix) as pull:
        p = pull.p
        deadline = time.monotonic() + 20
        row = None
        while time.monotonic() < deadline:
            rows = [t for t in json.loads(ctl(bus, "list-transfers", "--json=short").stdout)["transfers"]
                    if t["local"] == prefix]
            if rows and store_layers() - before == {digest(x) for x in (base, mid, top)} and " of " in rows[0]["progress"]:
                row = rows[0]
                break
            time.sleep(0.1)
        assert row, "the small layers never completed"
        total = sum(len(x) for x in (base, mid, top, big))
        assert f" of {total / 1048576:.1f} MiB, " in row["progress"], (row, total)
        assert ctl(bus, "cancel-transfer", str(row["id"])).returncode == 0
        p.communicate(timeout=30)
        assert p.returncode == 1
        deadline = time.monotonic() + 10
        while store_temporaries() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert store_temporaries() == [] and pool_entries(prefix) == []
        # the complete layers stayed: the next pull fetches the config and the big layer only
        n = blob_gets(registry, "berth/r")
        r = ctl(bus, "pull-oci", "--tls-verify=no", f"{registry.host}/berth/r:1", prefix)
        assert r.returncode == 0, r.stderr
        fetched = registry.requests("/v2/berth/r/blobs/")[n:]
        assert len(fetched) == 2 and any(digest(big) in l for l in fetched), fetched
        assert os.path.getsize(os.path.join(POOL, prefix, "var/big")) == 3 << 20
        assert store_layers() == before, "a flattened image's layers stayed in the store"


class FakeRegistry(LocalServer):
    """A registry that answers every manifest with 429 or 403 and a JSON error, or that serves a manifest
    and config but trickles its layer a byte every 3 s."""

    def __init__(self, mode):
        outer = self
        self.dead = threading.Event()
        lay = layer({"etc/x": b"x\n"})
        config = json.dumps({"architecture": "amd64", "os": "linux", "config": {}}).encode()
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                          "digest": "sha256:" + digest(config), "size": len(config)},
                               "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                           "digest": "sha256:" + digest(lay), "size": len(lay)}]}).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, status, body, ctype="application/json"):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if mode == "429":
                    self.reply(429, json.dumps({"errors": [{"code": "TOOMANYREQUESTS",
                                                            "message": "pull rate limit, come back later"}]}).encode())
                elif mode == "403":
                    self.reply(403, json.dumps({"errors": [{"code": "DENIED",
                                                            "message": "requested access to the resource is denied"}]}).encode())
                elif "/manifests/" in self.path:
                    self.reply(200, manifest, "application/vnd.oci.image.manifest.v1+json")
                elif self.path.endswith(digest(config)):
                    self.reply(200, config)
                else:
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(lay)))
                    self.end_headers()
                    for i in range(len(lay)):
                        if outer.dead.wait(3):
                            return
                        try:
                            self.wfile.write(lay[i:i + 1])
                            self.wfile.flush()
                        except OSError:
                            return

        self.serve(Handler)


def test_rate_limited_denying_and_trickling_registries(bus, prefix):
    import daemon
    bus.env["BERTH_PULL_TIMEOUT_SEC"] = "2"
    d = daemon.Berthd(bus)
    limited, denied, trickle = FakeRegistry("429"), FakeRegistry("403"), FakeRegistry("trickle")
    try:
        r = ctl(bus, "pull-oci", "--tls-verify=no", f"{limited.host}/berth/x:1", prefix)
        assert r.returncode == 1 and (f"The registry refused http://{limited.host}/v2/berth/x/manifests/1: 429 pull "
                                      "rate limit, come back later (TOOMANYREQUESTS).").encode() in r.stderr, r.stderr
        r = ctl(bus, "pull-oci", "--tls-verify=no", f"{denied.host}/berth/x:1", prefix)
        assert r.returncode == 1 and (f"The registry refused http://{denied.host}/v2/berth/x/manifests/1: 403 requested "
                                      "access to the resource is denied (DENIED).").encode() in r.stderr, r.stderr
        start = time.monotonic()
        r = ctl(bus, "pull-oci", "--tls-verify=no", f"{trickle.host}/berth/x:1", prefix)
        assert r.returncode == 1 and f"Failed to fetch http://{trickle.host}/v2/berth/x/blobs/sha256:".encode() \
            in r.stderr and b"Operation too slow" in r.stderr, r.stderr
        assert time.monotonic() - start < 15
        assert pool_entries(prefix) == [] and store_temporaries() == []
    finally:
        limited.close()
        denied.close()
        trickle.close()
        d.stop()


def test_flat_and_stacked_images_agree(bus, berthd, registry, prefix, tmp_path):
    """Whiteouts and an opaque directory: a stacked image, a flattened one copied from the layers it
    shares, and one that took its layers out of the store show the same tree."""
    with open("/bin/busybox", "rb") as f:
        bb = f.read()
    layers = [layer({"bin/busybox": bb, "usr/lib/os-release": b"ID=busybox\n", "etc/sub/a": b"a\n", "etc/sub/deep/c": b"c\n", "etc/gone": b"x\n"}),
              layer({"etc/sub/.wh..wh..opq": b"", "etc/sub/b": b"b\n", "etc/.wh.gone": b"", "etc/new": b"n\n"})]
    push(make_layout(tmp_path / "o", layers, cmd=("/bin/busybox", "find", "/etc")), f"{registry.host}/berth/o:1")
    before = store_layers()
    names = {k: f"{prefix}-{k}" for k in ("stacked", "copied", "moved")}
    ref = f"{registry.host}/berth/o:1"
    assert ctl(bus, "pull-oci", "--layers=stacked", "--tls-verify=no", ref, names["stacked"]).returncode == 0
    r = ctl(bus, "pull-oci", "--tls-verify=no", ref, names["copied"])
    assert r.returncode == 0, r.stderr
    assert store_layers() - before == {digest(x) for x in layers}, "the stacked image's layers left the store"
    assert ctl(bus, "remove", names["stacked"]).returncode == 0
    r = ctl(bus, "pull-oci", "--tls-verify=no", ref, names["moved"])
    assert r.returncode == 0, r.stderr
    assert store_layers() == before, "the flattened image's layers stayed in the store"
    want = sorted(["/etc", "/etc/sub", "/etc/sub/b", "/etc/new"])
    for k in ("copied", "moved"):
        r = run(names[k], ephemeral=True)
        assert sorted(r.stdout.split()) == want, (k, r.stdout, r.stderr)
        img = os.path.join(POOL, names[k])
        assert "trusted.overlay.opaque" not in os.listxattr(os.path.join(img, "etc/sub")), k
        assert not any(stat.S_ISCHR(os.lstat(os.path.join(d, n)).st_mode)
                       for d, _, fs in os.walk(img) for n in fs), k
    assert ctl(bus, "pull-oci", "--layers=stacked", "--tls-verify=no", ref, names["stacked"]).returncode == 0
    assert sorted(run(names["stacked"], ephemeral=True).stdout.split()) == want


def test_stacked_image_with_private_users(bus, berthd, registry, prefix, tmp_path):
    """-U (as berthctl start runs persistent machines): the layers idmapped, the machine's root is
    its own; a persistent machine's upper layer keeps its shifted IDs and the range they are in."""
    push(make_layout(tmp_path / "u", busybox_layers()), f"{registry.host}/berth/u:1")
    assert ctl(bus, "pull-oci", "--layers=stacked", "--tls-verify=no", f"{registry.host}/berth/u:1",
               prefix).returncode == 0
    script = "echo u >> /etc/u && /bin/busybox stat -c '%u %g' /etc/u /etc/top && cat /proc/self/uid_map"
    shifts = []
    for ephemeral in (True, False, False):
        r = run(prefix, "-U", "/bin/busybox", "sh", "-c", script, ephemeral=ephemeral)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[:2] == ["0 0", "0 0"], lines
        inside, outside = lines[2].split()[:2]
        assert inside == "0" and outside != "0", lines
        shifts.append(int(outside))
    assert shifts[1] == shifts[2], shifts  # the persistent machine got its range again
    st = os.stat(os.path.join(POOL, prefix, "upper/etc/u"))
    assert (st.st_uid, st.st_gid) == (shifts[1], shifts[1]), st
    assert open(os.path.join(POOL, prefix, "upper/etc/u")).read() == "u\nu\n"

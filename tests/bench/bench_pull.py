#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""pull-oci side by side (root; it is not a test): a 3-layer Debian image (/usr without
/usr/share, /usr/share, the rest; gzip) in Debian's docker-registry on 127.0.0.1, then
  * berthctl pull-oci --tls-verify=no of it through berthd, vs
  * skopeo copy to an OCI layout followed by berthctl import-oci of that layout.
Target: pull-oci <= 0.8x the second. Runs are interleaved; medians are printed.

    BERTH_BUILD_DIR=build /usr/bin/python3 tests/bench/bench_pull.py [--runs 3]
"""

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import guests  # noqa: E402
from bench_images import CTL, POOL, line  # noqa: E402
from test_machined import Berthd, Bus  # noqa: E402
from test_pull_oci import ARCH, Registry, blob, push  # noqa: E402


def layer_file(tree, out, include, exclude=()):
    args = ["tar", "--numeric-owner", "--xattrs", "-C", tree, *[f"--exclude=./{e}" for e in exclude], "-cf", "-",
            *[f"./{i}" for i in include]]
    tar = subprocess.Popen(args, stdout=subprocess.PIPE)
    with open(out, "wb") as f:
        subprocess.run(["gzip", "-1"], stdin=tar.stdout, stdout=f, check=True)
    tar.wait()
    return Path(out).read_bytes()


def debian_layout(tree, d):
    layout = Path(d) / "layout"
    layout.mkdir()
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    rest = [n for n in os.listdir(tree) if n != "usr"]
    layers = [layer_file(tree, f"{d}/l1", ["usr"], ["usr/share"]), layer_file(tree, f"{d}/l2", ["usr/share"]),
              layer_file(tree, f"{d}/l3", rest)]
    config = json.dumps({"architecture": ARCH, "os": "linux", "config": {"Cmd": ["/bin/sh"]},
                         "rootfs": {"type": "layers", "diff_ids": [
                             "sha256:" + hashlib.sha256(subprocess.run(["gzip", "-dc"], input=l, capture_output=True,
                                                                      check=True).stdout).hexdigest()
                             for l in layers]}}).encode()
    m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **blob(layout, config)},
                    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **blob(layout, l)}
                               for l in layers]}).encode()
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", **blob(layout, m),
         "annotations": {"org.opencontainers.image.ref.name": "t"}}]}))
    return layout, sum(len(l) for l in layers)


def run(cmd, env=None):
    t0 = time.monotonic()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise RuntimeError(f"{cmd}: {r.stderr}")
    return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="berth-bench-", dir="/var/tmp") as d:
        layout, size = debian_layout(guests.debian_systemd_tree(), d)
        (Path(d) / "reg").mkdir()
        reg = Registry(Path(d) / "reg")
        bus = Bus()
        try:
            push(layout, f"{reg.host}/bench/debian:1")
            print(f"3 layers, {size / 1048576:.1f} MiB compressed")
            berthd = Berthd(bus)
            try:
                ours, theirs = [], []
                for i in range(args.runs):
                    subprocess.run(["sync"])
                    ours.append(run([CTL, "-q", "pull-oci", "--tls-verify=no", f"{reg.host}/bench/debian:1",
                                     f"bench-pull-{i}"], bus.env))
                    subprocess.run(["sync"])
                    oci = os.path.join(d, f"copy{i}")
                    t = run(["skopeo", "copy", "--quiet", "--src-tls-verify=false", f"docker://{reg.host}/bench/debian:1",
                             f"oci:{oci}:t"])
                    t += run([CTL, "-q", "import-oci", oci, f"bench-imp-{i}"], bus.env)
                    theirs.append(t)
                    for n in (f"bench-pull-{i}", f"bench-imp-{i}"):
                        shutil.rmtree(os.path.join(POOL, n), ignore_errors=True)
                        for s in (".nspawn",):
                            if os.path.exists(os.path.join(POOL, n + s)):
                                os.unlink(os.path.join(POOL, n + s))
                    shutil.rmtree(oci)
                line("pull-oci of a 3-layer Debian image (ms)", "pull ", statistics.median(ours), "skopeo+import",
                     statistics.median(theirs), 0.8)
            finally:
                berthd.stop()
        finally:
            bus.close()
            reg.close()


if __name__ == "__main__":
    main()

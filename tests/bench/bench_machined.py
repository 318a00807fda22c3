#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""berthd: ListMachines and GetAll("") latency with 10, 100 and 1000 machines registered through
RegisterMachine (plain sleeping leaders), and the daemon's RSS. Runs as root on a private system bus.
Calls go through libsystemd's sd-bus (ctypes), so process start-up is not measured.

    BERTH_BUILD_DIR=build /usr/bin/python3 tests/bench/bench_machined.py [10 100 1000]
"""

import ctypes
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from test_machined import Berthd, Bus  # noqa: E402

sd = ctypes.CDLL("libsystemd.so.0")
DEST, PATH, IFACE = b"org.freedesktop.machine1", b"/org/freedesktop/machine1", b"org.freedesktop.machine1.Manager"


class BusError(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("message", ctypes.c_char_p), ("need_free", ctypes.c_int)]


def call(bus, path, iface, member, types=None, *args):
    err = BusError()
    reply = ctypes.c_void_p()
    r = sd.sd_bus_call_method(bus, DEST, path, iface, member, ctypes.byref(err), ctypes.byref(reply), types, *args)
    if r < 0:
        raise RuntimeError(f"{member}: {err.message}")
    sd.sd_bus_message_unref(reply)


def timed(fn, n=50):
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples), max(samples)


def main():
    counts = [int(a) for a in sys.argv[1:]] or [10, 100, 1000]
    b = Bus()
    os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = b.address
    d = Berthd(b)
    bus = ctypes.c_void_p()
    assert sd.sd_bus_open_system(ctypes.byref(bus)) >= 0
    leaders = []
    try:
        rss0 = d.rss_kib()
        print(f"berthd RSS with no machines: {rss0 / 1024:.1f} MiB")
        print(f"{'machines':>8} {'ListMachines ms (median/max)':>30} {'GetAll ms (median/max)':>26} {'RSS MiB':>8}")
        for n in counts:
            while len(leaders) < n:
                p = subprocess.Popen(["sleep", "100000"], stdin=subprocess.DEVNULL)
                leaders.append(p)
                name = f"bench{len(leaders)}".encode()
                call(bus, PATH, IFACE, b"RegisterMachine", b"sayssus", ctypes.c_char_p(name), ctypes.c_int(0),
                     ctypes.c_char_p(b"bench"), ctypes.c_char_p(b"container"), ctypes.c_uint(p.pid),
                     ctypes.c_char_p(b""))
            lm = timed(lambda: call(bus, PATH, IFACE, b"ListMachines"))
            mpath = f"/org/freedesktop/machine1/machine/bench{n}".encode()
            ga = timed(lambda: call(bus, mpath, b"org.freedesktop.DBus.Properties", b"GetAll", b"s",
                                    ctypes.c_char_p(b"")))
            print(f"{n:>8} {lm[0]:>18.3f} / {lm[1]:<9.3f} {ga[0]:>14.3f} / {ga[1]:<9.3f} {d.rss_kib() / 1024:>8.1f}")
    finally:
        sd.sd_bus_flush_close_unref(bus)
        for p in leaders:
            p.kill()
        for p in leaders:
            p.wait()
        deadline = time.monotonic() + 10
        while os.listdir("/run/systemd/machines") and time.monotonic() < deadline:
            if not any(f.startswith("bench") for f in os.listdir("/run/systemd/machines")):
                break
            time.sleep(0.1)
        d.stop()
        b.close()


if __name__ == "__main__":
    main()

# SPDX-License-Identifier: LGPL-2.1-or-later
"""The guest matrix (issue 10): every init berth boots, on this host's cgroup layout and on a pure
cgroup2 view (a private mount namespace with cgroup2 at /sys/fs/cgroup, DESIGN.md), each as a
persistent machine of berthd: up, `berthctl shell`/`login`, stock `machinectl -M .host shell`,
reboot (the launcher exits 133, berthd starts it again), terminate, poweroff (sid also on a legacy,
v1-only view). The Debian trees come
from the archive (guests.py, built in parallel and cached); one the archive cannot give is skipped
with the reason, and a tree that is not the one asked for fails."""

import ctypes
import os
import shutil
import subprocess
import tempfile

import pytest

import guests
import leakcheck
from conftest import SPAWN
from daemon import wait_for
from test_berthctl import CTL, POOL, SETTINGS_DIR, Env
from test_machinectl import mctl

SYSTEMD_UP = 's=$(systemctl is-system-running); [ "$s" = running ] || [ "$s" = degraded ]'
SYSV_UP = 'runlevel | grep -q " 2$"'
# A command that succeeds once the guest's init has brought the machine up.
UP = {
    "bookworm": SYSTEMD_UP, "trixie": SYSTEMD_UP, "sid": SYSTEMD_UP,
    "sysvinit": SYSV_UP,
    # runlevel 2 is entered before OpenRC starts its services: up once "openrc default" is done
    "openrc": SYSV_UP + ' && test "$(cat /run/openrc/softlevel)" = default && ! ps -e -o args= | grep -q "[o]penrc default"',
    "runit": 'ps -e -o comm= | grep -qx runsvdir',
    "busybox": 'ps | grep -q "[s]leep 100000"',
}
MATRIX = list(UP)
# The /sys/fs/cgroup each systemd guest sees: (on this host's layout, on the pure cgroup2 view).
NEEDS_V2 = {"trixie", "sid"}

CLONE_NEWNS = 0x00020000
_libc = ctypes.CDLL(None, use_errno=True)


def host_is_pure_v2():
    r = subprocess.run(["stat", "-fc", "%T", "/sys/fs/cgroup"], capture_output=True, text=True)
    return r.stdout.strip() == "cgroup2fs"


class PureV2View:
    """This process (and what it starts) in a private mount namespace whose /sys/fs/cgroup is the
    host's cgroup2 hierarchy alone; back to the host's namespace on exit."""

    COMMANDS = (["umount", "-l", "/sys/fs/cgroup"], ["mount", "-t", "cgroup2", "cgroup2", "/sys/fs/cgroup"])

    def __enter__(self):
        self.cwd = os.getcwd()
        self.orig = os.open("/proc/self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
        if _libc.unshare(CLONE_NEWNS) != 0:
            raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS)")
        for cmd in (["mount", "--make-rprivate", "/"], *self.COMMANDS):
            subprocess.run(cmd, check=True)
        return self

    def __exit__(self, *exc):
        if _libc.setns(self.orig, CLONE_NEWNS) != 0:
            raise OSError(ctypes.get_errno(), "setns back to the host's mount namespace")
        os.close(self.orig)
        os.chdir(self.cwd)


class LegacyView(PureV2View):
    """... whose /sys/fs/cgroup is the hybrid host's v1 hierarchies alone: a legacy host."""

    COMMANDS = (["umount", "-l", "/sys/fs/cgroup/unified"],)


@pytest.fixture(scope="session")
def matrix_trees():
    """All Debian trees of the matrix, built in parallel on first use."""
    return guests.build_trees([k for k in MATRIX if k in guests.GUESTS])


class MachineImage:
    """/var/lib/machines/NAME: an overlay over the cached tree (the cache is never written), or a
    busybox tree. overlayfs takes no idmapped mount, and chowning would copy every file up: an overlay
    machine gets PrivateUsers=no in /etc/systemd/nspawn/NAME.nspawn (a persistent machine's -U is
    tested with busybox trees, test_berthctl.py)."""

    def __init__(self, key, name, trees):
        self.path = os.path.join(POOL, name)
        self.tmp = tempfile.mkdtemp(prefix="berth-matrix-", dir="/var/tmp")
        self.mounted = False
        self.settings = None
        os.makedirs(self.path)
        if key == "busybox":
            guests.make_busybox_tree(self.path)
            return
        up, work = os.path.join(self.tmp, "upper"), os.path.join(self.tmp, "work")
        os.makedirs(up)
        os.makedirs(work)
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                        f"lowerdir={trees[key]},upperdir={up},workdir={work}", self.path], check=True)
        self.mounted = True
        os.makedirs(SETTINGS_DIR, exist_ok=True)
        self.settings = os.path.join(SETTINGS_DIR, name + ".nspawn")
        with open(self.settings, "w") as f:
            f.write("[Exec]\nPrivateUsers=no\n")

    def remove(self):
        if self.settings:
            os.unlink(self.settings)
        leakcheck.remove_journal_links(self.path)
        if self.mounted:
            subprocess.run(["umount", self.path], check=True)
        shutil.rmtree(self.path, ignore_errors=True)
        shutil.rmtree(self.tmp, ignore_errors=True)


def tree_for(key, trees):
    if key == "busybox":
        return None
    res = trees[key]
    if isinstance(res, guests.TreeUnavailable):
        pytest.skip(f"the Debian archive cannot provide the {key} tree: {res}")
    problems = guests.tree_identity_problems(guests.GUESTS[key], res)
    assert not problems, f"{res} is not the {key} tree: " + "; ".join(problems)
    return res


def is_up(env, name, key):
    return env.ctl("shell", name, "/bin/sh", "-c", UP[key], timeout=30).returncode == 0


@pytest.mark.parametrize("view", ["host", "v2"])
@pytest.mark.parametrize("key", MATRIX)
def test_guest_lifecycle(key, view, matrix_trees):
    tree_for(key, matrix_trees)
    name = f"mx-{key}-{view}"
    if view != "host" and host_is_pure_v2():
        pytest.skip(f"this host is pure cgroup2: it has no {view} view but its own")
    image = MachineImage(key, name, matrix_trees)
    try:
        if view in VIEWS:
            with VIEWS[view]():
                lifecycle(key, view, name)
        else:
            lifecycle(key, view, name)
    finally:
        image.remove()


VIEWS = {"v2": PureV2View, "legacy": LegacyView}


def test_guest_lifecycle_on_a_legacy_host(matrix_trees):
    """systemd 262 (needs cgroup v2) as a persistent machine of berthd on a legacy host, whose cgroup2
    berth-spawn mounts privately: the whole lifecycle."""
    test_guest_lifecycle("sid", "legacy", matrix_trees)


def lifecycle(key, view, name):
    env = Env()
    try:
        env.start_berthd()
        assert env.ctl("start", name).returncode == 0
        assert wait_for(lambda: is_up(env, name, key), timeout=90, step=0.3), env.log(name)
        if key in ("bookworm", "trixie", "sid"):
            expect = "cgroup2fs" if view != "host" or key in NEEDS_V2 else "tmpfs"
            r = env.ctl("shell", name, "/usr/bin/stat", "-fc", "%T", "/sys/fs/cgroup")
            assert r.stdout.strip() == expect, r.stdout + r.stderr
        check_shells(env, name)

        first = env.leader(name)
        if key == "runit":
            # runit has no reboot signal (berthctl reboot says so): the guest's own reboot, "init 6"
            r = env.ctl("reboot", name)
            assert r.returncode == 1 and "its PID 1 (runit) is not an init that reboots" in r.stderr, r.stderr
            env.ctl("shell", name, "/sbin/init", "6")
        else:
            assert env.ctl("reboot", name).returncode == 0
        assert wait_for(lambda: env.leader(name) not in (None, first), timeout=60), env.log(name)
        assert "the guest asked for a reboot" in env.log(name)
        assert wait_for(lambda: is_up(env, name, key), timeout=90, step=0.3), env.log(name)

        r = env.ctl("terminate", name)
        assert r.returncode == 0, r.stderr
        assert wait_for(lambda: name not in env.running(), timeout=20)

        assert env.ctl("start", name).returncode == 0
        assert wait_for(lambda: is_up(env, name, key), timeout=90, step=0.3), env.log(name)
        if key == "openrc" and view == "v2":
            # the guest's own poweroff (sysvinit's runlevel 0 running OpenRC's, ~7 s here), as a user types it
            env.ctl("shell", name, "/sbin/poweroff", timeout=30)
            assert wait_for(lambda: name not in env.running(), timeout=60), env.log(name)[-2000:]
        else:
            r = env.ctl("poweroff", name, "--timeout=60s")
            assert r.returncode == 0, r.stderr + env.log(name)
            assert name not in env.running()
        assert wait_for(lambda: env.log(name).rstrip().endswith("berth: the machine stopped, status 0 --"),
                        timeout=10), env.log(name)[-2000:]
    finally:
        env.close()


def check_shells(env, name):
    r = env.ctl("shell", name, "/bin/echo", "ok")
    assert r.returncode == 0 and r.stdout == "ok\n", r.stdout + r.stderr
    r = mctl(env.bus, "shell", name, "/bin/echo", "stock")
    assert r.returncode == 0 and "stock" in r.stdout, r.stdout + r.stderr
    script = f"(sleep 2; printf '\\035\\035\\035') | script -qec '{CTL} login {name}' /dev/null"
    r = subprocess.run(["bash", "-c", script], env=env.bus.env, capture_output=True, text=True, timeout=30)
    assert "login:" in r.stdout and f"Connection to machine {name} terminated" in r.stdout, r.stdout + r.stderr


HYBRID_MESSAGE = ("This host's controllers ({}) are on cgroup v1: the machine's systemd runs without them, and "
                  "berth still enforces the machine's limits from the host.")
# Inside: the view's type, then (cgroup2) a cgroup of our own made and entered.
PROBE_CGROUP = ('stat -fc %T /sys/fs/cgroup; if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then '
                'mkdir /sys/fs/cgroup/probe && echo $$ > /sys/fs/cgroup/probe/cgroup.procs && grep "^0::" /proc/self/cgroup; fi')


def v1_controllers():
    with open("/proc/self/mountinfo") as f:
        names = [line.split(" - ")[1].split()[2].split(",") for line in f if " - cgroup " in line]
    known = {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "net_cls", "blkio", "perf_event",
             "net_prio", "hugetlb", "pids", "rdma", "misc"}
    return {o for opts in names for o in opts if o in known}


def view_run(tree, name, *opts, env_add=None):
    env = dict(os.environ, **(env_add or {}))
    for var in ("SYSTEMD_NSPAWN_UNIFIED_HIERARCHY", "UNIFIED_CGROUP_HIERARCHY"):
        if not env_add or var not in env_add:
            env.pop(var, None)
    return subprocess.run([SPAWN, "-D", tree, "-M", name, "--read-only", "--console=read-only", *opts,
                           "/bin/sh", "-c", PROBE_CGROUP], capture_output=True, text=True, timeout=60, env=env,
                          stdin=subprocess.DEVNULL)


@pytest.fixture
def hybrid_host():
    if host_is_pure_v2():
        pytest.skip("this host is pure cgroup2: every machine sees cgroup2, nothing to pick")


def test_cgroup_view_follows_the_guests_systemd(hybrid_host, matrix_trees):
    sid, bookworm = tree_for("sid", matrix_trees), tree_for("bookworm", matrix_trees)
    # systemd 262 needs cgroup v2: cgroup2 only, its root the machine's own cgroup, writable
    r = view_run(sid, "cgv-sid")
    assert r.returncode == 0 and r.stdout.split() == ["cgroup2fs", "0::/probe"], r.stdout + r.stderr
    lines = [l for l in r.stderr.splitlines() if "cgroup2-only" in l]
    assert len(lines) == 1 and lines[0].startswith(
        "Machine 'cgv-sid' gets a cgroup2-only /sys/fs/cgroup (its systemd 262 needs cgroup v2). "
        "This host's controllers ("), r.stderr
    assert lines[0].endswith(HYBRID_MESSAGE.split("{}")[1]) and \
        set(lines[0].split("controllers (")[1].split(")")[0].split(", ")) >= v1_controllers() - {"hugetlb"}, lines
    # -q: said nowhere; the same view
    r = view_run(sid, "cgv-sid", "-q")
    assert r.returncode == 0 and r.stdout.split() == ["cgroup2fs", "0::/probe"] and r.stderr == "", r.stdout + r.stderr
    # with its own user namespace the cgroup is delegated to the machine's root
    r = view_run(sid, "cgv-sid", "-q", "-U")
    assert r.returncode == 0 and r.stdout.split() == ["cgroup2fs", "0::/probe"], r.stdout + r.stderr
    # the override: the host's layout (a tmpfs of hierarchies), no message
    r = view_run(sid, "cgv-sid", "--unified-cgroup-hierarchy=no")
    assert r.returncode == 0 and r.stdout.split() == ["tmpfs"] and "cgroup2-only" not in r.stderr, r.stdout + r.stderr
    r = view_run(sid, "cgv-sid", env_add={"SYSTEMD_NSPAWN_UNIFIED_HIERARCHY": "0"})
    assert r.returncode == 0 and r.stdout.split() == ["tmpfs"], r.stdout + r.stderr
    # the option wins over the environment
    r = view_run(sid, "cgv-sid", "--unified-cgroup-hierarchy=auto", env_add={"SYSTEMD_NSPAWN_UNIFIED_HIERARCHY": "0"})
    assert r.returncode == 0 and r.stdout.split() == ["cgroup2fs", "0::/probe"], r.stdout + r.stderr
    # systemd 252 keeps the host's layout unless asked
    r = view_run(bookworm, "cgv-bw")
    assert r.returncode == 0 and r.stdout.split() == ["tmpfs"] and "cgroup2-only" not in r.stderr, r.stdout + r.stderr
    r = view_run(bookworm, "cgv-bw", env_add={"UNIFIED_CGROUP_HIERARCHY": "yes"})
    assert r.returncode == 0 and r.stdout.split() == ["cgroup2fs", "0::/probe"], r.stdout + r.stderr
    assert "gets a cgroup2-only /sys/fs/cgroup (--unified-cgroup-hierarchy=yes or " \
           "$SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1)" in r.stderr, r.stderr


@pytest.mark.parametrize("opts,env_add,message", [
    (["--unified-cgroup-hierarchy=v3"], None, "Invalid --unified-cgroup-hierarchy= value 'v3': use yes, no or auto."),
    ([], {"SYSTEMD_NSPAWN_UNIFIED_HIERARCHY": "maybe"},
     "Failed to parse $SYSTEMD_NSPAWN_UNIFIED_HIERARCHY='maybe': use yes or no."),
])
def test_cgroup_view_bad_input(opts, env_add, message, matrix_trees):
    r = view_run(tree_for("sid", matrix_trees), "cgv-bad", *opts, env_add=env_add)
    assert r.returncode == 1 and message in r.stderr and r.stdout == "", r.stdout + r.stderr


LEGACY_HOST = "mount --make-rprivate / && umount -l /sys/fs/cgroup/unified && "
UNIFIED_MOUNTS = "grep -c ' - cgroup2 ' /proc/self/mountinfo"


def legacy_run(command, timeout=60):
    """command in a simulated legacy (v1-only) host: this hybrid host without its unified mount, in a
    private mount namespace. After it, the number of cgroup2 mounts there (berth-spawn adds none)."""
    r = subprocess.run(["unshare", "-m", "sh", "-c", f"{LEGACY_HOST}{command}; rc=$?; {UNIFIED_MOUNTS} >&2; exit $rc"],
                       capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    lines = r.stderr.splitlines()
    return r, lines[-1] if lines else ""


def test_cgroup_view_on_a_legacy_host(hybrid_host, matrix_trees):
    """A legacy host mounts no cgroup2: berth-spawn mounts the kernel's cgroup2 privately (detached,
    in no mount table) and gives the machine the same view as on a hybrid host, rooted at its own
    cgroup, then removes that cgroup."""
    sid = tree_for("sid", matrix_trees)
    scope = "/sys/fs/cgroup/unified/machine.slice/machine-cgv\\x2dlegacy.scope"
    for opts in ([], ["-U"]):
        cmd = " ".join([SPAWN, "-D", sid, "-M", "cgv-legacy", "--read-only", "--console=read-only", *opts,
                        "/bin/sh", "-c", f"'{PROBE_CGROUP}'"])
        r, mounts = legacy_run(cmd)
        assert r.returncode == 0 and r.stdout.split() == ["cgroup2fs", "0::/probe"], r.stdout + r.stderr
        assert mounts == "0", r.stderr  # the host's layout is as it was
        assert "Machine 'cgv-legacy' gets a cgroup2-only /sys/fs/cgroup (its systemd 262 needs cgroup v2)." in r.stderr
        assert not os.path.exists(scope)


def test_legacy_host_boots_systemd_that_needs_cgroup2(hybrid_host, matrix_trees):
    """End to end: systemd 262 (which refuses cgroup v1) boots on the legacy host, reaches
    poweroff.target and powers off with status 0."""
    sid = tree_for("sid", matrix_trees)
    r, _ = legacy_run(f"{SPAWN} -D {sid} -M cgv-legacy-boot -x --console=read-only -b systemd.unit=poweroff.target",
                      timeout=90)
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "Detected cgroup v1" not in out, out[-3000:]
    assert "Powering off." in out and "Container cgv-legacy-boot has been shut down." in out, out[-3000:]


def test_legacy_host_collects_a_killed_launchers_cgroups(hybrid_host, matrix_trees):
    """A launcher killed with SIGKILL leaves the machine's cgroups, its private cgroup2 one included:
    the next run by that name removes them before it makes its own, and removes its own at the end."""
    sid = tree_for("sid", matrix_trees)
    base = f"{SPAWN} -D {sid} -M cgv-legacy-kill --read-only"
    scope = "machine.slice/machine-cgv\\x2dlegacy\\x2dkill.scope"
    legacy_run(f"{base} --console=pipe /bin/sleep 30 </dev/null & L=$!; sleep 1; kill -9 $L; wait $L")
    assert os.path.isdir(f"/sys/fs/cgroup/unified/{scope}")  # the leftover, seen from the host
    r, _ = legacy_run(f"{base} --console=read-only /bin/sh -c 'tail -1 /proc/self/cgroup'")
    assert r.returncode == 0 and r.stdout.splitlines()[-1] == "0::/", r.stdout + r.stderr
    assert not os.path.exists(f"/sys/fs/cgroup/unified/{scope}")
    assert not os.path.exists(f"/sys/fs/cgroup/systemd/{scope}")

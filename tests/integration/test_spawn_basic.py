# SPDX-License-Identifier: LGPL-2.1-or-later
"""berth-spawn in command mode on a busybox tree: what the guest sees, options, exit codes."""
import os
import re
import subprocess

import pytest

from conftest import spawn


def test_exit_status_passes_through(bbtree):
    r = spawn("-q", "-D", bbtree, "/bin/sh", "-c", "exit 7")
    assert r.returncode == 7, r.stderr


def test_stdin_passes_through(bbtree):
    r = spawn("-q", "-D", bbtree, "/bin/cat", input="hi\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hi\n"


def test_status_messages_unless_quiet(bbtree):
    r = spawn("-D", bbtree, "-M", "chatty", "/bin/true")
    assert "Spawning container chatty on" in r.stderr
    assert "Container chatty exited successfully." in r.stderr
    assert spawn("-q", "-D", bbtree, "/bin/true").stderr == ""


def test_pid1_hostname_and_no_host_processes(bbtree):
    r = spawn("-q", "-D", bbtree, "-M", "probe-1", "/bin/sh", "-c", "echo $$; hostname; ls /proc | grep -c '^[0-9]'")
    pid, host, nproc = r.stdout.split()
    assert pid == "1"
    assert host == "probe-1"
    assert int(nproc) <= 3  # sh, ls, grep: nothing of the host


def test_default_machine_name_from_directory(bbtree):
    r = spawn("-q", "-D", bbtree, "/bin/hostname")
    assert r.stdout.strip() == "bb"


def test_hostname_option(bbtree):
    r = spawn("-q", "-D", bbtree, "-M", "m1", "--hostname=other", "/bin/hostname")
    assert r.stdout.strip() == "other"


def test_environment(bbtree):
    r = spawn("-q", "-D", bbtree, "--uuid=0123456789abcdef0123456789abcdef", "-E", "FOO=bar", "/bin/env")
    env = dict(l.split("=", 1) for l in r.stdout.splitlines() if "=" in l)
    assert env["container"] == "berth"
    assert env["container_uuid"] == "01234567-89ab-cdef-0123-456789abcdef"
    assert env["FOO"] == "bar"
    assert env["NOTIFY_SOCKET"] == "/run/host/notify"


def test_run_host_files(bbtree):
    r = spawn("-q", "-D", bbtree, "/bin/sh", "-c", "cat /run/host/container-manager; test -s /run/host/os-release && echo os")
    assert r.stdout.split() == ["berth", "os"]


def test_only_stdio_fds(bbtree):
    extra = os.open("/etc", os.O_RDONLY)  # inherited by the launcher, must not reach the guest
    try:
        r = spawn("-q", "-D", bbtree, "/bin/ls", "/proc/self/fd")
    finally:
        os.close(extra)
    fds = sorted(int(x) for x in r.stdout.split())
    assert fds == [0, 1, 2, 3]  # 3 is ls's own directory handle


def test_proc_sys_and_sys_read_only(bbtree):
    r = spawn("-q", "-D", bbtree, "/bin/sh", "-c",
              "echo 1 > /proc/sys/kernel/sysrq 2>/dev/null && echo W1; "
              "echo x > /sys/kernel/uevent_helper 2>/dev/null && echo W2; "
              "cat /proc/kcore 2>/dev/null | head -c1 | wc -c; "
              "echo h > /proc/sysrq-trigger 2>/dev/null && echo W3; echo done")
    assert "W1" not in r.stdout and "W2" not in r.stdout and "W3" not in r.stdout
    assert r.stdout.split() == ["0", "done"]


def test_dev_is_minimal(bbtree):
    r = spawn("-q", "-D", bbtree, "/bin/ls", "/dev")
    names = set(r.stdout.split())
    assert {"null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts", "shm", "mqueue"} <= names
    assert not any(re.match(r"(sd|vd|nvme|loop|mem|kmsg)", n) for n in names)


def test_device_policy(bbtree):
    if not os.path.isdir("/sys/fs/cgroup/devices"):
        pytest.skip("no v1 devices controller")
    r = spawn("-q", "-D", bbtree, "/bin/sh", "-c",
              "mknod /tmp/mem c 1 1 && (cat /tmp/mem >/dev/null 2>&1 && echo READ || echo DENIED)")
    assert r.stdout.strip() == "DENIED"


def test_capability_bounding_set(bbtree):
    r = spawn("-q", "-D", bbtree, "/bin/grep", "CapBnd", "/proc/self/status")
    assert r.stdout.split()[1] == "00000000fcecafff"
    r = spawn("-q", "-D", bbtree, "--drop-capability=CAP_SYS_ADMIN", "--capability=CAP_SYS_TIME",
              "/bin/grep", "CapBnd", "/proc/self/status")
    assert int(r.stdout.split()[1], 16) == (0xfcecafff & ~(1 << 21)) | (1 << 25)


def test_cgroup_namespace_and_scope(bbtree):
    r = spawn("-q", "-D", bbtree, "-M", "cg-test", "/bin/sh", "-c",
              "cat /proc/self/cgroup; cat /proc/1/cgroup >/dev/null; ls /sys/fs/cgroup")
    for line in r.stdout.splitlines():
        if line.count(":") == 2:
            assert line.endswith(":/"), line
    assert "machine-cg\\x2dtest.scope" not in r.stdout


def test_machine_is_in_its_scope_in_every_hierarchy(bbtree):
    proc = subprocess.Popen(["bash", "-c", f"exec {spawn.__globals__['SPAWN']} -q -D {bbtree} -M scoped /bin/sleep 30"])
    try:
        import conftest
        import time
        leader = conftest.leader_of(proc.pid)
        for _ in range(100):  # the launcher moves its child in right after creating it
            with open(f"/proc/{leader}/cgroup") as f:
                lines = f.read().splitlines()
            if lines and all(l.endswith(".scope") for l in lines):
                break
            time.sleep(0.05)
        assert lines
        for l in lines:
            assert l.split(":", 2)[2] == "/machine.slice/machine-scoped.scope", l
    finally:
        proc.terminate()
        assert proc.wait(10) == 1  # command mode: SIGTERM kills (nspawn: SIGKILL), status 1


def test_bind_mounts(bbtree, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "f").write_text("hello")
    r = spawn("-q", "-D", bbtree, f"--bind={tmp_path}/data:/mnt/rw", f"--bind-ro={tmp_path}/data:/mnt/ro",
              "/bin/sh", "-c", "cat /mnt/rw/f; echo; echo x > /mnt/rw/g; (echo y > /mnt/ro/h) 2>/dev/null || echo ro")
    assert r.stdout.split() == ["hello", "ro"], r.stderr
    assert (tmp_path / "data" / "g").read_text() == "x\n"


def test_bind_destination_symlink_stays_inside(bbtree, tmp_path):
    os.symlink("/etc", os.path.join(bbtree, "escape"))  # absolute: must resolve inside the machine
    (tmp_path / "d").mkdir()
    r = spawn("-q", "-D", bbtree, f"--bind={tmp_path}/d:/escape/sub", "/bin/true")
    assert r.returncode == 0, r.stderr
    assert not os.path.exists("/etc/sub")
    assert os.path.isdir(os.path.join(bbtree, "etc", "sub"))


def test_tmpfs(bbtree):
    r = spawn("-q", "-D", bbtree, "--tmpfs=/scratch:mode=0700", "/bin/sh", "-c",
              "stat -c %a /scratch; grep ' /scratch ' /proc/self/mountinfo | grep -c tmpfs")
    assert r.stdout.split() == ["700", "1"], r.stderr


def test_chdir_and_user(bbtree):
    r = spawn("-q", "-D", bbtree, "--chdir=/tmp", "/bin/pwd")
    assert r.stdout.strip() == "/tmp"
    r = spawn("-q", "-D", bbtree, "-u", "alice", "/bin/sh", "-c", "id -u; id -G; echo $HOME; pwd; grep CapEff /proc/self/status")
    out = r.stdout.split()
    assert out[0] == "1000" and "10" in out[1:3] and "/home/alice" in out
    assert out[-1] == "0000000000000000"


def test_read_only(bbtree):
    r = spawn("-q", "-D", bbtree, "--read-only", "/bin/sh", "-c", "touch /x 2>/dev/null || echo ro; touch /tmp/y && echo tmp")
    assert r.stdout.split() == ["ro", "tmp"]


def test_private_network(bbtree):
    r = spawn("-q", "-D", bbtree, "--private-network", "/bin/sh", "-c", "ls /sys/class/net")
    assert r.stdout.split() == ["lo"]
    r = spawn("-q", "-D", bbtree, "--private-network", "/bin/cat", "/sys/class/net/lo/operstate")
    assert r.stdout.strip() in ("unknown", "up")


def test_as_pid2(bbtree):
    r = spawn("-q", "-D", bbtree, "--as-pid2", "/bin/sh", "-c", "echo $$; cat /proc/1/comm; exit 3")
    assert r.returncode == 3
    assert r.stdout.split() == ["2", "(berth-stub)"]


def _ready_after(tree, tmp_path, *args):
    """Seconds until READY=1 reaches our NOTIFY_SOCKET from a berth-spawn run with args."""
    import socket
    import time
    sock_path = str(tmp_path / "notify")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(sock_path)
    s.settimeout(10)
    env = dict(os.environ, NOTIFY_SOCKET=sock_path)
    t0 = time.monotonic()
    proc = subprocess.Popen([spawn.__globals__["SPAWN"], "-q", "-D", tree, *args], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        assert s.recv(100) == b"READY=1"
        return time.monotonic() - t0
    finally:
        proc.terminate()
        proc.wait()
        s.close()
        os.unlink(sock_path)


def test_notify_ready(probetree, tmp_path):
    # no: READY=1 as soon as the machine runs
    assert _ready_after(probetree, tmp_path, "--notify-ready=no", "/bin/sleep", "30") < 2
    # yes: only when the guest's PID 1 says so; a READY=1 from another process of the machine
    # does not count (I14)
    script = "/bin/probe notify READY=1; sleep 2; exec /bin/probe notify READY=1"
    t = _ready_after(probetree, tmp_path, "--notify-ready=yes", "/bin/sh", "-c", script)
    assert t >= 2, t


@pytest.mark.parametrize("args,message", [
    (["-D", "/nonexistent"], "Failed to access directory /nonexistent"),
    (["-M", "a_b"], "Invalid machine name 'a_b'"),
    (["-M", ".host"], "Invalid machine name '.host'"),
    (["-M", "x" * 65], "Invalid machine name"),
    (["--bind=/nonexistent-src:/x"], "Bind mount source /nonexistent-src"),
    (["--bind=/tmp:relative"], "Invalid bind mount specification"),
    (["--bind=/tmp:/proc/sys"], "Refusing to mount over /proc, /sys or /dev"),
    (["--tmpfs=/sys"], "Refusing to mount over /proc, /sys or /dev"),
    (["-b", "--as-pid2"], "--boot and --as-pid2 may not be combined"),
    (["-b", "-u", "root"], "--boot and --user= may not be combined"),
    (["--console=bogus"], "Invalid console mode 'bogus'"),
    (["--kill-signal=SIGFOO"], "Unknown signal 'SIGFOO'"),
    (["--register=maybe"], "Invalid --register= value"),
    (["--capability=CAP_NOPE"], "Failed to parse capability list"),
    (["--uuid=xyz"], "Invalid UUID"),
    (["-u", "nosuchuser"], "User 'nosuchuser' does not exist in the machine."),
    (["--chdir=relative"], "not an absolute"),
])
def test_bad_input(bbtree, args, message):
    r = spawn("-q", *(["-D", bbtree] if "-D" not in args else []), *args, "/bin/true")
    assert r.returncode != 0
    assert message in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_not_an_os_tree(tmp_path):
    r = spawn("-D", str(tmp_path), "/bin/true")
    assert r.returncode == 1
    assert "doesn't look like an OS tree" in r.stderr


def test_no_init(bbtree):
    os.unlink(os.path.join(bbtree, "sbin/init"))
    r = spawn("-D", bbtree, "-b")
    assert r.returncode == 1
    assert "No init found" in r.stderr


def test_init_not_executable(bbtree):
    os.unlink(os.path.join(bbtree, "sbin/init"))
    with open(os.path.join(bbtree, "sbin/init"), "w") as f:
        f.write("not a program")
    r = spawn("-D", bbtree, "-b")
    assert r.returncode == 1
    assert "is not an executable file" in r.stderr


def test_command_not_found(bbtree):
    r = spawn("-q", "-D", bbtree, "/bin/nonexistent")
    assert r.returncode == 1
    assert "Failed to execute /bin/nonexistent: No such file or directory" in r.stderr


def test_same_name_twice(bbtree):
    import conftest
    with conftest.Machine("-q", "-D", bbtree, "-M", "twice", "/bin/sleep", "30"):
        r = spawn("-q", "-D", bbtree, "-M", "twice", "/bin/true")
        assert r.returncode == 1
        assert r.stderr.strip() == "Machine 'twice' is already running."


def test_help_and_version():
    r = spawn("--help")
    assert r.returncode == 0 and "--directory" in r.stdout and "--console" in r.stdout
    r = spawn("--version")
    assert r.returncode == 0 and r.stdout.startswith("berth-spawn ")


def test_settings_file_trust_rule(bbtree):
    parent = os.path.dirname(bbtree)
    beside = os.path.join(parent, "bb.nspawn")
    with open(beside, "w") as f:
        f.write("[Exec]\nEnvironment=FROM=file\nHostname=fromfile\nCapability=CAP_SYS_MODULE\n"
                "[Files]\nBind=/etc:/hostetc\n")
    r = spawn("-q", "-D", bbtree, "/bin/sh", "-c", "echo $FROM; hostname; test -e /hostetc/passwd || echo no-bind;"
              " grep CapBnd /proc/self/status")
    out = r.stdout.split()
    assert out[:3] == ["file", "fromfile", "no-bind"], r.stdout + r.stderr
    assert int(out[-1], 16) == 0xfcecafff  # CAP_SYS_MODULE not granted by an untrusted file
    assert "Capability= is ignored" in r.stderr and "Bind= is ignored" in r.stderr
    # The command line wins; --settings=trusted trusts the file beside the image.
    r = spawn("-q", "-D", bbtree, "--hostname=cli", "--settings=trusted", "/bin/sh", "-c",
              "hostname; test -e /hostetc/passwd && echo bind")
    assert r.stdout.split() == ["cli", "bind"], r.stderr
    r = spawn("-q", "-D", bbtree, "--settings=no", "/bin/hostname")
    assert r.stdout.strip() == "bb"


def test_ambient_capability_for_a_user(bbtree):
    r = spawn("-q", "-D", bbtree, "-u", "alice", "--ambient-capability=CAP_NET_BIND_SERVICE",
              "/bin/grep", "CapAmb", "/proc/self/status")
    assert int(r.stdout.split()[1], 16) == 1 << 10, r.stderr
    r = spawn("-q", "-D", bbtree, "-u", "alice", "/bin/grep", "CapAmb", "/proc/self/status")
    assert int(r.stdout.split()[1], 16) == 0


def test_i15_norbind_hides_submounts_and_ro_stays_ro(bbtree, tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(src / "sub")], check=True)
    try:
        (src / "sub" / "hidden").write_text("x")
        r = spawn("-q", "-D", bbtree, f"--bind={src}:/mnt/n:norbind", f"--bind={src}:/mnt/r",
                  "/bin/sh", "-c", "ls /mnt/n/sub | wc -l; ls /mnt/r/sub | wc -l")
        assert r.stdout.split() == ["0", "1"], r.stdout + r.stderr
        # With -U, a read-only bind cannot be made writable from inside (the mount is locked).
        r = spawn("-q", "-D", bbtree, "-U", f"--bind-ro={src}:/mnt/ro", "/bin/sh", "-c",
                  "mount -o remount,bind,rw /mnt/ro 2>/dev/null && echo REMOUNTED; umount /mnt/ro 2>/dev/null && "
                  "echo UNMOUNTED; touch /mnt/ro/x 2>/dev/null && echo WROTE; echo done")
        assert r.stdout.split() == ["done"], r.stdout + r.stderr
        assert not (src / "x").exists()
    finally:
        subprocess.run(["umount", str(src / "sub")], check=True)

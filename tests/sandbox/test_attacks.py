"""SANDBOX.md §6, row by row, against the real bubblewrap sandbox (one test per ID).

Every test runs under the ``sandbox`` fixture, which checks the host invariants at teardown: the
event loop never stalled, no leftover process, cgroup or work directory, no new host file, and
neither the API key planted in the parent's environment nor the secret file appears in any result.
Network probes only ever target loopback listeners these tests open, and ``/proc/net/route``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox import (
    BubblewrapSandbox,
    ExecutionRequest,
    Limits,
    SandboxUnavailableError,
    Status,
    judge,
)
from tests.sandbox.conftest import (
    FAKE_FILE_SECRET,
    FAKE_KEY,
    REPO,
    SHORT,
    Host,
    descendants,
    run_one,
    session_cgroups,
)

pytestmark = pytest.mark.bwrap
GRACE_S = 1.0  # kill + reap + report on a loaded 2-core host
MEMORY = Limits(wall_time_s=5.0, cpu_time_s=5.0, memory_mb=128)  # OOM is slow on a loaded host


def _earliest_kill(limits: Limits) -> float:
    """No TLE comes sooner: the smaller limit, less a tolerance, since RLIMIT_CPU (rounded up to
    whole seconds) may fire a hair before an equal wall deadline (CPU and wall clocks differ)."""
    return 0.9 * min(limits.wall_time_s, limits.cpu_time_s)


def _tle(run_time: float, limits: Limits = SHORT) -> bool:
    return _earliest_kill(limits) <= run_time < limits.wall_time_s + GRACE_S


async def _assert_tle(box: BubblewrapSandbox, host: Host, program: str) -> None:
    run = await run_one(box, host, program)
    assert run.status is Status.TIMEOUT
    assert _tle(run.time_s), run.time_s


# --- R: resources -------------------------------------------------------------------------------


async def test_r1_busy_loop(sandbox: BubblewrapSandbox, host: Host) -> None:
    await _assert_tle(sandbox, host, "while True: pass")


async def test_r2_sleep(sandbox: BubblewrapSandbox, host: Host) -> None:
    await _assert_tle(sandbox, host, "import time\ntime.sleep(10**9)")


async def test_r3_ignores_signals(sandbox: BubblewrapSandbox, host: Host) -> None:
    program = (
        "import signal\n"
        "for s in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM, signal.SIGXCPU):\n"
        "    signal.signal(s, signal.SIG_IGN)\n"
        "while True: pass\n"
    )
    await _assert_tle(sandbox, host, program)


async def test_r4_swallows_exceptions(sandbox: BubblewrapSandbox, host: Host) -> None:
    program = (
        "import time\nwhile True:\n    try:\n        time.sleep(100)\n"
        "    except BaseException:\n        pass\n"
    )
    await _assert_tle(sandbox, host, program)


async def test_r5_disarms_timers(sandbox: BubblewrapSandbox, host: Host) -> None:
    program = (
        "import signal\nsignal.alarm(0)\nsignal.setitimer(signal.ITIMER_REAL, 0)\n"
        "while True: pass\n"
    )
    await _assert_tle(sandbox, host, program)


async def test_r6_one_big_allocation(sandbox: BubblewrapSandbox, host: Host) -> None:
    run = await run_one(sandbox, host, "x = bytearray(1 << 30)\nprint(len(x))", limits=MEMORY)
    assert run.status is Status.MEMORY_LIMIT


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def test_r7_growing_allocation(sandbox: BubblewrapSandbox, host: Host) -> None:
    before = _rss_kb()
    run = await run_one(
        sandbox,
        host,
        "chunks = []\nwhile True:\n    chunks.append(b'x' * (1 << 20))",
        limits=MEMORY,
    )
    assert run.status is Status.MEMORY_LIMIT
    assert _rss_kb() - before < 32 << 10


async def test_r8_unbounded_recursion(sandbox: BubblewrapSandbox, host: Host) -> None:
    program = "import sys\nsys.setrecursionlimit(10**7)\ndef f(n):\n    return f(n + 1)\nf(0)"
    run = await run_one(sandbox, host, program, limits=Limits(2.0, 2.0, 128))
    assert run.status in (Status.MEMORY_LIMIT, Status.RUNTIME_ERROR)


def _host_process_count() -> int:
    return sum(1 for p in Path("/proc").iterdir() if p.name.isdigit())


@pytest.mark.parametrize(
    "fork",
    [
        "import os as m\nfork = m.fork",
        "import posix as m\nfork = m.fork",
    ],
)
async def test_r10_fork_loop_stops_at_pids_max(
    sandbox: BubblewrapSandbox, host: Host, fork: str
) -> None:
    program = (
        f"{fork}\nimport time\nn = 0\ntry:\n    for _ in range(1000):\n"
        "        if fork() == 0:\n            time.sleep(30)\n            raise SystemExit\n"
        "        n += 1\nfinally:\n    print(n, flush=True)\n"
    )
    before = _host_process_count()
    run = await run_one(sandbox, host, program, limits=Limits(3.0, 3.0, 128, processes=16))
    assert run.status in (Status.RUNTIME_ERROR, Status.TIMEOUT)
    assert int(run.stdout.split()[0]) <= 16
    assert _host_process_count() - before < 16


async def test_r10_multiprocessing_pool(sandbox: BubblewrapSandbox, host: Host) -> None:
    program = "import multiprocessing\nmultiprocessing.Pool(1000)\nprint('pooled')"
    run = await run_one(sandbox, host, program, limits=Limits(3.0, 3.0, 128, processes=16))
    assert run.status in (Status.RUNTIME_ERROR, Status.TIMEOUT)
    assert "pooled" not in run.stdout


async def test_r12_file_descriptors(sandbox: BubblewrapSandbox, host: Host) -> None:
    run = await run_one(sandbox, host, "fs = [open('/dev/null') for _ in range(1000)]")
    assert run.status is Status.RUNTIME_ERROR
    assert "Too many open files" in (run.error or "")


async def test_r13_disk_filling_then_wiped(sandbox: BubblewrapSandbox, host: Host) -> None:
    program = (
        "import os, sys\nwhere = sys.stdin.read()\ni = 0\nwhile where:\n"
        "    with open(f'{where}/attack{i}', 'wb') as f:\n"
        "        for _ in range(4):\n            f.write(b'x' * (1 << 20))\n    i += 1\n"
        "print(os.listdir('.'), sorted(os.listdir('/tmp')), os.listdir('/dev/shm'))\n"
    )
    request = ExecutionRequest(program, (".", "/tmp", "/dev/shm", ""), limits=SHORT)
    runs = host.keep((await sandbox.run(request)).runs)
    for run in runs[:3]:
        assert run.status is Status.RUNTIME_ERROR
        assert "No space left" in (run.error or ""), run.error
    assert runs[3].stdout == "[] ['run'] []\n"
    big = "f = open('attack-big', 'wb')\nwhile True:\n    f.write(b'x' * (1 << 20))"
    run = await run_one(sandbox, host, big)
    assert run.status is Status.RUNTIME_ERROR
    assert "SIGXFSZ" in (run.error or "")


async def test_r15_no_state_between_runs(sandbox: BubblewrapSandbox, host: Host) -> None:
    program = (
        "import os, sys\nif sys.stdin.read() == 'write':\n"
        "    for p in ('/tmp/attack', '/dev/shm/attack', 'attack'):\n"
        "        open(p, 'w').write('state')\n"
        "print([os.path.exists(p) for p in ('/tmp/attack', '/dev/shm/attack', 'attack')])\n"
    )
    runs = host.keep((await sandbox.run(ExecutionRequest(program, ("write", "read")))).runs)
    assert [r.stdout for r in runs] == ["[True, True, True]\n", "[False, False, False]\n"]
    other = await run_one(sandbox, host, program, "read")
    assert other.stdout == "[False, False, False]\n"


# --- O: output ----------------------------------------------------------------------------------


async def test_o1_stdout_flood(sandbox: BubblewrapSandbox, host: Host) -> None:
    before = _rss_kb()
    run = await run_one(sandbox, host, "import sys\nwhile True: sys.stdout.write('A' * 65536)")
    assert run.status is Status.OUTPUT_LIMIT
    assert run.truncated
    assert run.time_s < 1.0
    assert _rss_kb() - before < 32 << 10


async def test_o2_stderr_flood(sandbox: BubblewrapSandbox, host: Host) -> None:
    run = await run_one(sandbox, host, "import sys\nwhile True: sys.stderr.write('E' * 65536)")
    assert run.status is Status.OUTPUT_LIMIT
    assert len(run.stderr) <= SHORT.stderr_bytes


async def test_o4_large_output_then_exit_is_ok(sandbox: BubblewrapSandbox, host: Host) -> None:
    run = await run_one(sandbox, host, "print('x' * 200_000)")
    assert run.status is Status.OK
    assert len(run.stdout) == 200_001


async def test_o6_hostile_bytes_are_decoded_safely(sandbox: BubblewrapSandbox, host: Host) -> None:
    program = (
        "import sys\nw = sys.stdout.buffer.write\n"
        "w(b'\\xc3\\x28 \\x00 \\x1b[2J\\x1b]0;title\\x07')\nw(b'\\r' * 10**6)\n"
    )
    run = await run_one(sandbox, host, program)
    assert run.status is Status.OK
    assert run.stdout.startswith("\ufffd( \x00 \x1b[2J")
    assert run.stdout.count("\r") == 10**6


# --- E: escape and secrets ----------------------------------------------------------------------


async def test_e1_environment_is_minimal(sandbox: BubblewrapSandbox, host: Host) -> None:
    run = await run_one(sandbox, host, "import os, json\nprint(json.dumps(dict(os.environ)))")
    assert set(json.loads(run.stdout)) <= {"PATH", "LANG", "PWD"}


async def test_e2_proc_environ_and_cmdline(sandbox: BubblewrapSandbox, host: Host) -> None:
    program = (
        "import os\nfor p in ('/proc/self/environ', '/proc/1/environ',\n"
        "          f'/proc/{os.getppid()}/environ', '/proc/1/cmdline', '/proc/self/cmdline'):\n"
        "    try:\n        print(p, open(p, 'rb').read())\n"
        "    except OSError as e:\n        print(p, e)\n"
        "for pid in [p for p in os.listdir('/proc') if p.isdigit()]:\n"
        "    try:\n        print(pid, open(f'/proc/{pid}/environ', 'rb').read())\n"
        "    except OSError as e:\n        print(pid, e)\n"
    )
    run = await run_one(sandbox, host, program)
    assert run.status is Status.OK
    assert "OPENAI_API_KEY" not in run.stdout
    assert FAKE_KEY not in run.stdout


async def test_e2_secret_file_and_host_paths_invisible(
    sandbox: BubblewrapSandbox, host: Host
) -> None:
    paths = [str(host.secret_file), "/etc/shadow", "/root", str(REPO), str(Path.home())]
    program = f"import os\nprint([os.path.exists(p) for p in {paths!r}])"
    run = await run_one(sandbox, host, program)
    assert run.stdout == f"{[False] * len(paths)}\n"
    assert FAKE_FILE_SECRET not in run.stdout


def _sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _exists(path: str) -> bool:
    return Path(path).exists()


async def test_e4_read_only_everywhere_else(sandbox: BubblewrapSandbox, host: Host) -> None:
    targets = [
        "/usr/attack",
        "/attack",
        "/etc/attack",
        "/dev/attack",
        "/bin/bash",
        f"{REPO}/attack",
    ]
    bash_hash = _sha256("/usr/bin/bash")
    program = (
        f"import errno\nfor p in {targets!r}:\n    try:\n        open(p, 'ab').write(b'x')\n"
        "        print(p, 'WROTE')\n    except OSError as e:\n"
        "        print(p, errno.errorcode[e.errno])\n"
    )
    run = await run_one(sandbox, host, program)
    assert "WROTE" not in run.stdout
    assert run.stdout.count("\n") == len(targets)
    assert _sha256("/usr/bin/bash") == bash_hash
    assert not _exists(f"{REPO}/attack")


async def test_e5_links_never_followed_by_the_host(sandbox: BubblewrapSandbox, host: Host) -> None:
    shadow = _sha256("/etc/shadow")
    program = (
        "import os\nos.symlink('/etc/shadow', 'attack.txt')\n"
        "os.symlink('/proc/1/mem', 'attack-stdout')\n"
        "for src in ('/usr/bin/python3', '/etc/passwd'):\n    try:\n"
        "        os.link(src, 'attack-hard')\n        print('linked', src)\n"
        "    except OSError as e:\n        print(type(e).__name__)\n"
        "print(os.readlink('attack.txt'))\n"
    )
    run = await run_one(sandbox, host, program)
    assert run.status is Status.OK
    assert "linked" not in run.stdout
    assert _sha256("/etc/shadow") == shadow


@pytest.fixture
def canary() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(["/usr/bin/sleep", "60"])
    yield process
    process.kill()
    process.wait()


async def test_e6_kills_stay_inside(
    sandbox: BubblewrapSandbox, host: Host, canary: subprocess.Popen[bytes]
) -> None:
    program = (
        "import os, signal\nfor sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):\n"
        "    os.kill(1, sig)\n"
        "for target in (os.getppid(), 1, -1):\n    try:\n"
        "        os.kill(target, signal.SIGKILL)\n    except OSError as e:\n        print(e)\n"
        f"for pid in ({os.getpid()}, {canary.pid}):\n    try:\n"
        "        os.kill(pid, signal.SIGKILL)\n    except OSError as e:\n        print(e)\n"
        "print('alive', flush=True)\nos.killpg(0, signal.SIGKILL)\n"
    )
    run = await run_one(sandbox, host, program)
    assert run.status is Status.RUNTIME_ERROR
    assert "alive" in run.stdout
    assert canary.poll() is None
    assert (await run_one(sandbox, host, "print('next')")).stdout == "next\n"


async def test_e7_ptrace_and_process_vm_denied(sandbox: BubblewrapSandbox, host: Host) -> None:
    program = (
        "import ctypes, os, json\nlibc = ctypes.CDLL(None, use_errno=True)\nout = {}\n"
        "for name, call in (('ptrace', lambda: libc.ptrace(16, 1, 0, 0)),\n"
        "                   ('process_vm_readv',\n"
        "                    lambda: libc.process_vm_readv(1, 0, 0, 0, 0, 0)),\n"
        "                   ('mem', lambda: open('/proc/1/mem', 'rb').read(1)),\n"
        "                   ('socket', lambda: [os.open(f'/proc/1/fd/{fd}', os.O_RDWR)\n"
        "                       for fd in os.listdir('/proc/1/fd')\n"
        "                       if 'socket' in os.readlink(f'/proc/1/fd/{fd}')])):\n"
        "    try:\n        out[name] = [call(), ctypes.get_errno()]\n"
        "    except OSError as e:\n        out[name] = ['raised', e.errno]\n"
        "print(json.dumps(out))\n"
    )
    out = json.loads((await run_one(sandbox, host, program)).stdout)
    assert out["ptrace"] == [-1, 1]
    assert out["process_vm_readv"] == [-1, 1]
    assert out["mem"][0] == "raised"
    assert out["socket"][0] == "raised"  # the zygote's control socket stays out of reach


async def test_e8_daemon_is_killed(sandbox: BubblewrapSandbox, host: Host) -> None:
    program = (
        "import os, sys, time\nif sys.stdin.read() == 'spawn':\n"
        "    if os.fork() == 0:\n        os.setsid()\n        if os.fork() == 0:\n"
        "            time.sleep(30)\n        os._exit(0)\n    time.sleep(0.1)\n"
        "print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()) == [1, os.getpid()])\n"
    )
    runs = host.keep((await sandbox.run(ExecutionRequest(program, ("spawn", "look")))).runs)
    assert [r.stdout for r in runs] == ["False\n", "True\n"]


async def test_e10_exec_and_spawn_are_confined(sandbox: BubblewrapSandbox, host: Host) -> None:
    execv = "import os\nos.execv('/bin/sh', ['sh', '-c', 'id -u; cat /proc/1/environ; echo done'])"
    run = await run_one(sandbox, host, execv)
    assert run.status is Status.WRONG_ANSWER
    assert run.stdout.startswith("65534\n")
    assert "done" in run.stdout
    spawn = (
        "import os, ctypes\npid = os.posix_spawn('/bin/sh', ['sh', '-c', 'ls /'], {})\n"
        "os.waitpid(pid, 0)\nctypes.CDLL(None).system(b'echo system-ran')\n"
    )
    run = await run_one(sandbox, host, spawn)
    assert run.status is Status.OK
    assert "system-ran" in run.stdout
    assert set(run.stdout.split()) >= {"usr", "tmp", "proc"}
    assert not {"etc", "root", "home"} & set(run.stdout.split())


# --- N: network ---------------------------------------------------------------------------------


async def _listener() -> tuple[asyncio.Server, int, list[bool]]:
    hits: list[bool] = []

    async def accept(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hits.append(True)
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], hits


async def test_n1_no_route_and_loopback_listener_unreachable(
    sandbox: BubblewrapSandbox, host: Host
) -> None:
    server, port, hits = await _listener()
    program = (
        "import socket\nprint(open('/proc/net/route').read().splitlines()[1:])\n"
        f"s = socket.socket()\ns.settimeout(1)\ntry:\n    s.connect(('127.0.0.1', {port}))\n"
        "    print('connected')\nexcept OSError as e:\n    print(type(e).__name__)\n"
    )
    try:
        run = await run_one(sandbox, host, program)
    finally:
        server.close()
        await server.wait_closed()
    assert run.stdout == "[]\nConnectionRefusedError\n"
    assert not hits


async def test_n2_other_services_unix_and_vsock(sandbox: BubblewrapSandbox, host: Host) -> None:
    server, port, hits = await _listener()
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract.bind(b"\0sstar-attack-n2")
    abstract.listen()
    program = (
        "import socket\ndef attempt(family, address):\n    s = socket.socket(family)\n"
        "    s.settimeout(1)\n    try:\n        s.connect(address)\n        return 'connected'\n"
        "    except OSError as e:\n        return type(e).__name__ + str(e.errno)\n"
        f"print(attempt(socket.AF_INET, ('127.0.0.1', {port})))\n"
        "print(attempt(socket.AF_UNIX, b'\\0sstar-attack-n2'))\n"
        "try:\n    socket.socket(40, socket.SOCK_STREAM)\n    print('vsock')\n"
        "except OSError as e:\n    print('vsock', e.errno)\n"
    )
    try:
        run = await run_one(sandbox, host, program)
    finally:
        abstract.close()
        server.close()
        await server.wait_closed()
    assert run.stdout.splitlines() == [
        "ConnectionRefusedError111",
        "ConnectionRefusedError111",
        "vsock 1",
    ]
    assert not hits


# --- I: integrity -------------------------------------------------------------------------------


async def test_i1_nothing_to_steal_from_frames_or_files(
    sandbox: BubblewrapSandbox, host: Host
) -> None:
    program = (
        "import inspect, os, sys\ndef answer(x):\n"
        "    seen = [repr(f.frame.f_locals)[:2000] for f in inspect.stack()]\n"
        "    files = [os.path.join(d, f) for d, _, fs in os.walk('/tmp') for f in fs]\n"
        "    return {'frames': seen, 'files': files}\n"
    )
    request = ExecutionRequest(program, ("[1]",), "function", "answer", SHORT)
    run = host.keep((await sandbox.run(request)).runs)[0]
    expected = json.dumps("EXPECTED-7f3a9")
    assert "EXPECTED-7f3a9" not in (run.return_json or "")
    assert json.loads(run.return_json or "{}")["files"] == []
    assert judge(run, expected, task_mode="function") is Status.WRONG_ANSWER


async def test_i2_always_equal_and_fake_stdout(sandbox: BubblewrapSandbox, host: Host) -> None:
    program = (
        "class Liar:\n    def __eq__(self, other):\n        return True\n"
        "    __hash__ = None\ndef f():\n    return Liar()\n"
    )
    request = ExecutionRequest(program, ("[]",), "function", "f", SHORT)
    run = host.keep((await sandbox.run(request)).runs)[0]
    assert judge(run, "42", task_mode="function") is Status.WRONG_ANSWER
    fake = (
        "import builtins, sys\nclass Out:\n    def write(self, s):\n        return len(s)\n"
        "    def flush(self):\n        pass\nsys.stdout = Out()\n"
        "builtins.print = lambda *a, **k: None\n"
        "print('42')\n"
    )
    run = await run_one(sandbox, host, fake)
    assert judge(run, "42", task_mode="stdin") is Status.WRONG_ANSWER


async def test_i3_early_exit_is_not_a_pass(sandbox: BubblewrapSandbox, host: Host) -> None:
    for exit_call in ("sys.exit(0)", "os._exit(0)"):
        program = f"import os, sys\ndef f():\n    print(42)\n    {exit_call}\n"
        request = ExecutionRequest(program, ("[]",), "function", "f", SHORT)
        run = host.keep((await sandbox.run(request)).runs)[0]
        assert run.status is not Status.OK
        assert judge(run, "42", task_mode="function") is not Status.OK
    run = await run_one(sandbox, host, "import os\nprint(3)\nos._exit(0)")
    assert run.status is Status.WRONG_ANSWER
    assert run.stdout == ""


# --- P: the proxy under pressure ----------------------------------------------------------------


async def test_p1_burst_is_queued_not_starving(sandbox: BubblewrapSandbox, host: Host) -> None:
    limits = Limits(wall_time_s=0.3, cpu_time_s=1.0, memory_mb=64)
    request = ExecutionRequest("while True: pass", ("", ""), limits=limits)
    peak = 0

    async def watch() -> None:
        nonlocal peak
        while True:
            peak = max(peak, len(session_cgroups()) // 2)
            await asyncio.sleep(0.02)

    watcher = asyncio.create_task(watch())
    started = time.monotonic()
    results = await asyncio.gather(*(sandbox.run(request) for _ in range(12)))
    watcher.cancel()
    assert all(r.status is Status.TIMEOUT for res in results for r in host.keep(res.runs))
    assert peak <= 2 * 2 + 1  # running (workers) + warm (workers), plus one being replaced
    assert time.monotonic() - started >= 12 * 2 * _earliest_kill(limits) / 2


async def test_p2_cancel_kills_within_a_second(sandbox: BubblewrapSandbox, host: Host) -> None:
    before = descendants(os.getpid())
    task = asyncio.ensure_future(
        sandbox.run(ExecutionRequest("import time\ntime.sleep(60)", ("",), limits=Limits(60, 60)))
    )
    await asyncio.sleep(0.5)
    assert any(_in_run(pid) for pid in descendants(os.getpid()) - before)
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 1.0
    await asyncio.sleep(0.3)
    assert not any(_in_run(pid) for pid in descendants(os.getpid()))


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def _in_run(pid: int) -> bool:
    """A forked run child: inside a sandbox PID namespace but not its PID 1 (the zygote)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    nspids = next(
        (line.split()[1:] for line in status.splitlines() if line.startswith("NSpid:")), []
    )
    return len(nspids) > 1 and nspids[-1] != "1"


async def test_p3_close_during_runs_leaves_nothing(host: Host) -> None:
    box = await BubblewrapSandbox.create(workers=2)
    request = ExecutionRequest("import time\ntime.sleep(60)", ("", ""), limits=Limits(60, 60))
    tasks = [asyncio.ensure_future(box.run(request)) for _ in range(3)]
    await asyncio.sleep(0.5)
    started = time.monotonic()
    await box.aclose()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert time.monotonic() - started < 2.0
    for outcome in outcomes:
        assert isinstance(outcome, SandboxUnavailableError) or all(
            r.status is Status.SANDBOX_ERROR
            for r in outcome.runs  # type: ignore[union-attr]
        )
    assert not session_cgroups()
    assert not any(_in_run(pid) or "pid1" in _cmdline(pid) for pid in descendants(os.getpid()))
    with pytest.raises(SandboxUnavailableError):
        await box.run(request)


async def test_p4_fail_closed_when_backend_missing(tmp_path: Path) -> None:
    marker = tmp_path / "attack-ran"
    for kwargs in ({"bwrap": "/nonexistent/bwrap"}, {"cgroup_root": tmp_path / "no-cgroups"}):
        with pytest.raises(SandboxUnavailableError):
            await BubblewrapSandbox.create(**kwargs)
    assert not marker.exists()
    assert not session_cgroups()


async def test_p5_input_generator_payloads(sandbox: BubblewrapSandbox, host: Host) -> None:
    generators = {
        "while True: pass": Status.TIMEOUT,
        "import os\nprint(repr(dict(os.environ)))": Status.OK,
        "while True: print('1 2 3' * 1000)": Status.OUTPUT_LIMIT,
    }
    for program, status in generators.items():
        run = await run_one(sandbox, host, program)
        assert run.status is status
        assert FAKE_KEY not in run.stdout

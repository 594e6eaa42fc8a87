"""BubblewrapSandbox behaviour: both modes, every verdict, outputs, CLI, fail-closed start."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
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
from sandbox.cgroups import CGROUP_ROOT
from sandbox.cli import main
from tests.sandbox.conftest import REPO, SHORT, Host, run_one

pytestmark = pytest.mark.bwrap


async def test_stdin_mode_runs_every_input_in_order(sandbox: BubblewrapSandbox, host: Host) -> None:
    program = "a, b = map(int, input().split())\nprint(a + b)\n"
    result = await sandbox.run(ExecutionRequest(program, ("1 2", "3 4", "10 -5")))
    runs = host.keep(result.runs)
    assert [r.status for r in runs] == [Status.OK] * 3
    assert [r.stdout for r in runs] == ["3\n", "7\n", "5\n"]
    assert all(0 < r.time_s < 1 for r in runs)


async def test_function_mode_plain_and_solution_method(
    sandbox: BubblewrapSandbox, host: Host
) -> None:
    program = (
        "class Solution:\n"
        "    def twoSum(self, nums: List[int], target: int) -> List[int]:\n"
        "        seen = {}\n"
        "        for i, n in enumerate(nums):\n"
        "            if target - n in seen:\n"
        "                return (seen[target - n], i)\n"
        "            seen[n] = i\n"
        "def pair(a, b):\n"
        "    return {'sum': a + b, 'set': {a}}\n"
    )
    method = ExecutionRequest(
        program, ("[[2,7,11,15], 9]", "[[3,3], 6]"), "function", "Solution.twoSum"
    )
    runs = host.keep((await sandbox.run(method)).runs)
    assert [r.return_json for r in runs] == ["[0,1]", "[0,1]"]
    assert judge(runs[0], "[0, 1]", task_mode="function") is Status.OK
    plain = ExecutionRequest(program, ("[1, 2]",), "function", "pair")
    run = host.keep((await sandbox.run(plain)).runs)[0]
    assert json.loads(run.return_json or "") == {"set": {"__repr__": "{1}"}, "sum": 3}
    bare = ExecutionRequest(program, ("[[1, 2], 3]",), "function", "twoSum")
    assert host.keep((await sandbox.run(bare)).runs)[0].return_json == "[0,1]"


async def test_a_session_imports_at_load_the_common_modules_its_program_names(
    sandbox: BubblewrapSandbox, host: Host
) -> None:
    """The zygote starts bare and imports, before the first run, the common modules the program
    names (all the prelude's in function mode); each run finds them imported, and only them."""
    probe = "import sys\nprint({!r} in sys.modules)\nimport {}\n"
    named = await run_one(sandbox, host, probe.format("heapq", "heapq"))
    assert named.stdout == "True\n"  # the check runs before the program's own import
    uncommon = await run_one(sandbox, host, probe.format("fractions", "fractions"))
    assert uncommon.stdout == "False\n"  # not a preloadable module: the run imports it itself
    heavy = ("collections", "json", "re", "typing")
    bare = await run_one(sandbox, host, f"import sys\nprint([m in sys.modules for m in {heavy}])")
    assert bare.stdout == "[False, False, False, False]\n"
    function = ExecutionRequest(
        f"def f():\n    import sys\n    return [m in sys.modules for m in {heavy}]\n",
        ("[]",), "function", "f",
    )  # fmt: skip
    [run] = host.keep((await sandbox.run(function)).runs)
    assert run.return_json == "[true,true,true,true]"


async def test_function_mode_errors(sandbox: BubblewrapSandbox, host: Host) -> None:
    program = "def f(x):\n    return 1 // x\n"
    request = ExecutionRequest(program, ("[0]", "[1]", "not json"), "function", "f")
    runs = host.keep((await sandbox.run(request)).runs)
    assert [r.status for r in runs] == [Status.RUNTIME_ERROR, Status.OK, Status.RUNTIME_ERROR]
    assert runs[0].error == "ZeroDivisionError: integer division or modulo by zero"
    missing = ExecutionRequest(program, ("[1]",), "function", "g")
    assert host.keep((await sandbox.run(missing)).runs)[0].status is Status.RUNTIME_ERROR
    with pytest.raises(ValueError, match="entry_point"):
        await sandbox.run(ExecutionRequest(program, ("[1]",), "function"))


async def test_every_verdict(sandbox: BubblewrapSandbox, host: Host) -> None:
    cases = {
        "print(1)": Status.OK,
        "import sys\nprint(1)\nsys.exit(0)": Status.OK,
        "import os\nprint(1)\nos._exit(0)": Status.WRONG_ANSWER,
        "raise ValueError('x')": Status.RUNTIME_ERROR,
        "import sys\nsys.exit(3)": Status.RUNTIME_ERROR,
        "syntax error here": Status.RUNTIME_ERROR,
        "while True: pass": Status.TIMEOUT,
        "x = bytearray(1 << 30)": Status.MEMORY_LIMIT,
        "while True: print('y' * 4096)": Status.OUTPUT_LIMIT,
    }
    for program, status in cases.items():
        limits = Limits(5.0, 5.0, 128) if status is Status.MEMORY_LIMIT else SHORT
        run = await run_one(sandbox, host, program, limits=limits)
        assert run.status is status, (program, run)


_DISPATCH = """import os
what = input()
if what == "loop":
    while True:
        pass
elif what == "oom":
    x = bytearray(1 << 30)
elif what == "flood":
    while True:
        print("y" * 4096)
elif what == "crash":
    raise ValueError(what)
elif what == "oom in a subprocess":
    pid = os.fork()
    if pid == 0:
        x = bytearray(1 << 30)
        os._exit(0)
    os.waitpid(pid, 0)
    print("survived")
else:
    print(what)
"""


async def test_every_verdict_with_the_next_run_queued_behind_it(
    sandbox: BubblewrapSandbox, host: Host, caplog: pytest.LogCaptureFixture
) -> None:
    """Each input's run is handed over while the previous one runs; after every way a run can
    end, the inputs behind it still get their own verdicts. An OOM kill counted while the next
    run was queued could be that run's, so the run is repeated with nothing queued behind it
    (also when the kill was a subprocess's and the run itself exited cleanly: still MLE)."""
    limits = Limits(wall_time_s=2.0, cpu_time_s=2.0, memory_mb=128)
    failures = ("a", "loop", "b", "flood", "c", "crash", "d")
    ooms = ("a", "oom in a subprocess", "b", "oom", "c")
    with caplog.at_level(logging.INFO, logger="sandbox.session"):
        first, second = [
            host.keep((await sandbox.run(ExecutionRequest(_DISPATCH, inputs, limits=limits))).runs)
            for inputs in (failures, ooms)
        ]
    ok, tle, ole = Status.OK, Status.TIMEOUT, Status.OUTPUT_LIMIT
    assert [run.status for run in first] == [ok, tle, ok, ole, ok, Status.RUNTIME_ERROR, ok]
    assert [run.stdout for run in first[::2]] == ["a\n", "b\n", "c\n", "d\n"]
    mle = Status.MEMORY_LIMIT
    assert [run.status for run in second] == [ok, mle, ok, mle, ok]
    assert [run.stdout for run in second[::2]] == ["a\n", "b\n", "c\n"]
    # NOTE: once: after an ambiguous OOM the request's runs are no longer queued ahead
    repeated = [r for r in caplog.records if r.getMessage() == "sandbox_run_repeated"]
    assert len(repeated) == 1


async def test_cpu_limit_is_a_timeout(sandbox: BubblewrapSandbox, host: Host) -> None:
    limits = Limits(wall_time_s=15.0, cpu_time_s=1.0, memory_mb=128)  # loaded CI: CPU is scarce
    run = await run_one(sandbox, host, "while True: pass", limits=limits)
    assert run.status is Status.TIMEOUT
    assert run.error == "cpu time limit exceeded"  # the rlimit, not the wall deadline


async def test_output_bytes_are_safe(sandbox: BubblewrapSandbox, host: Host) -> None:
    program = (
        "import sys\nsys.stdout.buffer.write(b'\\xff\\xfe ok \\x00 \\x1b[31m')\n"
        "print('\\u00e9\\u4e2d', end='\\r\\n')\nprint('err', file=sys.stderr)\n"
    )
    run = await run_one(sandbox, host, program)
    assert run.status is Status.OK
    assert run.stdout == "\ufffd\ufffd ok \x00 \x1b[31mé中\r\n"
    assert run.stderr == "err\n"


async def test_large_stdin_and_output(sandbox: BubblewrapSandbox, host: Host) -> None:
    data = "x" * 900_000
    run = await run_one(sandbox, host, "s = input()\nprint(len(s))\nprint(s[:5])", data)
    assert run.stdout == "900000\nxxxxx\n"
    ignored = await run_one(sandbox, host, "print('no stdin read')", data)
    assert ignored.status is Status.OK


async def test_sandbox_error_when_the_session_is_killed(
    sandbox: BubblewrapSandbox, host: Host
) -> None:
    task = asyncio.ensure_future(
        run_one(sandbox, host, "import time\ntime.sleep(5)", limits=Limits())
    )
    await asyncio.sleep(0.5)
    for procs in (CGROUP_ROOT / "pids" / "sstar-sandbox").glob(f"s{os.getpid()}-*/cgroup.procs"):
        for pid in procs.read_text().split():
            # NOTE: killing bwrap takes its zygote along (--die-with-parent); gone already is fine
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
    assert (await task).status is Status.SANDBOX_ERROR
    await asyncio.sleep(0.2)  # the warm sessions were killed too; let those kills land
    assert (await run_one(sandbox, host, "print(2)")).stdout == "2\n"


async def test_empty_request_and_concurrent_requests(
    sandbox: BubblewrapSandbox, host: Host
) -> None:
    assert (await sandbox.run(ExecutionRequest("print(1)", ()))).runs == ()
    requests = [ExecutionRequest(f"print({i})", ("",), limits=SHORT) for i in range(8)]
    results = await asyncio.gather(*(sandbox.run(r) for r in requests))
    assert [res.runs[0].stdout for res in results] == [f"{i}\n" for i in range(8)]


async def test_fail_closed_without_bubblewrap(tmp_path: Path) -> None:
    canary = tmp_path / "ran"
    for kwargs in (
        {"bwrap": str(tmp_path / "no-bwrap")},
        {"python": str(tmp_path / "no-python")},
        {"bwrap": "/bin/false"},
        {"cgroup_root": tmp_path},
    ):
        with pytest.raises(SandboxUnavailableError):
            await BubblewrapSandbox.create(workers=1, **kwargs)
    assert not canary.exists()


def test_cli_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    program = tmp_path / "p.py"
    program.write_text("print(input())\n")
    stdin = tmp_path / "in.txt"
    stdin.write_text("hi\n")
    function = tmp_path / "f.py"
    function.write_text("def f(a, b):\n    return [a, b]\n")
    assert main(["run", str(program), "--stdin", str(stdin), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["stdout"] == "hi\n"
    args = ["run", str(function), "--call", "f", "--args", "[1, 2]", "--time-limit", "2"]
    assert main([*args, "--memory-mb", "64"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["status"], report["return_value"]) == ("OK", [1, 2])
    assert set(report) >= {"status", "stdout", "stderr", "return_value", "time_s"}


def test_cli_selftest_as_a_module(tmp_path: Path) -> None:
    base = [sys.executable, "-m", "sandbox", "selftest"]
    env = {"PATH": os.environ["PATH"]}
    done = subprocess.run(base, capture_output=True, text=True, cwd=REPO, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "passed" in done.stdout
    assert main(["selftest"]) == 0


def test_cli_reports_an_unavailable_sandbox(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    program = tmp_path / "p.py"
    program.write_text("open('attack-ran', 'w')\n")
    assert main(["run", str(program), "--bwrap", str(tmp_path / "no-bwrap")]) == 2
    assert main(["selftest", "--bwrap", str(tmp_path / "no-bwrap")]) == 2
    assert "sandbox unavailable: bubblewrap not found" in capsys.readouterr().err
    assert not (tmp_path / "attack-ran").exists()

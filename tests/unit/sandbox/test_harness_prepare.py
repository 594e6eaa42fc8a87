"""The zygote's set-up work done once per session, and its child-side shortcuts.

``prepare`` compiles a session's program once (runs behave as if each compiled), the completion
record is what ``json.dumps`` writes, and ``_prctl`` (without the ctypes package) really makes a
process non-dumpable. Exercised in this process (local mode, no bubblewrap).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from sandbox.harness import _PR_SET_DUMPABLE, _prctl, _write_record, prepare, serve_run

_PR_GET_DUMPABLE = 3


def _serve(load: dict[str, object], stdin: bytes, tmp_path: Path) -> tuple[int, bytes, bytes]:
    pipes = [os.pipe() for _ in range(4)]
    theirs = [pipes[0][0], pipes[1][1], pipes[2][1], pipes[3][1]]
    os.write(pipes[0][1], stdin)
    os.close(pipes[0][1])
    limits = {"cpu_s": 2, "fsize": 1 << 20, "nofile": 64, "as_bytes": 0}
    report = serve_run(load, {"nonce": "n0", "limits": limits}, theirs, str(tmp_path), False)
    outputs = []
    for read_fd in (pipes[1][0], pipes[2][0], pipes[3][0]):
        with os.fdopen(read_fd, "rb") as stream:
            outputs.append(stream.read())
    return int(report["status"]), outputs[1], outputs[2]


def test_compiling_runs_none_of_the_program() -> None:
    # NOTE: if prepare executed the program, this test process would exit with status 3 here
    prepared = prepare({"program": "import os\nos._exit(3)", "mode": "stdin", "entry": None})
    assert "code" in prepared
    assert "code_error" not in prepared


def test_a_compile_error_is_each_runs_runtime_error(tmp_path: Path) -> None:
    prepared = prepare({"program": "def f(:\n", "mode": "stdin", "entry": None})
    assert isinstance(prepared["code_error"], SyntaxError)
    for _ in range(2):  # the stored error is raised afresh in every child
        status, stderr, record = _serve(prepared, b"", tmp_path)
        assert os.WEXITSTATUS(status) == 1
        assert json.loads(record)["error"].startswith("SyntaxError")
        assert b"SyntaxError" in stderr


def test_compiler_guards_are_errors_not_crashes(tmp_path: Path) -> None:
    deep = "x = " + "-" * 200_000 + "1\n"
    prepared = prepare({"program": deep, "mode": "stdin", "entry": None})
    assert isinstance(prepared["code_error"], MemoryError | RecursionError | SyntaxError)
    status, _, record = _serve(prepared, b"", tmp_path)
    assert os.WEXITSTATUS(status) == 1
    assert json.loads(record)["ok"] is False


def test_prepared_runs_in_both_modes(tmp_path: Path) -> None:
    stdin_mode = prepare({"program": "print(input()[::-1])", "mode": "stdin", "entry": None})
    assert _serve(stdin_mode, b"abc", tmp_path)[0] == 0
    function_mode = prepare(
        {"program": "def f(a: List[int]):\n    return sum(a)", "mode": "function", "entry": "f"}
    )
    status, _, record = _serve(function_mode, b"[[1, 2, 3]]", tmp_path)
    assert status == 0
    assert json.loads(record) == {"nonce": "n0", "ok": True, "return": "6"}


def test_the_completion_record_is_what_json_dumps_writes() -> None:
    read_fd, write_fd = os.pipe()
    records = [
        {"nonce": "n0", "ok": True},
        {"nonce": "n0", "ok": True, "return": '[1,{"a":"\\u00e9"}]'},
        {"nonce": "n0", "ok": False, "error": 'KeyError: "é" \ud800 \n\t\\'},
    ]
    for record in records:
        _write_record(record, write_fd)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as stream:
        written = stream.read().decode().splitlines()
    assert written == [json.dumps(record) for record in records]


def test_prctl_makes_a_process_non_dumpable() -> None:
    pid = os.fork()
    if pid == 0:  # the zygote's first call, in a child of this process
        was = _prctl(_PR_GET_DUMPABLE, 0)
        done = _prctl(_PR_SET_DUMPABLE, 0)
        os._exit(was * 100 + done * 10 + _prctl(_PR_GET_DUMPABLE, 0))
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 100  # dumpable before, the call succeeded, not after

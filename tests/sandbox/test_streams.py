"""A run's standard streams (built once per session in the zygote) behave like fresh ones."""

from __future__ import annotations

import json

import pytest

from sandbox import BubblewrapSandbox, ExecutionRequest, Status
from tests.sandbox.conftest import SHORT, Host

pytestmark = pytest.mark.bwrap

_PROBE = """
import json, sys
def props(s):
    return [s.fileno(), s.encoding, s.errors, s.line_buffering, s.seekable(), s.isatty()]
data = sys.stdin.read()
sys.stderr.write("e")
print(json.dumps([props(sys.stdin), props(sys.stdout), props(sys.stderr), data]))
"""


async def test_streams_are_those_of_a_fresh_interpreter_on_pipes(
    sandbox: BubblewrapSandbox, host: Host
) -> None:
    inputs = ("héllo\n", "", "second run\n")
    result = await sandbox.run(ExecutionRequest(_PROBE, inputs, limits=SHORT))
    runs = host.keep(result.runs)
    assert all(run.status is Status.OK for run in runs), runs
    for run, text in zip(runs, inputs, strict=True):
        stdin, stdout, stderr, data = json.loads(run.stdout)
        assert stdin == [0, "utf-8", "strict", False, False, False]
        assert stdout == [1, "utf-8", "strict", False, False, False]
        assert stderr == [2, "utf-8", "backslashreplace", True, False, False]
        assert data == text  # nothing read or buffered by an earlier run
        assert run.stderr == "e"


async def test_an_uncaught_exception_prints_its_traceback(
    sandbox: BubblewrapSandbox, host: Host
) -> None:
    program = "import json\ndef f():\n    json.loads('{')\nf()\n"
    result = await sandbox.run(ExecutionRequest(program, ("",), limits=SHORT))
    (run,) = host.keep(result.runs)
    assert run.status is Status.RUNTIME_ERROR
    assert run.stderr.startswith("Traceback (most recent call last):\n")
    assert 'File "<candidate>", line 4, in <module>' in run.stderr
    assert 'File "<candidate>", line 3, in f' in run.stderr
    assert "json.decoder.JSONDecodeError: Expecting property name" in run.stderr
    assert run.error is not None
    assert run.error.startswith("JSONDecodeError")

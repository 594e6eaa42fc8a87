"""The fail-closed start-up self-test: prove isolation before any candidate runs.

A probe program runs through the real backend and reports what it can see; the checks below run
outside. It proves: no network route and no way to a loopback listener this test opened on the
host (never an outside address or DNS); an environment with nothing but the allowlist, in its own
process and in ``/proc/1/environ``; no host files (``/etc``, homes, this package) visible; an
unprivileged, capability-less, seccomp-filtered, non-writable-``/usr`` process; and that the harness
returns function results. Any failure raises ``SandboxCrashedError`` with the reason.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, Protocol

from sandbox.base import ExecutionRequest, ExecutionResult, Limits, Status
from sandbox.errors import SandboxCrashedError

ALLOWED_ENV = frozenset({"PATH", "LANG", "PWD"})
_LIMITS = Limits(wall_time_s=10.0, cpu_time_s=5.0, memory_mb=128)

_PROBE = r"""
import json, os, socket, sys
port = int(sys.stdin.read())
def visible(path):
    return os.path.exists(path)
def environ(path):
    try:
        with open(path, "rb") as f:
            return sorted(k.split(b"=", 1)[0].decode() for k in f.read().split(b"\0") if k)
    except OSError as exc:
        return []  # unreadable (the zygote is not dumpable): nothing leaks
def connects():
    s = socket.socket()
    s.settimeout(1)
    try:
        s.connect(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()
def writable(path):
    try:
        open(path, "w").close()
        return True
    except OSError:
        return False
lines = open("/proc/self/status").read().splitlines()
status = dict(l.split(":\t", 1) for l in lines if ":\t" in l)
with open("/proc/net/route") as f:
    routes = f.read().splitlines()[1:]
print(json.dumps({
    "env": sorted(os.environ), "env1": environ("/proc/1/environ"), "uid": os.getuid(),
    "routes": routes, "connects": connects(), "seccomp": status.get("Seccomp", "").strip(),
    "caps": status.get("CapEff", "").strip(), "nnp": status.get("NoNewPrivs", "").strip(),
    "visible": [p for p in PATHS if visible(p)], "usr_writable": writable("/usr/probe"),
}))
"""


class _Runner(Protocol):
    async def run(self, request: ExecutionRequest) -> ExecutionResult: ...


def _hidden_paths() -> list[str]:
    package = str(Path(__file__).resolve().parent)
    return ["/etc/passwd", "/etc/shadow", "/root", "/home", "/work", "/run", "/var", package]


def _failures(report: dict[str, Any]) -> list[str]:
    problems = []
    if not set(report["env"]) <= ALLOWED_ENV or not set(report["env1"]) <= ALLOWED_ENV:
        problems.append(f"environment not minimal: {report['env']} / {report['env1']}")
    if report["uid"] != 65534:
        problems.append(f"runs as uid {report['uid']}")
    if report["routes"]:
        problems.append("network route present")
    if report["connects"]:
        problems.append("loopback listener on the host reachable")
    if report["seccomp"] != "2" or report["nnp"] != "1":
        problems.append("seccomp filter not active")
    if report["caps"].strip("0"):
        problems.append(f"capabilities present: {report['caps']}")
    if report["visible"]:
        problems.append(f"host paths visible: {report['visible']}")
    if report["usr_writable"]:
        problems.append("/usr writable")
    return problems


async def _probe(sandbox: _Runner, port: int) -> None:
    program = f"PATHS = {_hidden_paths()!r}\n{_PROBE}"
    result = await sandbox.run(ExecutionRequest(program, (str(port),), limits=_LIMITS))
    run = result.runs[0]
    if run.status is not Status.OK:
        raise SandboxCrashedError(
            f"probe did not run: {run.status} {run.error} {run.stderr[-500:]}"
        )
    problems = _failures(json.loads(run.stdout))
    if problems:
        raise SandboxCrashedError("; ".join(problems))


async def _check_function_mode(sandbox: _Runner) -> None:
    request = ExecutionRequest(
        "class Solution:\n    def add(self, a, b):\n        return (a + b, None)\n",
        ("[1, 2]",),
        mode="function",
        entry_point="Solution.add",
        limits=_LIMITS,
    )
    run = (await sandbox.run(request)).runs[0]
    if run.status is not Status.OK or run.return_json != "[3,null]":
        raise SandboxCrashedError(f"function harness broken: {run.status} {run.return_json}")


async def run_selftest(sandbox: _Runner) -> None:
    """Run every isolation check once; raise ``SandboxCrashedError`` on the first failure."""
    accepted: list[bool] = []

    async def on_connect(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(True)
        writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        await _probe(sandbox, port)
    finally:
        server.close()
        await server.wait_closed()
    if accepted:
        raise SandboxCrashedError("the sandbox reached a host loopback listener")
    await _check_function_mode(sandbox)

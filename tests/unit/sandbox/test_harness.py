"""The in-sandbox fork-server, exercised in this process (local mode, no bubblewrap).

Serialization of return values (tuples as lists, tagged ``repr``), the control channel, entry-point
resolution, the scratch wipe, the parent side of one forked run, and (as a local subprocess) what
the zygote does with a run queued behind one that left it unclean.
"""

from __future__ import annotations

import enum
import json
import os
import socket
import struct
import subprocess
import sys
from collections import namedtuple
from collections.abc import Mapping
from pathlib import Path

import pytest

from sandbox.harness import Channel, _resolve, _wipe, canonical_json, serve_run, to_jsonable
from tests.unit.sandbox.unclean import harness_reporting_unclean


class _Color(enum.IntEnum):
    RED = 1


class _AlwaysEqual:
    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "AlwaysEqual()"


def test_plain_values_and_tuples() -> None:
    assert canonical_json((1, [2.5, None], "é")) == '[1,[2.5,null],"é"]'
    assert canonical_json({"b": 1, "a": True}) == '{"a":true,"b":1}'


def test_subclasses_collapse_to_plain_json() -> None:
    point = namedtuple("point", "x y")
    assert to_jsonable(point(1, 2)) == [1, 2]
    assert to_jsonable(_Color.RED) == 1
    assert type(to_jsonable(_Color.RED)) is int


def test_non_json_values_are_tagged() -> None:
    assert to_jsonable(_AlwaysEqual()) == {"__repr__": "AlwaysEqual()"}
    assert to_jsonable({1, 2}) == {"__repr__": "{1, 2}"}
    assert to_jsonable({1: "a", None: "b"}) == {"1": "a", "null": "b"}


def test_cycles_and_depth_are_bounded() -> None:
    loop: list[object] = []
    loop.append(loop)
    encoded = json.loads(canonical_json(loop))
    depth = 0
    while isinstance(encoded, list):
        encoded, depth = encoded[0], depth + 1
    assert encoded == {"__repr__": "<too deep>"}
    assert depth > 100


def test_channel_frames_and_fds() -> None:
    left, right = socket.socketpair()
    pipes = [os.pipe(), os.pipe()]
    try:
        channel = Channel(right)
        payload = json.dumps({"type": "load", "program": "x" * 100_000}).encode()
        left.sendall(struct.pack(">I", len(payload)) + payload)
        for index, (_, write_fd) in enumerate(pipes):  # the second run queued behind the first
            frame = json.dumps({"type": "run", "index": index}).encode()
            socket.send_fds(left, [struct.pack(">I", len(frame)) + frame], [write_fd])
        assert channel.recv() == {"type": "load", "program": "x" * 100_000}
        for index, (read_fd, _) in enumerate(pipes):  # each frame's fd, not the next frame's
            assert channel.recv() == {"type": "run", "index": index}
            (passed,) = channel.take_fds(1)
            os.write(passed, b"ok%d" % index)
            os.close(passed)
            assert os.read(read_fd, 3) == b"ok%d" % index
        report = {"status": 9, "cpu_s": 0.015625, "clean": True, "note": "é\n", "none": None}
        channel.send(report)
        assert left.recv(200)[4:] == json.dumps(report).encode()
        left.close()
        assert channel.recv() is None
    finally:
        right.close()
        for fd in (fd for pair in pipes for fd in pair):
            os.close(fd)


def test_channel_refuses_what_is_not_one_json_object() -> None:
    left, right = socket.socketpair()
    try:
        channel = Channel(right)
        for frame in (b"[1, 2]", b'{"a": 1} {"b": 2}', b"{nope"):
            left.sendall(struct.pack(">I", len(frame)) + frame)
            with pytest.raises(SystemExit):
                channel.recv()
        with pytest.raises(TypeError):  # a report never carries a value JSON cannot say exactly
            channel.send({"cpu_s": float("nan")})
    finally:
        left.close()
        right.close()


def test_resolve_entry_points() -> None:
    namespace: dict[str, object] = {}
    exec(  # noqa: S102 - our own fixture program
        "class Solution:\n    def m(self, x):\n        return x + 1\ndef f(x):\n    return x * 2\n",
        namespace,
    )
    assert _resolve(namespace, "Solution.m")(1) == 2
    assert _resolve(namespace, "m")(1) == 2
    assert _resolve(namespace, "f")(3) == 6


def test_wipe_never_follows_links(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("host file")
    scratch = tmp_path / "scratch"
    locked = scratch / "locked" / "deeper"
    locked.mkdir(parents=True)
    (locked / "f").write_text("x")
    (scratch / "link").symlink_to(outside)
    (scratch / "file").write_text("x")
    locked.chmod(0)
    scratch.joinpath("locked").chmod(0)
    assert _wipe((str(scratch), str(tmp_path / "missing")))
    assert list(scratch.iterdir()) == []
    assert (outside / "keep.txt").read_text() == "host file"


def _serve(program: str, mode: str, stdin: bytes, tmp_path: Path) -> tuple[int, bytes, bytes]:
    """One local-mode run through the fork-server's parent side, in this process."""
    pipes = [os.pipe() for _ in range(4)]
    theirs = [pipes[0][0], pipes[1][1], pipes[2][1], pipes[3][1]]
    os.write(pipes[0][1], stdin)
    os.close(pipes[0][1])
    load = {"program": program, "mode": mode, "entry": "f"}
    limits = {"cpu_s": 2, "fsize": 1 << 20, "nofile": 64, "as_bytes": 0}
    message = {"nonce": "n0", "limits": limits}
    report = serve_run(load, message, theirs, str(tmp_path), contained=False)
    outputs = []
    for read_fd in (pipes[1][0], pipes[3][0]):
        with os.fdopen(read_fd, "rb") as stream:
            outputs.append(stream.read())
    os.close(pipes[2][0])
    assert report["clean"] is True
    assert list(tmp_path.iterdir()) == []
    return int(report["status"]), outputs[0], outputs[1]


def test_serve_run_stdin_and_function(tmp_path: Path) -> None:
    status, out, record = _serve("print(input()[::-1])\nopen('f', 'w')", "stdin", b"abc", tmp_path)
    assert (status, out) == (0, b"cba\n")
    assert json.loads(record) == {"nonce": "n0", "ok": True}
    status, _, record = _serve("def f(a):\n    return (a, {a})", "function", b"[1]", tmp_path)
    assert json.loads(record)["return"] == '[1,{"__repr__":"{1}"}]'
    status, _, record = _serve("import os\nos._exit(0)", "stdin", b"", tmp_path)
    assert (status, record) == (0, b"")
    status, _, record = _serve("raise KeyError(3)", "stdin", b"", tmp_path)
    assert os.WEXITSTATUS(status) == 1
    assert json.loads(record)["error"] == "KeyError: 3"


def _frame(message: Mapping[str, object]) -> bytes:
    data = json.dumps(message).encode()
    return struct.pack(">I", len(data)) + data


def _read_frame(sock: socket.socket) -> dict[str, object] | None:
    try:
        head = sock.recv(4, socket.MSG_WAITALL)
    except ConnectionResetError:  # the zygote ended with a frame of ours unread
        return None
    if not head:
        return None
    size = struct.unpack(">I", head)[0]
    frame: dict[str, object] = json.loads(sock.recv(size, socket.MSG_WAITALL))
    return frame


def test_the_zygote_serves_no_queued_run_after_an_unclean_one(tmp_path: Path) -> None:
    """Two run frames queued back to back, the first run left unclean (the wipe wipes but says
    it failed): the zygote reports it and ends, and the queued run never starts."""
    source = harness_reporting_unclean()
    scratch = tmp_path / "scratch"  # the zygote's, wiped after every run
    scratch.mkdir()
    ours, theirs = socket.socketpair()
    zygote = subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", source, str(theirs.fileno()), "local"],
        pass_fds=[theirs.fileno()],
        cwd=scratch,
    )
    theirs.close()
    ledger = tmp_path / "runs.txt"
    keep: list[int] = []
    try:
        ours.settimeout(10)
        assert _read_frame(ours) == {"hello": True}
        program = f"open({str(ledger)!r}, 'a').write('ran\\n')"
        ours.sendall(_frame({"type": "load", "program": program, "mode": "stdin", "entry": None}))
        assert _read_frame(ours) == {"loaded": True}
        limits = {"cpu_s": 2, "fsize": 1 << 20, "nofile": 64, "as_bytes": 0}
        for nonce in ("first", "queued"):
            pipes = [os.pipe() for _ in range(4)]
            passed = [pipes[0][0], pipes[1][1], pipes[2][1], pipes[3][1]]
            message = {"type": "run", "nonce": nonce, "limits": limits}
            socket.send_fds(ours, [_frame(message)], passed)
            for fd in passed:
                os.close(fd)
            keep += [pipes[0][1], pipes[1][0], pipes[2][0], pipes[3][0]]
        report = _read_frame(ours)
        assert report is not None
        assert (report["status"], report["clean"]) == (0, False)
        assert _read_frame(ours) is None  # no second report: the zygote ended
        assert zygote.wait(10) == 0
        assert ledger.read_text() == "ran\n"
    finally:
        zygote.kill()
        zygote.wait()
        ours.close()
        for fd in keep:
            os.close(fd)

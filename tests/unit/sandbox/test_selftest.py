"""The self-test's verdict on a probe report (the probe itself runs in tests/sandbox)."""

from __future__ import annotations

from typing import Any

from sandbox.selftest import _failures

GOOD: dict[str, Any] = {
    "env": ["LANG", "PATH", "PWD"],
    "env1": [],
    "uid": 65534,
    "routes": [],
    "connects": False,
    "seccomp": "2",
    "nnp": "1",
    "caps": "0000000000000000",
    "visible": [],
    "usr_writable": False,
}


def test_an_isolated_report_passes() -> None:
    assert _failures(GOOD) == []


def test_every_leak_is_reported() -> None:
    bad = {
        "env": ["PATH", "OPENAI_API_KEY"],
        "env1": ["HOME"],
        "uid": 0,
        "routes": ["eth0\t00000000"],
        "connects": True,
        "seccomp": "0",
        "nnp": "0",
        "caps": "000001ffffffffff",
        "visible": ["/etc/passwd"],
        "usr_writable": True,
    }
    problems = _failures(bad)
    assert len(problems) == 8
    assert any("OPENAI_API_KEY" in p for p in problems)

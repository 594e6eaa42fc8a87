"""Run a build or download command, streaming its output to a log file and a line callback.

Failures must be explainable without a stack trace, so the caller gets the last lines of output
and the path of the full log.
"""

from __future__ import annotations

import subprocess
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CommandResult:
    """Exit status plus the tail of the combined stdout/stderr."""

    returncode: int
    tail: str
    log_path: Path


def run_logged(
    argv: Sequence[str],
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    on_line: Callable[[str], None] | None = None,
    tail_lines: int = 25,
) -> CommandResult:
    """Run ``argv`` to completion; append its output to ``log_path``; return the exit code and tail.

    A missing executable is reported as exit code 127 with an explanatory tail, like a shell would.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    tail: deque[str] = deque(maxlen=tail_lines)
    with log_path.open("a", encoding="utf-8") as log:
        log.write(f"$ {' '.join(argv)}\n")
        log.flush()
        try:
            proc = subprocess.Popen(  # noqa: S603 - fixed argv built by this package
                list(argv),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                text=True,
                errors="replace",
                bufsize=1,
            )
        except FileNotFoundError as exc:
            message = f"command not found: {argv[0]} ({exc})"
            log.write(message + "\n")
            return CommandResult(127, message, log_path)
        assert proc.stdout is not None  # noqa: S101 - PIPE was requested
        with proc:
            for line in proc.stdout:
                log.write(line)
                tail.append(line.rstrip("\n"))
                if on_line is not None:
                    on_line(line.rstrip("\n"))
        return CommandResult(proc.returncode, "\n".join(tail), log_path)

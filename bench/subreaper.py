"""Run a command as the child of a subreaper, so that its whole process tree's CPU stays countable.

    python -m bench.subreaper CMD [ARG ...]

``bench.scale_out`` reads a server's CPU from ``/proc`` as the sum over its process tree, the
children each process reaped included. A sandbox session is killed as a whole (its bwrap and the
zygote at once), so the zygote, carrying the CPU of every program it ran, is orphaned and reaped
by init: lost to the tree. Under this process (``PR_SET_CHILD_SUBREAPER``) orphans are reparented
here and reaped here instead, so their CPU lands in this process's ``cutime``/``cstime``.

It exits with the command's status once the command and every orphan below it are gone. SIGTERM
and SIGINT do not stop it (the signal sent to the process group reaches the command itself, and
this process stays to reap); if the process that started it dies first, SIGHUP (the parent-death
signal) makes it SIGTERM its whole process group. Only the standard library is imported: this
process stays small.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


def _prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}, {value})")


def reap(cmd: list[str]) -> int:
    """Run ``cmd``, reap every process that ends below this one, return ``cmd``'s status."""
    parent = os.getppid()
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    _prctl(_PR_SET_PDEATHSIG, signal.SIGHUP)
    # NOTE: no-op handlers, not SIG_IGN, which the command would inherit across exec.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    signal.signal(signal.SIGHUP, lambda *_: os.killpg(0, signal.SIGTERM))
    if os.getppid() != parent:  # the starter died before the death signal was armed
        os.killpg(0, signal.SIGTERM)
    child = subprocess.Popen(cmd).pid
    status = 1
    while True:
        try:
            pid, code = os.wait()
        except ChildProcessError:
            return status
        if pid == child:
            status = os.waitstatus_to_exitcode(code)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python -m bench.subreaper CMD [ARG ...]")
    sys.exit(reap(sys.argv[1:]))

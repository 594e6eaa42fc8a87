"""The seccomp deny-list handed to bubblewrap as BPF (``--seccomp FD``).

Measured without it: a candidate attached to bwrap's init with ``ptrace`` (SANDBOX.md §2). The
list is the one isolate converged on, plus ptrace and ``pidfd_getfd``: every rule answers EPERM
so programs see an ordinary error instead of being killed. ``pyseccomp`` is imported lazily: it
loads libseccomp through ctypes, which must not happen at import time.
"""

from __future__ import annotations

import errno
import io
import os

DENIED_SYSCALLS = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "open_by_handle_at",
    "kexec_load",
    "init_module",
    "finit_module",
)
_AF_VSOCK = 40


def build_filter() -> bytes:
    """Compile the deny-list to a BPF program (allow everything else)."""
    import pyseccomp

    syscall_filter = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    deny = pyseccomp.ERRNO(errno.EPERM)
    for name in DENIED_SYSCALLS:
        syscall_filter.add_rule(deny, name)
    syscall_filter.add_rule(deny, "socket", pyseccomp.Arg(0, pyseccomp.EQ, _AF_VSOCK))
    with io.BytesIO() as buffer:
        _export(syscall_filter, buffer)
        return buffer.getvalue()


def _export(syscall_filter: object, buffer: io.BytesIO) -> None:
    """libseccomp writes to a real fd, so export through a pipe."""
    read_fd, write_fd = os.pipe()
    try:
        with os.fdopen(write_fd, "wb") as sink:
            syscall_filter.export_bpf(sink)  # type: ignore[attr-defined]
        with os.fdopen(read_fd, "rb") as source:
            read_fd = -1
            buffer.write(source.read())
    finally:
        if read_fd >= 0:
            os.close(read_fd)


def filter_fd(program: bytes) -> int:
    """A readable fd holding ``program`` (bwrap reads it once); caller closes it."""
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, program)
    finally:
        os.close(write_fd)
    return read_fd

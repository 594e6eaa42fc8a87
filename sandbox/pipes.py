"""Concurrent, capped pipe I/O on the event loop.

Reading only after the program exits deadlocks once it writes more than a pipe buffers (64 KiB): the
writer blocks, the supervisor waits, and the run ends as a false timeout (SANDBOX.md §2). So every
output pipe is drained from the moment of launch by a reader with its own byte cap, and the input
is fed by a non-blocking writer that gives up quietly when the program stops reading.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable


class CappedReader:
    """Drain ``fd`` into memory; past ``cap`` bytes, stop keeping data and flag ``overflowed``.

    ``on_overflow`` is called once when the cap is hit, so the supervisor can end the run at once
    (a plain callback, not an event to wait on: one run costs no extra task per pipe).
    """

    def __init__(
        self,
        fd: int,
        cap: int,
        loop: asyncio.AbstractEventLoop,
        on_overflow: Callable[[], None] = lambda: None,
    ) -> None:
        self._fd = fd
        self._cap = cap
        self._loop = loop
        self._on_overflow = on_overflow
        self._chunks: list[bytes] = []
        self._size = 0
        self.overflowed = False
        self.eof: asyncio.Future[None] = loop.create_future()
        os.set_blocking(fd, False)
        loop.add_reader(fd, self._on_readable)

    def _on_readable(self) -> None:
        self._read_once()

    def _read_once(self) -> bool:
        """One non-blocking read; False once nothing more will come now (empty, EOF or cap)."""
        try:
            data = os.read(self._fd, 1 << 16)
        except BlockingIOError:
            return False
        except OSError:
            data = b""
        if not data:
            self.close()
            return False
        if self._size + len(data) > self._cap:
            self._chunks.append(data[: self._cap - self._size])
            self._size = self._cap
            self.overflowed = True
            self.close()
            self._on_overflow()
            return False
        self._chunks.append(data)
        self._size += len(data)
        return True

    def read_available(self) -> None:
        """Read whatever is buffered now, without waiting (after the run's writers are gone this
        reaches EOF in the same step, sparing a loop iteration per pipe)."""
        while self._fd >= 0 and self._read_once():
            pass

    @property
    def data(self) -> bytes:
        return b"".join(self._chunks)

    def close(self) -> None:
        """Stop reading and release the fd (idempotent)."""
        if self._fd < 0:
            return
        self._loop.remove_reader(self._fd)
        os.close(self._fd)
        self._fd = -1
        if not self.eof.done():
            self.eof.set_result(None)


class PipeWriter:
    """Feed ``data`` into ``fd`` without blocking the loop; stop on EPIPE or when closed."""

    def __init__(self, fd: int, data: bytes, loop: asyncio.AbstractEventLoop) -> None:
        self._fd = fd
        self._view = memoryview(data)
        self._loop = loop
        os.set_blocking(fd, False)
        self._write()
        if self._fd >= 0:
            loop.add_writer(fd, self._write)

    def _write(self) -> None:
        try:
            while self._view:
                self._view = self._view[os.write(self._fd, self._view) :]
        except BlockingIOError:
            return
        except OSError:  # the program closed its stdin or exited: the rest is not needed
            pass
        self.close()

    def close(self) -> None:
        """Release the fd (idempotent); the program then sees end of input."""
        if self._fd < 0:
            return
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_writer(self._fd)
        os.close(self._fd)
        self._fd = -1

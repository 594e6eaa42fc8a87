"""``prepare_local_model``: one idempotent call that makes the embedded model ready to serve."""

from __future__ import annotations

import time
from pathlib import Path

from proxy.local_model import progress as ui
from proxy.local_model.assets import ensure_gguf
from proxy.local_model.build import Isa, ensure_server_binary
from proxy.local_model.catalog import DEFAULT_MODEL, get_model_spec
from proxy.local_model.paths import default_cache_dir
from proxy.local_model.prepared import PreparedModel


def prepare_local_model(
    model: str = DEFAULT_MODEL,
    cache_dir: Path | None = None,
    *,
    progress: bool = True,
    build_jobs: int = 2,
    isa: Isa = "auto",
) -> PreparedModel:
    """Assemble + verify the model's GGUF and build ``llama-server``, both cached in ``cache_dir``.

    Synchronous and idempotent. Cold: about 10 s of downloads and assembly (0.5B) plus a 3-5 minute
    compile on 2 cores. Warm: milliseconds (a stat of each file and the verification stamp).
    Concurrent callers (e.g. tests and ``serve``) serialise on file locks instead of racing.

    Args:
        model: a name from ``MODELS`` (``qwen2.5-coder-0.5b`` or ``qwen2.5-coder-1.5b``).
        cache_dir: defaults to ``$XDG_CACHE_HOME/sstar-proxy`` or ``~/.cache/sstar-proxy``.
        progress: draw progress bars and status lines on stderr.
        build_jobs: compiler jobs for the one-time llama.cpp build.
        isa: the instruction set to build for: ``auto`` (AVX-512 where the CPU has it, else
            AVX2), or ``avx2`` for a binary that runs on any x86-64 machine with AVX2.

    Raises:
        LocalModelError: a subclass naming the failed step (download, checksum, assembly, build)
            and how to fix it.
    """
    spec = get_model_spec(model)
    cache = (cache_dir or default_cache_dir()).expanduser()
    started = time.monotonic()
    gguf = ensure_gguf(spec, cache, progress=progress)
    binary = ensure_server_binary(cache, jobs=build_jobs, progress=progress, isa=isa)
    elapsed = time.monotonic() - started
    if elapsed > 1.0:
        ui.say(f"{spec.name} prepared in {elapsed:.0f} s", enabled=progress)
    return PreparedModel(server_binary=binary, gguf=gguf, model_name=spec.name)

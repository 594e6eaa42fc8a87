"""The result of preparing the embedded model: everything needed to start its server."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PreparedModel:
    """A built ``llama-server`` binary, a verified GGUF, and the name clients use for the model."""

    server_binary: Path
    gguf: Path
    model_name: str

"""Where the embedded model keeps its downloads, assembled GGUF files and compiled binaries."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_SUBDIR = "sstar-proxy"


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/sstar-proxy``, else ``~/.cache/sstar-proxy`` (read at call time)."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / CACHE_SUBDIR

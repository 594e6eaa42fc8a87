"""Errors of the embedded local model. Each one says what failed and how to fix it.

    LocalModelError                 base; message = what failed + the fix
    ├── DownloadError               pip could not fetch a pinned package from PyPI
    ├── ChecksumError               an assembled or downloaded file has the wrong size or sha256
    ├── AssemblyError               a model wheel does not hold the chunk we expect
    ├── BuildError                  cmake could not configure or build llama-server
    └── ServerStartError            llama-server did not become healthy (or kept dying)

They are not ``ProxyError``s: they happen at startup (``prepare``, ``serve``), never inside a
request.
"""

from __future__ import annotations


class LocalModelError(RuntimeError):
    """Preparing or running the embedded model failed; the message names the step and the fix."""


class DownloadError(LocalModelError):
    """A pinned package could not be downloaded with pip."""


class ChecksumError(LocalModelError):
    """A file's size or sha256 differs from the pinned value."""


class AssemblyError(LocalModelError):
    """A model wheel does not contain the expected chunk member."""


class BuildError(LocalModelError):
    """Configuring or compiling llama-server failed."""


class ServerStartError(LocalModelError):
    """llama-server did not answer ``/health`` in time, or exited and could not be restarted."""

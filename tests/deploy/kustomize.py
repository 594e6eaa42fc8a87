"""A small kustomize: exactly the features ``deploy/k8s`` uses, and an error for any other.

Why a renderer of our own: no package registry this project installs from ships kustomize (or
kubectl, which embeds it), and the manifests must be checked on every machine that runs the
tests. So the kustomizations keep to features that are easy to render exactly:

- ``resources`` (YAML files, or directories holding a kustomization), ``components``;
- ``namespace``; ``labels`` added to ``metadata.labels`` only (no selectors, no templates);
- ``configMapGenerator`` from files, without the name hash;
- ``patches`` that are JSON 6902 operations (``add``, ``remove``, ``replace``) on a target chosen
  by kind and name, or a whole-resource ``$patch: delete``.

Anything else raises :class:`KustomizeError`, so a kustomization that outgrows the renderer fails
its test instead of being rendered wrong. Where ``kubectl`` is installed, the test suite also
renders every variant with ``kubectl kustomize`` and requires the same objects.
Transformers run in kustomize's order: patches, then namespace, then labels.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

Resource = dict[str, Any]

KUSTOMIZATION = "kustomization.yaml"
_KEYS = frozenset(
    {
        "apiVersion",
        "kind",
        "resources",
        "components",
        "namespace",
        "labels",
        "configMapGenerator",
        "patches",
    }
)
_CLUSTER_SCOPED = frozenset({"Namespace", "ClusterRole", "ClusterRoleBinding", "RuntimeClass"})


class KustomizeError(Exception):
    """The kustomization uses a feature this renderer does not implement, or is invalid."""


def render(directory: Path) -> list[Resource]:
    """The objects ``kubectl kustomize directory`` prints, in the renderer's own order."""
    return _build(directory.resolve(), [], component=False)


def identity(resource: Resource) -> tuple[str, str, str, str]:
    """``(apiVersion, kind, namespace, name)``: what tells two objects apart in a rendering."""
    meta = resource.get("metadata", {})
    return (resource["apiVersion"], resource["kind"], meta.get("namespace", ""), meta["name"])


def load_documents(path: Path) -> list[Resource]:
    """Every non-empty YAML document of a file."""
    with path.open(encoding="utf-8") as fh:
        return [doc for doc in yaml.safe_load_all(fh) if doc]


def _build(directory: Path, inherited: list[Resource], *, component: bool) -> list[Resource]:
    spec = _kustomization(directory, component=component)
    out = inherited
    for entry in spec.get("resources", []):
        path = directory / entry
        out = out + (_build(path, [], component=False) if path.is_dir() else load_documents(path))
    out = out + [_generate(directory, item) for item in spec.get("configMapGenerator", [])]
    for entry in spec.get("components", []):
        out = _build(directory / entry, out, component=True)
    for patch in spec.get("patches", []):
        out = _patch(directory, out, patch)
    if "namespace" in spec:
        out = [_with_namespace(r, spec["namespace"]) for r in out]
    for item in spec.get("labels", []):
        out = [_with_labels(r, item) for r in out]
    return out


def _kustomization(directory: Path, *, component: bool) -> dict[str, Any]:
    file = directory / KUSTOMIZATION
    if not file.is_file():
        raise KustomizeError(f"{directory} has no {KUSTOMIZATION}")
    spec = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    unknown = set(spec) - _KEYS
    if unknown:
        raise KustomizeError(f"{file}: unsupported fields {sorted(unknown)}")
    kind = spec.get("kind", "Kustomization")
    if kind != ("Component" if component else "Kustomization"):
        raise KustomizeError(
            f"{file}: kind {kind} used as {'a component' if component else 'a resource'}"
        )
    return dict(spec)


def _generate(directory: Path, item: dict[str, Any]) -> Resource:
    if set(item) - {"name", "files", "options"} or item.get("options") != {
        "disableNameSuffixHash": True
    }:
        raise KustomizeError(f"configMapGenerator {item.get('name')}: only files, without hash")
    data: dict[str, str] = {}
    for entry in item["files"]:
        key, _, source = entry.rpartition("=") if "=" in entry else ("", "", entry)
        path = directory / source
        data[key or path.name] = path.read_text(encoding="utf-8")
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": item["name"]},
        "data": data,
    }


def _patch(directory: Path, resources: list[Resource], patch: dict[str, Any]) -> list[Resource]:
    if set(patch) - {"target", "patch", "path"}:
        raise KustomizeError(f"patch fields {sorted(patch)}: only target, patch, path")
    text = patch["patch"] if "patch" in patch else (directory / patch["path"]).read_text()
    body = yaml.safe_load(text)
    if isinstance(body, dict) and body.get("$patch") == "delete":
        gone = _selector(body.get("metadata", {}) | {"kind": body["kind"]})
        kept = [r for r in resources if not gone(r)]
        if len(kept) == len(resources):
            raise KustomizeError(f"delete patch matches nothing: {body['kind']} {body['metadata']}")
        return kept
    if not isinstance(body, list):
        raise KustomizeError("only JSON 6902 patches and `$patch: delete` are supported")
    target = patch.get("target")
    if not target or set(target) - {"kind", "name"}:
        raise KustomizeError(f"a JSON 6902 patch needs a target by kind and name: {target}")
    chosen = _selector(target)
    if not any(chosen(r) for r in resources):
        raise KustomizeError(f"patch target matches nothing: {target}")
    return [apply_json_patch(r, body) if chosen(r) else r for r in resources]


def _selector(fields: dict[str, Any]) -> Callable[[Resource], bool]:
    def matches(resource: Resource) -> bool:
        meta = resource.get("metadata", {})
        return bool(
            resource["kind"] == fields["kind"]
            and meta.get("name") == fields["name"]
            and fields.get("namespace", meta.get("namespace")) == meta.get("namespace")
        )

    return matches


def apply_json_patch(document: Resource, operations: list[dict[str, Any]]) -> Resource:
    """RFC 6902 ``add``, ``remove`` and ``replace`` on a copy of ``document``."""
    result = copy.deepcopy(document)
    for operation in operations:
        op, path = operation.get("op"), operation.get("path", "")
        if op not in {"add", "remove", "replace"}:
            raise KustomizeError(f"unsupported JSON patch operation {op!r}")
        *parents, last = _pointer(path)
        node: Any = result
        for token in parents:
            node = node[int(token)] if isinstance(node, list) else node[token]
        _apply(node, op, last, copy.deepcopy(operation.get("value")), path)
    return result


def _apply(node: Any, op: str, key: str, value: Any, path: str) -> None:
    if isinstance(node, list):
        if op == "add":
            node.insert(len(node) if key == "-" else int(key), value)
            return
        index = int(key)
        if not 0 <= index < len(node):
            raise KustomizeError(f"{path}: index out of range")
        if op == "remove":
            del node[index]
        else:
            node[index] = value
        return
    if op != "add" and key not in node:
        raise KustomizeError(f"{path}: no such member to {op}")
    if op == "remove":
        del node[key]
    else:
        node[key] = value


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise KustomizeError(f"JSON pointer {path!r} must start with /")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _with_namespace(resource: Resource, namespace: str) -> Resource:
    if resource["kind"] in _CLUSTER_SCOPED:
        return resource
    result = copy.deepcopy(resource)
    result.setdefault("metadata", {})["namespace"] = namespace
    return result


def _with_labels(resource: Resource, item: dict[str, Any]) -> Resource:
    if set(item) - {"pairs", "includeSelectors", "includeTemplates"} or any(
        item.get(flag) for flag in ("includeSelectors", "includeTemplates")
    ):
        raise KustomizeError("labels: only pairs on metadata.labels are supported")
    result = copy.deepcopy(resource)
    result.setdefault("metadata", {}).setdefault("labels", {}).update(item["pairs"])
    return result

"""The test suite's own small kustomize (tests/deploy/kustomize.py): renderings and refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.kustomize import KustomizeError, apply_json_patch, render

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: app
          env: [{name: A, value: "1"}]
"""


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_json_patch_adds_replaces_and_removes():
    document = {"a": {"list": [1, 2], "x~y/z": 0}}
    patched = apply_json_patch(
        document,
        [
            {"op": "add", "path": "/a/list/-", "value": 3},
            {"op": "add", "path": "/a/list/0", "value": 0},
            {"op": "replace", "path": "/a/x~0y~1z", "value": 9},
            {"op": "remove", "path": "/a/list/1"},
            {"op": "add", "path": "/b", "value": {"c": True}},
        ],
    )
    assert patched == {"a": {"list": [0, 2, 3], "x~y/z": 9}, "b": {"c": True}}
    assert document == {"a": {"list": [1, 2], "x~y/z": 0}}  # the input is left alone


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "/missing", "value": 1},
        {"op": "remove", "path": "/list/5"},
        {"op": "move", "from": "/a", "path": "/b"},
        {"op": "add", "path": "no-slash", "value": 1},
    ],
)
def test_json_patch_refuses_what_kustomize_refuses_or_we_do_not_implement(operation):
    with pytest.raises(KustomizeError):
        apply_json_patch({"a": 1, "list": []}, [operation])


def test_an_overlay_with_a_component_renders_in_kustomize_order(tmp_path):
    root = _tree(
        tmp_path,
        {
            "base/kustomization.yaml": "namespace: ns\nlabels:\n- pairs: {team: x}\n"
            "resources: [web.yaml]\nconfigMapGenerator:\n- name: files\n  files: [run.sh]\n"
            "  options: {disableNameSuffixHash: true}\n",
            "base/web.yaml": DEPLOYMENT,
            "base/run.sh": "echo hi\n",
            "comp/kustomization.yaml": "kind: Component\npatches:\n- target: {kind: Deployment, "
            "name: web}\n  patch: '[{op: add, path: /spec/template/spec/containers/0/env/-, "
            'value: {name: B, value: "2"}}]\'\n',
            "overlay/kustomization.yaml": "resources: [../base]\ncomponents: [../comp]\n",
        },
    )
    web, files = render(root / "overlay")
    assert web["metadata"] == {"name": "web", "namespace": "ns", "labels": {"team": "x"}}
    assert web["spec"]["template"]["spec"]["containers"][0]["env"][-1] == {
        "name": "B",
        "value": "2",
    }
    assert "labels" not in web["spec"]["template"].get("metadata", {})  # templates untouched
    assert files["data"] == {"run.sh": "echo hi\n"}
    assert files["metadata"]["namespace"] == "ns"


def test_a_delete_patch_removes_the_object(tmp_path):
    root = _tree(
        tmp_path,
        {
            "kustomization.yaml": "resources: [web.yaml]\npatches:\n- patch: |\n"
            "    $patch: delete\n    apiVersion: apps/v1\n    kind: Deployment\n"
            "    metadata: {name: web}\n",
            "web.yaml": DEPLOYMENT,
        },
    )
    assert render(root) == []


@pytest.mark.parametrize(
    "kustomization",
    [
        "resources: [web.yaml]\nnamePrefix: x-\n",  # a feature the renderer does not implement
        "resources: [web.yaml]\nlabels:\n- pairs: {a: b}\n  includeSelectors: true\n",
        "resources: [web.yaml]\npatches:\n- target: {kind: Deployment, name: nope}\n"
        "  patch: '[{op: remove, path: /spec}]'\n",  # a target that matches nothing
        "resources: [web.yaml]\npatches:\n- target: {kind: Deployment, name: web}\n"
        "  patch: 'spec: {replicas: 2}'\n",  # a strategic merge patch
        "kind: Component\nresources: [web.yaml]\n",  # a component used as a kustomization
    ],
)
def test_anything_else_is_an_error_not_a_wrong_rendering(tmp_path, kustomization):
    root = _tree(tmp_path, {"kustomization.yaml": kustomization, "web.yaml": DEPLOYMENT})
    with pytest.raises(KustomizeError):
        render(root)

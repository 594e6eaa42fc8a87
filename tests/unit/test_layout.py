"""The import rules that keep the layout honest (STYLE.md §2), checked on the source itself.

Every ``import`` of every module is read with ``ast`` (function-level imports included), so a
rule broken anywhere fails here rather than in a review.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
WEB = ("fastapi", "starlette", "uvicorn")


def _imports(path: Path) -> Iterator[tuple[str, str]]:
    """``(module, what)`` per imported name: ``import a.b`` is ``("a.b", "a.b")``, ``from a
    import b`` is ``("a", "a.b")`` (``b`` may be a submodule or a name defined in ``a``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((alias.name, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield from ((node.module, f"{node.module}.{alias.name}") for alias in node.names)


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package.replace(".", "/")).rglob("*.py"))


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    """Imports of ``package`` that reach anything under ``forbidden``."""
    return [
        f"{path.relative_to(ROOT)} imports {what}"
        for path in _modules(package)
        for _, what in _imports(path)
        if _under(what, forbidden)
    ]


def _outside(package: str, scope: str, allowed: tuple[str, ...]) -> list[str]:
    """Imports of ``package`` into ``scope`` that are not (from) one of ``allowed``."""
    return [
        f"{path.relative_to(ROOT)} imports {what}"
        for path in _modules(package)
        for module, what in _imports(path)
        if _under(what, (scope,)) and not (_under(module, allowed) or _under(what, allowed))
    ]


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("sandbox", ("proxy",)),
        ("proxy/scaling", (*WEB, "litellm", "proxy.api", "proxy.detection", "proxy.tasking")),
        ("proxy/detection", (*WEB, "litellm", "proxy.api", "proxy.tasking", "proxy.upstream")),
        ("proxy/tasking", (*WEB, "litellm", "proxy.api")),
        ("proxy/runs", (*WEB, "litellm", "proxy.api")),
        ("proxy/upstream", (*WEB, "proxy.api", "proxy.scaling", "proxy.detection", "proxy.runs")),
    ],
)
def test_a_package_does_not_reach_up_or_out(package: str, forbidden: tuple[str, ...]) -> None:
    assert _violations(package, forbidden) == []


def test_detection_reads_only_the_engine_types_of_the_rest_of_the_proxy() -> None:
    allowed = ("proxy.detection", "proxy.scaling.types", "proxy.fences")
    assert _outside("proxy/detection", "proxy", allowed) == []


def test_the_engine_reaches_only_its_seams() -> None:
    allowed = (
        "proxy.scaling",
        "proxy.upstream.base",
        "proxy.upstream.retry",  # the one retry policy, pure (it imports no settings)
        "proxy.errors",
        "proxy.fences",
    )
    assert _outside("proxy/scaling", "proxy", allowed) == []


def test_only_the_litellm_adapter_imports_litellm() -> None:
    importers = [
        str(path.relative_to(ROOT))
        for path in _modules("proxy")
        if any(_under(what, ("litellm",)) for _, what in _imports(path))
    ]
    assert importers == []  # NOTE: litellm_client.py imports it by name at run time only
    adapter = (ROOT / "proxy/upstream/litellm_client.py").read_text(encoding="utf-8")
    assert 'importlib.import_module("litellm")' in adapter


def test_benchmarks_use_the_engines_public_api_only() -> None:
    public = (
        "proxy.scaling.replay",
        "proxy.scaling.trace",
        "proxy.scaling.types",
        "proxy.scaling.engine",
        # the prompts S* sends: benchmarks of upstream calls measure them as the engine sends them
        "proxy.scaling.prompts",
    )
    assert _outside("bench", "proxy.scaling", public) == []


def test_the_rules_see_real_imports() -> None:
    # the checker itself: it must find imports inside functions and from-imports' names
    imported = {what for _, what in _imports(ROOT / "proxy/cli.py")}
    assert "proxy.app.create_app" in imported  # imported inside serve()
    assert "proxy.settings.Settings" in imported
    assert _outside("bench", "proxy.scaling", ("proxy.scaling.types",)) != []

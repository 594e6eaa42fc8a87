"""Packaging: the command line's ``--version`` and ``--help``, the project metadata, and the
constraints file that pins the tested versions (``scripts/lock``)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from proxy import __version__
from proxy.cli import main

ROOT = Path(__file__).parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"


def _constraints_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("constraints", ROOT / "scripts/constraints.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pins(text: str) -> dict[str, str]:
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return dict(line.split("==") for line in lines)


def test_python_m_proxy_prints_the_version() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "proxy", "--version"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"sstar-proxy {__version__}\n"


@pytest.mark.parametrize("argv", [["--help"], ["serve", "--help"]])
def test_help_is_plain_text_for_users(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 0
    text = capsys.readouterr().out
    assert "``" not in text  # no reST markup
    for internal in ("embedded_upstream", "uvicorn", "YAML >", "{serve}"):
        assert internal not in text
    assert "SSTAR_" in text
    assert "README.md" in text


def test_serve_help_names_the_environment_variable_of_each_flag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for variable in ("HOST", "PORT", "UPSTREAM_API_BASE", "CONFIG", "LOCAL_MODEL", "LOG_LEVEL"):
        assert f"SSTAR_{variable}" in text


def test_project_metadata() -> None:
    project = PYPROJECT["project"]
    assert PYPROJECT["build-system"]["requires"] == ["setuptools>=77"]
    assert project["license"] == "Apache-2.0"
    assert (ROOT / "LICENSE").read_text().split()[:3] == ["Apache", "License", "Version"]
    assert project["license-files"] == ["LICENSE"]
    assert "version" in project["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "proxy.__version__"}
    assert "Programming Language :: Python :: 3.11" in project["classifiers"]
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]  # PEP 639
    assert project["urls"]


def test_every_dependency_has_a_range() -> None:
    project = PYPROJECT["project"]
    groups = [project["dependencies"], *project["optional-dependencies"].values()]
    for line in (line for group in groups for line in group):
        if line.startswith("types-"):
            continue  # stubs follow their package
        assert Requirement(line).specifier, line


def test_the_constraints_pin_every_direct_dependency_within_its_range() -> None:
    """Fails when a dependency is added or its range moved without ``scripts/lock``."""
    pins = _pins(CONSTRAINTS.read_text())
    project = PYPROJECT["project"]
    groups = [project["dependencies"], *project["optional-dependencies"].values()]
    for requirement in (Requirement(line) for group in groups for line in group):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in {CONSTRAINTS.name}: run scripts/lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (name, pins[name])


def test_the_constraints_file_is_sorted_pinned_and_pathless() -> None:
    text = CONSTRAINTS.read_text()
    pins = _pins(text)
    assert list(pins) == sorted(pins)
    assert all(name == canonicalize_name(name) for name in pins)
    assert "sstar-proxy" not in pins
    for marker in ("file:", "@", "-e ", "/"):
        assert marker not in "".join(f"{n}=={v}" for n, v in pins.items())


def test_lock_resolves_the_installed_closure_the_same_way_every_time() -> None:
    lock = _constraints_module()
    requirements = lock.project_requirements(ROOT / "pyproject.toml")
    first = lock.render(lock.resolve(requirements), extras=["bench", "dev"])
    second = lock.render(lock.resolve(reversed(requirements)), extras=["bench", "dev"])
    assert first == second
    pins = _pins(first)
    assert pins["litellm"] == metadata.version("litellm")
    assert "openai" in pins  # litellm's own dependency, followed
    assert "pytest" in pins


def test_lock_names_a_missing_package() -> None:
    lock = _constraints_module()
    with pytest.raises(lock.MissingPackageError, match="no-such-package-h14"):
        lock.resolve([Requirement("no-such-package-h14>=1")])

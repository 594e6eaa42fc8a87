"""Per-request controls: precedence, caps, validation errors that name the parameter."""

from __future__ import annotations

import pytest

from proxy.api.controls import header_name, resolve_controls
from proxy.errors import InvalidRequestError
from proxy.settings import Settings
from proxy.tasking import ExplicitTest, Overrides


@pytest.fixture
def server() -> Settings:
    return Settings(num_samples=8, max_samples=16, debug_rounds=2, deadline_s=120)


def test_nothing_set_means_no_override_and_the_server_mode(server) -> None:
    controls = resolve_controls(headers={}, extension=None, model="m", settings=server)
    assert controls.mode == "auto"
    assert controls.overrides == Overrides()
    assert controls.base_model == "m"
    assert (controls.progress, controls.tests) == (False, ())
    forced = server.model_copy(update={"sstar_mode": "force"})
    assert resolve_controls(headers={}, extension=None, model="m", settings=forced).mode == "force"


def test_header_beats_body_beats_alias_beats_settings(server) -> None:
    controls = resolve_controls(
        headers={"x-sstar-samples": "3", "x-sstar-mode": "off"},
        extension={"samples": 5, "rounds": 1, "mode": "auto"},
        model="sstar/coder",
        settings=server,
    )
    assert controls.overrides == Overrides(samples=3, rounds=1)
    assert controls.mode == "off"
    assert controls.base_model == "coder"
    body = resolve_controls(headers={}, extension={"mode": "off"}, model="sstar/c", settings=server)
    assert body.mode == "off"
    aliased = resolve_controls(headers={}, extension=None, model="sstar/coder", settings=server)
    assert (aliased.mode, aliased.base_model) == ("force", "coder")


def test_every_knob_has_a_header(server) -> None:
    headers = {
        "x-sstar-samples": "4",
        "x-sstar-rounds": "0",
        "x-sstar-selection": "Majority",
        "x-sstar-temperature": "0.2",
        "x-sstar-max-tokens": "5000",
        "x-sstar-deadline-ms": "1500",
        "x-sstar-aux-model": "judge-model",
        "x-sstar-output": "code",
        "x-sstar-progress": "true",
        "x-sstar-seed": "7",
    }
    controls = resolve_controls(headers=headers, extension=None, model="m", settings=server)
    assert controls.overrides == Overrides(
        samples=4,
        rounds=0,
        selection="majority",
        temperature=0.2,
        max_total_tokens=5000,
        deadline_s=1.5,
        aux_model="judge-model",
        output="code",
        seed=7,
    )
    assert controls.progress is True


def test_explicit_tests_come_from_the_body_extension(server) -> None:
    extension = {"tests": [{"input": [1, 2], "output": 3}, {"input": "1\n", "output": "1"}]}
    controls = resolve_controls(headers={}, extension=extension, model="m", settings=server)
    assert controls.tests == (ExplicitTest([1, 2], 3), ExplicitTest("1\n", "1"))


@pytest.mark.parametrize(
    ("headers", "extension", "param"),
    [
        ({"x-sstar-samples": "0"}, None, "x-sstar-samples"),
        ({"x-sstar-samples": "17"}, None, "x-sstar-samples"),
        ({"x-sstar-deadline-ms": "700000"}, None, "x-sstar-deadline-ms"),
        ({"x-sstar-temperature": "hot"}, None, "x-sstar-temperature"),
        ({}, {"rounds": 9}, "sstar.rounds"),
        ({}, {"output": "html"}, "sstar.output"),
        ({}, {"unknown": 1}, "sstar.unknown"),
        ({}, {"tests": [{"input": 1}]}, "sstar.tests"),
        ({}, "samples=3", "sstar"),
    ],
)
def test_invalid_values_are_400_naming_the_parameter(server, headers, extension, param) -> None:
    with pytest.raises(InvalidRequestError) as info:
        resolve_controls(headers=headers, extension=extension, model="m", settings=server)
    assert info.value.param == param
    assert info.value.status_code == 400


def test_a_request_may_lower_a_budget_but_not_raise_it() -> None:
    capped = Settings(max_total_tokens=1000)
    lower = resolve_controls(
        headers={"x-sstar-max-tokens": "10"}, extension=None, model="m", settings=capped
    )
    assert lower.overrides.max_total_tokens == 10
    with pytest.raises(InvalidRequestError, match="cap of 1000"):
        resolve_controls(
            headers={"x-sstar-max-tokens": "1001"}, extension=None, model="m", settings=capped
        )


def test_header_names() -> None:
    assert header_name("deadline_ms") == "x-sstar-deadline-ms"
    assert header_name("samples") == "x-sstar-samples"

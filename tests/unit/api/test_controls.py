"""Per-request controls: precedence, caps, validation errors that name the parameter."""

from __future__ import annotations

import pytest

from proxy.api.controls import (
    ExplicitTest,
    explicit_public_tests,
    header_name,
    resolve_controls,
    split_alias,
)
from proxy.errors import InvalidRequestError
from proxy.settings import Settings


@pytest.fixture
def server() -> Settings:
    return Settings(num_samples=8, max_samples=16, debug_rounds=2, deadline_s=120)


def test_defaults_come_from_the_settings(server) -> None:
    controls = resolve_controls(headers={}, extension=None, model="m", settings=server)
    assert controls.mode == "auto"
    assert controls.mode_source == "settings"
    assert controls.params.samples == 8
    assert controls.params.rounds == 2
    assert controls.params.deadline_s == 120
    assert controls.base_model == "m"


def test_a_llama_cpp_upstream_is_sampled_one_call_per_sample(server) -> None:
    batched = resolve_controls(headers={}, extension=None, model="m", settings=server)
    llama = server.model_copy(update={"upstream_is_llama_cpp": True})
    separate = resolve_controls(headers={}, extension=None, model="m", settings=llama)
    assert (batched.params.one_sample_per_call, separate.params.one_sample_per_call) == (
        False,
        True,
    )


def test_the_greedy_sample_is_a_server_setting_on_by_default(server) -> None:
    default = resolve_controls(headers={}, extension=None, model="m", settings=server)
    off = server.model_copy(update={"greedy_sample": False})
    chosen = resolve_controls(headers={}, extension=None, model="m", settings=off)
    assert (default.params.greedy_sample, chosen.params.greedy_sample) == (True, False)


def test_header_beats_body_beats_alias_beats_settings(server) -> None:
    controls = resolve_controls(
        headers={"x-sstar-samples": "3", "x-sstar-mode": "off"},
        extension={"samples": 5, "rounds": 1, "mode": "auto"},
        model="sstar/coder",
        settings=server,
    )
    assert controls.params.samples == 3
    assert controls.params.rounds == 1
    assert controls.mode == "off"
    assert controls.mode_source == "header"
    assert controls.base_model == "coder"
    aliased = resolve_controls(headers={}, extension=None, model="sstar/coder", settings=server)
    assert (aliased.mode, aliased.mode_source) == ("force", "alias")


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
    params = controls.params
    assert (params.samples, params.rounds, params.selection) == (4, 0, "majority")
    assert (params.temperature, params.max_total_tokens, params.deadline_s) == (0.2, 5000, 1.5)
    assert (params.aux_model, params.output, params.seed) == ("judge-model", "code", 7)
    assert controls.progress is True


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
    assert lower.params.max_total_tokens == 10
    with pytest.raises(InvalidRequestError, match="cap of 1000"):
        resolve_controls(
            headers={"x-sstar-max-tokens": "1001"}, extension=None, model="m", settings=capped
        )


def test_explicit_tests_become_public_tests_in_the_engines_form() -> None:
    tests = (ExplicitTest(input=[1, [2, 3]], output={"b": 1, "a": [1, 2]}),)
    (function_test,) = explicit_public_tests(tests, kind="function")
    assert function_test.input == "[1,[2,3]]"
    assert function_test.expected == '{"a":[1,2],"b":1}'
    (stdin_test,) = explicit_public_tests((ExplicitTest(input="3\n", output="6\n"),), kind="stdin")
    assert (stdin_test.input, stdin_test.expected, stdin_test.source) == ("3\n", "6\n", "request")


def test_alias_and_header_helpers() -> None:
    assert split_alias("sstar/qwen") == ("qwen", True)
    assert split_alias("sstar/") == ("sstar/", False)
    assert split_alias("qwen") == ("qwen", False)
    assert header_name("deadline_ms") == "x-sstar-deadline-ms"

"""Per-request S* controls: headers > body extension > model alias > server settings.

Every knob has one name, used as ``x-sstar-<name>`` (with ``-`` for ``_``) in headers and as a key
of the ``sstar`` body object (what the OpenAI SDK's ``extra_body`` produces). Server settings give
the defaults and cap every value: a request may lower a budget, never raise it above the cap, and
an out-of-range or malformed value is a 400 naming the header or body field, never a silent clamp.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from proxy.api.protocol import EXTENSION_FIELD
from proxy.errors import InvalidRequestError
from proxy.scaling.types import OutputForm, PublicTest, ScalingParams, SelectionMode
from proxy.settings import ALIAS_PREFIX, Settings

Mode = Literal["auto", "force", "off"]
HEADER_PREFIX = "x-sstar-"


class ExplicitTest(BaseModel):
    """A client-supplied public test: stdin text, or a list of arguments for function tasks."""

    model_config = ConfigDict(extra="forbid")

    input: str | list[Any]
    output: Any


class ControlValues(BaseModel):
    """The knobs a request may set; every field optional so sources can be layered."""

    model_config = ConfigDict(extra="forbid")

    mode: Mode | None = None
    samples: int | None = Field(None, ge=1)
    rounds: int | None = Field(None, ge=0)
    selection: SelectionMode | None = None
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(None, ge=1)
    deadline_ms: int | None = Field(None, ge=1)
    aux_model: str | None = Field(None, min_length=1)
    output: OutputForm | None = None
    progress: bool | None = None
    seed: int | None = None
    tests: list[ExplicitTest] | None = None

    @field_validator("mode", "selection", "output", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


HEADER_FIELDS = tuple(name for name in ControlValues.model_fields if name != "tests")


@dataclass(frozen=True, slots=True)
class Controls:
    """The effective controls of one request."""

    mode: Mode
    params: ScalingParams
    progress: bool
    tests: tuple[ExplicitTest, ...]
    base_model: str
    mode_source: str


def header_name(field_name: str) -> str:
    return HEADER_PREFIX + field_name.replace("_", "-")


def split_alias(model: str) -> tuple[str, bool]:
    """``sstar/<model>`` → (``<model>``, True); anything else unchanged."""
    if model.startswith(ALIAS_PREFIX) and len(model) > len(ALIAS_PREFIX):
        return model[len(ALIAS_PREFIX) :], True
    return model, False


def resolve_controls(
    *, headers: Mapping[str, str], extension: object, model: str, settings: Settings
) -> Controls:
    """Layer the sources, validate each, apply the server's caps."""
    from_headers = _parse_headers(headers)
    from_body = _parse_extension(extension)
    base_model, aliased = split_alias(model)
    merged = {
        **from_body.model_dump(exclude_none=True),
        **from_headers.model_dump(exclude_none=True),
    }
    mode, mode_source = _resolve_mode(from_headers, from_body, aliased=aliased, settings=settings)
    _check_caps(merged, from_headers=from_headers, settings=settings)
    return Controls(
        mode=mode,
        params=_params(merged, settings),
        progress=bool(merged.get("progress", False)),
        tests=tuple(from_body.tests or ()),
        base_model=base_model,
        mode_source=mode_source,
    )


def _parse_headers(headers: Mapping[str, str]) -> ControlValues:
    raw: dict[str, object] = {}
    for name in HEADER_FIELDS:
        value = headers.get(header_name(name))
        if value is not None:
            raw[name] = value.strip()
    return _validate(raw, param_of=header_name)


def _parse_extension(extension: object) -> ControlValues:
    if extension is None:
        return ControlValues()
    if not isinstance(extension, dict):
        raise InvalidRequestError(
            f"'{EXTENSION_FIELD}' must be an object of S* controls.", param=EXTENSION_FIELD
        )
    return _validate(extension, param_of=lambda name: f"{EXTENSION_FIELD}.{name}")


def _validate(raw: Mapping[str, object], *, param_of: Any) -> ControlValues:
    try:
        return ControlValues.model_validate(dict(raw))
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else ""
        shown = json.dumps(raw.get(name), default=str)[:80] if name in raw else "it"
        raise InvalidRequestError(
            f"Invalid value {shown} for '{param_of(name)}': {error['msg']}.", param=param_of(name)
        ) from exc


def _resolve_mode(
    from_headers: ControlValues, from_body: ControlValues, *, aliased: bool, settings: Settings
) -> tuple[Mode, str]:
    if from_headers.mode is not None:
        return from_headers.mode, "header"
    if from_body.mode is not None:
        return from_body.mode, "body"
    if aliased:
        return "force", "alias"
    return settings.sstar_mode, "settings"


def _check_caps(
    merged: Mapping[str, Any], *, from_headers: ControlValues, settings: Settings
) -> None:
    caps: dict[str, tuple[int | float | None, float]] = {
        "samples": (settings.max_samples, 1),
        "rounds": (settings.max_rounds, 1),
        "max_tokens": (settings.max_total_tokens, 1),
        "deadline_ms": (settings.max_deadline_s, 1000),
    }
    for name, (cap, scale) in caps.items():
        value = merged.get(name)
        if value is None or cap is None or value <= cap * scale:
            continue
        param = header_name(name) if getattr(from_headers, name) is not None else f"sstar.{name}"
        raise InvalidRequestError(
            f"'{param}' is {value}, above this server's cap of {cap * scale:g}.", param=param
        )


def _params(merged: Mapping[str, Any], settings: Settings) -> ScalingParams:
    deadline_ms = merged.get("deadline_ms")
    return ScalingParams(
        samples=merged.get("samples", settings.num_samples),
        rounds=merged.get("rounds", settings.debug_rounds),
        selection=merged.get("selection", settings.selection),
        temperature=merged.get("temperature", settings.temperature),
        max_total_tokens=merged.get("max_tokens", settings.max_total_tokens),
        deadline_s=deadline_ms / 1000 if deadline_ms is not None else settings.deadline_s,
        aux_model=merged.get("aux_model", settings.aux_model),
        judge=settings.judge,
        one_sample_per_call=settings.upstream_is_llama_cpp,
        greedy_sample=settings.greedy_sample,
        output=merged.get("output", "message"),
        seed=merged.get("seed"),
    )


def explicit_public_tests(tests: tuple[ExplicitTest, ...], *, kind: str) -> tuple[PublicTest, ...]:
    """Client-supplied tests in the engine's form (function arguments and results as JSON)."""
    converted = []
    for test in tests:
        if kind == "function":
            args = test.input if isinstance(test.input, list) else json.loads(test.input)
            converted.append(
                PublicTest(
                    input=json.dumps(args, sort_keys=True, separators=(",", ":")),
                    expected=json.dumps(test.output, sort_keys=True, separators=(",", ":")),
                    source="request",
                )
            )
        else:
            converted.append(
                PublicTest(input=str(test.input), expected=str(test.output), source="request")
            )
    return tuple(converted)

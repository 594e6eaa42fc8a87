"""Per-request S* controls, parsed: headers > body extension > model alias > server settings.

Every knob has one name, used as ``x-sstar-<name>`` (with ``-`` for ``_``) in headers and as a key
of the ``sstar`` body object (what the OpenAI SDK's ``extra_body`` produces). Server settings give
the defaults and cap every value: a request may lower a budget, never raise it above the cap, and
an out-of-range or malformed value is a 400 naming the header or body field, never a silent clamp.
Header values are text, so they are converted (``"4"`` is 4, ``"true"`` is true); body values are
JSON and must have their type (``"samples": "4"`` or ``"progress": "yes"`` is a 400), as the
OpenAI fields of the body do (``protocol.py``).
This module only parses and checks; ``proxy.tasking.build_params`` applies the result.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from proxy.alias import split_alias
from proxy.api.protocol import EXTENSION_FIELD
from proxy.errors import InvalidRequestError
from proxy.scaling.types import Mode, OutputForm, SelectionMode
from proxy.settings import Settings
from proxy.tasking import ExplicitTest, Overrides

HEADER_PREFIX = "x-sstar-"


class ExplicitTestModel(BaseModel):
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
    temperature: float | None = Field(None, ge=0.0, le=2.0, allow_inf_nan=False)
    max_tokens: int | None = Field(None, ge=1)
    deadline_ms: int | None = Field(None, ge=1)
    aux_model: str | None = Field(None, min_length=1)
    output: OutputForm | None = None
    progress: bool | None = None
    seed: int | None = None
    tests: list[ExplicitTestModel] | None = None

    @field_validator("mode", "selection", "output", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


HEADER_FIELDS = tuple(name for name in ControlValues.model_fields if name != "tests")


@dataclass(frozen=True, slots=True)
class Controls:
    """The effective controls of one request: the mode, the S* knobs it set, explicit tests,
    progress streaming, and the model without its ``sstar/`` alias."""

    mode: Mode
    overrides: Overrides
    progress: bool
    tests: tuple[ExplicitTest, ...]
    base_model: str


def header_name(field_name: str) -> str:
    return HEADER_PREFIX + field_name.replace("_", "-")


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
    _check_caps(merged, from_headers=from_headers, settings=settings)
    return Controls(
        mode=_resolve_mode(from_headers, from_body, aliased=aliased, settings=settings),
        overrides=_overrides(merged),
        progress=bool(merged.get("progress", False)),
        tests=tuple(ExplicitTest(t.input, t.output) for t in from_body.tests or ()),
        base_model=base_model,
    )


def _parse_headers(headers: Mapping[str, str]) -> ControlValues:
    raw: dict[str, object] = {}
    for name in HEADER_FIELDS:
        value = headers.get(header_name(name))
        if value is not None:
            raw[name] = value.strip()
    return _validate(raw, param_of=header_name, strict=False)


def _parse_extension(extension: object) -> ControlValues:
    if extension is None:
        return ControlValues()
    if not isinstance(extension, dict):
        raise InvalidRequestError(
            f"'{EXTENSION_FIELD}' must be an object of S* controls.", param=EXTENSION_FIELD
        )
    return _validate(extension, param_of=lambda name: f"{EXTENSION_FIELD}.{name}", strict=True)


def _validate(raw: Mapping[str, object], *, param_of: Any, strict: bool) -> ControlValues:
    try:
        return ControlValues.model_validate(dict(raw), strict=strict)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else ""
        shown = json.dumps(raw.get(name), default=str)[:80] if name in raw else "it"
        raise InvalidRequestError(
            f"Invalid value {shown} for '{param_of(name)}': {error['msg']}.", param=param_of(name)
        ) from exc


def _resolve_mode(
    from_headers: ControlValues, from_body: ControlValues, *, aliased: bool, settings: Settings
) -> Mode:
    if from_headers.mode is not None:
        return from_headers.mode
    if from_body.mode is not None:
        return from_body.mode
    return "force" if aliased else settings.sstar_mode


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


def _overrides(merged: Mapping[str, Any]) -> Overrides:
    deadline_ms = merged.get("deadline_ms")
    return Overrides(
        samples=merged.get("samples"),
        rounds=merged.get("rounds"),
        selection=merged.get("selection"),
        temperature=merged.get("temperature"),
        max_total_tokens=merged.get("max_tokens"),
        deadline_s=deadline_ms / 1000 if deadline_ms is not None else None,
        aux_model=merged.get("aux_model"),
        output=merged.get("output"),
        seed=merged.get("seed"),
    )

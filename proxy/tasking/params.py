"""A run's ``ScalingParams``: server defaults, then the request's S* controls, then its fields.

The API layer parses and caps the S* controls (headers > ``sstar`` body object > ``sstar/``
alias) into :class:`Overrides`; this module applies them once, over the server's defaults
(``Settings.scaling_defaults()``), and then the OpenAI fields of the request that mean something
for S* (OPENAI_API.md §2, S* mode column): the client's output cap is the per-sample cap,
``seed`` seeds the randomised steps unless a control set one, and sampling fields that are
harmless to repeat reach every sub-call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from proxy.scaling.types import OutputForm, ScalingParams, SelectionMode

FORWARDED_SAMPLING = (
    "top_p",
    "top_k",
    "min_p",
    "presence_penalty",
    "frequency_penalty",
    "repetition_penalty",
    "logit_bias",
    "user",
)
"""Client sampling fields repeated on the sub-calls: every sample, debug turn and input call;
the judge takes only ``user``, a call to another (auxiliary) model no ``logit_bias``
(``proxy.scaling.context.RunContext.ask``). ``stop`` is not among them: a client's stop string
could cut the fenced program the engine needs."""


@dataclass(frozen=True, slots=True)
class Overrides:
    """The S* knobs one request set, already validated and within the server's caps."""

    samples: int | None = None
    rounds: int | None = None
    selection: SelectionMode | None = None
    temperature: float | None = None
    max_total_tokens: int | None = None
    deadline_s: float | None = None
    aux_model: str | None = None
    output: OutputForm | None = None
    seed: int | None = None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def build_params(
    defaults: ScalingParams,
    overrides: Overrides,
    body: Mapping[str, object],
    *,
    deadline_cap_s: float | None = None,
) -> ScalingParams:
    """``defaults`` with the request's S* controls and its own fields applied, once.

    ``deadline_cap_s`` (the server's request timeout) bounds the run's deadline whatever the
    request asked for: a run must end, and answer, within the time any request may take.
    """
    updates: dict[str, object] = {
        f.name: getattr(overrides, f.name)
        for f in dataclasses.fields(overrides)
        if getattr(overrides, f.name) is not None
    }
    deadline = updates.get("deadline_s", defaults.deadline_s)
    if deadline_cap_s is not None and isinstance(deadline, float | int):
        updates["deadline_s"] = min(float(deadline), deadline_cap_s)
    cap = _int(body.get("max_completion_tokens")) or _int(body.get("max_tokens"))
    if cap is not None and cap > 0:
        updates["max_tokens_per_call"] = cap
    seed = _int(body.get("seed"))
    if overrides.seed is None and seed is not None:
        updates["seed"] = seed
    extra = {key: body[key] for key in FORWARDED_SAMPLING if body.get(key) is not None}
    if extra:
        updates["sampling_extra"] = {**defaults.sampling_extra, **extra}
    return dataclasses.replace(defaults, **updates)  # type: ignore[arg-type]

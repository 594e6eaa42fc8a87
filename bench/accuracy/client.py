"""Talk to a running proxy exactly as a user would: the official ``openai`` SDK, S* by headers.

Per-request S* controls are ``x-sstar-*`` request headers; the response headers say whether S*
was applied and name the run, whose trace (``GET {base_url}/sstar/runs/{run_id}``) lists every
candidate's revisions, so the benchmark can grade them all for oracle pass@N.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai

from bench.accuracy.extraction import extract_program

PLAIN = "plain"
SELECTIONS = ("adaptive", "majority", "public", "judge", "first")
MODES = (PLAIN, *SELECTIONS)


@dataclass(frozen=True, slots=True)
class ScalingOptions:
    """S* knobs sent as headers; ``None`` leaves the server's setting."""

    samples: int | None = 8  # None: the server's default (no header)
    rounds: int | None = 2
    temperature: float | None = None
    token_budget: int | None = None
    deadline_ms: int | None = None


@dataclass(frozen=True, slots=True)
class TracePick:
    """One entry of a trace's ``picks``: what a selection mode would have answered, at what cost."""

    selection: str
    candidate: int
    wall_s: float
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one request produced: the answer, its cost, and the candidates from the trace."""

    answer: str = ""
    run_id: str | None = None
    applied: bool | None = None
    reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    wall_s: float = 0.0
    candidates: Mapping[int, str] = field(default_factory=dict)  # index -> best program
    selected: int | None = None
    picks: tuple[TracePick, ...] = ()
    trace: Mapping[str, Any] | None = field(default=None, compare=False)
    error: str | None = None


def mode_headers(mode: str, options: ScalingOptions) -> dict[str, str]:
    """The request headers for a benchmark mode: ``plain`` turns S* off, the rest force it."""
    if mode == PLAIN:
        return {"x-sstar-mode": "off"}
    if mode not in SELECTIONS:
        raise ValueError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
    headers = {
        "x-sstar-mode": "force",
        "x-sstar-selection": mode,
        **({"x-sstar-samples": str(options.samples)} if options.samples is not None else {}),
        **({"x-sstar-rounds": str(options.rounds)} if options.rounds is not None else {}),
        "x-sstar-output": "message",
    }
    if options.temperature is not None:
        headers["x-sstar-temperature"] = str(options.temperature)
    if options.token_budget is not None:
        headers["x-sstar-max-tokens"] = str(options.token_budget)
    if options.deadline_ms is not None:
        headers["x-sstar-deadline-ms"] = str(options.deadline_ms)
    return headers


def candidate_programs(trace: Mapping[str, Any]) -> tuple[dict[int, str], int | None]:
    """Each candidate's best revision's program (by candidate index) and the selected index.

    A revision whose program still carries a fence is extracted the way answers are.
    """
    programs: dict[int, str] = {}
    for position, candidate in enumerate(trace.get("candidates") or ()):
        revisions = candidate.get("revisions") or ()
        if not revisions:
            continue
        best_round = candidate.get("best_round")
        best = next((r for r in revisions if r.get("round") == best_round), revisions[-1])
        program = str(best.get("program") or "")
        index = candidate.get("index")
        key = index if isinstance(index, int) else position
        programs[key] = extract_program(program) if "```" in program else program
    selected = trace.get("selected")
    if isinstance(selected, Mapping):
        selected = selected.get("index")
    return programs, selected if isinstance(selected, int) else None


MODE_PURPOSES: Mapping[str, frozenset[str]] = {
    "first": frozenset({"sample", "debug"}),
    "public": frozenset({"sample", "debug"}),
    "majority": frozenset({"sample", "debug", "synthesis"}),
    "judge": frozenset({"sample", "debug", "judge"}),
    "adaptive": frozenset({"sample", "debug", "synthesis", "distinguish", "judge"}),
}
"""The calls each selection mode makes itself: what it would have cost on its own."""


def mode_usage(trace: Mapping[str, Any], selection: str) -> Mapping[str, Any]:
    """Tokens the calls of ``selection``'s purposes spent in the run (``usage_by_purpose``)."""
    by_purpose = trace.get("usage_by_purpose") or {}
    spent = [by_purpose[p] for p in MODE_PURPOSES.get(selection, ()) if p in by_purpose]
    return {
        key: sum(int(u.get(key, 0)) for u in spent)
        for key in ("prompt_tokens", "completion_tokens")
    }


def trace_stages(trace: Mapping[str, Any] | None) -> dict[str, bool] | None:
    """Each stage of the run and whether it finished as planned (traces before the planner:
    ``None``)."""
    timings = (trace or {}).get("timings") or ()
    stages = {str(t["stage"]): bool(t["completed"]) for t in timings if "completed" in t}
    return stages or None


def trace_picks(trace: Mapping[str, Any]) -> tuple[TracePick, ...]:
    """The trace's ``picks`` (older proxies have none); malformed entries are skipped.

    A pick's cost is what the calls of its mode's purposes spent; traces of older proxies
    carried it in the pick itself.
    """
    picks = []
    for item in trace.get("picks") or ():
        try:
            usage = item.get("usage") or mode_usage(trace, str(item["selection"]))
            picks.append(
                TracePick(
                    selection=str(item["selection"]),
                    candidate=int(item["candidate"]),
                    wall_s=float(item["elapsed_ms"]) / 1000,
                    prompt_tokens=int(usage.get("prompt_tokens", 0)),
                    completion_tokens=int(usage.get("completion_tokens", 0)),
                )
            )
        except (AttributeError, KeyError, TypeError, ValueError):
            continue
    return tuple(picks)


def _flag(value: str | None) -> bool | None:
    return None if value is None else value.strip().lower() == "true"


class ProxyClient:
    """One ``AsyncOpenAI`` client and one ``httpx`` client for traces; close with ``aclose``."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str | None = None,
        api_key: str = "sstar-bench",
        timeout_s: float = 3600.0,
        max_tokens: int = 1024,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._model = model
        self._max_tokens = max_tokens
        # NOTE: no SDK retries: a retried S* request would be timed and billed as one attempt.
        self._openai = openai.AsyncOpenAI(
            base_url=self._base_url, api_key=api_key, timeout=timeout_s, max_retries=0
        )
        self._http = httpx.AsyncClient(timeout=60.0)

    async def model(self) -> str:
        """The model to ask: the one given, else the first the proxy lists."""
        if self._model is None:
            models = await self._openai.models.list()
            if not models.data:
                raise RuntimeError(f"{self._base_url}/models lists no model; pass --model")
            self._model = models.data[0].id
        return self._model

    async def attempt(self, message: str, mode: str, options: ScalingOptions) -> Attempt:
        """Send ``message`` in ``mode``; API failures become an ``Attempt`` with ``error`` set."""
        model = await self.model()
        extra: dict[str, Any] = {"temperature": 0.0} if mode == PLAIN else {}
        started = time.monotonic()
        try:
            raw = await self._openai.chat.completions.with_raw_response.create(
                model=model,
                messages=[{"role": "user", "content": message}],
                max_tokens=self._max_tokens,
                extra_headers=mode_headers(mode, options),
                **extra,
            )
        except openai.APIError as exc:
            return Attempt(wall_s=time.monotonic() - started, error=f"{type(exc).__name__}: {exc}")
        wall_s = time.monotonic() - started
        completion = raw.parse()
        usage = completion.usage
        run_id = raw.headers.get("x-sstar-run-id")
        trace = await self.trace(run_id) if run_id and mode != PLAIN else None
        programs, selected = candidate_programs(trace) if trace else ({}, None)
        return Attempt(
            answer=(completion.choices[0].message.content or "") if completion.choices else "",
            run_id=run_id,
            applied=_flag(raw.headers.get("x-sstar-applied")),
            reason=raw.headers.get("x-sstar-reason"),
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            wall_s=wall_s,
            candidates=programs,
            selected=selected,
            picks=trace_picks(trace) if trace else (),
            trace=trace,
        )

    async def trace(self, run_id: str) -> Mapping[str, Any] | None:
        """The trace at ``{base_url}/sstar/runs/{id}`` (or the server root); ``None`` if gone."""
        root = self._base_url.rsplit("/v1", 1)[0] if self._base_url.endswith("/v1") else None
        for base in (self._base_url, root):
            if base is None:
                continue
            try:
                response = await self._http.get(f"{base}/sstar/runs/{run_id}")
            except httpx.HTTPError:
                return None
            if response.status_code == 200:
                body = response.json()
                return body if isinstance(body, Mapping) else None
        return None

    async def aclose(self) -> None:
        await self._openai.close()
        await self._http.aclose()

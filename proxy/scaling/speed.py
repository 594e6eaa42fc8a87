"""How fast the upstream is: priors per kind of upstream, corrected by every call it answers.

A run can only plan (``planning.py``) if it knows what a call costs. A call's wall time is about
``(prompt / prefill_ratio + completion) / decode_tps``, and ``c`` calls in flight together share
the upstream: together they deliver ``c ** concurrency_gain`` times one call's throughput, so each
takes ``c ** (1 - concurrency_gain)`` times as long as alone. A GPU server batching requests
(vLLM, a hosted API) has a gain near 1 (concurrency is free); a llama.cpp server on two CPU cores
has about 0.6 (8 calls at once: 3.6 times one call's tokens per second, ``bench.local_model``).

:class:`UpstreamProfile` holds the priors of each kind; :class:`SpeedTracker` (one per engine,
shared by its runs) corrects ``decode_tps`` and the sample lengths per model from every finished
call, so the second run on an upstream plans with what the first one measured. Sample lengths are
kept as a window of recent ones, not a mean: N samples decoding together take as long as the
longest, so a plan needs the spread. They are counted beyond the task's starter code, which models
restate in full (a HumanEval answer repeats the signature and docstring): a task with a long stub
gets longer samples, whatever the tasks before it had.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Literal

UpstreamKind = Literal["embedded", "llama_cpp", "vllm", "hosted"]


@dataclass(frozen=True, slots=True)
class UpstreamProfile:
    """What a kind of upstream can do before any of its calls was measured.

    ``decode_tps`` is one call's completion tokens per second alone, known in advance only for
    the embedded model on this project's machines (``None``: unknown until a call is measured;
    a run then does what it was asked and plans again after sampling); ``prefill_ratio`` how many
    times faster prompt tokens go; ``concurrency_gain`` the exponent above; ``debug_concurrency``
    how many debug calls to have in flight at once (on a two-core CPU server, concurrent long
    prompts all prefill together and none decodes for tens of seconds). ``default_samples`` and
    ``default_deadline_s`` are the S* defaults for this kind when the server sets none.
    """

    kind: UpstreamKind
    decode_tps: float | None
    prefill_ratio: float
    concurrency_gain: float
    debug_concurrency: int
    default_samples: int = 8
    default_deadline_s: float = 120.0


PROFILES: dict[UpstreamKind, UpstreamProfile] = {
    # Qwen2.5-Coder-0.5B Q4_K_M on 2 vCPUs as the proxy serves it: 16-18 tok/s for one call
    # (17.8 in bench.local_model, 15.5 for plain HumanEval calls with their prompt), 141-220
    # tok/s prefill alone, 3.64x the tokens per second with 8 concurrent requests (README,
    # bench/README.md). The served model's own speed replaces the 16 (``ModelSpec.decode_tps``,
    # ``Settings.upstream_profile``).
    "embedded": UpstreamProfile("embedded", 16.0, 6.0, 0.62, 2, 8, 180.0),
    "llama_cpp": UpstreamProfile("llama_cpp", None, 8.0, 0.75, 3),
    "vllm": UpstreamProfile("vllm", None, 30.0, 0.95, 16),
    "hosted": UpstreamProfile("hosted", None, 50.0, 1.0, 16),
}

UNMEASURED = PROFILES["hosted"]
"""The engine's default for callers that say nothing (tests, benchmarks of the engine alone):
no prior speed, concurrency free."""

_SMOOTHING = 0.3
"""Weight of the newest observation in the running speed estimates."""
SAMPLE_WINDOW = 24
"""Sample lengths kept per model: about the last three runs' samples."""
_MIN_CALL_S = 0.05
"""Calls faster than this (cached, failed early) say nothing about speed."""
_MIN_TOKENS = 32
"""Nor do calls that generate fewer tokens a choice (a one-letter verdict): their time is mostly
the fixed cost of a call, which the speed model leaves out."""


@dataclass(frozen=True, slots=True)
class Speed:
    """The estimates a plan is made with.

    ``decode_tps`` is one call's speed alone as the profile or the calls measured it;
    ``by_concurrency`` the same, measured separately for each level of concurrency seen (a
    level is a power of two: 1, 2, up to 4, up to 8, ...), because the concurrency model is a
    model: what a two-core server does with 9 calls at once is best known from 9 calls at once.
    ``sample_lengths`` are recent samples' tokens beyond the starter code, sorted (empty before
    any was measured: then every sample is taken to be ``sample_tokens`` long, the prior).
    """

    decode_tps: float
    prefill_ratio: float
    concurrency_gain: float
    sample_tokens: float
    by_concurrency: tuple[tuple[int, float], ...] = ()
    sample_lengths: tuple[float, ...] = ()

    def sample_quantiles(self, samples: int) -> tuple[float, ...]:
        """The expected lengths of ``samples`` samples, shortest first (beyond the starter code).

        The k-th shortest of n draws lies near the k/(n+1) quantile of the lengths seen, so the
        longest of 8 is taken at the 89th percentile: a batch's wall time is set by its tail.
        """
        seen = self.sample_lengths
        if not seen:
            return (self.sample_tokens,) * samples
        return tuple(_quantile(seen, k / (samples + 1)) for k in range(1, samples + 1))

    def call_s(self, prompt_tokens: float, completion_tokens: float, concurrency: int = 1) -> float:
        """Expected wall time of one call among ``concurrency`` calls in flight together."""
        alone = (prompt_tokens / self.prefill_ratio + completion_tokens) / self._decode_at(
            concurrency
        )
        return alone * math.pow(max(1, concurrency), 1.0 - self.concurrency_gain)

    def _decode_at(self, concurrency: int) -> float:
        """The decode speed measured at the nearest level of concurrency, else ``decode_tps``."""
        if not self.by_concurrency:
            return self.decode_tps
        level = level_of(concurrency)
        return min(self.by_concurrency, key=lambda item: (abs(item[0] - level), item[0]))[1]


def _quantile(ordered: tuple[float, ...], q: float) -> float:
    """Linear interpolation between the order statistics of ``ordered`` (sorted, non-empty)."""
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def level_of(concurrency: int) -> int:
    """The level of a concurrency: 0 for 1, 1 for 2, 2 for 3-4, 3 for 5-8, ..."""
    return max(0, math.ceil(math.log2(max(1, concurrency))))


class SpeedTracker:
    """Running estimates per model: decode speed per level of concurrency, sample lengths."""

    def __init__(self, profile: UpstreamProfile, *, sample_tokens: float) -> None:
        self.profile = profile
        self._default_sample_tokens = sample_tokens
        self._decode_tps: dict[str, dict[int, float]] = {}
        self._sample_lengths: dict[str, deque[float]] = {}
        self._in_flight: dict[str, int] = {}

    def speed(self, model: str) -> Speed:
        """The current estimates for ``model`` (the profile's priors until a call is measured)."""
        measured = self._decode_tps.get(model, {})
        lengths = tuple(sorted(self._sample_lengths.get(model, ())))
        return Speed(
            decode_tps=self.profile.decode_tps or math.inf,
            prefill_ratio=self.profile.prefill_ratio,
            concurrency_gain=self.profile.concurrency_gain,
            sample_tokens=sum(lengths) / len(lengths) if lengths else self._default_sample_tokens,
            by_concurrency=tuple(sorted(measured.items())),
            sample_lengths=lengths,
        )

    def started(self, model: str) -> int:
        """Count a call in flight; returns how many are in flight with it."""
        self._in_flight[model] = self._in_flight.get(model, 0) + 1
        return self._in_flight[model]

    def finished(
        self,
        model: str,
        *,
        concurrency: int,
        prompt_tokens: int,
        completion_tokens: int,
        seconds: float,
        choices: int = 1,
        sample: bool = False,
        starter_tokens: float = 0.0,
    ) -> None:
        """Learn from a finished call (``concurrency``: the calls in flight when it started).

        A ``sample`` (a program written in full: a sample or a revision) teaches its length
        beyond ``starter_tokens``, the task's starter code that it restated.
        """
        self._in_flight[model] = max(0, self._in_flight.get(model, 1) - 1)
        if sample and completion_tokens > 0:
            own = max(0.0, completion_tokens / max(1, choices) - starter_tokens)
            window = self._sample_lengths.setdefault(model, deque(maxlen=SAMPLE_WINDOW))
            window.extend([own] * max(1, choices))
        if seconds < _MIN_CALL_S or completion_tokens < _MIN_TOKENS * max(1, choices):
            return
        profile = self.profile
        # NOTE: the n choices of one call decode together, like n concurrent calls.
        together = max(1, concurrency) * max(1, choices)
        share = math.pow(together, 1.0 - profile.concurrency_gain)
        work = prompt_tokens / profile.prefill_ratio + completion_tokens / max(1, choices)
        observed = work * share / seconds
        if math.isfinite(observed) and observed > 0:
            levels = self._decode_tps.setdefault(model, {})
            level = level_of(together)
            known = levels.get(level)
            levels[level] = observed if known is None else _smooth(known, observed)

    def aborted(self, model: str) -> None:
        """A call that ended without an answer: no longer in flight, nothing learned."""
        self._in_flight[model] = max(0, self._in_flight.get(model, 1) - 1)


def _smooth(current: float, observed: float) -> float:
    return (1 - _SMOOTHING) * current + _SMOOTHING * observed

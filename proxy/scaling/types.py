"""Values that flow through the S* engine: the task going in, the knobs, the result coming out.

No wire models here: ``proxy.tasking`` builds the ``CodeTask`` and ``ScalingParams`` from a
request, and ``proxy.api`` renders a ``ScalingResult`` as a response. Everything is a frozen
dataclass so a result can be rendered as a JSON trace with ``dataclasses.asdict``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from proxy.upstream.base import Message, Purpose, Usage

Mode = Literal["auto", "force", "off"]
"""Whether S* may answer a request: the detector decides, always (guardrails still apply), never."""
TaskKind = Literal["stdin", "function"]
SelectionMode = Literal["adaptive", "majority", "public", "judge", "first"]
JudgeStyle = Literal["reasoned", "scored"]
OutputForm = Literal["message", "code"]
CompareMode = Literal["lcb", "strict", "tokens"]


@dataclass(frozen=True, slots=True)
class Signature:
    """The callable a function task must define.

    ``class_name`` is set for LeetCode-style ``class Solution`` methods; ``entry_point`` is then
    ``"Solution.method"``, which is what the sandbox's function mode expects.
    """

    name: str
    params: tuple[str, ...] = ()
    class_name: str | None = None
    starter_code: str | None = None

    @property
    def entry_point(self) -> str:
        return f"{self.class_name}.{self.name}" if self.class_name else self.name


@dataclass(frozen=True, slots=True)
class PublicTest:
    """One example from the prompt (or supplied by the client).

    stdin tasks: ``input`` is stdin text, ``expected`` the expected stdout.
    function tasks: ``input`` is a JSON array of positional arguments, ``expected`` canonical
    JSON of the expected return value (``None`` when only "runs without error" can be checked,
    e.g. an
    assert-style test that could not be converted).
    """

    input: str
    expected: str | None
    source: str = "prompt"


@dataclass(frozen=True, slots=True)
class CodeTask:
    """A self-contained programming task extracted from a chat request."""

    problem: str
    conversation: tuple[Message, ...]
    kind: TaskKind
    model: str
    language: str = "python"
    signature: Signature | None = None
    public_tests: tuple[PublicTest, ...] = ()
    compare_mode: CompareMode = "lcb"


@dataclass(frozen=True, slots=True)
class ScalingParams:
    """Effective knobs of one run, after headers > body > alias > settings, capped by settings.

    The defaults below are the product's defaults: ``proxy.settings.Settings`` takes its S*
    defaults from here, so each knob has one default.
    """

    samples: int = 8
    rounds: int = 2
    selection: SelectionMode = "adaptive"
    temperature: float = 0.7
    max_tokens_per_call: int = 1024
    max_total_tokens: int | None = None
    deadline_s: float = 120.0
    aux_model: str | None = None
    judge: JudgeStyle = "reasoned"
    output: OutputForm = "message"
    max_pairs: int = 6
    num_synth_inputs: int = 8
    seed: int | None = None
    escalations: int = 1  # extra sampling batches when nothing passes the public tests
    exec_wall_time_s: float = 4.0
    exec_memory_mb: int = 256
    sampling_extra: dict[str, object] = field(default_factory=dict)
    # N concurrent n=1 sampling calls instead of one n=N call: for upstreams that return an n=N
    # call's choices only all together (llama.cpp), so a deadline keeps the finished samples.
    one_sample_per_call: bool = False
    # The first candidate is sampled at temperature 0 (the plain answer), the rest at
    # ``temperature``: the plain answer is always a candidate and wins selection's ties.
    greedy_sample: bool = True


@dataclass(frozen=True, slots=True)
class TestOutcome:
    """A candidate revision's result on one public test."""

    __test__ = False  # not a pytest class

    input: str
    expected: str | None
    status: str
    actual: str
    passed: bool


@dataclass(frozen=True, slots=True)
class Revision:
    """One version of a candidate program (round 0 is the sample itself)."""

    round: int
    program: str
    message: str
    tests: tuple[TestOutcome, ...] = ()

    @property
    def passed(self) -> int:
        return sum(t.passed for t in self.tests)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A sampled program and its debugging history; ``best`` is the revision kept."""

    index: int
    revisions: tuple[Revision, ...]
    best_round: int
    dropped_reason: str | None = None

    @property
    def best(self) -> Revision:
        return self.revisions[self.best_round]

    @property
    def passes_public(self) -> bool:
        """The best revision passes every public test (and there is at least one)."""
        return bool(self.best.tests) and all(t.passed for t in self.best.tests)


@dataclass(frozen=True, slots=True)
class Cluster:
    """Candidates that behaved identically on every synthesized input."""

    id: int
    members: tuple[int, ...]
    representative: int
    signature: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Match:
    """One tournament game between two clusters' representatives."""

    cluster_a: int
    cluster_b: int
    inputs: tuple[str, ...]
    outputs_a: tuple[str, ...]
    outputs_b: tuple[str, ...]
    verdicts: tuple[str, ...]
    winner: int | None


@dataclass(frozen=True, slots=True)
class Pick:
    """What one selection mode would have answered from a run's candidates, and when.

    Selection announces each cheaper mode's pick on the way to the requested one
    (``observer.py``); ``elapsed_ms`` is when the pick was known.
    """

    selection: SelectionMode
    candidate: int
    elapsed_ms: float


@dataclass(frozen=True, slots=True)
class StageTiming:
    """Wall time, calls and tokens of one stage."""

    stage: str
    duration_ms: float
    upstream_calls: int = 0
    executions: int = 0
    usage: Usage = field(default_factory=Usage)
    completed: bool = True  # the stage did all the run planned for it (nothing cut short)


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """Something a streaming client may be shown (never as answer content)."""

    stage: str
    message: str


ProgressCallback = Callable[[ProgressEvent], None]


@dataclass(frozen=True, slots=True)
class ScalingResult:
    """What an S* run produced, and everything needed to explain it.

    ``program`` and ``message`` are the answer (``message`` is the winning candidate's own text with
    its code replaced by the final revision). ``usage`` sums every upstream call of the run, and
    ``usage_by_purpose`` splits it by what the calls were for. ``degraded`` lists what was cut
    short or fell back, and why.
    """

    program: str
    message: str
    usage: Usage
    upstream_calls: int
    executions: int
    selection: SelectionMode
    selected: int
    candidates: tuple[Candidate, ...]
    clusters: tuple[Cluster, ...] = ()
    matches: tuple[Match, ...] = ()
    synthesized_inputs: tuple[str, ...] = ()
    mutated_inputs: tuple[str, ...] = ()  # variants of known inputs, also executed
    timings: tuple[StageTiming, ...] = ()
    degraded: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    usage_by_purpose: tuple[tuple[Purpose, Usage], ...] = ()
    plan: str = ""  # the run's plan in short ("N=4 R=2 tournament")
    plans: tuple[str, ...] = ()  # each plan the run made, and why
    early_stop: str | None = None  # why the run stopped before debugging and the tournament
    escalations: int = 0  # extra sampling batches taken because nothing passed the examples

    @property
    def passed_public(self) -> int:
        """How many candidates pass every public test with their best revision."""
        return sum(c.passes_public for c in self.candidates)

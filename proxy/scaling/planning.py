"""The run's plan: how many samples, debug rounds and which selection steps fit the budget.

Fixed shares of the deadline (half for sampling, ...) cut every stage short on a slow upstream,
and a stage cut short is wasted: a debug call cut before its first token cost its prompt and
gave nothing. So a run plans from the upstream's speed (``speed.py``): it chooses N, the debug
rounds and whether the tournament is played so that every stage it starts can finish. It keeps
the run complete before it makes it wide: N shrinks before debugging is given up, and debugging
beyond a first round only takes the time N leaves (``plan_run``). The plan is made before
sampling and made again after it with the run's own measurements; each plan and its reason go
into the trace and ``x-sstar-summary``.

Estimates, in tokens: a sample's prompt is the conversation (about 3.5 characters a token); a
sample is the task's starter code (models restate it) and what the model's recent samples added to
theirs; a debug prompt is the sample's prompt, the sample and the failing tests' feedback;
selection is one distinguishing-input call and two judge calls per cluster pair (a tournament of
``TYPICAL_PAIRS``), plus sandbox waves. N samples decoding together end with the longest, and the
upstream speeds up for the rest as the shorter ones finish: sampling is estimated phase by phase
over the expected lengths of the N samples (:func:`sampling_s`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from proxy.scaling.speed import Speed
from proxy.scaling.types import CodeTask, ScalingParams

CHARS_PER_TOKEN = 3.5
FEEDBACK_TOKENS = 250
"""A debug turn's feedback on the failing tests (trimmed), in tokens."""
SYNTHESIS_TOKENS = 200
JUDGE_REASONED_TOKENS = 300
TYPICAL_PAIRS = 2
SANDBOX_WAVE_S = 0.5
"""One wave of sandboxed executions (a batch of programs on a batch of inputs), in seconds."""
ANSWER_RESERVE_S = 2.0
"""Kept at the end of every run to assemble and send the answer (at most a tenth of the time
left: see :func:`reserve_s`)."""
SAFETY = 0.85
"""Plans use this part of the time left: estimates are estimates."""
MIN_SAMPLES = 3
"""N shrinks to this before the run gives up debugging (selection needs a pool)."""


@dataclass(frozen=True, slots=True)
class Plan:
    """What a run will do, with the time each stage is given (seconds from the plan's making).

    ``tournament`` is false when only the cheaper selection (majority on executions) fits.
    """

    samples: int
    rounds: int
    debug_concurrency: int
    tournament: bool
    sampling_s: float
    debug_round_s: float
    selection_s: float
    reason: str

    @property
    def total_s(self) -> float:
        return self.sampling_s + self.rounds * self.debug_round_s + self.selection_s

    def summary(self) -> str:
        """``N=4 R=2 tournament`` for headers and logs."""
        return f"N={self.samples} R={self.rounds}" + (" tournament" if self.tournament else "")


def reserve_s(time_left_s: float) -> float:
    """What a plan keeps back from ``time_left_s``: estimates are estimates, and the answer
    must still be assembled."""
    return time_left_s * (1 - SAFETY) + min(ANSWER_RESERVE_S, time_left_s / 10)


def prompt_tokens(task: CodeTask) -> float:
    """The sampling prompt's size in tokens (the whole conversation and the instruction)."""
    chars = sum(len(m.content) for m in task.conversation) or len(task.problem)
    return chars / CHARS_PER_TOKEN + 80


def starter_tokens(task: CodeTask) -> float:
    """The starter code's size in tokens: a program written for the task restates it."""
    starter = task.signature.starter_code if task.signature is not None else None
    return len(starter or "") / CHARS_PER_TOKEN


def sample_tokens(task: CodeTask, speed: Speed, params: ScalingParams) -> float:
    """A typical sample's length (or a revision's): the starter code and what samples add."""
    return min(float(params.max_tokens_per_call), starter_tokens(task) + speed.sample_tokens)


def sampling_s(task: CodeTask, params: ScalingParams, speed: Speed, samples: int) -> float:
    """N samples decoding together (one ``n=N`` call or N concurrent calls), plus the input
    synthesis running alongside them, until the longest is done.

    Phase k runs from the (k-1)-th shortest sample's end to the k-th's, with the samples not yet
    done (and the synthesis) in flight: a CPU server decodes each faster as they finish.
    """
    cap = float(params.max_tokens_per_call)
    lengths = [min(cap, starter_tokens(task) + n) for n in speed.sample_quantiles(samples)]
    total = speed.call_s(prompt_tokens(task), 0.0, concurrency=samples + 1)
    done = 0.0
    for k, length in enumerate(lengths):
        total += speed.call_s(0.0, max(0.0, length - done), concurrency=samples - k + 1)
        done = max(done, length)
    return total


def debug_round_s(task: CodeTask, params: ScalingParams, speed: Speed, concurrency: int) -> float:
    """One debug round of ``concurrency`` programs at once, and the sandbox wave after it."""
    tokens = sample_tokens(task, speed, params)
    prompt = prompt_tokens(task) + tokens + FEEDBACK_TOKENS
    return speed.call_s(prompt, tokens, concurrency=concurrency) + SANDBOX_WAVE_S


def selection_s(task: CodeTask, params: ScalingParams, speed: Speed, *, tournament: bool) -> float:
    """Executing the pool on the inputs, and the tournament's calls when it is played."""
    waves = SANDBOX_WAVE_S * (1 if params.selection in ("majority", "adaptive") else 0)
    if not tournament:
        return waves
    programs = 2 * sample_tokens(task, speed, params)
    distinguish = speed.call_s(prompt_tokens(task) + programs, SYNTHESIS_TOKENS, TYPICAL_PAIRS)
    verdict = 1 if params.judge == "scored" else JUDGE_REASONED_TOKENS
    judge = speed.call_s(
        prompt_tokens(task) + programs + 200, verdict, concurrency=2 * TYPICAL_PAIRS
    )
    return waves + distinguish + judge + SANDBOX_WAVE_S


def plan_run(
    task: CodeTask,
    params: ScalingParams,
    speed: Speed,
    *,
    debug_concurrency: int,
    time_left_s: float,
) -> Plan:
    """The widest complete run that fits ``time_left_s``; see the module docstring.

    Tiers, best first (:func:`tiers`): each keeps a floor of debug rounds and the tournament or
    not; within the first tier that fits, N is as large as fits, then the rounds as many as
    fit. So N shrinks (down to ``MIN_SAMPLES``) before the run gives up debugging at all, but
    rounds beyond the first are only planned with the time N leaves (debugging runs only for
    what fails, and is planned again after sampling with what sampling measured). With no time
    at all: fewer samples still, down to one.
    """
    available = max(0.0, time_left_s - reserve_s(time_left_s))

    def plan(samples: int, rounds: int, tournament: bool) -> Plan:
        return _plan(task, params, speed, samples, rounds, tournament, debug_concurrency)

    smallest = min(MIN_SAMPLES, params.samples)
    for floor, tournament in tiers(params):
        fitting = [
            n
            for n in range(params.samples, smallest - 1, -1)
            if plan(n, floor, tournament).total_s <= available
        ]
        if fitting:
            samples = fitting[0]
            rounds = max(
                r
                for r in range(floor, params.rounds + 1)
                if r == floor or plan(samples, r, tournament).total_s <= available
            )
            chosen = plan(samples, rounds, tournament)
            return replace(chosen, reason=_reason(chosen, params, available))
    samples = next(
        (n for n in range(smallest - 1, 0, -1) if plan(n, 0, False).total_s <= available), 1
    )
    chosen = plan(samples, 0, False)
    return replace(chosen, reason=_reason(chosen, params, available))


def tiers(params: ScalingParams) -> list[tuple[int, bool]]:
    """(debug-round floor, tournament) of each tier, best first: one debug round and the
    tournament, one round alone, the tournament alone, neither."""
    floors = (1, 0) if params.rounds else (0,)
    tournaments = (True, False) if params.selection == "adaptive" else (False,)
    return [(floor, tournament) for floor in floors for tournament in tournaments]


def _plan(
    task: CodeTask,
    params: ScalingParams,
    speed: Speed,
    samples: int,
    rounds: int,
    tournament: bool,
    debug_concurrency: int,
) -> Plan:
    concurrency = max(1, min(samples, debug_concurrency))
    return Plan(
        samples=samples,
        rounds=rounds,
        debug_concurrency=concurrency,
        tournament=tournament,
        sampling_s=sampling_s(task, params, speed, samples),
        debug_round_s=debug_round_s(task, params, speed, concurrency) if rounds else 0.0,
        selection_s=selection_s(task, params, speed, tournament=tournament),
        reason="",
    )


def _reason(plan: Plan, params: ScalingParams, available: float) -> str:
    tournament = params.selection == "adaptive"
    asked = f"N={params.samples} R={params.rounds}" + (" tournament" if tournament else "")
    estimate = (
        f"{plan.total_s:.0f} s estimated of {available:.0f} s "
        f"(sampling {plan.sampling_s:.0f} s, a debug round {plan.debug_round_s:.0f} s, "
        f"selection {plan.selection_s:.0f} s)"
    )
    if (plan.samples, plan.rounds, plan.tournament) == (params.samples, params.rounds, tournament):
        return f"as asked: {estimate}"
    return f"instead of {asked}: {estimate}"

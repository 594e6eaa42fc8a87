"""Should S* answer this request? The detector (OPENAI_API.md §9, SSTAR.md §3).

Input: a ``RequestView``, the few facts of a chat request the decision needs, built by the API
layer from the raw JSON body (``view_from_body``), plus the resolved mode. Output: a
``Decision`` with a stable ``rule`` id and a human reason (for ``x-sstar-reason`` and logs), the
task shape and the problem text when S* applies.

A wrong S* on an agent's tool loop breaks the client; a missed S* only costs accuracy, so every
doubt passes through. Rules run in a fixed order, cheapest and hardest first:

1. ``mode_off``.
2. Hard guardrails, never overridden by ``force``: ``legacy_completions``,
   ``responses_shaped``, ``tools_present``, ``json_mode``,
   ``no_user_message``, ``unsupported_message``, ``non_text_content``, ``oversized_prompt``,
   ``tiny_output_budget``, ``background_task``, ``agent_prompt``, ``edit_format``,
   ``other_language``.
3. ``n_gt_1`` / ``logprobs``: pass-through in ``auto``; under ``force`` they become
   ``force_conflict`` (``apply=False``, ``param`` set) so the caller answers 400.
4. The coding-task judgement, which ``force`` overrides (``rule="forced"``): ``follow_up_edit``,
   ``explanation_request``, ``given_code``, ``not_self_contained``, ``no_runnable_task``,
   ``not_code_task``. ``explicit_tests`` (tests in the body extension) is an opt-in that
   overrides only ``no_runnable_task``.
5. Otherwise ``coding_task``.

Modules: ``view`` (the view and ``view_from_body``), ``structure`` (structural guardrails),
``content`` (facts and content rules), ``fingerprints`` (client templates), ``shape``,
``prompt_code`` and ``language`` (task shape, starter code, target language).
Rule ids are stable (logs, tests and clients may key on them); reasons may be reworded.

Problem text: the last user message. A system/developer message is prepended only when the user
message alone has no runnable shape and the two together do ("solve the problem below" in the
user turn, the statement in the system prompt). Forced follow-ups use every user turn, so the
judge still sees the original task.
"""

from __future__ import annotations

from dataclasses import dataclass

from proxy.detection.content import HARD_CONTENT, JUDGEMENT, Facts, gather_facts
from proxy.detection.shape import TaskShape
from proxy.detection.structure import STRUCTURAL, sampling_conflict
from proxy.detection.view import Hit, RequestView

__all__ = ["FORCEABLE_RULES", "HARD_RULES", "Decision", "detect"]

HARD_RULES = frozenset(
    [
        "legacy_completions",
        "responses_shaped",
        "tools_present",
        "json_mode",
        "no_user_message",
        "non_text_content",
        "unsupported_message",
        "oversized_prompt",
        "tiny_output_budget",
        "background_task",
        "agent_prompt",
        "edit_format",
        "other_language",
        "n_gt_1",
        "logprobs",
        "force_conflict",
    ]
)
FORCEABLE_RULES = frozenset(
    [
        "follow_up_edit",
        "explanation_request",
        "given_code",
        "not_self_contained",
        "no_runnable_task",
        "not_code_task",
    ]
)


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with a request, and why.

    ``apply`` says whether S* runs. ``rule`` is a stable id (see the module docstring);
    ``reason`` is for humans. ``shape`` and ``problem`` are set whenever a task was read
    (``shape`` may be ``None`` for ``forced``/``explicit_tests``: the caller then picks the
    kind from the explicit tests or asks the engine for an untested program). ``param`` names
    the offending request field of a ``force_conflict`` (``"n"`` or ``"logprobs"``).
    """

    apply: bool
    rule: str
    reason: str
    shape: TaskShape | None = None
    problem: str | None = None
    param: str | None = None


# --- assembly ---------------------------------------------------------------------------------


def _forced(facts: Facts, hit: Hit) -> Decision:
    problem = facts.problem
    if hit[0] == "follow_up_edit":
        problem = "\n\n".join(m.text for m in facts.view.messages if m.role == "user")
    reason = f"forced; the detector alone would pass through: {hit[1]}"
    return Decision(True, "forced", reason, facts.shape, problem)


def detect(view: RequestView) -> Decision:
    """Decide between S* and pass-through; see the module docstring for the rule order."""
    if view.mode == "off":
        return Decision(False, "mode_off", "S* disabled for this request (mode off)")
    for structural in STRUCTURAL:
        if hit := structural(view):
            return Decision(False, *hit)
    facts = gather_facts(view)
    for content in HARD_CONTENT:
        if hit := content(facts):
            return Decision(False, *hit, facts.shape, facts.problem)
    if conflict := sampling_conflict(view):
        (rule, reason), param = conflict
        if view.mode == "force":
            return Decision(False, "force_conflict", f"cannot force S*: {reason}", param=param)
        return Decision(False, rule, reason, facts.shape, facts.problem)
    for judgement in JUDGEMENT:
        if hit := judgement(facts):
            if view.mode == "force":
                return _forced(facts, hit)
            return Decision(False, *hit, facts.shape, facts.problem)
    if facts.shape is None:
        return Decision(True, "explicit_tests", "explicit tests supplied", None, facts.problem)
    reason = f"self-contained Python {facts.shape.kind} task ({facts.shape.evidence})"
    return Decision(True, "coding_task", reason, facts.shape, facts.problem)

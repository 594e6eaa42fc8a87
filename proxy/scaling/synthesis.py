"""S* stage 3: input synthesis, initial and adaptive (per pair of programs).

Candidates that pass the public tests can still disagree; the auxiliary model (``aux_model``,
else the task's model) proposes *inputs only* that separate them, and ``selection`` and
``tournament`` execute the programs on them. The prompts and the reading of the replies are in
``prompts/inputs.py``. A failed call yields no inputs (recorded in ``degraded``), never an error.
Knobs: ``params.num_synth_inputs``; :data:`DISTINGUISHING_INPUTS` per pair.
"""

from __future__ import annotations

from proxy.scaling.context import RunContext, reply_text
from proxy.scaling.prompts import clip
from proxy.scaling.prompts.inputs import distinguish_prompt, parse_inputs, synthesis_prompt

DISTINGUISHING_INPUTS = 3


async def synthesize_inputs(ctx: RunContext) -> tuple[str, ...]:
    """Initial inputs for clustering all candidates."""
    count = ctx.params.num_synth_inputs
    text = reply_text(await ctx.ask(synthesis_prompt(ctx.task, count=count), purpose="synthesis"))
    inputs = parse_inputs(text, task=ctx.task, limit=count)
    if text and not inputs:
        ctx.budget.degrade(f"input synthesis returned no valid input: {clip(text.strip(), 160)!r}")
    return inputs


async def synthesize_distinguishing_inputs(
    ctx: RunContext, programs: tuple[str, str]
) -> tuple[str, ...]:
    """Adaptive inputs meant to separate two specific programs."""
    prompt = distinguish_prompt(ctx.task, programs=programs, count=DISTINGUISHING_INPUTS)
    text = reply_text(await ctx.ask(prompt, purpose="distinguish"))
    return parse_inputs(text, task=ctx.task, limit=DISTINGUISHING_INPUTS)

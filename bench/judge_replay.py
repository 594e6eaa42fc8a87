"""Replay a run's recorded tournament matches with another judge: a style, or a model.

    .venv/bin/python -m bench.judge_replay --judge scored --model qwen2.5-coder-1.5b
    .venv/bin/python -m bench.judge_replay --base-url http://127.0.0.1:9000/v1 --model-name m

Every match in the saved traces of ``--name`` between a correct and a wrong program (graded
again in the sandbox) is judged once more, in both program orders, exactly as the tournament
would (:func:`proxy.scaling.tournament.judge_once`): same problem, programs, inputs and real
outputs. Without ``--base-url`` the embedded ``--model`` is started for the replay. It prints,
per match, P(A) in each order, the averaged P(correct program), and the verdict, then how many
matches the judge decided and how many of those for the correct program. Run it on a quiet
machine or accept slower numbers; only the dev split's traces are read.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.accuracy.client import candidate_programs
from bench.humaneval import RESULTS_DIR
from bench.misses import graded_runs, saved_run
from proxy.scaling.budget import RunBudget
from proxy.scaling.tournament import first_wins, judge_once
from proxy.scaling.types import CodeTask, JudgeStyle, ScalingParams
from proxy.settings import Settings
from proxy.upstream.litellm_client import LiteLLMUpstream


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.judge_replay", description=__doc__)
    p.add_argument("--name", default="humaneval-dev-n8-r2", help="results name")
    p.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    p.add_argument("--mode", default="adaptive")
    p.add_argument("--judge", choices=("scored", "reasoned"), default="scored")
    p.add_argument("--model", default="qwen2.5-coder-1.5b", help="embedded model to start")
    p.add_argument("--base-url", default=None, help="judge with this server instead")
    p.add_argument("--model-name", default=None, help="model name at --base-url")
    return p


async def replay(
    stem: Path, mode: str, *, api_base: str, model: str, judge: JudgeStyle
) -> list[tuple[str, float | None, float | None, bool | None]]:
    """Per mixed match: (where, P(A) forward, P(A) backward, decided for the correct one)."""
    graded, _ = await graded_runs(stem, mode)
    upstream = LiteLLMUpstream(Settings(upstream_api_base=api_base, upstream_is_llama_cpp=True))
    params = ScalingParams(judge=judge, deadline_s=3600.0, seed=0)
    rows: list[tuple[str, float | None, float | None, bool | None]] = []
    try:
        budget = RunBudget(params)
        for run in graded:
            programs, _ = candidate_programs(run.trace)
            task = CodeTask(
                problem=run.trace["task"]["problem"],
                conversation=(),
                kind=run.trace["task"]["kind"],
                model=model,
            )
            representative = {c["id"]: int(c["representative"]) for c in run.trace["clusters"]}
            for match in run.trace.get("matches") or ():
                if not match["inputs"]:
                    continue
                a = representative[match["cluster_a"]]
                b = representative[match["cluster_b"]]
                if (a in run.correct) == (b in run.correct):
                    continue
                shown = _shown(match)
                forward = await judge_once(
                    budget, upstream, task=task, params=params,
                    programs=(programs[a], programs[b]), inputs=shown[0], outputs=shown[1],
                )  # fmt: skip
                backward = await judge_once(
                    budget, upstream, task=task, params=params,
                    programs=(programs[b], programs[a]), inputs=shown[0],
                    outputs=(shown[1][1], shown[1][0]),
                )  # fmt: skip
                a_wins = first_wins(forward, backward)
                verdict = None if a_wins is None else a_wins == (a in run.correct)
                where = f"{run.task_id} clusters {match['cluster_a']}-{match['cluster_b']}"
                rows.append((where, forward, backward, verdict))
    finally:
        await upstream.aclose()
    return rows


def _shown(
    match: dict[str, Any],
) -> tuple[tuple[str, ...], tuple[tuple[str, ...], tuple[str, ...]]]:
    return tuple(match["inputs"]), (tuple(match["outputs_a"]), tuple(match["outputs_b"]))


def render(rows: Sequence[tuple[str, float | None, float | None, bool | None]], title: str) -> str:
    """A markdown table of the replayed matches and a one-line summary."""
    out = [
        f"### {title}",
        "",
        "| match | P(A) forward | P(A) swapped | verdict |",
        "|---|---|---|---|",
    ]
    for where, forward, backward, verdict in rows:
        shown = "draw" if verdict is None else ("correct" if verdict else "wrong")
        out.append(f"| {where} | {_p(forward)} | {_p(backward)} | {shown} |")
    decided = [v for *_, v in rows if v is not None]
    out.append(
        f"\n{len(rows)} match(es) between a correct and a wrong program: {len(decided)} decided, "
        f"{sum(decided)} for the correct one."
    )
    return "\n".join(out) + "\n"


def _p(value: float | None) -> str:
    return "none" if value is None else f"{value:.3f}"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    stem = saved_run(args.results_dir, args.name)
    if stem is None:
        return 2
    with ExitStack() as stack:
        if args.base_url:
            api_base, model = args.base_url, args.model_name or "model"
        else:
            from proxy.local_model import LocalModelServer, prepare_local_model

            server = stack.enter_context(
                LocalModelServer(prepare_local_model(args.model), parallel=2, ctx_per_slot=8192)
            )
            api_base, model = server.api_base, server.model_name
        rows = asyncio.run(
            replay(stem, args.mode, api_base=api_base, model=model, judge=args.judge)
        )
    title = f"{args.name}: matches replayed with the {args.judge} judge of {model}"
    report = render(rows, title)
    out = stem.with_name(f"{stem.name}-judge-{args.judge}-{model}.md")
    out.write_text(report)
    print(report)
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How well the planner's sampling estimate follows the tasks, replayed from saved run traces.

    python -m bench.plan_replay ~/.cache/sstar-proxy/bench/<name>-traces/adaptive

A plan is only as good as its estimate of how long N samples take, and what varies from task to
task is the samples' length. This replays a benchmark's traces in task order through two sample
length models, with the same decode speed for both (the trace does not keep call timings, so the
absolute scale is the profile's, not the run's):

- ``mean``: one smoothed mean of whole samples, every sample that long (the planner before
  lengths were counted beyond the starter code);
- ``tail``: the planner's model (``planning.sampling_s`` fed by a real ``SpeedTracker``): the
  task's starter code plus the recent samples' lengths beyond their starter code, the batch
  lasting until its longest is done.

It prints, per task, each estimate next to the sampling stage's real duration, then the spread of
real / estimate over the tasks (a geometric standard deviation, and the worst task's ratio over
the median's): the smaller, the more often a plan made before any sample fits the task. Sample
lengths are the candidates' first answers in characters / ``CHARS_PER_TOKEN``.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
from dataclasses import replace
from pathlib import Path
from typing import Any

from proxy.scaling.engine import PRIOR_SAMPLE_TOKENS
from proxy.scaling.replay import (
    CHARS_PER_TOKEN,
    PROFILES,
    Speed,
    SpeedTracker,
    sampling_s,
    starter_tokens,
    task_from_trace,
)
from proxy.scaling.types import ScalingParams

_SMOOTHING = 0.3  # the mean model's weight of the newest sample, as the tracker had it


def _number(path: Path) -> int:
    found = re.search(r"(\d+)", path.stem)
    return int(found[1]) if found else 0


def replay(traces: list[dict[str, Any]]) -> list[tuple[float, float, float]]:
    """(mean-model estimate, tail-model estimate, real duration) per trace, in order."""
    profile = PROFILES["embedded"]
    tracker = SpeedTracker(profile, sample_tokens=PRIOR_SAMPLE_TOKENS)
    mean = PRIOR_SAMPLE_TOKENS
    rows = []
    for trace in traces:
        task = task_from_trace(trace)
        params = ScalingParams(samples=trace["params"]["samples"])
        tail = sampling_s(task, params, tracker.speed(task.model), params.samples)
        flat = Speed(
            profile.decode_tps or 1.0, profile.prefill_ratio, profile.concurrency_gain, mean
        )
        before = sampling_s(replace(task, signature=None), params, flat, params.samples)
        real = next(t["duration_ms"] for t in trace["timings"] if t["stage"] == "sample") / 1000
        rows.append((before, tail, real))
        for candidate in trace["candidates"]:
            if candidate["index"] >= params.samples or not candidate["revisions"]:
                continue  # the first batch's samples only: what the next plan had learned
            length = len(candidate["revisions"][0]["message"]) / CHARS_PER_TOKEN
            mean = (1 - _SMOOTHING) * mean + _SMOOTHING * length
            tracker.finished(
                task.model, concurrency=1, prompt_tokens=0, completion_tokens=round(length),
                seconds=0.0, sample=True, starter_tokens=starter_tokens(task),
            )  # fmt: skip
    return rows


def spread(ratios: list[float]) -> tuple[float, float]:
    """(geometric standard deviation, worst / median) of real-over-estimate ratios."""
    logs = [math.log(r) for r in ratios]
    return math.exp(statistics.pstdev(logs)), max(ratios) / statistics.median(ratios)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("traces", type=Path, help="a <name>-traces/<mode> folder of run traces")
    args = parser.parse_args(argv)
    paths = sorted(args.traces.glob("*.json"), key=_number)
    rows = replay([json.loads(p.read_text()) for p in paths])
    print("| task | mean model (s) | tail model (s) | real (s) |")
    print("|---|---:|---:|---:|")
    for path, (before, tail, took) in zip(paths, rows, strict=True):
        print(f"| {path.stem} | {before:.0f} | {tail:.0f} | {took:.0f} |")
    real = [row[2] for row in rows]
    for label, estimates in (
        ("mean", [row[0] for row in rows]),
        ("tail", [row[1] for row in rows]),
    ):
        deviation, worst = spread([r / e for r, e in zip(real, estimates, strict=True)])
        print(
            f"{label} model: real/estimate geometric sd {deviation:.2f}, worst/median {worst:.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

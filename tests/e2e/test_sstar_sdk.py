"""S* through the official openai SDK: the proxy served by uvicorn, a scripted upstream speaking
real HTTP, and every program executed in the real bubblewrap sandbox.

The fake upstream only supplies model text. Three candidates answer a counting problem: one is
correct, one is off by one on inputs the samples miss, one crashes. Only execution on synthesized
inputs and a judge that reads the real outputs can find the correct one; where the greedy sample
and the largest behaviour cluster are both off by one, only the judge's verdicts pick it.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from tests.fake_upstream import FakeUpstream, Reply, last_user_text
from tests.servers import serve_proxy

pytestmark = pytest.mark.bwrap

PROBLEM = """Count the integers from 1 to N (inclusive) that are multiples of 3 or of 5.

Input
The input is a single integer N (1 <= N <= 10^9).

Output
Print the count.

Sample Input 1
10

Sample Output 1
5

Sample Input 2
15

Sample Output 2
7
"""

CORRECT = "n = int(input())\nprint(n // 3 + n // 5 - n // 15)\n"
# Agrees with CORRECT on both samples (10 and 15), wrong on multiples of 15 above 15 (30, ...).
OFF_BY_ONE = (
    "n = int(input())\nc = n // 3 + n // 5 - n // 15\n"
    "print(c + (1 if n % 15 == 0 and n > 15 else 0))\n"
)
# The same behaviour as OFF_BY_ONE in other words: clustering, not deduplication, groups them.
OFF_BY_ONE_AGAIN = (
    "n = int(input())\ncount = n // 3 + n // 5 - n // 15\n"
    "if n % 15 == 0 and n > 15:\n    count += 1\nprint(count)\n"
)
CRASHING = "n = int(input())\nprint(1 // (n - n))\n"
USAGE = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}


def fenced(program: str) -> str:
    return f"Here is my solution.\n\n```python\n{program}```"


def purpose_of(text: str) -> str:
    if "Both were executed on the same inputs" in text:
        return "judge"
    if "would behave differently" in text:
        return "distinguish"
    if "Propose" in text and "test inputs" in text:
        return "synthesis"
    if "Your program was run on the public tests" in text:
        return "debug"
    return "sample"


def judge_reply(prompt: str) -> str:
    """A judge that reads the real outputs: the program printing the right count for N wins,
    whichever order the two programs are shown in."""
    executions = prompt.split("these are their real outputs:", 1)[1].split("\n\nWork out", 1)[0]
    for item in re.findall(
        r"Input \d+:\n(.*?)\nOutput of program A:\n(.*?)\nOutput of program B:\n(.*?)"
        r"(?=\n\nInput \d+:|$)",
        executions.strip(),
        re.S,
    ):
        given, out_a, out_b = (part.strip() for part in item)
        if out_a != out_b and given.isdigit():
            n = int(given)
            right = str(n // 3 + n // 5 - n // 15)
            return "Answer: A" if out_a == right else "Answer: B"
    return "Answer: A"


class Script:
    """The fake model: three different samples, inputs on request, an execution-reading judge."""

    def __init__(
        self,
        *,
        sample_delay_s: float = 0.0,
        samples: tuple[str, ...] = (CORRECT, OFF_BY_ONE, CRASHING),
    ) -> None:
        self.sample_delay_s = sample_delay_s
        self.samples = samples
        self.calls: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, path: str, body: dict[str, Any]) -> Reply:
        text = last_user_text(body)
        purpose = purpose_of(text)
        with self.lock:
            self.calls[purpose] = self.calls.get(purpose, 0) + 1
        n = int(body.get("n") or 1)
        if purpose == "sample":
            # The greedy call (temperature 0) gets the first program, the sampled ones the others.
            pool = [fenced(program) for program in self.samples]
            first = 0 if body.get("temperature") == 0 else 1
            texts = [pool[(first + i) % len(pool)] for i in range(n)]
            return Reply(texts=texts, usage=USAGE, delay_s=self.sample_delay_s)
        if purpose in ("synthesis", "distinguish"):
            inputs = json.dumps(["1\n", "16\n", "30\n", "100\n"])
            return Reply(texts=[f"```json\n{inputs}\n```"] * n, usage=USAGE)
        if purpose == "judge":
            return Reply(texts=[judge_reply(text)] * n, usage=USAGE)
        return Reply(texts=[fenced(CORRECT)] * n, usage=USAGE)


@pytest.fixture(scope="module")
def proxy_url(fake_upstream_server: FakeUpstream) -> Iterator[str]:
    server = serve_proxy(fake_upstream_server)
    yield f"{server.url}/v1"
    server.stop()


@pytest.fixture
def sdk(proxy_url: str) -> Iterator[OpenAI]:
    with OpenAI(base_url=proxy_url, api_key="anything", max_retries=0, timeout=60) as client:
        yield client


@pytest.fixture
def script(fake_upstream: FakeUpstream) -> Script:
    script = Script()
    fake_upstream.responder = script
    return script


def fresh() -> str:
    """A unique ``user`` field: identical requests share one run (and its cached result)."""
    return uuid.uuid4().hex


def chat(sdk: OpenAI, **kwargs: Any) -> Any:
    return sdk.chat.completions.with_raw_response.create(
        model=kwargs.pop("model", "fake-model"),
        messages=kwargs.pop("messages", [{"role": "user", "content": PROBLEM}]),
        user=fresh(),
        **kwargs,
    )


def test_detected_task_is_answered_with_the_selected_program(sdk, proxy_url, fake_upstream):
    # The greedy sample and the larger behaviour cluster (two samples) are off by one on 30.
    script = Script(samples=(OFF_BY_ONE, OFF_BY_ONE_AGAIN, CORRECT))
    fake_upstream.responder = script
    raw = chat(sdk)
    completion = raw.parse()
    assert raw.headers["x-sstar-applied"] == "true"
    assert "stdin" in raw.headers["x-sstar-reason"]
    content = completion.choices[0].message.content
    assert content == fenced(CORRECT)
    assert completion.choices[0].finish_reason == "stop"
    assert len(completion.choices) == 1
    # usage is the sum over every upstream call of the run, as the upstream reported it
    calls = len(fake_upstream.requests)
    assert completion.usage.prompt_tokens == 11 * calls
    assert completion.usage.completion_tokens == 7 * calls
    assert completion.usage.total_tokens == 18 * calls
    summary = dict(part.split("=") for part in raw.headers["x-sstar-summary"].split("; "))
    assert summary["samples"] == "3"
    assert summary["calls"] == str(calls)
    assert summary["selection"] == "adaptive"
    trace = httpx.get(f"{proxy_url}/sstar/runs/{raw.headers['x-sstar-run-id']}").json()
    programs = {c["index"]: c["revisions"][0]["program"].strip() for c in trace["candidates"]}
    correct = trace["selected"]
    assert programs[correct] == CORRECT.strip()
    assert programs[0] == OFF_BY_ONE.strip(), "the first sample is wrong"
    largest = max(trace["clusters"], key=lambda c: len(c["members"]))
    assert len(largest["members"]) == 2
    assert correct not in largest["members"], "the majority behaviour is wrong"
    picks = {p["selection"]: p["candidate"] for p in trace["picks"]}
    assert picks["adaptive"] == correct
    assert correct not in (picks["first"], picks["public"], picks["majority"])
    # one match, decided for the correct program's cluster by the judge in both program orders
    (match,) = trace["matches"]
    winner = next(c["id"] for c in trace["clusters"] if correct in c["members"])
    assert match["winner"] == winner
    assert [v.split()[0] for v in match["verdicts"]] == [str(winner)] * 2
    assert script.calls["judge"] == 2


def test_run_trace_tells_the_whole_story(sdk, script, proxy_url):
    raw = chat(sdk)
    run_id = raw.headers["x-sstar-run-id"]
    trace = httpx.get(f"{proxy_url}/sstar/runs/{run_id}").json()
    assert trace["id"] == run_id
    samples = {c["revisions"][0]["program"].strip() for c in trace["candidates"]}
    assert samples == {CORRECT.strip(), OFF_BY_ONE.strip(), CRASHING.strip()}
    crasher = next(
        c for c in trace["candidates"] if c["revisions"][0]["program"].strip() == CRASHING.strip()
    )
    assert crasher["best_round"] == 1, "the debug round repaired the crashing sample"
    assert crasher["revisions"][1]["program"].strip() == CORRECT.strip()
    assert trace["task"]["kind"] == "stdin"
    assert len(trace["task"]["public_tests"]) == 2
    assert trace["matches"]
    missing = httpx.get(f"{proxy_url}/sstar/runs/run_unknown")
    assert missing.status_code == 404
    assert missing.json()["error"]["param"] == "run_id"


def test_stream_sends_role_first_then_keepalives_then_the_answer(proxy_url, fake_upstream):
    fake_upstream.responder = Script(sample_delay_s=1.0)
    body = {
        "model": "fake-model",
        "messages": [{"role": "user", "content": PROBLEM}],
        "user": fresh(),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    lines: list[tuple[float, str]] = []
    started = time.monotonic()
    with httpx.stream("POST", f"{proxy_url}/chat/completions", json=body, timeout=60) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-sstar-applied"] == "true"
        for line in response.iter_lines():
            if line:
                lines.append((time.monotonic() - started, line))
    events = [json.loads(line[6:]) for _, line in lines if line.startswith("data: {")]
    assert events[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    first_event_at = next(t for t, line in lines if line.startswith("data: {"))
    keepalives = [t for t, line in lines if line.startswith(": keep-alive")]
    assert first_event_at < 0.9, "the role chunk must not wait for the run"
    assert keepalives, "keep-alive comments must flow while the run works"
    assert {e["id"] for e in events} == {events[0]["id"]}
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e["choices"])
    assert text == fenced(CORRECT)
    assert [e["choices"][0]["finish_reason"] for e in events if e["choices"]][-1] == "stop"
    assert events[-1]["choices"] == []
    assert events[-1]["usage"]["total_tokens"] > 0
    assert all(e["usage"] is None for e in events[:-1])
    assert lines[-1][1] == "data: [DONE]"


def test_sdk_stream_with_progress_in_reasoning_content(sdk, script):
    stream = sdk.chat.completions.create(
        model="fake-model",
        messages=[{"role": "user", "content": PROBLEM}],
        user=fresh(),
        stream=True,
        extra_headers={"x-sstar-progress": "true"},
    )
    content, reasoning = "", ""
    for chunk in stream:
        delta = chunk.choices[0].delta
        content += delta.content or ""
        reasoning += getattr(delta, "reasoning_content", None) or ""
    assert content == fenced(CORRECT)
    assert "[sample] started" in reasoning
    assert "[select] started" in reasoning
    assert "```" not in reasoning


def test_extra_body_and_headers_set_the_budget(sdk, script, fake_upstream):
    raw = chat(
        sdk,
        extra_body={"sstar": {"samples": 2, "rounds": 0, "selection": "first"}},
        extra_headers={"x-sstar-samples": "1"},
    )
    sampling = [r for r in fake_upstream.requests if purpose_of(last_user_text(r.json)) == "sample"]
    assert sum(int(r.json.get("n") or 1) for r in sampling) == 1, "the header beats the body"
    assert "synthesis" not in script.calls
    assert raw.headers["x-sstar-summary"].startswith("samples=1;")


def test_client_sampling_fields_reach_the_sub_calls(sdk, script, fake_upstream):
    raw = chat(sdk, max_tokens=321, top_p=0.9, seed=5, stop=["\n\n\n"])
    assert raw.headers["x-sstar-applied"] == "true"
    sampling = [r for r in fake_upstream.requests if purpose_of(last_user_text(r.json)) == "sample"]
    assert sampling
    for request in sampling:
        assert request.json["max_tokens"] == 321, "the client's cap is the per-sample cap"
        assert request.json["top_p"] == 0.9
        assert request.json["seed"] == 5
        assert "stop" not in request.json, "a client stop string could cut the fenced program"


def test_a_spent_token_budget_still_answers_and_says_what_was_cut(sdk, script):
    # each scripted call reports 18 tokens: sampling fits, the later stages do not
    raw = chat(sdk, extra_headers={"x-sstar-max-tokens": "40"})
    completion = raw.parse()
    assert raw.headers["x-sstar-applied"] == "true"
    assert "```python" in (completion.choices[0].message.content or "")
    assert "budget" in raw.headers["x-sstar-degraded"]
    assert completion.usage.total_tokens <= 40 + 18, "at most the call in flight overshoots"


def test_code_output_form_returns_only_the_program(sdk, script):
    completion = chat(sdk, extra_headers={"x-sstar-output": "code"}).parse()
    assert completion.choices[0].message.content.strip() == f"```python\n{CORRECT}```".strip()


def test_alias_forces_sstar_and_is_listed(sdk, script, fake_upstream):
    messages = [{"role": "user", "content": "Print the sum of two integers read from one line."}]
    raw = chat(sdk, model="sstar/fake-model", messages=messages)
    assert raw.headers["x-sstar-applied"] == "true"
    sampling = [r for r in fake_upstream.requests if purpose_of(last_user_text(r.json)) == "sample"]
    assert all(r.json["model"] == "fake-model" for r in sampling)
    assert "sstar/fake-model" in [m.id for m in sdk.models.list()]


@pytest.mark.parametrize(
    ("headers", "extra", "param"),
    [
        ({"x-sstar-samples": "lots"}, {}, "x-sstar-samples"),
        ({"x-sstar-samples": "99"}, {}, "x-sstar-samples"),
        ({"x-sstar-mode": "sometimes"}, {}, "x-sstar-mode"),
        ({}, {"sstar": {"selection": "best"}}, "sstar.selection"),
        ({}, {"sstar": {"sampels": 3}}, "sstar.sampels"),
        ({"x-sstar-mode": "force"}, {"n": 2}, "n"),
    ],
)
def test_bad_controls_are_400_naming_the_parameter(sdk, script, headers, extra, param):
    with pytest.raises(openai.BadRequestError) as info:
        chat(sdk, extra_headers=headers, extra_body=extra)
    assert isinstance(info.value.body, dict)
    assert info.value.body["param"] == param
    assert info.value.response.headers["x-should-retry"] == "false"


def test_tool_requests_pass_through_byte_for_byte(proxy_url, fake_upstream):
    fake_upstream.responder = lambda path, body: Reply(text="ok")
    tools = [{"type": "function", "function": {"name": "run", "parameters": {"type": "object"}}}]
    raw = json.dumps(
        {"model": "fake-model", "messages": [{"role": "user", "content": PROBLEM}], "tools": tools}
    ).encode()
    response = httpx.post(
        f"{proxy_url}/chat/completions", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    assert response.headers["x-sstar-applied"] == "false"
    assert "tool" in response.headers["x-sstar-reason"]
    assert fake_upstream.last.raw == raw
    assert len(fake_upstream.requests) == 1


def test_retried_request_joins_the_run_in_flight(proxy_url, fake_upstream):
    script = Script(sample_delay_s=1.0)
    fake_upstream.responder = script
    body = {
        "model": "fake-model",
        "messages": [{"role": "user", "content": PROBLEM}],
        "user": fresh(),
    }
    results: list[httpx.Response] = []

    def send() -> None:
        results.append(httpx.post(f"{proxy_url}/chat/completions", json=body, timeout=60))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
        time.sleep(0.2)
    for thread in threads:
        thread.join()
    assert [r.status_code for r in results] == [200, 200]
    assert results[0].headers["x-sstar-run-id"] == results[1].headers["x-sstar-run-id"]
    assert script.calls["sample"] == 2  # one run: its greedy call and its n=2 call


def test_disconnect_cancels_the_run_and_its_upstream_calls(proxy_url, fake_upstream):
    fake_upstream.responder = Script(sample_delay_s=30.0)
    body = {
        "model": "fake-model",
        "messages": [{"role": "user", "content": PROBLEM}],
        "user": fresh(),
    }
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{proxy_url}/chat/completions", json=body, timeout=0.5)
    # after the grace (about 1 s) the run is cancelled and litellm drops the upstream request
    assert fake_upstream.wait_for(
        lambda: any(r.disconnected for r in fake_upstream.requests), timeout=10
    )


@pytest.fixture
def broken_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    """bubblewrap cannot run (the edge fails): the proxy must fail closed."""
    from sandbox import BubblewrapSandbox, SandboxUnavailableError

    async def refuse(cls: type, /, **kwargs: object) -> BubblewrapSandbox:
        raise SandboxUnavailableError("bubblewrap missing (simulated)")

    monkeypatch.setattr(BubblewrapSandbox, "create", classmethod(refuse))


def test_unavailable_sandbox_falls_back_or_fails_closed(broken_sandbox, fake_upstream):
    fake_upstream.responder = lambda path, body: Reply(text="plain answer")
    server = serve_proxy(fake_upstream)
    try:
        base = f"{server.url}/v1"
        body = {
            "model": "fake-model",
            "messages": [{"role": "user", "content": PROBLEM}],
            "user": fresh(),
        }
        passed = httpx.post(f"{base}/chat/completions", json=body, timeout=30)
        assert passed.status_code == 200
        assert passed.headers["x-sstar-applied"] == "false"
        assert "sandbox unavailable" in passed.headers["x-sstar-reason"]
        assert passed.json()["choices"][0]["message"]["content"] == "plain answer"
        forced = httpx.post(
            f"{base}/chat/completions", json=body, headers={"x-sstar-mode": "force"}, timeout=30
        )
        assert forced.status_code == 503
        assert forced.headers["x-should-retry"] == "false"
        assert "sandbox" in forced.json()["error"]["message"]
        ready = httpx.get(f"{server.url}/ready")
        assert ready.status_code == 503
        assert ready.json()["error"]["code"] == "sandbox_unavailable"
    finally:
        server.stop()

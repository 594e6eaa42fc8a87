"""The request's own fields on every S* sub-call, as the upstream received them (README
"Per-request controls").

``user``, ``top_p``, ``top_k``, the penalties and ``logit_bias`` reach the samples, the debug
turns, input synthesis and the distinguishing inputs; the judge gets ``user`` only (its verdict
is not the client's to sample); an auxiliary model gets no ``logit_bias`` (token ids of another
tokenizer). The whole app runs in-process (lifespan, litellm, the real bubblewrap sandbox)
against the fake upstream, scripted so that one run makes every kind of call: the greedy sample
is right, another is off by one on inputs beyond the examples, a third crashes and is debugged,
and the tournament between the two behaviours asks for distinguishing inputs and a judge.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from proxy.app import create_app
from proxy.settings import Settings
from tests.fake_upstream import FakeUpstream, Reply, last_user_text

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
OFF_BY_ONE = (
    "n = int(input())\nc = n // 3 + n // 5 - n // 15\n"
    "print(c + (1 if n % 15 == 0 and n > 15 else 0))\n"
)
CRASHING = "n = int(input())\nprint(1 // (n - n))\n"
INPUTS = json.dumps(["1\n", "30\n", "45\n"])  # the off-by-one program is wrong on 30 and 45
FIELDS: dict[str, Any] = {
    "user": "end-user-42",
    "top_p": 0.9,
    "top_k": 40,
    "presence_penalty": 0.1,
    "frequency_penalty": 0.2,
    "logit_bias": {"1234": -2},
}


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


def fenced(program: str) -> str:
    return f"```python\n{program}```"


class Recorder:
    """The scripted model; keeps each call's body by purpose."""

    def __init__(self) -> None:
        self.bodies: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def __call__(self, path: str, body: dict[str, Any]) -> Reply:
        purpose = purpose_of(last_user_text(body))
        self.bodies[purpose].append(body)
        n = int(body.get("n") or 1)
        if purpose == "sample":
            pool = [CORRECT, OFF_BY_ONE, CRASHING]
            first = 0 if body.get("temperature") == 0 else 1
            return Reply(texts=[fenced(pool[(first + i) % 3]) for i in range(n)])
        if purpose in ("synthesis", "distinguish"):
            return Reply(texts=[f"```json\n{INPUTS}\n```"] * n)
        if purpose == "judge":
            return Reply(texts=["Answer: A"] * n)
        return Reply(texts=[fenced(CORRECT)] * n)


async def run(fake: FakeUpstream, **headers: str) -> Recorder:
    recorder = Recorder()
    fake.responder = recorder
    settings = Settings(
        upstream_api_base=fake.base_url,
        upstream_retries=0,
        log_format="console",
        num_samples=3,
        debug_rounds=1,
        deadline_s=60,
    )
    app = create_app(settings)
    body = {
        "model": "fake-model",
        "messages": [{"role": "user", "content": PROBLEM}],
        **FIELDS,
        "user": f"{FIELDS['user']}-{uuid.uuid4().hex[:6]}",
    }
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://proxy.test", timeout=60
        ) as http:
            response = await http.post(
                "/v1/chat/completions", json=body, headers={"x-sstar-mode": "force", **headers}
            )
    assert response.status_code == 200, response.text
    assert response.headers["x-sstar-applied"] == "true"
    assert set(recorder.bodies) == {"sample", "debug", "synthesis", "distinguish", "judge"}
    return recorder


def forwarded(body: dict[str, Any]) -> dict[str, Any]:
    """The client fields a sub-call carried (``user`` without this run's unique suffix)."""
    sent = {key: body[key] for key in FIELDS if key in body}
    if "user" in sent:
        sent["user"] = sent["user"].rsplit("-", 1)[0]
    return sent


async def test_every_sub_call_carries_the_fields_its_purpose_takes(fake_upstream):
    recorder = await run(fake_upstream)
    for purpose in ("sample", "debug", "synthesis", "distinguish"):
        for body in recorder.bodies[purpose]:
            assert forwarded(body) == FIELDS, purpose
    for body in recorder.bodies["judge"]:
        assert forwarded(body) == {"user": FIELDS["user"]}


async def test_an_auxiliary_model_gets_no_token_ids(fake_upstream):
    recorder = await run(fake_upstream, **{"x-sstar-aux-model": "aux-model"})
    without_bias = {k: v for k, v in FIELDS.items() if k != "logit_bias"}
    for purpose in ("synthesis", "distinguish"):
        for body in recorder.bodies[purpose]:
            assert body["model"] == "aux-model"
            assert forwarded(body) == without_bias, purpose
    for purpose in ("sample", "debug"):
        for body in recorder.bodies[purpose]:
            assert body["model"] == "fake-model"
            assert forwarded(body) == FIELDS, purpose
    for body in recorder.bodies["judge"]:
        assert forwarded(body) == {"user": FIELDS["user"]}

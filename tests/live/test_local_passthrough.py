"""A real chat completion from the embedded model, straight through llama-server.

The answer's program is executed (in the project's sandbox harness, with a deadline) on hidden
inputs: the test checks that the model really wrote Fibonacci, not that it produced some text.
"""

from __future__ import annotations

import asyncio
import json
import re

import httpx
import pytest

from proxy.local_model import LocalModelServer
from sandbox import ExecutionRequest, Limits, LocalSandbox, Status

pytestmark = pytest.mark.live

PROMPT = (
    "Write a Python function `fib(n)` that returns the n-th Fibonacci number, with fib(0) = 0 "
    "and fib(1) = 1. Reply with only the code in one ```python block."
)
HIDDEN = {0: 0, 1: 1, 2: 1, 7: 13, 10: 55, 20: 6765}


def _extract_program(text: str) -> str:
    blocks = re.findall(r"```(?:python|py)?\s*\n(.*?)```", text, flags=re.DOTALL)
    return max(blocks, key=len) if blocks else text


async def _chat(server: LocalModelServer, **body: object) -> dict[str, object]:
    async with httpx.AsyncClient(timeout=120) as http:
        response = await http.post(
            f"{server.api_base}/chat/completions",
            json={"model": server.model_name, **body},
        )
    response.raise_for_status()
    result: dict[str, object] = response.json()
    return result


async def test_model_lists_its_public_name(local_model_server: LocalModelServer) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        models = (await http.get(f"{local_model_server.api_base}/models")).json()
    assert local_model_server.model_name in [m["id"] for m in models["data"]]


async def test_greedy_fib_passes_hidden_tests(local_model_server: LocalModelServer) -> None:
    reply = await _chat(
        local_model_server,
        messages=[{"role": "user", "content": PROMPT}],
        temperature=0,
        max_tokens=300,
    )
    choices = reply["choices"]
    assert isinstance(choices, list)
    program = _extract_program(choices[0]["message"]["content"])
    sandbox = LocalSandbox(workers=1)
    try:
        result = await sandbox.run(
            ExecutionRequest(
                program=program,
                inputs=tuple(json.dumps([n]) for n in HIDDEN),
                mode="function",
                entry_point="fib",
                limits=Limits(wall_time_s=5.0, cpu_time_s=5.0),
            )
        )
    finally:
        await sandbox.aclose()
    got = [(run.status, run.return_json) for run in result.runs]
    assert got == [(Status.OK, json.dumps(v)) for v in HIDDEN.values()], program


async def test_n_and_concurrent_requests_are_served_together(
    local_model_server: LocalModelServer,
) -> None:
    """llama-server honours ``n`` and decodes concurrent requests in parallel slots."""
    body = {
        "messages": [{"role": "user", "content": "Name a Python keyword."}],
        "temperature": 0.8,
        "max_tokens": 8,
    }
    many, *singles = await asyncio.gather(
        _chat(local_model_server, n=3, **body),
        *(_chat(local_model_server, seed=i, **body) for i in range(3)),
    )
    choices = many["choices"]
    assert isinstance(choices, list)
    assert sorted(c["index"] for c in choices) == [0, 1, 2]
    assert all(len(s["choices"]) == 1 for s in singles)  # type: ignore[arg-type]

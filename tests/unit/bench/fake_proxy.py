"""A stand-in proxy on loopback for the benchmark's client tests: the OpenAI chat route, the
models list and the S* run traces, answering from a script ``(message, headers) -> Reply``."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.servers import ServerThread


@dataclass
class Reply:
    """What the fake proxy answers: the message text and, for S* runs, the candidates."""

    answer: str
    candidates: list[str] = field(default_factory=list)
    selected: int = 0
    status: int = 200
    picks: list[dict[str, Any]] = field(default_factory=list)


Script = Callable[[str, dict[str, str]], Reply]


@dataclass
class FakeProxy:
    base_url: str
    requests: list[dict[str, Any]]


def _app(script: Script, requests: list[dict[str, Any]]) -> FastAPI:
    app = FastAPI()
    traces: dict[str, dict[str, Any]] = {}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        model = {"id": "fake-coder", "object": "model", "created": 0, "owned_by": "test"}
        return {"object": "list", "data": [model]}

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> JSONResponse:
        body = await request.json()
        headers = {k: v for k, v in request.headers.items() if k.startswith("x-sstar-")}
        requests.append({"body": body, "headers": headers})
        reply = script(body["messages"][-1]["content"], headers)
        if reply.status != 200:
            error = {"message": "boom", "type": "server_error", "param": None, "code": None}
            return JSONResponse({"error": error}, status_code=reply.status)
        run_id = uuid.uuid4().hex
        applied = headers.get("x-sstar-mode") == "force"
        if applied:
            traces[run_id] = {
                "candidates": [
                    {"index": i, "best_round": 1, "revisions": [
                        {"round": 0, "program": "broken("},
                        {"round": 1, "program": program},
                    ]}
                    for i, program in enumerate(reply.candidates)
                ],
                "selected": reply.selected,
                "usage": {"prompt_tokens": 100, "completion_tokens": 50},
                "picks": reply.picks,
            }  # fmt: skip
        completion = {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.answer},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150},
        }
        out = {"x-sstar-run-id": run_id, "x-sstar-applied": str(applied).lower()}
        out["x-sstar-reason"] = "forced" if applied else "off"
        return JSONResponse(completion, headers=out)

    @app.get("/v1/sstar/runs/{run_id}")
    async def run(run_id: str) -> JSONResponse:
        if run_id not in traces:
            return JSONResponse({"error": {"message": "no such run"}}, status_code=404)
        return JSONResponse(traces[run_id])

    return app


@contextmanager
def serve_fake_proxy(script: Script) -> Iterator[FakeProxy]:
    """Serve the fake proxy on a free loopback port for the duration of the block."""
    requests: list[dict[str, Any]] = []
    with ServerThread(_app(script, requests), lifespan="off") as server:
        yield FakeProxy(base_url=f"{server.url}/v1", requests=requests)

"""A scripted, recording, OpenAI-compatible upstream that really listens on loopback.

Use it wherever a test needs "the model": point ``SSTAR_UPSTREAM_API_BASE`` (or
``Settings(upstream_api_base=...)``) at ``fake.base_url``. A responder decides each answer::

    def responder(path: str, body: dict) -> Reply | str | list[str] | None:
        if "reverse" in last_user_text(body):
            return ["```python\\nprint(input()[::-1])\\n```"] * body.get("n", 1)  # one per choice
        return Reply(status=429, error="slow down", headers={"retry-after": "0"})

``str`` = every choice says that; ``list[str]`` = one text per choice; ``None`` = the default
answer; ``Reply`` = anything else (tool calls, usage, errors, latency, mid-stream failure, a raw
body such as invalid JSON). Faults below HTTP (a connection reset, a refused connection) are in
``tests/raw_upstream.py``.
Streaming, ``n``, ``logprobs``, ``stream_options.include_usage``, ``/v1/completions``,
``/v1/embeddings`` (float or base64), ``/v1/responses`` (``tests/fake_responses.py``) and
``/v1/models`` are built in. Every request is recorded
(``fake.requests``: path, headers, body, and whether the client disconnected before the end).

Run standalone (benchmarks): ``python -m tests.fake_upstream --port 9100``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fake_openai import InjectedFailure, Reply, build_json, build_stream
from tests.fake_responses import build_response_json, build_response_stream
from tests.servers import ServerThread

__all__ = ["FakeUpstream", "RecordedRequest", "Reply", "Responder", "last_user_text"]

Responder = Callable[[str, dict[str, Any]], "Reply | str | Sequence[str] | None"]


def last_user_text(body: dict[str, Any]) -> str:
    """The text of the last user message (content parts joined), '' when there is none."""
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return "".join(p.get("text", "") for p in content if isinstance(p, dict))
            return content or ""
    return ""


@dataclass
class RecordedRequest:
    """One request as the fake upstream received it."""

    method: str
    path: str
    headers: dict[str, str]
    raw: bytes
    json: Any
    disconnected: bool = False
    completed: bool = False


def _as_reply(answer: Reply | str | Sequence[str] | None) -> Reply:
    if answer is None:
        return Reply()
    if isinstance(answer, Reply):
        return answer
    if isinstance(answer, str):
        return Reply(text=answer)
    return Reply(texts=list(answer))


@dataclass
class FakeUpstream:
    """The fake server's state; ``start()``/``stop()`` or use it as a context manager."""

    responder: Responder | None = None
    models: list[str] = field(default_factory=lambda: ["fake-model", "fake-coder"])
    known_models: set[str] | None = None
    requests: list[RecordedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._server: ServerThread | None = None
        self._changed = threading.Condition()

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self, port: int = 0) -> FakeUpstream:
        self._server = ServerThread(self.asgi_app(), port=port, lifespan="off").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``, the value for ``upstream_api_base``."""
        assert self._server is not None, "FakeUpstream not started"
        return f"{self._server.url}/v1"

    # --- inspection --------------------------------------------------------------------------
    @property
    def last(self) -> RecordedRequest:
        assert self.requests, "the fake upstream received no request"
        return self.requests[-1]

    def reset(self, responder: Responder | None = None) -> None:
        self.requests.clear()
        self.responder = responder

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Block until ``predicate()`` holds (re-checked whenever a request changes)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(min(remaining, 0.05))
        return True

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    # --- the app -----------------------------------------------------------------------------
    def asgi_app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/models", self._models, methods=["GET"]),
                Route("/v1/{endpoint:path}", self._generate, methods=["POST"]),
                Route("/tokenize", self._tokenize, methods=["POST"]),
            ]
        )

    async def _tokenize(self, request: Request) -> Response:
        """llama.cpp's tokenizer endpoint; one token per whitespace-separated word."""
        raw = await request.body()
        self._record(request, raw)
        content = json.loads(raw).get("content", "")
        return JSONResponse({"tokens": list(range(len(content.split())))})

    async def _models(self, request: Request) -> Response:
        self._record(request, b"")
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in self.models]
        return JSONResponse({"object": "list", "data": data})

    def _record(self, request: Request, raw: bytes) -> RecordedRequest:
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        record = RecordedRequest(
            request.method, request.url.path, dict(request.headers), raw, parsed
        )
        self.requests.append(record)
        self._notify()
        return record

    async def _generate(self, request: Request) -> Response:
        raw = await request.body()
        record = self._record(request, raw)
        endpoint = request.path_params["endpoint"]
        body = record.json if isinstance(record.json, dict) else {}
        if self.known_models is not None and body.get("model") not in self.known_models:
            reply = Reply(status=404, error=f"The model `{body.get('model')}` does not exist.")
        else:
            reply = _as_reply(self.responder(endpoint, body) if self.responder else None)
        if reply.delay_s and await self._disconnected_during(request, reply.delay_s, record):
            return Response(status_code=499)
        if (
            reply.status >= 400
            or reply.raw is not None
            or not (reply.stream if reply.stream is not None else body.get("stream"))
        ):
            record.completed = True
            self._notify()
            if endpoint == "responses":
                return build_response_json(body, reply)
            return build_json(endpoint, body, reply)
        chunks = (
            build_response_stream(body, reply)
            if endpoint == "responses"
            else build_stream(endpoint, body, reply)
        )
        return StreamingResponse(
            self._tracked(chunks, record),
            media_type="text/event-stream",
            headers=reply.headers,
        )

    async def _disconnected_during(
        self, request: Request, seconds: float, record: RecordedRequest
    ) -> bool:
        try:
            async with asyncio.timeout(seconds):
                while (await request.receive())["type"] != "http.disconnect":
                    pass
        except TimeoutError:
            return False
        record.disconnected = True
        self._notify()
        return True

    async def _tracked(self, chunks: Any, record: RecordedRequest) -> Any:
        failed = False
        try:
            async for chunk in chunks:
                yield chunk
            record.completed = True
        except InjectedFailure:
            failed = True
            raise
        finally:
            if not record.completed and not failed:
                record.disconnected = True
            self._notify()


def main() -> None:
    parser = argparse.ArgumentParser(description="serve the fake OpenAI-compatible upstream")
    parser.add_argument("--port", type=int, default=9100)
    args = parser.parse_args()
    import uvicorn

    uvicorn.run(
        FakeUpstream().asgi_app(),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()

"""Property: no input a client controls gets a 5xx (or no reply) from the proxy's own code.

Hypothesis generates request bodies and headers: valid chat requests (some of them coding tasks,
so S* runs when it is on), the same with hostile values (nesting thousands deep, lone surrogates,
NaN/Infinity and overflowing numbers, integers of thousands of digits, wrong types for every
known field and S* control, unknown fields, control characters), non-object and unparsable
bodies, and random extra headers (the S* control headers with junk values among them). The app
runs in-process (``httpx.ASGITransport``) against the fake upstream, with S* off and on (the
real bubblewrap sandbox). Every answer must be below 500 and, when an error, OpenAI's envelope.
Afterwards the server must still be healthy: ``/health`` answers and a normal request works.

The one designed 5xx a client can ask for is a 504 ``timeout`` when it forced S* with its own
deadline or token budget and nothing could be answered in it (README "Failure modes"); it is
accepted only for requests that set one of those controls.

Deterministic for CI: ``derandomize=True`` (examples derived from the test, no database), a
bounded number of examples per app, no per-example deadline.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from asgi_lifespan import LifespanManager
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxy.api.controls import HEADER_FIELDS, header_name
from proxy.app import create_app
from proxy.settings import Settings
from tests.fake_upstream import FakeUpstream, Reply, last_user_text
from tests.sum_task import PROGRAM, SAMPLING, TASK

# Valid values per field (JSON text), so that many requests are answered for real (pass-through
# or S*), not only refused; the fuzz mixes them with wrong types and hostile fragments.
VALID = {
    "stream": ["true", "false"],
    "stream_options": ['{"include_usage": true}', "{}"],
    "n": ["1", "2"],
    "temperature": ["0", "0.7", "2"],
    "top_p": ["1", "0.5"],
    "presence_penalty": ["0", "-2", "1.5"],
    "frequency_penalty": ["0.1"],
    "repetition_penalty": ["1.1"],
    "min_p": ["0.05"],
    "top_k": ["-1", "40"],
    "logit_bias": ['{"42": -100}', "{}"],
    "max_tokens": ["1", "64"],
    "max_completion_tokens": ["16"],
    "seed": ["7", "-3", str(2**63)],
    "stop": ['"\\n"', '["x", "y"]'],
    "tools": ['[{"type": "function", "function": {"name": "f", "parameters": {}}}]'],
    "tool_choice": ['"none"', '"auto"'],
    "functions": ["[]"],
    "response_format": ['{"type": "text"}', '{"type": "json_object"}'],
    "logprobs": ["false", "true"],
    "top_logprobs": ["0", "2"],
    "user": ['"u1"'],
    "prompt": ['"def f("'],
    "suffix": ['"x"'],
    "input": ['"hi"'],
}
VALID_CONTROLS = {
    "mode": ['"auto"', '"force"', '"off"', '"FORCE"'],
    "samples": ["1", "2"],
    "rounds": ["0", "1"],
    "selection": ['"majority"', '"first"', '"adaptive"', '"judge"', '"public"'],
    "temperature": ["0.2", "0"],
    "max_tokens": ["100000"],
    "deadline_ms": ["10000"],
    "aux_model": ['"fake-model"'],
    "output": ['"code"', '"message"'],
    "progress": ["true", "false"],
    "seed": ["1"],
    "tests": ['[{"input": "1 2\\n", "output": "3"}]', "[]"],
}
CHAT_FIELDS = tuple(VALID)
CONTROLS = tuple(VALID_CONTROLS)
BUDGET_CONTROLS = ("deadline_ms", "max_tokens")

# --- JSON fragments: bodies are assembled as text, so that they can hold what Python's json
# --- module would never write (NaN, nesting past the recursion limit, lone surrogates).

_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
_wrong = st.recursive(
    _json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
).map(json.dumps) | st.sampled_from(
    ['"yes"', '"true"', "1", "0", "-1", "true", "null", "[]", "{}", '"1"', "2.5", '""', "1e3"]
)


def _string_with(escape: str) -> Callable[[tuple[str, str]], str]:
    def build(parts: tuple[str, str]) -> str:
        return json.dumps(parts[0])[:-1] + escape + json.dumps(parts[1])[1:]

    return build


_surrogate_strings = st.sampled_from(["\\ud800", "\\udfff", "\\udbff", "\\udc00x"]).flatmap(
    lambda escape: st.tuples(st.text(max_size=4), st.text(max_size=4)).map(_string_with(escape))
)
_hostile = st.one_of(
    st.integers(129, 3_000).map(lambda d: "[" * d + "]" * d),
    st.integers(129, 1_500).map(lambda d: '{"a":' * d + "0" + "}" * d),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1E400", "1e308", "-0", "0.0"]),
    st.integers(1, 6_000).map(lambda k: "9" * k),
    _surrogate_strings,
    st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=4).map(json.dumps),
    st.sampled_from(['"a\x00b"', '"\x1f"', '"\\q"', "[1,]", "{", "tru", "'x'"]),  # invalid JSON
)
_any = st.one_of(_wrong, _hostile)
TIERS = ("valid", "valid", "wrong", "hostile")
"""How bad one body's values may be: valid only (half the bodies: these reach the upstream or
S*), also wrong types, also hostile fragments (every field valid or not, independently)."""


_harmless = st.sampled_from(['"x"', "1", "true", "null", "[]", "{}"])  # for unknown fields


def _bad(tier: str) -> st.SearchStrategy[str]:
    return _harmless if tier == "valid" else _wrong if tier == "wrong" else _any


def _fields(
    names: st.SearchStrategy[str], table: dict[str, list[str]], tier: str, max_size: int
) -> st.SearchStrategy[dict[str, str]]:
    """Up to ``max_size`` fields, each valid for its name or (tier permitting) a bad value."""

    def value(name: str) -> st.SearchStrategy[str]:
        valid = st.sampled_from(table.get(name) or ['"x"'])
        return valid if tier == "valid" else st.one_of(valid, valid, _bad(tier))

    pairs = names.flatmap(lambda name: value(name).map(lambda v: (name, v)))
    return st.lists(pairs, max_size=max_size).map(dict)


def _object(fields: dict[str, str]) -> str:
    return "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in fields.items()) + "}"


@st.composite
def _message(draw: st.DrawFn, tier: str) -> str:
    roles = st.sampled_from(['"user"', '"system"', '"assistant"', '"tool"'])
    texts = st.sampled_from([TASK, "hi", ""]).map(json.dumps)
    if tier == "valid":
        return _object({"role": draw(roles), "content": draw(texts)})
    bad = _bad(tier)
    parts = st.lists(bad, max_size=2).map(lambda v: "[" + ",".join(v) + "]")
    fields = {"role": draw(roles | bad), "content": draw(st.one_of(texts, parts, bad))}
    fields.update(
        draw(st.dictionaries(st.sampled_from(["name", "tool_calls", "x"]), bad, max_size=1))
    )
    return _object(fields)


def _messages(tier: str) -> st.SearchStrategy[str]:
    task = st.just(json.dumps([{"role": "user", "content": TASK}]))
    listed = st.lists(_message(tier), min_size=1, max_size=3).map(lambda m: "[" + ",".join(m) + "]")
    return st.one_of(task, task, listed) if tier == "valid" else st.one_of(task, listed, _bad(tier))


@dataclass(frozen=True)
class Case:
    """One generated request."""

    method: str
    path: str
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...]

    def __repr__(self) -> str:
        body = self.body if len(self.body) <= 400 else self.body[:400] + b"..."
        headers = [(n, v if len(v) <= 80 else v[:80] + b"...") for n, v in self.headers]
        return f"Case({self.method} {self.path} body[{len(self.body)}]={body!r} {headers!r})"

    def sets_budget(self) -> bool:
        names = {header_name(c).encode() for c in BUDGET_CONTROLS}
        text = self.body.decode("utf-8", "replace")
        return any(n.lower() in names for n, _ in self.headers) or any(
            f'"{c}"' in text for c in BUDGET_CONTROLS
        )


@st.composite
def _chat_body(draw: st.DrawFn) -> bytes:
    tier = draw(st.sampled_from(TIERS))
    fields = {"model": '"fake-model"', "messages": draw(_messages(tier))}
    if draw(st.booleans()):
        controls = _fields(st.sampled_from(CONTROLS), VALID_CONTROLS, tier, max_size=3)
        fields["sstar"] = _object(draw(controls))
    fields.update(draw(_fields(st.sampled_from(CHAT_FIELDS), VALID, tier, max_size=3)))
    fields.update(draw(st.dictionaries(st.text(min_size=1, max_size=8), _bad(tier), max_size=1)))
    if tier != "valid":
        for name in draw(st.sets(st.sampled_from(["model", "messages"]), max_size=1)):
            fields.pop(name, None)
    return _object(fields).encode()


@st.composite
def _other_body(draw: st.DrawFn) -> bytes:
    tier = draw(st.sampled_from(TIERS))
    field = draw(st.sampled_from(["prompt", "input"]))
    good = st.sampled_from(['"hi"', '["a", "b"]', "[1, 2]"])
    fields = {"model": '"fake-model"', field: draw(good if tier == "valid" else good | _bad(tier))}
    fields.update(draw(_fields(st.sampled_from(CHAT_FIELDS), VALID, tier, max_size=2)))
    return _object(fields).encode()


_raw_bodies = st.one_of(
    st.sampled_from([b"", b"[]", b"null", b"1", b'"x"', b"{", b"\xff\xfe{}", b"{}"]),
    st.binary(max_size=40),
    _hostile.map(str.encode),
)

_header_names = st.one_of(
    st.sampled_from([header_name(f) for f in HEADER_FIELDS]),
    st.sampled_from(
        [
            "authorization",
            "api-key",
            "content-type",
            "accept",
            "x-request-id",
            "idempotency-key",
            "x-stainless-retry-count",
            "user-agent",
            "openai-project",
        ]
    ),
    st.from_regex(r"x-[a-z0-9-]{1,16}", fullmatch=True),
)
_header_values = st.one_of(
    st.sampled_from(
        ["nan", "inf", "-1", "0", "1", "99999999999999999999999", "force", "off", "true", "yes"]
    ),
    st.sampled_from(["", " ", "Bearer ", "Bearer k", "majority", "code", "1e3", "0.5"]),
    st.text(
        alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
        max_size=24,
    ),
    st.integers(1_000, 200_000).map(lambda n: "v" * n),
)
_valid_headers = st.sampled_from(
    [
        ("x-sstar-mode", "force"),
        ("x-sstar-mode", "off"),
        ("x-sstar-samples", "2"),
        ("x-sstar-rounds", "1"),
        ("x-sstar-selection", "majority"),
        ("x-sstar-output", "code"),
        ("x-sstar-progress", "true"),
        ("x-sstar-deadline-ms", "10000"),
        ("x-sstar-seed", "3"),
        ("x-stainless-retry-count", "1"),
        ("idempotency-key", "k-1"),
    ]
)
_headers = st.lists(_valid_headers | st.tuples(_header_names, _header_values), max_size=4).map(
    lambda pairs: tuple((n.encode(), v.encode("latin-1")) for n, v in pairs)
)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    kind = draw(st.sampled_from(["chat"] * 6 + ["completions", "embeddings", "raw", "trace"]))
    headers = draw(_headers)
    if kind == "trace":
        run_id = draw(st.text(max_size=40))
        return Case("GET", "/v1/sstar/runs/" + quote(run_id, safe=""), b"", headers)
    if kind == "chat":
        return Case("POST", "/v1/chat/completions", draw(_chat_body()), headers)
    if kind == "raw":
        path = draw(st.sampled_from(["/v1/chat/completions", "/v1/completions", "/v1/embeddings"]))
        return Case("POST", path, draw(_raw_bodies), headers)
    return Case("POST", f"/v1/{kind}", draw(_other_body()), headers)


# --- the app on its own event loop, driven one example at a time ----------------------------


class InProcessProxy:
    """The proxy with its lifespan running, on a private loop (hypothesis examples are sync)."""

    def __init__(self, settings: Settings) -> None:
        self._loop = asyncio.new_event_loop()
        self._app = create_app(settings)
        self._http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self._app), base_url="http://proxy.test", timeout=60
        )
        try:
            self._lifespan = self._loop.run_until_complete(self._start())
        except BaseException:
            self._loop.close()
            raise

    async def _start(self) -> LifespanManager:
        # NOTE: made inside the loop: the manager detects its async library when created.
        lifespan = LifespanManager(self._app)
        await lifespan.__aenter__()
        return lifespan

    def send(self, case: Case) -> httpx.Response:
        return self._loop.run_until_complete(
            self._http.request(
                case.method, case.path, content=case.body, headers=list(case.headers)
            )
        )

    def close(self) -> None:
        try:
            self._loop.run_until_complete(self._stop())
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        finally:
            self._loop.close()

    async def _stop(self) -> None:
        await self._http.aclose()
        await self._lifespan.__aexit__(None, None, None)
        # NOTE: as asyncio.run does: tasks left behind (litellm's logging worker) are cancelled
        # and awaited, so no coroutine dies un-awaited with the loop.
        leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in leftover:
            task.cancel()
        await asyncio.gather(*leftover, return_exceptions=True)


def check(response: httpx.Response, case: Case) -> None:
    """The property: below 500 (or the designed budget 504), an error is OpenAI's envelope."""
    status = response.status_code
    error = response.json().get("error") if status >= 400 else None
    if status >= 500:
        designed = status == 504 and error is not None and error.get("type") == "timeout"
        assert designed, (status, response.text[:500])
        assert case.sets_budget(), (status, response.text[:500])
    if status >= 400:
        assert isinstance(error, dict), response.text[:500]
        assert isinstance(error["message"], str)
        assert isinstance(error["type"], str)
    elif response.headers.get("content-type", "").startswith("text/event-stream"):
        assert response.text.endswith("data: [DONE]\n\n"), response.text[-300:]
    for name, value in response.headers.items():
        assert value.isascii(), (name, value)
        assert value.isprintable(), (name, value)


def assert_healthy(proxy: InProcessProxy, *, sstar: bool) -> None:
    health = proxy.send(Case("GET", "/health", b"", ()))
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    body = json.dumps({"model": "fake-model", "messages": [{"role": "user", "content": TASK}]})
    normal = proxy.send(Case("POST", "/v1/chat/completions", body.encode(), ()))
    assert normal.status_code == 200, normal.text
    assert normal.headers["x-sstar-applied"] == ("true" if sstar else "false")
    content = normal.json()["choices"][0]["message"]["content"]
    assert ("print(sum(" in content) if sstar else content


def respond(path: str, request: dict[str, Any]) -> Reply:
    if SAMPLING in last_user_text(request):
        return Reply(texts=[PROGRAM] * int(request.get("n") or 1))
    return Reply(text='```json\n["4 5\\n"]\n```')


FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture
def proxy_for(
    fake_upstream: FakeUpstream, make_settings: Callable[..., Settings]
) -> Iterator[Callable[..., InProcessProxy]]:
    fake_upstream.responder = respond
    opened: list[InProcessProxy] = []

    def open_(**overrides: Any) -> InProcessProxy:
        proxy = InProcessProxy(make_settings(**overrides))
        opened.append(proxy)
        return proxy

    yield open_
    for proxy in opened:
        proxy.close()


def test_no_input_gets_a_5xx_with_sstar_off(proxy_for):
    proxy = proxy_for(sstar_mode="off")

    @FUZZ
    @given(case=cases())
    def property_(case: Case) -> None:
        check(proxy.send(case), case)

    property_()
    assert_healthy(proxy, sstar=False)


@pytest.mark.bwrap
def test_no_input_gets_a_5xx_with_sstar_on(proxy_for):
    # Caps keep every run short: a request asking for more is a 400, not a long run.
    proxy = proxy_for(
        sstar_mode="auto",
        num_samples=1,
        max_samples=2,
        debug_rounds=0,
        max_rounds=1,
        deadline_s=15,
        max_deadline_s=15,
    )

    @settings(FUZZ, max_examples=60)
    @given(case=cases())
    def property_(case: Case) -> None:
        check(proxy.send(case), case)

    property_()
    assert_healthy(proxy, sstar=True)

"""The trace page and the runs page over HTTP, with the signed links that let a browser in.

The app runs in-process with its lifespan and the real bubblewrap sandbox against the scripted
fake upstream (as in ``test_trace_privacy.py``, whose helpers this reuses): every S* answer
carries ``x-sstar-trace-url``, that link alone (no key) reads that run, as JSON or as its page,
until it expires; the runs page lists the caller's own runs.
"""

from __future__ import annotations

import contextlib
import html
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from proxy.app import create_app
from proxy.runs import Grant
from proxy.settings import Settings
from tests.fake_upstream import FakeUpstream
from tests.integration.test_trace_privacy import LOOPBACK, REMOTE, client, respond, run_sstar
from tests.sum_task import TASK

pytestmark = pytest.mark.bwrap

BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture
def open_app(fake_upstream: FakeUpstream) -> Callable[..., Any]:
    """``async with open_app(**settings) as app``: the proxy, its lifespan running."""
    fake_upstream.responder = respond

    @contextlib.asynccontextmanager
    async def open_(**overrides: Any) -> AsyncIterator[FastAPI]:
        values: dict[str, Any] = {
            "upstream_api_base": fake_upstream.base_url,
            "upstream_retries": 0,
            "log_format": "console",
            "num_samples": 1,
            "debug_rounds": 0,
            "deadline_s": 60,
            **overrides,
        }
        app = create_app(Settings(**values))
        async with LifespanManager(app):
            yield app

    return open_


def path_of(url: str) -> str:
    """The path and query of an absolute URL the proxy wrote (for the in-process client)."""
    assert url.startswith("http://proxy.test/v1/sstar/runs"), url
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def visible_text(page: str) -> str:
    """The page's text: tags (the highlighting's spans) removed, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def runs_link(page: str) -> str:
    found = re.search(r'id="runs-link" href="([^"]+)"', page)
    assert found is not None, "the run page links the runs page"
    return found.group(1).replace("&amp;", "&")


async def test_the_answers_link_alone_reads_its_run_as_a_page_and_as_json(open_app):
    async with (
        open_app(api_keys="k1,k2") as app,
        client(app, REMOTE, "k1") as k1,
        client(app, REMOTE) as browser,
    ):
        answer = await run_sstar(k1)
        run_id = answer.headers["x-sstar-run-id"]
        url = answer.headers["x-sstar-trace-url"]
        assert url.startswith(f"http://proxy.test/v1/sstar/runs/{run_id}?expires=")
        page = await browser.get(path_of(url), headers=BROWSER)
        as_json = await browser.get(path_of(url))
        keyed = await k1.get(f"/v1/sstar/runs/{run_id}")
        without_link = await browser.get(f"/v1/sstar/runs/{run_id}", headers=BROWSER)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script" not in policy, "no script source is allowed"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["vary"] == "Accept"
    assert f'S* run <span class="mono">{run_id}</span>' in page.text
    assert 'id="candidate-0"' in page.text
    assert "print(sum(map(int, input().split())))" in visible_text(page.text)
    assert TASK.splitlines()[0] in page.text
    assert as_json.status_code == 200
    assert as_json.json() == keyed.json()
    assert as_json.headers["vary"] == "Accept"
    assert without_link.status_code == 401, "no link and no key: the key is still required"


async def test_a_link_grants_its_own_run_only_and_says_why_it_is_refused(open_app):
    async with (
        open_app(api_keys="k1,k2") as app,
        client(app, REMOTE, "k1") as k1,
        client(app, REMOTE, "k2") as k2,
        client(app, REMOTE) as browser,
    ):
        mine = await run_sstar(k1)
        theirs = (await run_sstar(k2)).headers["x-sstar-run-id"]
        query = urlsplit(mine.headers["x-sstar-trace-url"]).query
        other_run = await browser.get(f"/v1/sstar/runs/{theirs}?{query}")
        run_id = mine.headers["x-sstar-run-id"]
        links = app.state.sstar.links
        old = links.sign(Grant.RUN, run_id, now=time.time() - 2 * 3600)
        expired = await browser.get(f"/v1/sstar/runs/{run_id}?{old.query()}", headers=BROWSER)
        moved = query.replace("expires=", "expires=1")
        altered = await browser.get(f"/v1/sstar/runs/{run_id}?{moved}")
        half = await browser.get(f"/v1/sstar/runs/{run_id}?sig=abc")
        # a refused link is refused even with the key that could read the run
        keyed = await k1.get(f"/v1/sstar/runs/{run_id}?{old.query()}")
    for refused in (other_run, altered):
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "invalid_trace_link"
        assert refused.headers["x-should-retry"] == "false"
    assert expired.status_code == keyed.status_code == 401
    error = expired.json()["error"]
    assert (error["code"], error["param"], error["type"]) == (
        "trace_link_expired",
        "expires",
        "authentication_error",
    )
    assert "x-sstar-trace-url" in error["message"]
    assert half.status_code == 400
    assert half.json()["error"]["param"] == "expires"


async def test_the_runs_page_lists_the_callers_own_runs_newest_first(open_app):
    async with (
        open_app(api_keys="k1,k2") as app,
        client(app, REMOTE, "k1") as k1,
        client(app, REMOTE, "k2") as k2,
        client(app, REMOTE) as browser,
    ):
        first = (await run_sstar(k1, user="a")).headers["x-sstar-run-id"]
        second = await run_sstar(k1, user="b")
        theirs = (await run_sstar(k2)).headers["x-sstar-run-id"]
        listing = (await k1.get("/v1/sstar/runs")).json()
        their_listing = (await k2.get("/v1/sstar/runs")).json()
        nobody = await browser.get("/v1/sstar/runs", headers=BROWSER)
        run_page = await browser.get(path_of(second.headers["x-sstar-trace-url"]), headers=BROWSER)
        runs_page_url = runs_link(run_page.text)
        runs_page = await browser.get(path_of(runs_page_url), headers=BROWSER)
        listed_links = re.findall(
            r'<a href="(http://proxy\.test/v1/sstar/runs/[^"]+)"', runs_page.text
        )
        opened = [await browser.get(path_of(u.replace("&amp;", "&"))) for u in listed_links]
        forged = await browser.get(
            path_of(runs_page_url).replace(second.headers["x-sstar-run-id"], theirs)
        )
        app.state.sstar.store._traces.clear()  # every run evicted: the anchor's owner is unknown
        gone = await browser.get(path_of(runs_page_url))
        page_gone = await browser.get(path_of(second.headers["x-sstar-trace-url"]))
    assert listing["object"] == "list"
    assert [r["id"] for r in listing["data"]] == [second.headers["x-sstar-run-id"], first]
    assert listing["data"][0]["title"] == TASK.splitlines()[0]
    assert listing["data"][0]["candidates"] == 1
    assert [r["id"] for r in their_listing["data"]] == [theirs]
    assert nobody.status_code == 401
    assert runs_page.status_code == 200
    assert runs_page.headers["content-security-policy"].startswith("default-src 'none'")
    assert theirs not in runs_page.text
    assert len(listed_links) == 2
    assert [o.json()["id"] for o in opened] == [r["id"] for r in listing["data"]]
    # the page hands out links that expire with the one it was opened with, never later
    expiry = parse_qs(urlsplit(runs_page_url).query)["expires"]
    assert all(
        parse_qs(urlsplit(u.replace("&amp;", "&")).query)["expires"] == expiry for u in listed_links
    )
    assert forged.status_code == 401
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "run_not_found"
    assert page_gone.status_code == 404
    assert "still running" in page_gone.json()["error"]["message"]


async def test_without_keys_the_listing_follows_the_trace_rules(open_app):
    async with (
        open_app() as app,
        client(app, LOOPBACK) as local,
        client(app, REMOTE, "whatever") as remote,
    ):
        run_id = (await run_sstar(remote)).headers["x-sstar-run-id"]
        answer = await run_sstar(remote, user="streamed", stream=True)
        local_listing = await local.get("/v1/sstar/runs")
        remote_listing = await remote.get("/v1/sstar/runs")
        via_link = await remote.get(path_of(answer.headers["x-sstar-trace-url"]))
    assert run_id in [r["id"] for r in local_listing.json()["data"]]
    assert remote_listing.status_code == 403
    assert remote_listing.json()["error"]["code"] == "traces_not_public"
    assert via_link.status_code == 200, "a streamed answer carries its link too"
    assert via_link.json()["id"] == answer.headers["x-sstar-run-id"]


@pytest.mark.parametrize("settings", [{"trace_link_ttl_s": 0}, {"run_store_size": 0}])
async def test_no_link_when_links_are_off_or_no_trace_is_kept(open_app, settings):
    async with open_app(**settings) as app, client(app, LOOPBACK) as local:
        answer = await run_sstar(local)
        run_id = answer.headers["x-sstar-run-id"]
        signer = type(app.state.sstar.links)(b"x" * 32, ttl_s=60)
        stray = await local.get(
            f"/v1/sstar/runs/{run_id}?{signer.sign(Grant.RUN, run_id, now=time.time()).query()}"
        )
    assert "x-sstar-trace-url" not in answer.headers
    assert stray.status_code == 401
    assert stray.json()["error"]["code"] == "invalid_trace_link"
    if settings.get("trace_link_ttl_s") == 0:
        assert "turned off" in stray.json()["error"]["message"]


async def test_the_page_without_a_link_follows_the_trace_rules(open_app):
    async with open_app() as app, client(app, LOOPBACK) as local, client(app, REMOTE) as remote:
        run_id = (await run_sstar(local)).headers["x-sstar-run-id"]
        page = await local.get(f"/v1/sstar/runs/{run_id}", headers=BROWSER)
        refused = await remote.get(f"/v1/sstar/runs/{run_id}", headers=BROWSER)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "runs-link" in page.text, "the page links the runs page with a fresh signed link"
    assert refused.status_code == 404
    assert refused.headers["content-type"].startswith("application/json")

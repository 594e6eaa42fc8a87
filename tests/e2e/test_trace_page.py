"""The trace page in a real browser: Debian's Chromium, driven by Playwright, opens the link
from a real S* answer (the proxy served by uvicorn, the scripted upstream over HTTP, every
program run in the real bubblewrap sandbox) without any API key.

The page must load without a console error (a blocked external load or script would log one
under its Content-Security-Policy), request nothing but itself, and show the chosen program and
every candidate. Chromium is a test dependency like bubblewrap: ``scripts/setup`` installs it,
and a missing browser fails these tests, never skips them. ``CHROMIUM_PATH`` names another
binary; ``TRACE_PAGE_SCREENSHOT=path.png`` saves the page as the README shows it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

from proxy.app import create_app
from proxy.settings import Settings
from tests.e2e.test_sstar_sdk import CORRECT, CRASHING, OFF_BY_ONE, PROBLEM, Script
from tests.fake_upstream import FakeUpstream
from tests.servers import ServerThread

pytestmark = [pytest.mark.browser, pytest.mark.bwrap]

KEY = "sk-trace-page-test"


def chromium_path() -> str:
    """The system Chromium; its absence is a failure (scripts/setup installs it)."""
    named = os.environ.get("CHROMIUM_PATH")
    found = named or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found or not os.access(found, os.X_OK):
        pytest.fail(
            "Chromium is not installed (scripts/setup installs Debian's `chromium`; "
            "CHROMIUM_PATH names another binary)",
            pytrace=False,
        )
    return found


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    # NOTE: Playwright's own browser download cannot work here; the system browser is used.
    launched = playwright.chromium.launch(executable_path=chromium_path())
    yield launched
    launched.close()


@pytest.fixture(scope="module")
def proxy(fake_upstream_server: FakeUpstream) -> Iterator[str]:
    settings = Settings(
        upstream_api_base=fake_upstream_server.base_url,
        upstream_retries=0,
        log_format="console",
        log_level="warning",
        num_samples=3,
        debug_rounds=1,
        deadline_s=60,
        api_keys=KEY,
    )
    server = ServerThread(create_app(settings)).start()
    yield server.url
    server.stop()


@pytest.fixture
def answer(proxy: str, fake_upstream: FakeUpstream) -> httpx.Response:
    """A real S* answer: the greedy sample is off by one, one crashes, one is right."""
    fake_upstream.responder = Script(samples=(OFF_BY_ONE, CRASHING, CORRECT))
    body = {"model": "fake-model", "messages": [{"role": "user", "content": PROBLEM}]}
    headers = {"authorization": f"Bearer {KEY}"}
    response = httpx.post(f"{proxy}/v1/chat/completions", json=body, headers=headers, timeout=90)
    assert response.status_code == 200, response.text
    assert response.headers["x-sstar-applied"] == "true"
    return response


class Watched:
    """A page with everything it logged, threw and requested."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on("requestfailed", lambda request: self.errors.append(f"failed: {request.url}"))
        page.on("request", lambda request: self.requests.append(request.url))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "assert"):
            self.errors.append(f"console {message.type}: {message.text}")


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield Watched(context.new_page())
    context.close()


def squeezed(text: str) -> str:
    return " ".join(text.split())


def test_the_answers_link_opens_the_page_with_the_chosen_program_and_every_candidate(
    proxy: str, answer: httpx.Response, watched: Watched
) -> None:
    url = answer.headers["x-sstar-trace-url"]
    trace = httpx.get(
        f"{proxy}/v1/sstar/runs/{answer.headers['x-sstar-run-id']}",
        headers={"authorization": f"Bearer {KEY}"},
    ).json()
    page = watched.page
    response = page.goto(url)
    assert response is not None
    assert response.status == 200
    assert watched.errors == []
    assert watched.requests == [url], "the page loads nothing but itself"

    chosen = page.locator("#chosen")
    assert chosen.is_visible()
    assert squeezed(CORRECT) in squeezed(chosen.inner_text())
    assert f"candidate #{trace['selected']}" in chosen.inner_text()

    sections = page.locator("section.candidate")
    assert sections.count() == len(trace["candidates"]) == 3
    for candidate in trace["candidates"]:
        section = page.locator(f"#candidate-{candidate['index']}")
        section.scroll_into_view_if_needed()
        assert section.is_visible()
        best = candidate["revisions"][candidate["best_round"]]["program"]
        assert squeezed(best) in squeezed(section.inner_text())
    # the crashing sample was repaired: its first round is folded away, one click opens it
    repaired = next(c for c in trace["candidates"] if len(c["revisions"]) > 1)
    assert squeezed(repaired["revisions"][0]["program"]) == squeezed(CRASHING)
    first_round = page.locator(f"#candidate-{repaired['index']} details.revision").first
    assert squeezed(CRASHING) not in squeezed(first_round.inner_text())
    first_round.locator("summary").click()
    assert squeezed(CRASHING) in squeezed(first_round.inner_text())
    assert page.locator("#tournament h3").count() == len(trace["matches"])

    screenshot = os.environ.get("TRACE_PAGE_SCREENSHOT")
    if screenshot:
        page.locator("#chosen").scroll_into_view_if_needed()
        page.screenshot(path=screenshot, full_page=True)


def test_the_runs_page_is_reached_from_the_run_page_and_leads_back(
    answer: httpx.Response, watched: Watched
) -> None:
    run_id = answer.headers["x-sstar-run-id"]
    page = watched.page
    page.goto(answer.headers["x-sstar-trace-url"])
    page.locator("#runs-link").click()
    page.wait_for_load_state()
    row = page.locator(f'tr.run[data-run="{run_id}"]')
    assert row.is_visible()
    assert PROBLEM.splitlines()[0] in row.inner_text()
    row.locator("a").click()
    page.wait_for_load_state()
    assert run_id in page.locator("h1").inner_text()
    assert watched.errors == []


def test_an_altered_link_is_refused_in_words(
    proxy: str, answer: httpx.Response, watched: Any
) -> None:
    url = answer.headers["x-sstar-trace-url"]
    base, _, query = url.partition("?")
    params = dict(part.split("=", 1) for part in query.split("&"))
    response = watched.page.goto(f"{base}?expires={params['expires']}0&sig={params['sig']}")
    assert response is not None
    assert response.status == 401
    assert "not valid" in watched.page.content()

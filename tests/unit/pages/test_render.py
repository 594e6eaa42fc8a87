"""The pages as HTML: everything escaped, nothing external, nothing executable."""

from __future__ import annotations

from html.parser import HTMLParser

from proxy.pages.listing import run_summary
from proxy.pages.render import render_run_page, render_runs_page
from proxy.pages.view import run_view
from tests.unit.pages.traces import RUN_ID, trace
from tests.unit.test_layout import WEB, _violations

RUNS_URL = "http://proxy.test/v1/sstar/runs?run=x&expires=1&sig=s"


class Tags(HTMLParser):
    """Every start tag with its attributes, and the page's text."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def ids(self) -> set[str]:
        return {a["id"] or "" for _, a in self.tags if "id" in a}


def assert_self_contained(page: Tags, *, allowed_links: set[str]) -> None:
    assert all(tag not in ("script", "iframe", "object", "embed", "img") for tag, _ in page.tags)
    for tag, attrs in page.tags:
        assert "src" not in attrs, tag
        assert not any(name.startswith("on") for name in attrs), f"event handler on <{tag}>"
        href = attrs.get("href")
        if href is not None:
            assert href.startswith("#") or href in allowed_links or href == "data:,", href


def test_the_run_page_shows_each_part_and_loads_nothing() -> None:
    page = Tags(render_run_page(run_view(trace()), runs_url=RUNS_URL))
    assert {"chosen", "timeline", "task", "candidates", "clusters", "tournament"} <= page.ids()
    assert {"candidate-0", "candidate-1", "candidate-2"} <= page.ids()
    assert ("a", {"id": "runs-link", "href": RUNS_URL}) in page.tags
    assert_self_contained(page, allowed_links={RUNS_URL})
    text = "".join(page.text)
    assert RUN_ID in text
    for program in ("return a + b", "return a - b", "return a / 0"):
        assert program in text
    assert "debugging cut short by the deadline" in text
    assert "no: cut short" in text, "the debug stage did not complete as planned"
    assert "cluster 0 wins" in text


def test_text_the_proxy_did_not_write_is_escaped() -> None:
    hostile = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    document = trace(program=f"print('{hostile}')\n", reasons=[hostile])
    document["task"]["problem"] = hostile
    document["candidates"][0]["revisions"][0]["tests"][0]["actual"] = hostile
    html = render_run_page(run_view(document), runs_url=None)
    page = Tags(html)
    assert_self_contained(page, allowed_links=set())
    assert "<script>alert(1)" not in html
    assert "".join(page.text).count("<script>alert(1)</script>") >= 4  # shown, as text


def test_the_run_page_without_a_runs_link() -> None:
    page = Tags(render_run_page(run_view(trace()), runs_url=None))
    assert "runs-link" not in page.ids()


def test_code_is_highlighted_on_the_server() -> None:
    html = render_run_page(run_view(trace()), runs_url=None)
    assert '<div class="hl">' in html
    assert '<span class="k">return</span>' in html
    assert ".hl .k {" in html, "the colour rules are inlined"


def test_the_runs_page_links_every_run() -> None:
    urls = [f"http://proxy.test/v1/sstar/runs/run_{i}?expires=1&sig=s" for i in range(2)]
    summaries = [
        run_summary(f"run_{i}", trace(), stored_at=1_800_000_000.0 + i, url=url)
        for i, url in enumerate(urls)
    ]
    page = Tags(render_runs_page(summaries))
    assert_self_contained(page, allowed_links=set(urls))
    assert [a["href"] for tag, a in page.tags if tag == "a"] == urls
    text = "".join(page.text)
    assert "Write add(a, b) <script>alert(1)</script>" in text
    assert "2027-01-15 08:00:00 UTC" in text


def test_an_empty_runs_page_says_so() -> None:
    assert "No runs are stored for you" in "".join(Tags(render_runs_page([])).text)


def test_a_summary_is_the_json_listing_entry() -> None:
    summary = run_summary(RUN_ID, trace(), stored_at=1_800_000_000.5, url="u")
    assert summary.as_json() == {
        "id": RUN_ID,
        "object": "sstar.run.summary",
        "created": 1_800_000_000,
        "url": "u",
        "title": "Write add(a, b) <script>alert(1)</script>",
        "model": "fake-model",
        "kind": "function",
        "entry_point": "add",
        "selection": "adaptive",
        "selected": 2,
        "candidates": 3,
        "passed_public": 2,
        "total_tokens": 150,
        "upstream_calls": 6,
        "duration_ms": 1000.0,
        "plan": "N=3 R=1 tournament",
        "degraded": 1,
    }
    long = trace()
    long["task"]["problem"] = "\n\n" + "x" * 500
    assert len(run_summary(RUN_ID, long, stored_at=0, url="u").title) == 120


def test_the_pages_package_renders_only() -> None:
    assert _violations("proxy/pages", (*WEB, "litellm", "proxy.api", "proxy.scaling")) == []

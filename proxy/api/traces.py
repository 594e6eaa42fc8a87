"""The run traces over HTTP: ``GET /v1/sstar/runs/{id}`` (the trace: JSON, or the run's page
with ``Accept: text/html``) and ``GET /v1/sstar/runs`` (the caller's recent runs, likewise).

Who reads what (README "Security model", "The trace page"):

- With a signed link (``expires`` + ``sig``, from an answer's ``x-sstar-trace-url`` or from a
  page): exactly what the link grants, key or no key, until it expires; a link that does not
  verify is a 401 saying why (expired, or not valid), whatever else the request carries.
- Without a link: the JSON trace's rules (``access.py``). With ``SSTAR_API_KEYS`` a key is
  required (401) and reads only its own runs; without keys, loopback clients (or anyone, with
  ``SSTAR_PUBLIC_TRACES``) read every run, and others get the 404 of an unknown run, or a 403
  for the listing.

Pages are rendered in a worker thread (highlighting dozens of programs is CPU work) and sent
with a policy that forbids every script and external load, ``no-store`` and no referrer.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, Response

from proxy.api.access import is_loopback, presented_key, readable_trace
from proxy.api.deps import SettingsDep, SStarDep, require_client_key
from proxy.api.handlers import SafeJSONResponse
from proxy.api.sstar import SStarService
from proxy.api.trace_links import RUNS_PATH, link_in, trace_url
from proxy.errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
)
from proxy.pages.listing import RunSummary, run_summary
from proxy.pages.render import render_run_page, render_runs_page
from proxy.pages.view import run_view
from proxy.runs import Grant, LinkVerdict, SignedLink
from proxy.settings import Settings

trace_routes = APIRouter()

PAGE_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "vary": "Accept",
}


@trace_routes.get("/v1/sstar/runs/{run_id}")
@trace_routes.get("/sstar/runs/{run_id}", include_in_schema=False)
async def run_trace(
    run_id: str, request: Request, sstar: SStarDep, settings: SettingsDep
) -> Response:
    """The full trace of a recent S* run: JSON, or its page for ``Accept: text/html``.

    Private to its client: a trace this client may not read is a 404 exactly like an unknown
    id, unless it came with a signed link, which is judged on its own."""
    now = time.time()
    link = link_in(request)
    if link is not None:
        _check(sstar, Grant.RUN, run_id, link, now=now)
        trace = await sstar.trace(run_id, owner=None)
        if trace is None:  # NOTE: the link proves the run was answered to this reader
            raise _unknown_run(run_id, linked=True)
    else:
        await require_client_key(request)
        trace = await readable_trace(request, run_id, settings=settings, source=sstar)
    if trace is None:
        raise _unknown_run(run_id)
    if not wants_html(request.headers.get("accept")):
        return SafeJSONResponse(trace, headers={"vary": "Accept", "cache-control": "no-store"})
    runs_url = trace_url(
        request, sstar.links, Grant.RUNS, run_id, now=now, expires=link.expires if link else None
    )
    page = await run_in_threadpool(_run_page, trace, runs_url)
    return HTMLResponse(page, headers=PAGE_HEADERS)


@trace_routes.get("/v1/sstar/runs")
@trace_routes.get("/sstar/runs", include_in_schema=False)
async def recent_runs(request: Request, sstar: SStarDep, settings: SettingsDep) -> Response:
    """The caller's recent runs, newest first: ``{"object": "list", "data": [...]}``, or the
    runs page for ``Accept: text/html``. Each entry links its run's page (signed)."""
    now = time.time()
    link = link_in(request)
    if link is not None:
        anchor = request.query_params.get("run")
        if not anchor:
            raise InvalidRequestError("A runs link names its run (`run`).", param="run")
        _check(sstar, Grant.RUNS, anchor, link, now=now)
        owner = await sstar.store.owner(anchor)
        if owner is None:
            raise _unknown_run(anchor)
    else:
        owner = await _listing_owner(request, settings, sstar)
    expires = link.expires if link is not None else None
    stored_runs = await sstar.store.recent(owner=owner)
    summaries = [
        run_summary(
            stored.run_id,
            stored.trace,
            stored_at=stored.stored_at,
            url=_run_url(request, sstar, stored.run_id, now=now, expires=expires),
        )
        for stored in stored_runs
    ]
    if not wants_html(request.headers.get("accept")):
        body = {"object": "list", "data": [s.as_json() for s in summaries]}
        return SafeJSONResponse(body, headers={"vary": "Accept", "cache-control": "no-store"})
    page = await run_in_threadpool(_runs_page, summaries)
    return HTMLResponse(page, headers=PAGE_HEADERS)


def wants_html(accept: str | None) -> bool:
    """True when the client asks for HTML at least as much as for JSON (a browser's
    ``text/html,...,*/*;q=0.8``); ``*/*`` alone, or no header, stays JSON for API clients."""
    weights: dict[str, float] = {}
    for part in (accept or "").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[media.lower()] = max(weights.get(media.lower(), 0.0), weight)
    html = weights.get("text/html", 0.0)
    return html > 0 and html >= weights.get("application/json", 0.0)


def _check(sstar: SStarService, grant: Grant, run_id: str, link: SignedLink, *, now: float) -> None:
    verdict = sstar.links.verify(grant, run_id, link, now=now)
    if verdict is LinkVerdict.VALID:
        return
    if verdict is LinkVerdict.EXPIRED:
        expired = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(link.expires))
        message = (
            f"This trace link expired at {expired}. Every S* answer carries a fresh one "
            "(x-sstar-trace-url); with your API key, GET the trace directly."
        )
        raise AuthenticationError(message, param="expires", code="trace_link_expired")
    message = (
        "Trace links are turned off on this server (SSTAR_TRACE_LINK_TTL_S=0)."
        if verdict is LinkVerdict.DISABLED
        else "This trace link is not valid: altered, for another run, or signed by another "
        "server process (links die with the process unless SSTAR_TRACE_SECRET is set)."
    )
    raise AuthenticationError(message, param="sig", code="invalid_trace_link")


async def _listing_owner(request: Request, settings: Settings, sstar: SStarService) -> str | None:
    """Whose runs a caller without a link lists: its key's; everyone's for a reader who may
    read every trace (no keys configured, and loopback or public traces)."""
    await require_client_key(request)
    if settings.client_keys():
        return sstar.caller(presented_key(request))
    if settings.public_traces or is_loopback(request):
        return None
    raise PermissionDeniedError(
        "Runs are listed for loopback clients only on a server without client keys "
        "(SSTAR_API_KEYS, or SSTAR_PUBLIC_TRACES=true).",
        code="traces_not_public",
    )


def _run_url(
    request: Request, sstar: SStarService, run_id: str, *, now: float, expires: int | None
) -> str:
    """A run's page as linked from the runs page: signed, or plain when links are off."""
    signed = trace_url(request, sstar.links, Grant.RUN, run_id, now=now, expires=expires)
    return signed or f"{str(request.base_url).rstrip('/')}/{RUNS_PATH}/{run_id}"


def _unknown_run(run_id: str, *, linked: bool = False) -> NotFoundError:
    message = (
        f"S* run `{run_id}` is not stored: it is still running (a stream's link comes first; "
        "the page is there once the answer has ended), or it was evicted from the recent runs."
        if linked
        else f"No S* run `{run_id}` is stored here (unknown, or evicted from the recent runs)."
    )
    return NotFoundError(
        message,
        param="run_id",
        code="run_not_found",
    )


def _run_page(trace: Mapping[str, object], runs_url: str | None) -> str:
    return render_run_page(run_view(trace), runs_url=runs_url)


def _runs_page(summaries: list[RunSummary]) -> str:
    return render_runs_page(summaries)

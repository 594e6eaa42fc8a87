"""Trace links on the wire: reading one from a request, writing one as an absolute URL.

A link is the run's trace path with ``expires`` and ``sig`` as query parameters
(``proxy.runs.links`` signs and checks them); the runs page's link also names the run whose
owner's runs it lists (``run``). URLs are absolute, built from the request's base URL, so a
client can open the ``x-sstar-trace-url`` of an answer as it is.
"""

from __future__ import annotations

from starlette.requests import Request

from proxy.api.headers import MAX_HEADER_VALUE
from proxy.errors import InvalidRequestError
from proxy.runs import Grant, SignedLink, TraceLinks

RUNS_PATH = "v1/sstar/runs"
_MAX_EXPIRES = 10**12  # far beyond any lifetime the setting allows; keeps the number sane


def link_in(request: Request) -> SignedLink | None:
    """The link a request carries, ``None`` when it carries none; a half or malformed one is a
    400 naming the parameter (a link is never silently ignored: it is what the reader meant)."""
    expires = request.query_params.get("expires")
    sig = request.query_params.get("sig")
    if expires is None and sig is None:
        return None
    if sig is None:
        raise InvalidRequestError("A trace link needs both `expires` and `sig`.", param="sig")
    if expires is None or not expires.isdecimal() or int(expires) > _MAX_EXPIRES:
        raise InvalidRequestError("A trace link's `expires` must be Unix seconds.", param="expires")
    return SignedLink(int(expires), sig)


def trace_url(
    request: Request,
    links: TraceLinks,
    grant: Grant,
    run_id: str,
    *,
    now: float,
    expires: int | None = None,
) -> str | None:
    """The absolute, signed URL granting ``grant`` on ``run_id``; ``None`` when links are off.

    ``expires`` caps the link (a page opened with a link hands out links no longer-lived)."""
    if not links.enabled:
        return None
    link = links.sign(grant, run_id, now=now, expires=expires)
    base = str(request.base_url).rstrip("/")
    if grant is Grant.RUN:
        return f"{base}/{RUNS_PATH}/{run_id}?{link.query()}"
    return f"{base}/{RUNS_PATH}?run={run_id}&{link.query()}"


def trace_url_header(request: Request, links: TraceLinks, run_id: str, *, now: float) -> str | None:
    """The ``x-sstar-trace-url`` value of an answer, or ``None``: links off, or the URL too long
    for a header (a Host header of hundreds of characters) rather than a cut, broken link."""
    url = trace_url(request, links, Grant.RUN, run_id, now=now)
    if url is None or len(url) > MAX_HEADER_VALUE or not (url.isascii() and url.isprintable()):
        return None
    return url

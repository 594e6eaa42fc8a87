"""Signed, expiring links to a run's trace: how a browser reads what only an API key could.

A browser cannot send the client key, so every S* answer carries a link to its own run's page
(``x-sstar-trace-url``) that grants read access to that one run, and nothing else, until it
expires. The link holds the expiry (Unix seconds) and an HMAC-SHA256 over what it grants, keyed
with a key derived from the server's trace secret (``SSTAR_TRACE_SECRET``, random per process
when unset: links then die with the process, as the traces do). A second kind of link grants the
listing of the runs made by whoever made a given run (the "recent runs" page reached from a run
page): it names that run rather than the owner, so no hash of a client key ever appears in a URL.

Pure and clock-free: the caller passes ``now``. Nothing here knows about HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from enum import StrEnum

_DERIVATION = b"sstar-proxy trace links v1"
_SIGNATURE_CHARS = 43  # 32 bytes, base64url without padding


class Grant(StrEnum):
    """What a link lets its holder read."""

    RUN = "run"  # the run's trace, as a page or as JSON
    RUNS = "runs"  # the listing of the runs made by the run's owner


class LinkVerdict(StrEnum):
    """Why a link was accepted or refused (the refusals become distinct error codes)."""

    VALID = "valid"
    EXPIRED = "expired"
    INVALID = "invalid"  # altered, for something else, or signed by another process's secret
    DISABLED = "disabled"  # SSTAR_TRACE_LINK_TTL_S=0: the server issues and honours none


@dataclass(frozen=True, slots=True)
class SignedLink:
    """The query part of a link: ``expires`` (Unix seconds) and ``sig``."""

    expires: int
    sig: str

    def query(self) -> str:
        return f"expires={self.expires}&sig={self.sig}"


class TraceLinks:
    """Signs and checks trace links with one secret and one lifetime."""

    def __init__(self, secret: bytes, *, ttl_s: float) -> None:
        """``ttl_s`` is how long a new link stays valid; 0 turns links off entirely."""
        self._key = hmac.new(secret, _DERIVATION, hashlib.sha256).digest()
        self.ttl_s = ttl_s

    @property
    def enabled(self) -> bool:
        return self.ttl_s > 0

    def sign(
        self, grant: Grant, run_id: str, *, now: float, expires: int | None = None
    ) -> SignedLink:
        """A link for ``grant`` on ``run_id``, valid for the lifetime (or until ``expires``, for
        links handed out by a page that was itself opened with a link: never longer than it)."""
        until = int(now + self.ttl_s) if expires is None else expires
        return SignedLink(until, self._signature(grant, run_id, until))

    def verify(self, grant: Grant, run_id: str, link: SignedLink, *, now: float) -> LinkVerdict:
        """Whether ``link`` grants ``grant`` on ``run_id`` at ``now``; the signature is checked
        first (in constant time), so an expired verdict is only ever given to a genuine link."""
        if not self.enabled:
            return LinkVerdict.DISABLED
        expected = self._signature(grant, run_id, link.expires)
        if len(link.sig) != _SIGNATURE_CHARS or not hmac.compare_digest(
            expected.encode(), link.sig.encode("ascii", "replace")
        ):
            return LinkVerdict.INVALID
        return LinkVerdict.VALID if now <= link.expires else LinkVerdict.EXPIRED

    def _signature(self, grant: Grant, run_id: str, expires: int) -> str:
        message = b"\x00".join(
            (grant.value.encode(), run_id.encode("utf-8", "surrogatepass"), str(expires).encode())
        )
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

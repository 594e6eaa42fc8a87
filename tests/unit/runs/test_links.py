"""TraceLinks: a signed link grants one thing on one run until it expires, and nothing else."""

from __future__ import annotations

import pytest

from proxy.runs import Grant, LinkVerdict, SignedLink, TraceLinks

SECRET = b"s" * 32
NOW = 1_800_000_000.0


def links(ttl_s: float = 3600.0, secret: bytes = SECRET) -> TraceLinks:
    return TraceLinks(secret, ttl_s=ttl_s)


def test_a_link_is_valid_for_its_lifetime_then_expired() -> None:
    signer = links(ttl_s=60)
    link = signer.sign(Grant.RUN, "run_a", now=NOW)
    assert link.expires == int(NOW) + 60
    assert signer.verify(Grant.RUN, "run_a", link, now=NOW) is LinkVerdict.VALID
    assert signer.verify(Grant.RUN, "run_a", link, now=NOW + 60) is LinkVerdict.VALID
    assert signer.verify(Grant.RUN, "run_a", link, now=NOW + 61) is LinkVerdict.EXPIRED


@pytest.mark.parametrize(
    ("grant", "run_id", "secret"),
    [
        (Grant.RUN, "run_b", SECRET),  # another run
        (Grant.RUNS, "run_a", SECRET),  # another grant on the same run
        (Grant.RUN, "run_a", b"t" * 32),  # another process's secret
    ],
)
def test_a_link_grants_nothing_else(grant: Grant, run_id: str, secret: bytes) -> None:
    link = links().sign(Grant.RUN, "run_a", now=NOW)
    assert links(secret=secret).verify(grant, run_id, link, now=NOW) is LinkVerdict.INVALID


def test_a_moved_expiry_or_an_altered_signature_is_invalid_never_expired() -> None:
    signer = links()
    link = signer.sign(Grant.RUN, "run_a", now=NOW)
    later = SignedLink(link.expires + 3600, link.sig)
    assert signer.verify(Grant.RUN, "run_a", later, now=NOW) is LinkVerdict.INVALID
    # an old forged link must not learn "expired" (that would confirm the signature)
    earlier = SignedLink(link.expires - 7200, link.sig)
    assert signer.verify(Grant.RUN, "run_a", earlier, now=NOW) is LinkVerdict.INVALID
    flipped = link.sig[:-1] + ("A" if link.sig[-1] != "A" else "B")
    for sig in (flipped, link.sig[:-1], link.sig + "A", "", "é" * 43):
        bad = SignedLink(link.expires, sig)
        assert signer.verify(Grant.RUN, "run_a", bad, now=NOW) is LinkVerdict.INVALID


def test_a_capped_link_never_outlives_the_one_that_handed_it_out() -> None:
    signer = links(ttl_s=3600)
    link = signer.sign(Grant.RUNS, "run_a", now=NOW, expires=int(NOW) + 10)
    assert link.expires == int(NOW) + 10
    assert signer.verify(Grant.RUNS, "run_a", link, now=NOW + 11) is LinkVerdict.EXPIRED


def test_a_zero_lifetime_turns_links_off() -> None:
    signer = links(ttl_s=0)
    assert not signer.enabled
    link = links().sign(Grant.RUN, "run_a", now=NOW)
    assert signer.verify(Grant.RUN, "run_a", link, now=NOW) is LinkVerdict.DISABLED


def test_the_query_carries_expiry_and_signature_url_safe() -> None:
    link = links().sign(Grant.RUN, "run_a", now=NOW)
    assert link.query() == f"expires={link.expires}&sig={link.sig}"
    assert len(link.sig) == 43
    assert set(link.sig) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

"""Which requests are the same run: the key that lets a retry join a run instead of paying again.

Key = hash of (the canonical request body without its streaming options, the caller's identity,
the run's effective parameters). Two requests share a run only when all three agree, so runs are
never shared across callers, and a request that asks for different S* knobs starts its own.

The caller's identity is an HMAC-SHA256 of the client key it presented, keyed with a server
secret (``SSTAR_TRACE_SECRET``): the same value owns the run's trace (``store.py``). Keyed, so
that no plain hash of a client key exists anywhere (a leaked plain hash of a short key can be
brute-forced offline; the keyed one is useless without the server's secret).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from collections.abc import Mapping

from proxy.scaling.types import ScalingParams

_STREAMING_FIELDS = ("stream", "stream_options")


def caller_identity(presented_key: bytes | None, secret: bytes) -> str:
    """The keyed hash of the client key a caller presented (anonymous callers share one)."""
    return hmac.new(secret, presented_key or b"", hashlib.sha256).hexdigest()


def run_key(body: Mapping[str, object], params: ScalingParams, caller: str) -> str:
    """Identical request + caller + effective S* parameters = the same run.

    Streaming or not does not matter: a streamed retry of a JSON request joins its run.
    """
    payload = {
        "body": {k: v for k, v in body.items() if k not in _STREAMING_FIELDS},
        "params": dataclasses.asdict(params),
        "caller": caller,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()

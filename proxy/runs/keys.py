"""Which requests are the same run: the key that lets a retry join a run instead of paying again.

Key = hash of (the canonical request body without its streaming options, the caller's identity,
the run's effective parameters). Two requests share a run only when all three agree, so runs are
never shared across callers, and a request that asks for different S* knobs starts its own.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping

from proxy.scaling.types import ScalingParams

_STREAMING_FIELDS = ("stream", "stream_options")
_CREDENTIAL_HEADERS = ("authorization", "api-key", "x-api-key")


def caller_identity(headers: Mapping[str, str]) -> str:
    """A hash of the presented credentials (all anonymous callers share one identity)."""
    presented = next((headers[h] for h in _CREDENTIAL_HEADERS if headers.get(h)), "")
    return hashlib.sha256(presented.encode()).hexdigest()[:16]


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

"""When S* cannot answer: pass through with the reason, or refuse, for every answer format.

Chat (``serving.py``) and the Responses API (``responses.py``) fall back the same way: a run that
cannot start or failed before anything was sent is passed through and ``x-sstar-reason`` says
why, unless the request forced S* or the server is set to fail (``SSTAR_ON_SCALING_FAILURE``):
then the client gets the error instead of a silently different answer. A run the upstream
refused (429, 401, 403) is never passed through: the same upstream would refuse that too.
"""

from __future__ import annotations

from typing import Literal

import structlog

from proxy.api.controls import Controls
from proxy.errors import ProxyError, ScalingFailedError, UpstreamError
from proxy.metrics import Metrics
from proxy.scaling.breaker import REFUSALS
from proxy.settings import Settings

log = structlog.get_logger(__name__)

Why = Literal["sandbox_unavailable", "capacity", "run_failed"]
"""A fallback's cause: its ``sstar_fallbacks_total`` label."""

_REASONS: dict[Why, str] = {
    "sandbox_unavailable": "{error}",
    "capacity": "S* at capacity",
    "run_failed": "S* run failed: {error}",
}
"""The ``x-sstar-reason`` of each fallback (before "; answered by pass-through")."""


def pass_through_reason(
    why: Why, error: ProxyError, *, controls: Controls, settings: Settings, metrics: Metrics
) -> str:
    """The ``x-sstar-reason`` to pass through with; raises ``error`` when S* was forced or the
    server says fail instead."""
    reason = _REASONS[why].format(error=error.message)
    if controls.mode == "force" or settings.on_scaling_failure == "error":
        log.warning("scaling_refused", reason=reason)
        metrics.fell_back(why, action="error")
        raise error
    log.warning("scaling_fell_back", reason=reason)
    metrics.fell_back(why, action="passthrough")
    return f"{reason}; answered by pass-through"


def raise_if_refused_upstream(exc: ScalingFailedError, metrics: Metrics) -> None:
    """Re-raise a run the upstream refused: its answer (status, Retry-After) is the client's."""
    if isinstance(exc.cause, UpstreamError) and exc.cause.status_code in REFUSALS:
        log.warning("scaling_refused_upstream", status=exc.status_code)
        metrics.fell_back("upstream_refused", action="error")
        raise exc

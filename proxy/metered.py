"""The engine's two seams, wrapped at assembly so the S* engine needs no metrics of its own.

``create_app`` hands the engine a :class:`MeteredSandbox` and a :class:`TimedUpstream` around
the real ones. Both time the wait for the request's overhead clock (``proxy.overhead``); the
sandbox also reports every execution (status and time per input) to ``proxy.metrics``. The
engine's executor memoises results, so only programs that really ran are counted. Failed
upstream attempts are counted by the retry policy's observer instead (``proxy.metrics``), where
pass-through attempts are counted too.
"""

from __future__ import annotations

from proxy.metrics import Metrics
from proxy.overhead import waiting
from proxy.upstream.base import Upstream, UpstreamRequest, UpstreamResponse
from sandbox import ExecutionRequest, ExecutionResult, Sandbox, SandboxError


class MeteredSandbox:
    """A ``Sandbox`` that counts its executions and times the wait for them."""

    def __init__(self, inner: Sandbox, metrics: Metrics) -> None:
        self.inner = inner
        self._metrics = metrics

    async def run(self, request: ExecutionRequest) -> ExecutionResult:
        try:
            with waiting():
                result = await self.inner.run(request)
        except SandboxError:
            self._metrics.sandbox_failed(len(request.inputs))
            raise
        self._metrics.executed(result)
        return result

    async def aclose(self) -> None:
        await self.inner.aclose()


class TimedUpstream:
    """An ``Upstream`` whose calls count as the request's wait on the outside world."""

    def __init__(self, inner: Upstream) -> None:
        self.inner = inner

    async def complete(self, request: UpstreamRequest) -> UpstreamResponse:
        with waiting():
            return await self.inner.complete(request)

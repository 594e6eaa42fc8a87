"""The proxy's one error tree. Every error knows how it looks on the wire (OpenAI's envelope).

    ProxyError                        500 server_error
    ├── InvalidRequestError           400 invalid_request_error   (validation too, never 422)
    │   ├── PayloadTooLargeError      413 invalid_request_error
    │   └── HeadersTooLargeError      431 invalid_request_error   (the server refuses; closes)
    ├── ClientReadTimeoutError        408 invalid_request_error   (sent too slowly; closes)
    ├── AuthenticationError           401 authentication_error
    ├── PermissionDeniedError         403 permission_error        (known client, not allowed)
    ├── NotFoundError                 404 not_found_error
    ├── CapacityError                 429 rate_limit_error        (proxy saturated; Retry-After)
    ├── ClientDisconnectedError       499                         (the client left; never sent)
    ├── ConfigError                   500                         (startup: bad configuration)
    ├── UpstreamError                 502 upstream_error          (keeps the upstream's message)
    │   ├── UpstreamStatusError       the upstream's own 4xx/5xx status, kept as is
    │   ├── UpstreamRateLimitError    429 rate_limit_error
    │   └── UpstreamTimeoutError      504 timeout
    ├── ScalingBudgetExceededError    504 timeout                 (nothing to return in budget)
    │   └── BudgetExhaustedError      (inside the engine only: a cap stops the current stage)
    ├── ScalingFailedError            the cause's status          (S* failed before a byte was sent)
    ├── SandboxUnavailableError       503 server_error            (fail closed)
    └── ServerShuttingDownError       503 server_error            (drain timeout; retry elsewhere)

Errors a retry cannot fix carry ``should_retry = False``; the handler then sends
``x-should-retry: false`` so the official SDKs do not resend a deterministic failure. An upstream
error's ``should_retry`` and ``retry_after_s`` are set per instance: first from the upstream's
own headers, then by the retry policy when the proxy gives up (``proxy.upstream.retry``).
"""

from __future__ import annotations


class ProxyError(Exception):
    """Base of every error the proxy raises on purpose."""

    status_code: int = 500
    error_type: str = "server_error"
    should_retry: bool | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code
        self.retry_after_s = retry_after_s


class InvalidRequestError(ProxyError):
    """The request cannot be honoured as sent."""

    status_code = 400
    error_type = "invalid_request_error"
    should_retry = False


class PayloadTooLargeError(InvalidRequestError):
    """The request body exceeds the configured limit."""

    status_code = 413


class HeadersTooLargeError(InvalidRequestError):
    """The request line and headers together exceed ``max_header_bytes``."""

    status_code = 431

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"Request headers too large: the request line and headers may total {limit} bytes.",
            code="request_header_fields_too_large",
        )


class ClientReadTimeoutError(ProxyError):
    """The client did not send the request's headers, or its body, within the read timeout.

    Not an ``InvalidRequestError`` (whose retries are off): a slow network is not deterministic.
    """

    status_code = 408
    error_type = "invalid_request_error"

    def __init__(self, part: str, timeout_s: float) -> None:
        super().__init__(
            f"The request's {part} did not arrive within {timeout_s:g} s.",
            code="request_timeout",
        )


class AuthenticationError(ProxyError):
    """Missing or wrong client key."""

    status_code = 401
    error_type = "authentication_error"
    should_retry = False


class PermissionDeniedError(ProxyError):
    """The client is who it says, or needs no key, but may not have this (a runs listing)."""

    status_code = 403
    error_type = "permission_error"
    should_retry = False


class NotFoundError(ProxyError):
    """Unknown model, alias or run id."""

    status_code = 404
    error_type = "not_found_error"
    should_retry = False


class CapacityError(ProxyError):
    """The proxy is saturated; the client should come back later."""

    status_code = 429
    error_type = "rate_limit_error"


class ClientDisconnectedError(ProxyError):
    """The client closed the connection before the answer was ready (logged as 499)."""

    status_code = 499
    error_type = "client_disconnected"

    def __init__(self, message: str = "The client closed the connection.") -> None:
        super().__init__(message)


class ConfigError(ProxyError):
    """The configuration cannot be loaded (missing file, unreadable YAML); raised at startup."""


class UpstreamError(ProxyError):
    """The upstream model failed or could not be reached."""

    status_code = 502
    error_type = "upstream_error"


class UpstreamStatusError(UpstreamError):
    """The upstream answered with an error status, which we keep (an upstream 400 stays 400)."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        error_type: str | None = None,
        param: str | None = None,
        code: str | int | None = None,
    ) -> None:
        super().__init__(message, param=param, code=code)
        self.status_code = status_code
        if error_type:
            self.error_type = error_type


class UpstreamRateLimitError(UpstreamError):
    """The upstream rate-limited us."""

    status_code = 429
    error_type = "rate_limit_error"


class UpstreamTimeoutError(UpstreamError):
    """The upstream did not answer in time."""

    status_code = 504
    error_type = "timeout"


class ScalingBudgetExceededError(ProxyError):
    """An S* run hit its deadline or token budget with nothing to return."""

    status_code = 504
    error_type = "timeout"
    should_retry = False


class BudgetExhaustedError(ScalingBudgetExceededError):
    """A cap of an S* run was reached: the current stage stops and keeps what it has.

    Raised and caught inside the engine (``proxy.scaling``); it never reaches a client as such.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ScalingFailedError(ProxyError):
    """An S* run failed before any byte was sent, so the request may still be passed through.

    ``cause`` is what failed; the error takes its status and type when it is a proxy error
    (an upstream 429 stays a 429), else it is a 500 whose details are in the server log.
    """

    def __init__(self, message: str, *, cause: BaseException) -> None:
        super().__init__(message)
        self.cause = cause
        if isinstance(cause, ProxyError):
            self.status_code = cause.status_code
            self.error_type = cause.error_type
            self.should_retry = cause.should_retry
            self.param, self.code, self.retry_after_s = cause.param, cause.code, cause.retry_after_s


class SandboxUnavailableError(ProxyError):
    """The sandbox cannot execute code here and S* was forced; we never run code unsandboxed."""

    status_code = 503
    error_type = "server_error"
    should_retry = False


class ServerShuttingDownError(ProxyError):
    """The server is shutting down and the drain timeout ended this request; a retry (to
    another instance) can succeed, so ``x-should-retry: true``."""

    status_code = 503
    error_type = "server_error"
    should_retry = True

    def __init__(self) -> None:
        super().__init__(
            "The server is shutting down and could not finish this request; please retry.",
            code="server_shutting_down",
        )

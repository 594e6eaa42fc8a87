"""The worker's wire format: a batch of programs x inputs as JSON, and its results.

A batch is ``{"requests": [{"program", "inputs", "mode", "entry_point", "limits"}, ...]}``, the
fields of :class:`~sandbox.base.ExecutionRequest` (``limits`` holds the fields of
:class:`~sandbox.base.Limits`; an omitted field takes the sandbox's default); the answer is
``{"results": [{"runs": [RunResult fields]}]}`` in the same order. Both sides use this module,
so a result decoded by the client is field for field what the worker's ``BubblewrapSandbox``
returned (the engine cannot tell a remote sandbox from a local one).

Decoding is strict (pydantic at the edge: no coercion, unknown fields refused, finite numbers
only) and bounded by :class:`BatchCaps`: programs per batch, inputs per program, runs per batch,
program and input sizes, and every ``Limits`` field no looser than the worker's own maxima, so a
caller cannot buy more CPU, memory or time than the operator allowed. A refusal is an
:class:`InvalidBatchError` naming the field (``requests[0].limits.memory_mb``); it never quotes
the program or an input.

JSON is written with ``ensure_ascii``: a lone surrogate (which a model can produce) then travels
as an escape and arrives as the same string, which strict UTF-8 could not carry; it is read with
``json.loads`` for the same reason (pydantic's own JSON parser refuses such escapes).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sandbox.base import ExecutionRequest, ExecutionResult, Limits, RunResult, Status

DEFAULT_MAX_LIMITS = Limits(
    wall_time_s=30.0,
    cpu_time_s=30.0,
    memory_mb=1024,
    stdout_bytes=8 << 20,
    stderr_bytes=1 << 20,
    processes=64,
    file_size_bytes=64 << 20,
)
"""The loosest limits a worker grants by default (``python -m sandbox serve --max-*``)."""


@dataclass(frozen=True, slots=True)
class BatchCaps:
    """How big a batch a worker accepts, and the loosest ``Limits`` it grants."""

    max_programs: int = 64
    max_inputs: int = 256
    max_runs: int = 1024
    max_program_bytes: int = 256 << 10
    max_input_bytes: int = 1 << 20
    max_body_bytes: int = 32 << 20
    max_limits: Limits = field(default_factory=lambda: DEFAULT_MAX_LIMITS)


class InvalidBatchError(ValueError):
    """The batch cannot be run as sent; ``param`` names the field (a 400 on the wire)."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


_DEFAULT = Limits()


class _Limits(_Strict):
    wall_time_s: float = Field(_DEFAULT.wall_time_s, gt=0)
    cpu_time_s: float = Field(_DEFAULT.cpu_time_s, gt=0)
    memory_mb: int = Field(_DEFAULT.memory_mb, ge=1)
    stdout_bytes: int = Field(_DEFAULT.stdout_bytes, ge=1)
    stderr_bytes: int = Field(_DEFAULT.stderr_bytes, ge=1)
    processes: int = Field(_DEFAULT.processes, ge=1)
    file_size_bytes: int = Field(_DEFAULT.file_size_bytes, ge=1)


class _Request(_Strict):
    program: str
    inputs: list[str]
    mode: Literal["stdin", "function"] = "stdin"
    entry_point: str | None = None
    limits: _Limits | None = None


class _Batch(_Strict):
    requests: list[_Request] = Field(min_length=1)


class _Run(_Strict):
    status: Status = Field(strict=False)
    stdout: str
    stderr: str
    return_json: str | None
    error: str | None
    time_s: float = Field(ge=0)
    truncated: bool


class _Result(_Strict):
    runs: list[_Run]


class _Results(_Strict):
    results: list[_Result]


def _dump(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _load(body: bytes) -> Any:
    """JSON text to Python values; ``NaN``/``Infinity`` refused, lone surrogates kept."""
    return json.loads(body, parse_constant=_refuse_constant)


def _param(location: Sequence[int | str]) -> str:
    """``("requests", 0, "limits", "memory_mb")`` -> ``requests[0].limits.memory_mb``."""
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def encode_batch(requests: Sequence[ExecutionRequest]) -> bytes:
    """The JSON body of ``POST /v1/executions`` for ``requests``."""
    return _dump(
        {
            "requests": [
                {
                    "program": request.program,
                    "inputs": list(request.inputs),
                    "mode": request.mode,
                    "entry_point": request.entry_point,
                    "limits": dataclasses.asdict(request.limits),
                }
                for request in requests
            ]
        }
    )


def decode_batch(body: bytes, caps: BatchCaps) -> tuple[ExecutionRequest, ...]:
    """The requests of a batch body; ``InvalidBatchError`` names the first field at fault."""
    try:
        batch = _Batch.model_validate(_load(body))
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, ValidationError):
            error = exc.errors(include_input=False, include_url=False)[0]
            raise InvalidBatchError(error["msg"], param=_param(error["loc"]) or None) from None
        raise InvalidBatchError(f"the body is not valid JSON: {type(exc).__name__}") from None
    if len(batch.requests) > caps.max_programs:
        raise InvalidBatchError(f"at most {caps.max_programs} programs per batch", param="requests")
    if sum(len(request.inputs) for request in batch.requests) > caps.max_runs:
        raise InvalidBatchError(f"at most {caps.max_runs} inputs per batch", param="requests")
    return tuple(
        _request(request, f"requests[{i}]", caps) for i, request in enumerate(batch.requests)
    )


def _size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _request(wire: _Request, where: str, caps: BatchCaps) -> ExecutionRequest:
    if _size(wire.program) > caps.max_program_bytes:
        raise InvalidBatchError(
            f"a program may hold at most {caps.max_program_bytes} bytes", param=f"{where}.program"
        )
    if len(wire.inputs) > caps.max_inputs:
        raise InvalidBatchError(
            f"at most {caps.max_inputs} inputs per program", param=f"{where}.inputs"
        )
    for i, text in enumerate(wire.inputs):
        if _size(text) > caps.max_input_bytes:
            raise InvalidBatchError(
                f"an input may hold at most {caps.max_input_bytes} bytes",
                param=f"{where}.inputs[{i}]",
            )
    if wire.mode == "function" and not wire.entry_point:
        raise InvalidBatchError("function mode needs an entry_point", param=f"{where}.entry_point")
    limits = Limits(**wire.limits.model_dump()) if wire.limits is not None else Limits()
    for name, most in dataclasses.asdict(caps.max_limits).items():
        if getattr(limits, name) > most:
            raise InvalidBatchError(
                f"{name} may be at most {most} on this worker", param=f"{where}.limits.{name}"
            )
    return ExecutionRequest(
        program=wire.program,
        inputs=tuple(wire.inputs),
        mode=wire.mode,
        entry_point=wire.entry_point,
        limits=limits,
    )


def encode_results(results: Sequence[ExecutionResult]) -> bytes:
    """The JSON body answering a batch: one result per request, in order."""
    return _dump(
        {
            "results": [
                {"runs": [dataclasses.asdict(run) for run in result.runs]} for result in results
            ]
        }
    )


def decode_results(
    body: bytes, requests: Sequence[ExecutionRequest]
) -> tuple[ExecutionResult, ...]:
    """The results of ``requests`` from a worker's answer.

    Raises ``ValueError`` when the answer is malformed or does not hold one result per request
    and one run per input: the client then treats the worker as faulty, never the program.
    """
    results = _Results.model_validate(_load(body)).results
    if len(results) != len(requests) or any(
        len(result.runs) != len(request.inputs)
        for result, request in zip(results, requests, strict=True)
    ):
        raise ValueError("the worker's results do not match the batch")
    return tuple(
        ExecutionResult(tuple(RunResult(**run.model_dump()) for run in result.runs))
        for result in results
    )


def error_body(message: str, *, error_type: str, code: str, param: str | None = None) -> bytes:
    """An error in the proxy's (OpenAI's) envelope: ``{"error": {message, type, param, code}}``."""
    return _dump({"error": {"message": message, "type": error_type, "param": param, "code": code}})


def error_message(body: bytes) -> str | None:
    """The ``error.message`` of an error body, if it has one (for the client's reasons)."""
    try:
        value = _load(body)
    except (ValueError, RecursionError):
        return None
    error = value.get("error") if isinstance(value, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return message if isinstance(message, str) else None

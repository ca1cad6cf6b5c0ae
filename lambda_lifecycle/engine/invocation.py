"""One invocation as the engine tracks it, and what the caller gets back.

An :class:`Invocation` carries the request (payload, request id, tracing, client context), its
deadline, and two moments: *answered* (the runtime posted a response or an error, or the platform
answered for it: timeout, crash, oversized response) and *done* (the Invoke phase ended, so the
REPORT figures are known). The caller of :meth:`Environment.invoke` is released at the first;
:meth:`InvokeResult.report` waits for the second.

**Memory.** An invocation's request and response can be megabytes, so nothing keeps them past
their use: when the invocation ends, its payload is dropped (the runtime has had it) and the
result keeps the few figures its report needs instead of a reference back to the invocation.
Without that, the result and its invocation would form a reference loop, and every body would
wait for the garbage collector's rare full collections.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio

from ..core.deadlines import billed_duration_ms
from .waiters import Waiter

InvokeStatus = Literal["success", "error", "failure", "timeout"]


_random = random.Random()


def new_request_id() -> str:
    """A request id in AWS's format (a version-4 UUID).

    Request ids need to be unique, not secret (the Runtime API refuses any id but the current
    invocation's), so a fast pseudo-random generator is enough.
    """
    h = f"{_random.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def new_trace_id(wall_seconds: float) -> str:
    """An X-Ray trace header value, as Lambda puts in ``tracing`` when the caller sent none."""
    h = f"{_random.getrandbits(160):040x}"
    return f"Root=1-{int(wall_seconds):08x}-{h[:24]};Parent={h[24:40]};Sampled=0"


@dataclass(frozen=True, slots=True)
class InvokeReport:
    """The figures of a finished invocation, as REPORT and ``platform.report`` give them.

    ``duration_ms`` runs from the start of the Invoke phase (or of the suppressed init that
    preceded it) to its end, extensions included. ``init_duration_ms`` is set only on the first
    invocation of an environment after an on-demand Init phase. ``max_memory_used_mb`` is the
    sum of the peak resident memory of the environment's processes, rounded up to a MB; None
    when nothing measured it (in-process participants share the host process).
    """

    request_id: str
    status: InvokeStatus
    error_type: str | None
    duration_ms: float
    billed_duration_ms: int
    memory_size_mb: int
    max_memory_used_mb: int | None
    init_duration_ms: float | None
    restore_duration_ms: float | None
    response_latency_ms: float | None
    extension_overhead_ms: float
    suppressed_init: bool


@dataclass(slots=True)
class InvokeResult:
    """What the caller of an invocation receives, exactly once.

    ``body`` is the runtime's response, or the error JSON; ``function_error`` is ``"Unhandled"``
    for every function error (the invoke API's ``X-Amz-Function-Error`` header), None otherwise.
    """

    request_id: str
    body: bytes
    content_type: str
    function_error: str | None
    error: dict[str, Any] | None
    _invocation: Invocation | None = field(repr=False)  # until the invocation ends
    _figures: tuple[Any, ...] | None = field(default=None, repr=False)  # from then on

    @property
    def ok(self) -> bool:
        """True when the function answered without an error."""
        return self.function_error is None

    @property
    def error_type(self) -> str | None:
        """The error's ``errorType``, when there is an error."""
        return None if self.error is None else str(self.error.get("errorType"))

    def json(self) -> Any:
        """The body decoded as JSON."""
        return json.loads(self.body)

    async def report(self) -> InvokeReport:
        """Wait for the end of this invocation's Invoke phase and return its figures."""
        inv = self._invocation
        if inv is not None and inv.ended is None:
            if inv.done is None:
                inv.done = anyio.Event()
            await inv.done.wait()
        figures = self._figures
        if figures is None:  # ended before it was answered (only when driven by hand)
            assert inv is not None
            assert inv.ended is not None
            figures = inv._figures(inv.ended)
        return InvokeReport(**_report_fields(figures, self.error_type))


@dataclass(slots=True, eq=False)
class Invocation:
    """An invocation in flight."""

    request_id: str
    payload: bytes
    content_type: str
    trace_id: str
    client_context: str | None
    cognito_identity: str | None
    answered: Waiter
    done: anyio.Event | None = None
    _ended: float | None = None
    result: InvokeResult | None = None
    status: InvokeStatus = "success"
    deadline: float | None = None
    started: float | None = None  # the start of the invocation (or of its suppressed init)
    begun_at: float | None = None  # the start of its Invoke phase
    answered_at: float | None = None
    suppressed_init: bool = False
    delivered: bool = False
    init_ms: float | None = None
    restore_ms: float | None = None
    memory_size_mb: int = 0
    max_memory_used_mb: int | None = None
    version: str | None = None
    produced_bytes: int | None = None  # the size of the runtime's own answer
    stream_begun_at: float | None = None  # when the runtime began streaming its response

    def stream_began(self, now: float) -> None:
        """The runtime began a streamed response (its first bytes are on their way)."""
        if self.result is None and self.stream_begun_at is None:
            self.stream_begun_at = now

    @property
    def ended(self) -> float | None:
        """When the invocation ended (its Invoke phase, or the failure that ended it)."""
        return self._ended

    @ended.setter
    def ended(self, end: float | None) -> None:
        self._ended = end
        if end is None:
            return
        self.payload = b""  # delivered, or never to be
        result = self.result
        if result is not None and result._invocation is self:
            result._figures = self._figures(end)
            result._invocation = None  # no loop: the result alone holds its body

    def _figures(self, end: float) -> tuple[Any, ...]:
        """What a report is made of, but the error type (the result knows it)."""
        return (
            self.request_id,
            self.status,
            self.started,
            self.answered_at,
            end,
            self.delivered,
            self.init_ms,
            self.restore_ms,
            self.memory_size_mb,
            self.max_memory_used_mb,
            self.suppressed_init,
        )

    def make_report(self) -> InvokeReport:
        """The figures of the finished invocation (built on demand: most callers never ask)."""
        return InvokeReport(**self.report_fields())

    def report_fields(self) -> dict[str, Any]:
        """The :class:`InvokeReport` fields, by name (the ``invoke_end`` event's data)."""
        end = self.ended
        result = self.result
        assert end is not None
        assert result is not None
        return _report_fields(self._figures(end), result.error_type)

    def event_data(self, event_type: str) -> dict[str, Any]:
        """The data of the engine's ``invoke_start``, ``runtime_done`` or ``invoke_end`` event
        about this invocation, by name (see ``docs/engine.md``). Built on demand, from fields
        that no longer change once the event has happened."""
        if event_type == "invoke_start":
            return {
                "request_id": self.request_id,
                "version": self.version,
                "trace_id": self.trace_id,
            }
        if event_type == "invoke_end":
            return self.report_fields()
        result = self.result
        answered = self.answered_at
        assert result is not None
        assert answered is not None
        error = result.error
        started = self.started if self.started is not None else answered
        return {
            "request_id": self.request_id,
            "status": self.status,
            "error_type": result.error_type,
            "error_message": None if error is None else error.get("errorMessage"),
            "duration_ms": (answered - started) * 1000,
            "produced_bytes": self.produced_bytes,
        }

    def answer(
        self,
        now: float,
        body: bytes,
        content_type: str,
        error: dict[str, Any] | None = None,
        status: InvokeStatus | None = None,
    ) -> bool:
        """Record the answer; False (and nothing changes) when it was answered already."""
        if self.result is not None:
            return False
        self.result = InvokeResult(
            request_id=self.request_id,
            body=body,
            content_type=content_type,
            function_error=None if error is None else "Unhandled",
            error=error,
            _invocation=self,
        )
        self.status = status or ("success" if error is None else "error")
        self.answered_at = now
        self.answered.set()
        return True

    def answer_error(self, now: float, error: dict[str, Any], status: InvokeStatus) -> bool:
        """Answer with a platform error body (timeout, crash, oversized response)."""
        body = json.dumps(error, separators=(",", ":")).encode()
        return self.answer(now, body, "application/json", error, status)


def _report_fields(figures: tuple[Any, ...], error_type: str | None) -> dict[str, Any]:
    """The :class:`InvokeReport` fields of a finished invocation, by name, from its
    :meth:`Invocation._figures` and its error type."""
    (
        request_id,
        status,
        started,
        answered_at,
        end,
        delivered,
        init_ms,
        restore_ms,
        memory_size_mb,
        max_memory_used_mb,
        suppressed_init,
    ) = figures
    start = started if started is not None else end
    answered = answered_at if answered_at is not None else end
    duration_ms = (end - start) * 1000
    return {
        "request_id": request_id,
        "status": status,
        "error_type": error_type,
        "duration_ms": duration_ms,
        "billed_duration_ms": billed_duration_ms(duration_ms, init_ms),
        "memory_size_mb": memory_size_mb,
        "max_memory_used_mb": max_memory_used_mb,
        "init_duration_ms": init_ms,
        "restore_duration_ms": restore_ms,
        "response_latency_ms": (answered - start) * 1000 if delivered else None,
        "extension_overhead_ms": max(0.0, (end - answered) * 1000),
        "suppressed_init": suppressed_init,
    }

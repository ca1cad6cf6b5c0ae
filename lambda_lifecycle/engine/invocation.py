"""One invocation as the engine tracks it, and what the caller gets back.

An :class:`Invocation` carries the request (payload, request id, tracing, client context), its
deadline, and two moments: *answered* (the runtime posted a response or an error, or the platform
answered for it: timeout, crash, oversized response) and *done* (the Invoke phase ended, so the
REPORT figures are known). The caller of :meth:`Environment.invoke` is released at the first;
:meth:`InvokeResult.report` waits for the second.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio

InvokeStatus = Literal["success", "error", "failure", "timeout"]


def new_request_id() -> str:
    """A request id in AWS's format (a random UUID)."""
    raw = os.urandom(16).hex()
    return f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-a{raw[17:20]}-{raw[20:32]}"


def new_trace_id(wall_seconds: float) -> str:
    """An X-Ray trace header value, as Lambda puts in ``tracing`` when the caller sent none."""
    rand = os.urandom(20).hex()
    return f"Root=1-{int(wall_seconds):08x}-{rand[:24]};Parent={rand[24:40]};Sampled=0"


@dataclass(frozen=True, slots=True)
class InvokeReport:
    """The figures of a finished invocation, as REPORT and ``platform.report`` give them.

    ``duration_ms`` runs from the start of the Invoke phase (or of the suppressed init that
    preceded it) to its end, extensions included. ``init_duration_ms`` is set only on the first
    invocation of an environment after an on-demand Init phase. ``max_memory_used_mb`` is None
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
    _invocation: Invocation = field(repr=False)

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
        await inv.done.wait()
        assert inv.report is not None
        return inv.report


@dataclass(slots=True, eq=False)
class Invocation:
    """An invocation in flight."""

    request_id: str
    payload: bytes
    content_type: str
    trace_id: str
    client_context: str | None
    cognito_identity: str | None
    answered: anyio.Event = field(default_factory=anyio.Event)
    done: anyio.Event = field(default_factory=anyio.Event)
    result: InvokeResult | None = None
    report: InvokeReport | None = None
    status: InvokeStatus = "success"
    deadline: float | None = None
    started: float | None = None
    answered_at: float | None = None
    suppressed_init: bool = False
    delivered: bool = False

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

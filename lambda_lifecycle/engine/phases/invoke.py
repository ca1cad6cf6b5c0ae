"""The Invoke phase, and the books of an invocation.

:func:`begin` hands the invocation to the runtime's ``next`` and an INVOKE event to each
extension the core names, and arms the function timeout, which bounds the whole phase. The
caller is answered the moment the runtime answers; the phase ends (:func:`end`, called when the
core reports ``phase_complete``) when the runtime and each of those extensions have called
``next`` again, and the environment freezes. :func:`finish` closes an invocation's books exactly
once, whichever way it ended: its one answer (``Sandbox.Failure`` if nothing else answered it)
and its figures (durations, Init and Restore durations owed to it, Max Memory Used).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...core.environment import RUNTIME
from ...core.payloads import error_body
from ..clients import RuntimeEvent
from ..invocation import Invocation, InvokeStatus

if TYPE_CHECKING:
    from ..environment import Environment


@dataclass(slots=True)
class Books:
    """What a phase leaves for the invocation that follows it, and how the last one failed."""

    pending_init_ms: float | None = None  # an on-demand Init's duration, owed to REPORT
    pending_restore_ms: float | None = None  # a Restore's duration, owed to REPORT
    failure_status: InvokeStatus = "error"
    failure_type: str | None = None


def begin(env: Environment, inv: Invocation, now: float | None = None) -> None:
    """Start the Invoke phase (state Invoke): hand the invocation out, arm the deadline."""
    clock = env.clock
    config = env.config
    begun = inv.begun_at = clock.now() if now is None else now
    if inv.started is None:  # else a suppressed init began the invocation
        inv.started = begun
        inv.deadline = begun + config.timeout
    deadline = inv.deadline
    assert deadline is not None
    deadline_ms = clock.wall_ms(deadline)
    members = env.core.open_invoke_barrier()
    arn = env.function_arn
    inv.delivered = True
    runtime = env.runtime_api
    assert runtime is not None
    runtime.deliver(
        inv,
        RuntimeEvent(
            inv.request_id,
            inv.payload,
            inv.content_type,
            deadline_ms,
            arn,
            inv.trace_id,
            inv.client_context,
            inv.cognito_identity,
        ),
    )
    if len(members) > 1:
        event = {
            "eventType": "INVOKE",
            "deadlineMs": deadline_ms,
            "requestId": inv.request_id,
            "invokedFunctionArn": arn,
            "tracing": {"type": "X-Amzn-Trace-Id", "value": inv.trace_id},
        }
        clients = env.ext_clients
        for ext_id in members:
            if ext_id != RUNTIME:
                clients[ext_id].deliver(dict(event))
    env.scheduler.arm(deadline)
    env.publish_about(inv, "invoke_start", begun)


def end(env: Environment) -> None:
    """The Invoke phase completed (state Frozen): freeze and close the invocation's books."""
    env.procs.freeze_all()
    now = env.clock.now()
    inv = env.current
    if inv is not None and inv.ended is None:
        finish(env, inv, now)
    env.scheduler.disarm(now)


def finish(env: Environment, inv: Invocation, end: float | None = None) -> None:
    """Close the books of an invocation: its answer (always exactly one) and its figures."""
    if end is None:
        end = env.clock.now()
    if inv.result is None:  # every path answers; this guards the promise of one result
        inv.answer_error(end, error_body("Sandbox.Failure", "the environment ended"), "failure")
    books = env.books
    inv.init_ms, books.pending_init_ms = books.pending_init_ms, None
    inv.restore_ms, books.pending_restore_ms = books.pending_restore_ms, None
    inv.memory_size_mb = env.config.memory_mb
    procs = env.procs
    if procs.measurable:
        inv.max_memory_used_mb = procs.max_memory_used_mb()
    inv.ended = end
    if inv.done is not None:
        inv.done.set()
    env.publish_about(inv, "invoke_end", end)

"""The records of one invocation, made from the engine's invocation: the one place they are built.

An invocation writes, every time: ``platform.start`` (``START``), ``platform.runtimeDone``,
``END`` and ``platform.report`` (``REPORT``), and in the older text format a notice of a timeout
or of a crash between ``START`` and ``END``. :func:`invocation_entries` makes them as records of
:mod:`lambda_lifecycle.formats.records`, each in an :class:`~.entry.Entry` with its moment; the
sinks render them with :mod:`lambda_lifecycle.formats` (text lines of either style, JSON-format
lines, telemetry events and their sizes). Nothing else in the project spells out these records.

What the records hold:

- ``platform.start``: ``requestId``, ``version``, ``tracing`` (no ``tracing`` for an invocation
  whose Invoke phase never began: its ``START`` is written late, see :mod:`.bridge`).
- ``platform.runtimeDone``: ``status`` (and ``errorType``), ``metrics`` (``durationMs`` from the
  start of the invocation to the answer, and ``producedBytes`` when the runtime itself
  answered: for a streamed response, the size of the whole stream), and only then the spans
  ``responseLatency``, ``responseDuration`` and ``runtimeOverhead`` (0: the engine marks the
  runtime done at its answer); ``tracing``. An answer handed over whole has
  ``responseLatency`` the same stretch as ``durationMs`` and a ``responseDuration`` of 0; a
  streamed one has ``responseLatency`` from the start to the stream's beginning and
  ``responseDuration`` from there to its end.
- The older format's notices, written only when the platform answered (no ``producedBytes``):
  ``Task timed out after N.NN seconds`` for ``Sandbox.Timedout``, and the two-line error notice
  for a runtime exit or an extension crash (the two cases that format documents).
- ``END``; ``platform.report`` with the figures of the finished invocation, the
  ``extensionOverhead`` span from the runtime's answer to the end (when the runtime was
  reached), and ``tracing``. A ``REPORT`` line shows the ``XRAY`` part when the trace is sampled.

A timed-out invocation carries no error type (AWS writes ``Status: timeout`` alone), and a
failure that came without one is written as ``Runtime.Unknown`` (:func:`outcome`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ..core.config import FunctionConfig
from ..core.deadlines import billed_duration_ms
from ..core.payloads import extension_crashed, runtime_exited, timed_out
from ..engine.invocation import Invocation
from ..formats.records import (
    ERROR_STATUSES,
    End,
    LegacyError,
    LegacyTimeout,
    Report,
    RuntimeDone,
    Span,
    Start,
    Status,
    Tracing,
)
from .entry import Entry

__all__ = [
    "CRASH_ERROR_TYPES",
    "TIMEOUT_ERROR_TYPE",
    "UNKNOWN_ERROR_TYPE",
    "invocation_entries",
    "outcome",
]

# The error types, as core.payloads (the one place that words AWS's error bodies) writes them.
TIMEOUT_ERROR_TYPE: str = timed_out("", 1)["errorType"]
"""The error type of an invocation that ran out of time (``Sandbox.Timedout``)."""

CRASH_ERROR_TYPES = frozenset(
    {runtime_exited("", None)["errorType"], extension_crashed("", "", None)["errorType"]}
)
"""The crashes for which the older format writes its two-line error notice."""

UNKNOWN_ERROR_TYPE = "Runtime.Unknown"
"""The error type written for a failure that came without one (the engine always names one)."""


def outcome(status: Status, error_type: str | None) -> tuple[Status, str | None]:
    """The status and error type as AWS writes them: none for a timeout, always one for a
    failure."""
    if status == "timeout":
        return status, None
    if status in ERROR_STATUSES and error_type is None:
        return status, UNKNOWN_ERROR_TYPE
    return status, error_type


def _error_type(error: Mapping[str, Any] | None) -> str | None:
    """The ``errorType`` of an error body, if it names one."""
    value = None if error is None else error.get("errorType")
    return None if value is None else str(value)


def invocation_entries(
    inv: Invocation,
    config: FunctionConfig,
    offset: float,
    *,
    start_at: float | None,
    done: bool,
    end: bool,
    traced: bool = True,
) -> list[Entry]:
    """Consecutive records of ``inv``, in order, as entries.

    ``start_at`` is the engine time of ``START`` when the run includes it (None otherwise);
    ``done`` says whether it includes ``platform.runtimeDone`` (and the older format's notice),
    at the runtime's answer; ``end`` whether it includes ``END`` and ``REPORT``, at the end of
    the invocation. ``traced`` is False for an invocation whose Invoke phase never began (its
    records carry no ``tracing``). ``offset`` turns engine time into Unix time.
    """
    rid = inv.request_id
    tracing = Tracing(inv.trace_id) if traced else None
    entries: list[Entry] = []
    if start_at is not None:
        start = Start(rid, config.function_version, tracing)
        entries.append(Entry(start_at, start_at + offset, start))
    if not (done or end):
        return entries
    answered = inv.answered_at
    result = inv.result
    assert answered is not None and result is not None, "an invocation is answered before its end"
    status, error_type = outcome(inv.status, _error_type(result.error))
    started = inv.started
    answer_wall = answered + offset
    if done:
        runtime_done = _runtime_done(
            inv, status, error_type, offset=offset, at_answer=answer_wall, tracing=tracing
        )
        entries.append(Entry(answered, answer_wall, runtime_done))
        notice = _legacy_notice(inv, config, error_type, answer_wall)
        if notice is not None:
            entries.append(Entry(answered, answer_wall, notice))
    if end:
        ended = inv.ended
        assert ended is not None, "an invocation's END is written at its end"
        duration_ms = 0.0 if started is None else (ended - started) * 1000
        restore_ms = inv.restore_ms
        init_ms = inv.init_ms
        spans: tuple[Span, ...] = ()
        if inv.delivered:
            spans = (Span("extensionOverhead", answer_wall, max(0.0, (ended - answered) * 1000)),)
        report = Report(
            rid,
            status,
            error_type,
            duration_ms,
            billed_duration_ms(duration_ms, init_ms),
            inv.memory_size_mb,
            inv.max_memory_used_mb,
            init_ms,
            restore_ms,
            None if restore_ms is None else billed_duration_ms(restore_ms),
            spans,
            tracing,
        )
        wall = ended + offset
        entries += (Entry(ended, wall, End(rid)), Entry(ended, wall, report))
    return entries


def _runtime_done(
    inv: Invocation,
    status: Status,
    error_type: str | None,
    *,
    offset: float,
    at_answer: float,
    tracing: Tracing | None,
) -> RuntimeDone:
    """``platform.runtimeDone``; its spans only when the runtime itself answered."""
    answered = inv.answered_at
    assert answered is not None
    started = inv.started
    latency_ms = 0.0 if started is None else (answered - started) * 1000
    produced = inv.produced_bytes
    spans: tuple[Span, ...] = ()
    if produced is not None:
        at_start = at_answer if started is None else started + offset
        streamed = inv.stream_begun_at
        if streamed is None:  # answered whole: the response goes out at the answer
            response_at, first_ms, sending_ms = at_answer, latency_ms, 0.0
        else:  # streamed: from the start to its first bytes, then until its end
            first = streamed if started is None else max(streamed, started)
            response_at = first + offset
            first_ms = 0.0 if started is None else (first - started) * 1000
            sending_ms = max(0.0, (answered - first) * 1000)
        spans = (
            Span("responseLatency", at_start, first_ms),
            Span("responseDuration", response_at, sending_ms),
            Span("runtimeOverhead", at_answer, 0.0),
        )
    return RuntimeDone(inv.request_id, status, error_type, latency_ms, produced, spans, tracing)


def _legacy_notice(
    inv: Invocation, config: FunctionConfig, error_type: str | None, at_answer: float
) -> LegacyTimeout | LegacyError | None:
    """The older format's notice of a platform answer, if it writes one."""
    result = inv.result
    if inv.produced_bytes is not None or inv.status == "success" or result is None:
        return None
    rid = inv.request_id
    if _error_type(result.error) == TIMEOUT_ERROR_TYPE:
        return LegacyTimeout(datetime.fromtimestamp(at_answer, UTC), rid, config.timeout)
    if error_type in CRASH_ERROR_TYPES:
        error = result.error
        message = None if error is None else error.get("errorMessage")
        text = "" if message is None else str(message)
        return LegacyError(rid, text.removeprefix(f"RequestId: {rid} Error: "), error_type)
    return None

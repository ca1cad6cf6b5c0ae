"""The records of one invocation, built together from the engine's invocation.

An invocation writes four records, every time: ``platform.start`` (``START``),
``platform.runtimeDone``, ``END`` and ``platform.report`` (``REPORT``). They are most of what an
environment ever writes, so they take a path of their own: an :class:`InvokeRecords` is a run of
consecutive records of one invocation (all four, or those not yet handed over), given to every
sink in one call. It copies the invocation's figures once, and each sink asks it only for what
it writes: the plain-text log events of a style, or the telemetry events (with their total size,
measured without building them, so that a telemetry batch builds its events together when it is
delivered), or the JSON-format lines. Each is built on first request and shared by every sink;
no record objects, datetimes or per-line entries are made.

What is built is exactly what the records of :mod:`lambda_lifecycle.formats.records` give when
rendered by :mod:`lambda_lifecycle.formats` (``tests/test_sinks_fastpath.py`` proves it over
every combination of the optional fields, and every event is validated against its schema):

- ``START RequestId: <id> Version: <version>`` and ``platform.start`` with ``version`` and
  ``tracing`` (no ``tracing`` for a ``START`` written late: see :mod:`.bridge`);
- ``platform.runtimeDone``: ``status`` (and ``errorType``), ``metrics`` (``durationMs``, and
  ``producedBytes`` when the runtime itself answered), the spans ``responseLatency`` (from the
  start of the invocation to the answer), ``responseDuration`` and ``runtimeOverhead`` (0: an
  in-process answer is handed over whole, and the engine marks the runtime done at its answer;
  written only when the runtime itself answered), ``tracing``; in the older text format, the
  notice of a timeout or of a runtime or extension crash;
- ``END RequestId: <id>``;
- ``REPORT`` and ``platform.report``: the figures of :class:`~lambda_lifecycle.engine.invocation.
  InvokeReport`, the ``extensionOverhead`` span from the runtime's answer to the end (when the
  runtime was reached), ``tracing``, and in text the ``XRAY`` part when the trace is sampled.

A timed-out invocation carries no error type (AWS writes ``Status: timeout`` alone), and a
failure that came without one is written as ``Runtime.Unknown``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..core.config import FunctionConfig
from ..core.deadlines import billed_duration_ms
from ..core.payloads import extension_crashed, runtime_exited, timed_out
from ..engine.invocation import Invocation
from ..formats.jsonlog import json_size, render_json_line
from ..formats.records import (
    ERROR_STATUSES,
    TRACE_HEADER,
    LegacyError,
    LegacyTimeout,
    Status,
    Tracing,
    compact,
    format_wall,
)
from ..formats.textlog import (
    UNKNOWN_MEMORY,
    Style,
    render_legacy_error,
    render_legacy_timeout,
    render_xray,
)

__all__ = [
    "CRASH_ERROR_TYPES",
    "TIMEOUT_ERROR_TYPE",
    "UNKNOWN_ERROR_TYPE",
    "Figures",
    "InvokeRecords",
    "build_events",
    "outcome",
    "sampled",
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


def sampled(trace_id: str) -> bool:
    """Whether the trace header says ``Sampled=1`` (then ``REPORT`` has its ``XRAY`` part)."""
    return "Sampled=1" in trace_id and "Sampled=1" in trace_id.split(";")


Figures = tuple[Any, ...]
"""A run's figures, copied from the invocation, in this order: ``offset``, ``start_at``,
``done``, ``end``, ``traced``, ``request_id``, ``trace_id``, ``version``, ``status``,
``error_type``, ``error_message``, ``started``, ``answered``, ``ended``, ``latency_ms``,
``duration_ms``, ``billed_ms``, ``overhead_ms``, ``produced``, ``delivered``, ``memory_size_mb``,
``max_memory_used_mb``, ``init_ms``, ``restore_ms``, ``timeout``, ``timed_out`` (the function
ran out of time: ``Sandbox.Timedout``); or, for the usual run (see
:class:`InvokeRecords`), the marker ``"usual"``, ``offset``, ``start_at``, ``answered``,
``ended``, ``request_id``, ``version``, ``trace_id``, ``latency_ms``, ``produced``,
``duration_ms``, ``billed_ms``, ``memory_size_mb``, ``overhead_ms``.

A plain tuple of plain values is what a telemetry batch keeps until delivery: it holds neither
the invocation (its payload and response) nor anything the garbage collector must keep
tracking (a batch of objects would be promoted and traversed again and again)."""

_USUAL = "usual"


class InvokeRecords:
    """Consecutive records of one invocation, handed to the sinks together.

    ``start_at`` is the engine time of ``START`` when the run includes it (None otherwise);
    ``done`` says whether it includes ``platform.runtimeDone`` (at the runtime's answer), ``end``
    whether it includes ``END`` and ``REPORT`` (at the end of the phase). ``traced`` is False for
    an invocation whose Invoke phase never began (its records carry no ``tracing``). ``offset``
    turns engine time into Unix time. ``text`` and ``platform`` say whether plain-text sinks
    and ``platform.*`` sinks are listening.

    The *usual* run, a whole warm invocation that succeeded, answered by its runtime, in process
    (nothing measured its memory), makes what its sinks need at once, from the figures at hand;
    any other run makes it on demand. The run is dropped once handed over: a sink that keeps it
    keeps :meth:`kept`. What it builds is shared by every sink: do not mutate.
    """

    __slots__ = (
        "_block",
        "_config",
        "_current",
        "_events",
        "_figures",
        "_inv",
        "_json",
        "_legacy",
        "_size",
        "_usual",
        "count",
        "done",
        "end",
        "offset",
        "start_at",
        "traced",
    )

    def __init__(
        self,
        inv: Invocation,
        config: FunctionConfig,
        offset: float,
        *,
        start_at: float | None,
        done: bool,
        end: bool,
        traced: bool = True,
        text: bool = False,
        platform: bool = False,
    ) -> None:
        self._inv = inv
        self._config = config
        self.offset = offset
        self.start_at = start_at
        self.done = done
        self.end = end
        self.traced = traced
        self.count = (start_at is not None) + done + end  # how many platform.* events
        self._figures: Figures | None = None
        self._usual: Figures | None = None
        self._block: str | None = None
        self._size = -1
        self._current: list[str] | None = None
        self._legacy: list[str] | None = None
        self._events: list[dict[str, Any]] | None = None
        self._json: list[str] | None = None
        version = config.function_version
        produced = inv.produced_bytes
        answered = inv.answered_at
        ended = inv.ended
        if not (
            start_at is not None
            and done
            and end
            and traced
            and inv.status == "success"
            and produced is not None
            and inv.delivered
            and version is not None
            and inv.started == start_at
            and inv.max_memory_used_mb is None
            and inv.init_ms is None
            and inv.restore_ms is None
            and answered is not None
            and ended is not None
        ):
            return
        # The usual run: what its sinks need, made at once from the figures at hand.
        rid = inv.request_id
        trace = inv.trace_id
        memory_size_mb = inv.memory_size_mb
        latency_ms = (answered - start_at) * 1000
        duration_ms = (ended - start_at) * 1000
        billed_ms = billed_duration_ms(duration_ms)
        overhead_ms = max(0.0, (ended - answered) * 1000)
        if text and "Sampled=1" not in trace:
            self._block = (
                f"START RequestId: {rid} Version: {version}\nEND RequestId: {rid}\n"
                f"REPORT RequestId: {rid}\tDuration: {duration_ms:.2f} ms"
                f"\tBilled Duration: {billed_ms} ms\tMemory Size: {memory_size_mb} MB"
                f"\tMax Memory Used: {UNKNOWN_MEMORY} MB\n"
            )
        if platform:
            self._usual = (
                _USUAL, offset, start_at, answered, ended, rid, version, trace,
                latency_ms, produced, duration_ms, billed_ms, memory_size_mb, overhead_ms,
            )  # fmt: skip
            fixed = _FIXED_SIZES.get(_USUAL_SHAPE)
            if fixed is not None:
                self._size = fixed + json_size(
                    (  # as _variable_values lists them
                        rid, version, trace,
                        rid, "success", latency_ms, produced, latency_ms, trace,
                        rid, "success", duration_ms, billed_ms, memory_size_mb, overhead_ms, trace,
                    )
                )  # fmt: skip

    @property
    def figures(self) -> Figures:
        """The run's figures (the general form of :data:`Figures`)."""
        figures = self._figures
        if figures is None:
            figures = self._figures = _figures(
                self._inv,
                self._config,
                self.offset,
                start_at=self.start_at,
                done=self.done,
                end=self.end,
                traced=self.traced,
            )
        return figures

    def kept(self) -> Figures:
        """What a sink that keeps the run (a telemetry batch) keeps: :data:`Figures`, from
        which :func:`build_events` builds its events."""
        usual = self._usual
        return usual if usual is not None else self.figures

    # -- plain text ----------------------------------------------------------------------------
    def text(self, style: Style) -> list[str]:
        """The plain-text log events, in order (a two-line event is one string)."""
        if style == "current":
            lines = self._current
            if lines is None:
                lines = self._current = _text(self.figures, style)
        else:
            lines = self._legacy
            if lines is None:
                lines = self._legacy = _text(self.figures, style)
        return lines

    def text_block(self, style: Style) -> str:
        """The plain-text log events as they are written to a stream: each followed by a
        newline (empty when there are none)."""
        block = self._block
        if block is not None and style == "current":
            return block
        lines = self.text(style)
        return "\n".join(lines) + "\n" if lines else ""

    # -- telemetry -----------------------------------------------------------------------------
    def first_time(self) -> float:
        """The engine time of the run's first record."""
        return self.times()[0]

    def times(self) -> list[float]:
        """The engine time of each event of :meth:`events`."""
        inv = self._inv
        times = []
        if self.start_at is not None:
            times.append(self.start_at)
        if self.done and inv.answered_at is not None:
            times.append(inv.answered_at)
        if self.end and inv.ended is not None:
            times.append(inv.ended)
        return times

    def size(self) -> int:
        """The events' total size in bytes as UTF-8 JSON, measured without building them.

        An event's JSON is its fixed text (keys, punctuation, constant values, and times, which
        always take 24 characters) and the JSON of its variable values; the fixed part depends
        only on which optional fields are present, the run's *shape*. It is learnt from the
        first run of each shape, built in full; afterwards one measure of the variable values,
        in a flat list, gives the exact size.
        """
        size = self._size
        if size < 0:
            shape, values = _variable_values(self.figures)
            measured = json_size(values)
            fixed = _FIXED_SIZES.get(shape)
            if fixed is None:
                fixed = _FIXED_SIZES[shape] = sum(self.sizes()) - measured
            size = self._size = fixed + measured
        return size

    def sizes(self) -> list[int]:
        """The size in bytes of each event of :meth:`events`, as UTF-8 JSON."""
        return [len(line.encode()) for line in self.json_lines()]

    def json_lines(self) -> list[str]:
        """The ``platform.*`` events as lines of the JSON log format, in order."""
        lines = self._json
        if lines is None:
            lines = self._json = [render_json_line(event) for event in self.events()]
        return lines

    def events(self) -> list[dict[str, Any]]:
        """The ``platform.*`` events, in order."""
        events = self._events
        if events is None:
            events = self._events = build_events(self.kept())
        return events


# --- figures ----------------------------------------------------------------------------------


def _figures(
    inv: Invocation,
    config: FunctionConfig,
    offset: float,
    *,
    start_at: float | None,
    done: bool,
    end: bool,
    traced: bool,
) -> Figures:
    """The general :data:`Figures` of a run of ``inv``'s records."""
    started = inv.started
    answered = inv.answered_at
    ended = inv.ended
    status = inv.status
    result = inv.result
    error = None if result is None else result.error
    if status == "success" and error is None:
        error_type = error_message = None
    else:
        assert result is not None
        status, error_type = outcome(status, result.error_type)
        message = None if error is None else error.get("errorMessage")
        error_message = None if message is None else str(message)
    # From the start of the invocation (or of its suppressed init) to the answer and to the end,
    # and from the answer to the end.
    latency_ms = 0.0 if started is None or answered is None else (answered - started) * 1000
    if ended is None:
        duration_ms = overhead_ms = 0.0
        billed_ms = 0
    else:
        duration_ms = 0.0 if started is None else (ended - started) * 1000
        billed_ms = billed_duration_ms(duration_ms, inv.init_ms)
        overhead_ms = 0.0 if answered is None else max(0.0, (ended - answered) * 1000)
    return (
        offset,
        start_at,
        done,
        end,
        traced,
        inv.request_id,
        inv.trace_id,
        config.function_version,
        status,
        error_type,
        error_message,
        started,
        answered,
        ended,
        latency_ms,
        duration_ms,
        billed_ms,
        overhead_ms,
        inv.produced_bytes,
        inv.delivered,
        inv.memory_size_mb,
        inv.max_memory_used_mb,
        inv.init_ms,
        inv.restore_ms,
        config.timeout,
        result is not None and result.error_type == TIMEOUT_ERROR_TYPE,
    )


# --- plain text -------------------------------------------------------------------------------


def _text(figures: Figures, style: Style) -> list[str]:
    (offset, start_at, done, end, traced, rid, trace, version, status, error_type,
     error_message, _, answered, _, _, duration_ms, billed_ms, _, produced, _, memory_size_mb,
     max_memory_used_mb, init_ms, restore_ms, timeout, timed_out) = figures  # fmt: skip
    lines = []
    if start_at is not None:
        lines.append(
            f"START RequestId: {rid}"
            if version is None
            else f"START RequestId: {rid} Version: {version}"
        )
    if done and style == "legacy" and produced is None and status != "success":
        # The older format's notice of a platform answer: a timeout, or a runtime or extension
        # crash (the two cases that format documents).
        if timed_out:
            moment = datetime.fromtimestamp(answered + offset, UTC)
            lines.append(render_legacy_timeout(LegacyTimeout(moment, rid, timeout)))
        elif error_type in CRASH_ERROR_TYPES:
            message = (error_message or "").removeprefix(f"RequestId: {rid} Error: ")
            lines.append(render_legacy_error(LegacyError(rid, message, error_type)))
    if end:
        lines.append(f"END RequestId: {rid}")
        line = (
            f"REPORT RequestId: {rid}\tDuration: {duration_ms:.2f} ms"
            f"\tBilled Duration: {billed_ms} ms\tMemory Size: {memory_size_mb} MB"
            f"\tMax Memory Used: "
            f"{UNKNOWN_MEMORY if max_memory_used_mb is None else max_memory_used_mb} MB"
        )
        if init_ms is not None:
            line += f"\tInit Duration: {init_ms:.2f} ms"
        if restore_ms is not None:
            line += (
                f"\tRestore Duration: {restore_ms:.2f} ms"
                f"\tBilled Restore Duration: {billed_duration_ms(restore_ms)} ms"
            )
        if style == "current":
            if status != "success":
                line += f"\tStatus: {status}"
            if error_type is not None:
                line += f"\tError Type: {error_type}"
        if traced and sampled(trace):
            line += "\n" + render_xray(Tracing(trace))
        lines.append(line)
    return lines


# --- telemetry --------------------------------------------------------------------------------


def _variable_values(figures: Figures) -> tuple[int, list[Any]]:
    """The run's shape (a bit per optional part), and its variable values, each as many times
    as the events hold it."""
    (_, start_at, done, end, traced, rid, trace, version, status, error_type, _, _, _, _,
     latency_ms, duration_ms, billed_ms, overhead_ms, produced, delivered, memory_size_mb,
     max_memory_used_mb, init_ms, restore_ms, _, _) = figures  # fmt: skip
    start = start_at is not None
    values: list[Any] = []
    if start:
        values.append(rid)
        if version is not None:
            values.append(version)
        if traced:
            values.append(trace)
    if done:
        values += (rid, status, latency_ms)
        if produced is not None:
            values += (produced, latency_ms)
        if error_type is not None:
            values.append(error_type)
        if traced:
            values.append(trace)
    if end:
        values += (rid, status, duration_ms, billed_ms, memory_size_mb)
        if error_type is not None:
            values.append(error_type)
        for value in (max_memory_used_mb, init_ms, restore_ms):
            if value is not None:
                values.append(value)
        if delivered:
            values.append(overhead_ms)
        if traced:
            values.append(trace)
    shape = 0
    for bit, present in enumerate(
        (
            start,
            version is not None,
            traced,
            done,
            end,
            error_type is not None,
            produced is not None,
            max_memory_used_mb is not None,
            init_ms is not None,
            restore_ms is not None,
            delivered,
        )
    ):
        shape |= present << bit
    return shape, values


_USUAL_SHAPE = 0b10001011111
"""The shape of the usual run (see :class:`InvokeRecords`): start, version, traced, done, end,
produced and delivered present (as :func:`_variable_values` numbers them)."""

_FIXED_SIZES: dict[int, int] = {}
"""The fixed part of the JSON size of a run's events, by shape (see :meth:`InvokeRecords.size`)."""


def build_events(figures: Figures) -> list[dict[str, Any]]:
    """The ``platform.*`` events of a run, from its figures, in order."""
    if figures[0] == _USUAL:
        return _usual_events(figures)
    (offset, start_at, done, end, traced, rid, trace, version, status, error_type, _, started,
     answered, ended, latency_ms, duration_ms, billed_ms, overhead_ms, produced, delivered,
     memory_size_mb, max_memory_used_mb, init_ms, restore_ms, _, _) = figures  # fmt: skip
    tracing = {"type": TRACE_HEADER, "value": trace} if traced else None
    events = []
    start_time = None
    if start_at is not None:
        body = compact({"requestId": rid, "version": version, "tracing": tracing})
        start_time = format_wall(start_at + offset)
        events.append({"time": start_time, "type": "platform.start", "record": body})
    if not (done or end):
        return events
    answer_time = format_wall(answered + offset)
    if done:
        # platform.runtimeDone; its spans only when the runtime itself answered.
        metrics: dict[str, Any] = {"durationMs": latency_ms}
        spans = None
        if produced is not None:
            metrics["producedBytes"] = produced
            if started is None:
                start_time = answer_time
            elif start_time is None or started != start_at:  # not this run's START
                start_time = format_wall(started + offset)
            spans = [
                {"name": "responseLatency", "start": start_time, "durationMs": latency_ms},
                {"name": "responseDuration", "start": answer_time, "durationMs": 0.0},
                {"name": "runtimeOverhead", "start": answer_time, "durationMs": 0.0},
            ]
        body = _outcome_record(
            rid, status, error_type, metrics=metrics, spans=spans, tracing=tracing
        )
        events.append({"time": answer_time, "type": "platform.runtimeDone", "record": body})
    if end:
        # platform.report, with its extensionOverhead span when the runtime was reached.
        metrics = compact(
            {
                "durationMs": duration_ms,
                "billedDurationMs": billed_ms,
                "memorySizeMB": memory_size_mb,
                "maxMemoryUsedMB": max_memory_used_mb,
                "initDurationMs": init_ms,
                "restoreDurationMs": restore_ms,
            }
        )
        spans = None
        if delivered:
            spans = [{"name": "extensionOverhead", "start": answer_time, "durationMs": overhead_ms}]
        body = _outcome_record(
            rid, status, error_type, metrics=metrics, spans=spans, tracing=tracing
        )
        when = format_wall(ended + offset)
        events.append({"time": when, "type": "platform.report", "record": body})
    return events


def _outcome_record(
    rid: str,
    status: Status,
    error_type: str | None,
    *,
    metrics: dict[str, Any],
    spans: list[dict[str, Any]] | None,
    tracing: dict[str, Any] | None,
) -> dict[str, Any]:
    """The ``record`` of ``platform.runtimeDone`` and ``platform.report``."""
    return compact(
        {
            "requestId": rid,
            "status": status,
            "errorType": error_type,
            "metrics": metrics,
            "spans": spans,
            "tracing": tracing,
        }
    )


def _usual_events(figures: Figures) -> list[dict[str, Any]]:
    """:func:`build_events` for the usual run, at once."""
    (_, offset, start_at, answered, ended, rid, version, trace, latency_ms, produced,
     duration_ms, billed_ms, memory_size_mb, overhead_ms) = figures  # fmt: skip
    tracing = {"type": TRACE_HEADER, "value": trace}
    start_time = format_wall(start_at + offset)
    answer_time = format_wall(answered + offset)
    return [
        {
            "time": start_time,
            "type": "platform.start",
            "record": {"requestId": rid, "version": version, "tracing": tracing},
        },
        {
            "time": answer_time,
            "type": "platform.runtimeDone",
            "record": {
                "requestId": rid,
                "status": "success",
                "metrics": {"durationMs": latency_ms, "producedBytes": produced},
                "spans": [
                    {"name": "responseLatency", "start": start_time, "durationMs": latency_ms},
                    {"name": "responseDuration", "start": answer_time, "durationMs": 0.0},
                    {"name": "runtimeOverhead", "start": answer_time, "durationMs": 0.0},
                ],
                "tracing": tracing,
            },
        },
        {
            "time": format_wall(ended + offset),
            "type": "platform.report",
            "record": {
                "requestId": rid,
                "status": "success",
                "metrics": {
                    "durationMs": duration_ms,
                    "billedDurationMs": billed_ms,
                    "memorySizeMB": memory_size_mb,
                },
                "spans": [
                    {"name": "extensionOverhead", "start": answer_time, "durationMs": overhead_ms}
                ],
                "tracing": tracing,
            },
        },
    ]

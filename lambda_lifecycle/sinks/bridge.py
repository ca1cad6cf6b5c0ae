"""From lifecycle events to what Lambda writes about them.

The engine says what happened to an environment (:class:`~lambda_lifecycle.engine.observe.
LifecycleEvent`: ``init_start``, ``runtime_done``, ``invoke_end``, ...); Lambda writes records
about it, as CloudWatch lines and as Telemetry API events. A :class:`Bridge` turns the first into
the second, once per environment for all of its sinks: each event becomes zero or more
:class:`Entry` objects, each a record of :mod:`lambda_lifecycle.formats.records` with the moment
it happened. The sinks only choose among the entries and render them.

| event | records, in order |
|---|---|
| ``init_start`` | ``platform.initStart`` |
| ``init_end`` | ``platform.initRuntimeDone``, ``platform.initReport`` |
| ``restore_start`` | ``platform.restoreStart`` |
| ``restore_end`` | ``platform.restoreRuntimeDone``, ``platform.restoreReport`` |
| ``extension_registered`` | ``platform.extension`` (state ``Ready``) |
| ``invoke_start`` | ``platform.start`` (``START``) |
| ``runtime_done`` | ``platform.runtimeDone``; the older format's notice of a timeout or crash |
| ``invoke_end`` | ``END``, ``platform.report`` (``REPORT``) |

Every invocation gets its ``START``, even one that ended before its Invoke phase began (a failed
suppressed init or restore): the bridge then writes ``START`` when the invocation ends, followed
by what was held back for it, so each invocation reads ``START`` ... ``END``, ``REPORT`` in that
order. A timed-out phase carries no error type (AWS writes ``Status: timeout`` alone).

``instanceId`` is the environment's id and ``instanceMaxMemory`` the configured memory size.

What the engine does not observe is said plainly rather than invented:

- ``platform.initRuntimeDone`` and ``platform.restoreRuntimeDone`` are written when their phase
  ends (the engine has no separate moment for the runtime's own ``next``).
- The ``platform.runtimeDone`` spans: ``responseLatency`` runs from the start of the invocation to
  the runtime's answer; an in-process answer is handed over whole, so ``responseDuration`` is 0;
  the engine marks the runtime done at its answer, so ``runtimeOverhead`` is 0 too. They are
  written only when the runtime itself answered (not for a timeout or a crash).
- ``maxMemoryUsedMB`` is absent (``Max Memory Used: - MB`` in text) when nothing measured it.
- ``runtimeVersionArn`` is derived from ``FunctionConfig.runtime_version``: AWS's real ARN ends in
  the SHA-256 of the runtime build, which an emulator cannot know, so this one ends in the
  SHA-256 of the version name. Both are left out when no runtime version is configured.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from ..core.config import FunctionConfig
from ..core.deadlines import billed_duration_ms
from ..core.payloads import extension_crashed, runtime_exited, timed_out
from ..engine.observe import LifecycleEvent
from ..formats.jsonlog import envelope, json_size, render_json_line
from ..formats.records import (
    ERROR_STATUSES,
    TELEMETRY_RECORDS,
    End,
    ExtensionState,
    InitReport,
    InitRuntimeDone,
    InitStart,
    LegacyError,
    LegacyTimeout,
    Report,
    RestoreReport,
    RestoreRuntimeDone,
    RestoreStart,
    RuntimeDone,
    Span,
    Start,
    Status,
    TelemetryRecord,
    Tracing,
    format_wall,
)

__all__ = [
    "CRASH_ERROR_TYPES",
    "TIMEOUT_ERROR_TYPE",
    "Bridge",
    "Entry",
    "Record",
    "TextOnly",
    "runtime_version_arn",
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

TextOnly = End | LegacyError | LegacyTimeout
"""Records with a CloudWatch line and no telemetry event."""

Record = TelemetryRecord | TextOnly
"""Anything an :class:`Entry` carries."""

_STREAMS: dict[type[Any], str] = {cls: cls.TYPE.split(".")[0] for cls in TELEMETRY_RECORDS}
"""The Telemetry API stream of each record class: ``platform``, ``function`` or ``extension``."""


class Entry:
    """One record and the moment it happened, shared by every sink of an environment.

    ``time`` is the engine's monotonic clock (seconds), ``wall`` the matching Unix time.
    ``stream`` is the Telemetry API stream (``platform``, ``function``, ``extension``), None for
    a plain-text-only record. ``text`` is the record as a text line shows it: the same record,
    except for a ``REPORT`` whose trace was not sampled (no ``XRAY`` part). The telemetry
    envelope, its JSON line and its size are computed once, on first use.
    """

    __slots__ = ("_envelope", "_line", "_size", "record", "stream", "text", "time", "wall")

    def __init__(
        self,
        time: float,
        wall: float,
        record: Record | None,
        text: Record | None = None,
        *,
        built: dict[str, Any] | None = None,
    ) -> None:
        self.time = time
        self.wall = wall
        self.record = record
        self.text = record if text is None else text
        self.stream = "platform" if built is not None else _STREAMS.get(type(record))
        self._envelope = built
        self._line: str | None = None
        self._size = -1

    def envelope(self) -> dict[str, Any]:
        """The ``{time, type, record}`` event (telemetry records only). Shared: do not mutate.

        The invoke path's three events come already built (``built``); the others are made from
        their record on first use.
        """
        if self._envelope is None:
            record = cast(TelemetryRecord, self.record)
            self._envelope = envelope(record, _at(self.wall))
        return self._envelope

    def json_line(self) -> str:
        """The envelope as one line of JSON, as the JSON log format writes it."""
        if self._line is None:
            self._line = render_json_line(self.envelope())
        return self._line

    def size(self) -> int:
        """The envelope's size in bytes, encoded as UTF-8 JSON."""
        if self._size < 0:
            self._size = len(self._line.encode()) if self._line else json_size(self.envelope())
        return self._size


def runtime_version_arn(config: FunctionConfig) -> str | None:
    """The ``Runtime Version ARN`` written for ``config`` (see the module docstring)."""
    if config.runtime_version is None:
        return None
    digest = hashlib.sha256(config.runtime_version.encode()).hexdigest()
    return f"arn:aws:lambda:{config.region}::runtime:{digest}"


def sampled(tracing: Tracing) -> bool:
    """Whether the trace header says ``Sampled=1`` (then ``REPORT`` has its ``XRAY`` part)."""
    return "Sampled=1" in tracing.value.split(";")


def _at(wall: float) -> datetime:
    return datetime.fromtimestamp(wall, UTC)


def _outcome(status: Status, error_type: str | None) -> tuple[Status, str | None]:
    """The status and error type as AWS writes them: none for a timeout, always one for a
    failure."""
    if status == "timeout":
        return status, None
    if status in ERROR_STATUSES and error_type is None:
        return status, UNKNOWN_ERROR_TYPE
    return status, error_type


class Bridge:
    """Turns one environment's lifecycle events into entries, handed to ``emit`` in order.

    ``text`` and ``platform`` say who is listening (set by the router), so that an invocation
    costs only what its audience reads: ``END`` and the older format's notices are made when
    ``text`` is true, ``platform.runtimeDone`` and a report's spans and tracing when
    ``platform`` is true. The records of Init and Restore are always made: they are few, and a
    subscriber that joins during Init is owed those that came before it.
    """

    __slots__ = (
        "_arn",
        "_config",
        "_deferred",
        "_emit",
        "_handlers",
        "_instance_id",
        "_request",
        "_tracing",
        "platform",
        "text",
    )

    def __init__(
        self, environment_id: str, config: FunctionConfig, emit: Callable[[Entry], None]
    ) -> None:
        self._emit = emit
        self._config = config
        self._instance_id = environment_id
        self._arn = runtime_version_arn(config)
        self.text = True
        self.platform = True
        self._request: str | None = None  # the invocation whose START is written
        self._tracing: Tracing | None = None
        self._deferred: list[Entry] = []  # entries of an invocation whose START is not written
        self._handlers: dict[str, Callable[[LifecycleEvent], None]] = {
            "init_start": self._init_start,
            "init_end": self._init_end,
            "restore_start": self._restore_start,
            "restore_end": self._restore_end,
            "extension_registered": self._extension_registered,
            "invoke_start": self._invoke_start,
            "runtime_done": self._runtime_done,
            "invoke_end": self._invoke_end,
        }

    @property
    def event_types(self) -> frozenset[str]:
        """The lifecycle event types the bridge turns into records (it ignores the others)."""
        return frozenset(self._handlers)

    @property
    def request_id(self) -> str | None:
        """The invocation in progress (between its ``START`` and its ``REPORT``), if any."""
        return self._request

    def handle(self, event: LifecycleEvent) -> None:
        """Turn ``event`` into its entries (most event types have none)."""
        handler = self._handlers.get(event.type)
        if handler is not None:
            handler(event)

    def _put(self, event: LifecycleEvent, record: Record, text: Record | None = None) -> None:
        self._emit(Entry(event.time, event.wall, record, text))

    # -- Init and Restore --------------------------------------------------------------------
    def _init_start(self, event: LifecycleEvent) -> None:
        data = event.data
        config = self._config
        record = InitStart(
            runtime_version=config.runtime_version,
            runtime_version_arn=self._arn,
            initialization_type=data["initialization_type"],
            phase=data["phase"],
            function_name=data["function_name"],
            function_version=data["function_version"],
            instance_id=self._instance_id,
            instance_max_memory=config.memory_mb,
        )
        self._put(event, record)

    def _init_end(self, event: LifecycleEvent) -> None:
        data = event.data
        status, error_type = _outcome(data["status"], data["error_type"])
        kind, phase = data["initialization_type"], data["phase"]
        self._put(event, InitRuntimeDone(kind, phase, status, error_type))
        self._put(event, InitReport(kind, phase, status, error_type, data["duration_ms"]))

    def _restore_start(self, event: LifecycleEvent) -> None:
        data = event.data
        config = self._config
        record = RestoreStart(
            runtime_version=config.runtime_version,
            runtime_version_arn=self._arn,
            function_name=data["function_name"],
            function_version=data["function_version"],
            instance_id=self._instance_id,
            instance_max_memory=config.memory_mb,
        )
        self._put(event, record)

    def _restore_end(self, event: LifecycleEvent) -> None:
        data = event.data
        status, error_type = _outcome(data["status"], data["error_type"])
        self._put(event, RestoreRuntimeDone(status, error_type))
        self._put(event, RestoreReport(status, error_type, data["duration_ms"]))

    def _extension_registered(self, event: LifecycleEvent) -> None:
        data = event.data
        self._put(event, ExtensionState(data["name"], "Ready", tuple(data["events"])))

    # -- Invoke ------------------------------------------------------------------------------
    def _invoke_start(self, event: LifecycleEvent) -> None:
        data = event.data
        request_id = self._request = data["request_id"]
        if self.text or self.platform:
            tracing = self._tracing = Tracing(data["trace_id"])
            record = Start(request_id, data["version"], tracing)
            built = _start_event(event.wall, record) if self.platform else None
            self._emit(Entry(event.time, event.wall, record, built=built))

    def _runtime_done(self, event: LifecycleEvent) -> None:
        data = event.data
        request_id = data["request_id"]
        started = request_id == self._request
        entries = []
        if self.platform:
            built = _runtime_done_event(event, self._tracing if started else None)
            entries.append(Entry(event.time, event.wall, None, built=built))
        notice = self._legacy_notice(event, request_id) if self.text else None
        if notice is not None:
            entries.append(Entry(event.time, event.wall, notice))
        if started:
            for entry in entries:
                self._emit(entry)
        else:
            self._deferred += entries

    def _legacy_notice(self, event: LifecycleEvent, request_id: str) -> TextOnly | None:
        """The older format's notice of a platform answer: a timeout, or a runtime or extension
        crash (the two cases that format documents)."""
        data = event.data
        if data["produced_bytes"] is not None or data["status"] == "success":
            return None  # the runtime answered: the platform writes nothing more
        error_type = data["error_type"]
        if error_type == TIMEOUT_ERROR_TYPE:
            return LegacyTimeout(_at(event.wall), request_id, self._config.timeout)
        if error_type not in CRASH_ERROR_TYPES:
            return None
        message: str = data.get("error_message") or ""
        return LegacyError(
            request_id, message.removeprefix(f"RequestId: {request_id} Error: "), error_type
        )

    def _invoke_end(self, event: LifecycleEvent) -> None:
        data = event.data
        request_id = data["request_id"]
        started = request_id == self._request
        tracing = self._tracing if started else None
        self._request = self._tracing = None
        if not (self.text or self.platform):  # only output lines are watched
            return
        if not started:
            self._start_late(event, request_id)
        if self.text:
            self._put(event, End(request_id))
        xray = tracing if tracing is not None and sampled(tracing) else None
        text = _report(event.data, (), xray) if self.text else None
        built = _report_event(event, tracing) if self.platform else None
        self._emit(Entry(event.time, event.wall, text, built=built))

    def _start_late(self, event: LifecycleEvent, request_id: str) -> None:
        """START for an invocation that ended before its Invoke phase began (a failed suppressed
        init or restore), at the moment of what was held back for it, then those entries."""
        deferred, self._deferred = self._deferred, []
        time, wall = (deferred[0].time, deferred[0].wall) if deferred else (event.time, event.wall)
        self._emit(Entry(time, wall, Start(request_id, self._config.function_version)))
        for entry in deferred:
            self._emit(entry)


# --- the invoke path's telemetry events, built directly --------------------------------------
# An invocation writes three events; building them through records, datetimes and compaction
# cost more than the invocation itself. These functions build the same objects (the records'
# to_record() with the same fields left out; tests/test_sinks_fastpath.py proves the two equal
# and every event is validated against its JSON Schema) from the engine's numbers.


def _tracing_object(tracing: Tracing) -> dict[str, Any]:
    if tracing.span_id is None:
        return {"type": tracing.type, "value": tracing.value}
    return {"spanId": tracing.span_id, "type": tracing.type, "value": tracing.value}


def _start_event(wall: float, record: Start) -> dict[str, Any]:
    body: dict[str, Any] = {"requestId": record.request_id}
    if record.version is not None:
        body["version"] = record.version
    if record.tracing is not None:
        body["tracing"] = _tracing_object(record.tracing)
    return {"time": format_wall(wall), "type": Start.TYPE, "record": body}


def _runtime_done_event(event: LifecycleEvent, tracing: Tracing | None) -> dict[str, Any]:
    """``platform.runtimeDone``; its spans only when the runtime itself answered."""
    data = event.data
    status, error_type = _outcome(data["status"], data["error_type"])
    duration_ms = data["duration_ms"]
    produced = data["produced_bytes"]
    body: dict[str, Any] = {"requestId": data["request_id"], "status": status}
    if error_type is not None:
        body["errorType"] = error_type
    metrics: dict[str, Any] = {"durationMs": duration_ms}
    if produced is not None:
        metrics["producedBytes"] = produced
    body["metrics"] = metrics
    wall = event.wall
    if produced is not None:
        answered = format_wall(wall)
        body["spans"] = [
            {
                "name": "responseLatency",
                "start": format_wall(wall - duration_ms / 1000),
                "durationMs": duration_ms,
            },
            {"name": "responseDuration", "start": answered, "durationMs": 0.0},
            {"name": "runtimeOverhead", "start": answered, "durationMs": 0.0},
        ]
    if tracing is not None:
        body["tracing"] = _tracing_object(tracing)
    return {"time": format_wall(wall), "type": RuntimeDone.TYPE, "record": body}


def _report_event(event: LifecycleEvent, tracing: Tracing | None) -> dict[str, Any]:
    """``platform.report`` with its ``extensionOverhead`` span (when the runtime was reached)."""
    data = event.data
    status, error_type = _outcome(data["status"], data["error_type"])
    body: dict[str, Any] = {"requestId": data["request_id"], "status": status}
    if error_type is not None:
        body["errorType"] = error_type
    metrics: dict[str, Any] = {
        "durationMs": data["duration_ms"],
        "billedDurationMs": data["billed_duration_ms"],
        "memorySizeMB": data["memory_size_mb"],
    }
    for key, name in _OPTIONAL_REPORT_METRICS:
        value = data[key]
        if value is not None:
            metrics[name] = value
    body["metrics"] = metrics
    wall = event.wall
    if data["response_latency_ms"] is not None:
        overhead_ms = data["extension_overhead_ms"]
        start = format_wall(wall - overhead_ms / 1000)
        body["spans"] = [{"name": "extensionOverhead", "start": start, "durationMs": overhead_ms}]
    if tracing is not None:
        body["tracing"] = _tracing_object(tracing)
    return {"time": format_wall(wall), "type": Report.TYPE, "record": body}


_OPTIONAL_REPORT_METRICS = (
    ("max_memory_used_mb", "maxMemoryUsedMB"),
    ("init_duration_ms", "initDurationMs"),
    ("restore_duration_ms", "restoreDurationMs"),
)


def _report(data: dict[str, Any], spans: tuple[Span, ...], tracing: Tracing | None) -> Report:
    status, error_type = _outcome(data["status"], data["error_type"])
    restore_ms = data["restore_duration_ms"]
    return Report(
        request_id=data["request_id"],
        status=status,
        error_type=error_type,
        duration_ms=data["duration_ms"],
        billed_duration_ms=data["billed_duration_ms"],
        memory_size_mb=data["memory_size_mb"],
        max_memory_used_mb=data["max_memory_used_mb"],
        init_duration_ms=data["init_duration_ms"],
        restore_duration_ms=restore_ms,
        billed_restore_duration_ms=None if restore_ms is None else billed_duration_ms(restore_ms),
        spans=spans,
        tracing=tracing,
    )

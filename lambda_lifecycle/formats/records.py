"""Typed records for what Lambda writes: one frozen record (a dataclass, or a NamedTuple for the
four made on every invocation) per line or event kind.

A record holds the data that a CloudWatch line or a Telemetry API event carries, independent of
any engine and of how it is written down. Two groups live here:

- **Telemetry records** (``platform.*``, ``function``, ``extension``). Each has a ``TYPE`` class
  constant with the event type and ``to_record()``, which returns the event's ``record`` object
  with AWS's exact camelCase field names, optional fields left out when they are None. The class
  method ``from_record()`` reads such an object back.
- **Plain-text-only records** (:class:`End`, :class:`LegacyError`, :class:`LegacyTimeout`) for the
  lines that have no telemetry counterpart.

A plain-text line says less than the matching telemetry event: ``INIT_START`` names no function,
``INIT_REPORT`` no initialization type, and a ``REPORT`` line in the older format no status.
Records parsed from text therefore hold None in those fields, meaning "the line did not say".
``to_record()`` refuses (``ValueError``) to turn such a record into an event, and likewise refuses
a ``failure`` or ``error`` status without an error type: it never produces an event AWS would not
send.

One field is deliberately an exception. ``Report.max_memory_used_mb`` is None when the memory was
not measured (an emulator running the runtime in-process cannot measure it); ``to_record()`` then
leaves ``maxMemoryUsedMB`` out rather than invent a number, and the bundled schema for
``platform.report`` accepts that absence (its ``$comment`` says so). AWS itself always sends it.

Times are written as ISO-8601 in UTC with milliseconds and ``Z`` (:func:`format_time`); a naive
``datetime`` is taken to be UTC, and anything finer than a millisecond is truncated.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, ClassVar, Literal, NamedTuple, Protocol, Self, TypeVar, cast, get_args

from ..core.config import InitializationType
from ..core.deadlines import InitPhase

__all__ = [
    "ERROR_STATUSES",
    "EXTENSION_EVENTS",
    "INITIALIZATION_TYPES",
    "PHASES",
    "STATUSES",
    "TELEMETRY_STREAMS",
    "TELEMETRY_TYPES",
    "TRACE_HEADER",
    "AppLog",
    "End",
    "ExtensionEvent",
    "ExtensionLog",
    "ExtensionState",
    "FunctionLog",
    "InitPhase",
    "InitReport",
    "InitRuntimeDone",
    "InitStart",
    "InitializationType",
    "LegacyError",
    "LegacyTimeout",
    "LogsDropped",
    "RecordBody",
    "Report",
    "RestoreReport",
    "RestoreRuntimeDone",
    "RestoreStart",
    "RuntimeDone",
    "Span",
    "Start",
    "Status",
    "TelemetryRecord",
    "TelemetryStream",
    "TelemetrySubscription",
    "Tracing",
    "compact",
    "format_time",
    "parse_time",
    "record_from",
]

Status = Literal["success", "failure", "error", "timeout"]
ExtensionEvent = Literal["INVOKE", "SHUTDOWN"]
TelemetryStream = Literal["platform", "function", "extension"]
TraceHeader = Literal["X-Amzn-Trace-Id"]

INITIALIZATION_TYPES: tuple[str, ...] = get_args(InitializationType)
PHASES: tuple[str, ...] = get_args(InitPhase)
STATUSES: tuple[str, ...] = get_args(Status)
EXTENSION_EVENTS: tuple[str, ...] = get_args(ExtensionEvent)
TELEMETRY_STREAMS: tuple[str, ...] = get_args(TelemetryStream)
TRACE_HEADER: TraceHeader = "X-Amzn-Trace-Id"

ERROR_STATUSES = frozenset({"failure", "error"})
"""The statuses with which AWS always sends an ``errorType``."""

RecordBody = dict[str, Any] | str
"""What a telemetry ``record`` holds: an object, or for text-format logs a plain line."""

_T = TypeVar("_T")


# --- time -------------------------------------------------------------------------------------


def format_time(moment: datetime) -> str:
    """``moment`` as AWS writes times: UTC, milliseconds, ``Z`` (``2022-10-12T00:00:15.064Z``).

    A naive ``datetime`` is taken to be UTC; sub-millisecond digits are truncated. The last few
    moments formatted are remembered (a record read back often shows one moment several times).
    """
    text = _RECENT_MOMENTS.get(moment)
    if text is not None:
        return text
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    wall = utc.timestamp()
    if 0 <= wall < _EXACT_WALL:  # the usual case, through format_wall's cache of the last second
        text = format_wall(wall)
    else:
        utc = utc.astimezone(UTC)
        text = utc.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
    if len(_RECENT_MOMENTS) >= _RECENT_LIMIT:
        _RECENT_MOMENTS.clear()
    _RECENT_MOMENTS[moment] = text
    return text


_RECENT_MOMENTS: dict[datetime, str] = {}
"""The moments :func:`format_time` wrote last, and their text."""


_EXACT_WALL = 2.0**32
"""Below this Unix time (the year 2106) a float holds every microsecond of a ``datetime``
exactly enough for :func:`format_wall` to round back to it."""


class _SecondCache:
    """The last whole second :func:`format_wall` formatted, and its text."""

    __slots__ = ("second", "text")

    def __init__(self) -> None:
        self.second = -1
        self.text = ""


_LAST_SECOND = _SecondCache()
_MILLISECONDS = tuple(f".{ms:03d}Z" for ms in range(1000))
_RECENT_LIMIT = 16


def format_wall(wall: float) -> str:
    """Unix time ``wall`` (seconds, after 1970) as :func:`format_time` writes it, without a
    ``datetime``.

    The invoke path formats a few moments per invocation, most of them more than once (a
    record's time is also where its spans start): the last few are remembered; the date and
    time of day are formatted once per second and reused, the milliseconds looked up.
    """
    text = _RECENT_WALLS.get(wall)
    if text is not None:
        return text
    second = int(wall)
    # Microseconds rounded half to even, then truncated to milliseconds: what
    # datetime.fromtimestamp (and so format_time) does.
    microseconds = round((wall - second) * 1e6)
    if microseconds >= 1_000_000:
        second += 1
        microseconds -= 1_000_000
    last = _LAST_SECOND
    if second != last.second:
        last.second = second
        last.text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
    text = last.text + _MILLISECONDS[microseconds // 1000]
    if len(_RECENT_WALLS) >= _RECENT_LIMIT:
        _RECENT_WALLS.clear()
    _RECENT_WALLS[wall] = text
    return text


_RECENT_WALLS: dict[float, str] = {}
"""The Unix times :func:`format_wall` wrote last, and their text."""


def parse_time(text: str) -> datetime:
    """An ISO-8601 time (``Z`` or an offset; none means UTC) as an aware UTC ``datetime``."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO-8601 time: {text!r}") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# --- reading the fields of a record object ----------------------------------------------------


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{what} must be a JSON object, got {value!r}")
    return value


def _get(data: Mapping[str, Any], key: str) -> Any:
    try:
        return data[key]
    except KeyError:
        raise ValueError(f"missing field {key!r}") from None


def _text(data: Mapping[str, Any], key: str) -> str:
    value = _get(data, key)
    if not isinstance(value, str):
        raise ValueError(f"field {key!r} must be a string, got {value!r}")
    return value


def _number(data: Mapping[str, Any], key: str) -> float:
    value = _get(data, key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"field {key!r} must be a number, got {value!r}")
    return float(value)


def _integer(data: Mapping[str, Any], key: str) -> int:
    value = _get(data, key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"field {key!r} must be an integer, got {value!r}")
    return value


def _choice(data: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> str:
    value = _text(data, key)
    if value not in allowed:
        raise ValueError(f"field {key!r} must be one of {allowed}, got {value!r}")
    return value


def _choices(data: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    values = _get(data, key)
    if not isinstance(values, list) or any(item not in allowed for item in values):
        raise ValueError(f"field {key!r} must be a list drawn from {allowed}, got {values!r}")
    return tuple(values)


def _optional(
    data: Mapping[str, Any], key: str, read: Callable[[Mapping[str, Any], str], _T]
) -> _T | None:
    return read(data, key) if key in data else None


def _status(data: Mapping[str, Any]) -> Status:
    return cast(Status, _choice(data, "status", STATUSES))


def _phase(data: Mapping[str, Any]) -> InitPhase:
    return cast(InitPhase, _choice(data, "phase", PHASES))


def _initialization_type(data: Mapping[str, Any]) -> InitializationType:
    return cast(InitializationType, _choice(data, "initializationType", INITIALIZATION_TYPES))


def _spans(data: Mapping[str, Any]) -> tuple[Span, ...]:
    items = data.get("spans", [])
    if not isinstance(items, list):
        raise ValueError(f"field 'spans' must be a list, got {items!r}")
    return tuple(Span.from_record(item) for item in items)


def _tracing(data: Mapping[str, Any]) -> Tracing | None:
    return Tracing.from_record(data["tracing"]) if "tracing" in data else None


def _metrics(data: Mapping[str, Any]) -> Mapping[str, Any]:
    return _mapping(_get(data, "metrics"), "field 'metrics'")


def _optional_metrics(data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    return _metrics(data) if "metrics" in data else None


# --- writing a record object ------------------------------------------------------------------


def compact(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields whose value is not None (AWS leaves absent optional fields out)."""
    return {key: value for key, value in fields.items() if value is not None}


def _need(value: _T | None, name: str, record_type: str) -> _T:
    if value is None:
        raise ValueError(
            f"{record_type} needs {name!r}, which this record does not carry "
            "(plain-text log lines do not say it)"
        )
    return value


def _check_error_type(record_type: str, status: str, error_type: str | None) -> None:
    if status in ERROR_STATUSES and error_type is None:
        raise ValueError(f"{record_type} with status {status!r} needs an errorType")


def _span_records(spans: tuple[Span, ...]) -> list[dict[str, Any]]:
    """``spans`` as ``{name, start, durationMs}`` objects (the one place that writes a span)."""
    objects = []
    for name, start, duration_ms in spans:
        text = format_time(start) if isinstance(start, datetime) else format_wall(start)
        objects.append({"name": name, "start": text, "durationMs": duration_ms})
    return objects


def _span_list(spans: tuple[Span, ...]) -> list[dict[str, Any]] | None:
    return _span_records(spans) if spans else None


def _outcome_record(
    record_type: str,
    request_id: str,
    status: str,
    error_type: str | None,
    metrics: dict[str, Any] | None,
    *,
    spans: tuple[Span, ...],
    tracing: Tracing | None,
) -> dict[str, Any]:
    """The ``record`` of ``platform.runtimeDone`` and ``platform.report``, in AWS's key order:
    ``requestId``, ``status``, then ``errorType``, ``metrics``, ``spans``, ``tracing`` when
    present. A failure needs its error type (``ValueError`` otherwise)."""
    record: dict[str, Any] = {"requestId": request_id, "status": status}
    _check_error_type(record_type, status, error_type)
    if error_type is not None:
        record["errorType"] = error_type
    if metrics is not None:
        record["metrics"] = metrics
    if spans:
        record["spans"] = _span_records(spans)
    if tracing is not None:
        record["tracing"] = tracing.to_record()
    return record


# --- building blocks --------------------------------------------------------------------------
# Spans and tracing are small parts of records, made several times per invocation: named tuples
# (frozen, and the cheapest named data to make).


class Span(NamedTuple):
    """A named stretch of a phase: ``{name, start, durationMs}``.

    ``start`` is a ``datetime`` (a span read back is given one) or a Unix time in seconds (the
    engine's spans: it knows its moments as Unix times, and a span is written in the same
    text either way).
    """

    name: str
    start: datetime | float
    duration_ms: float

    def to_record(self) -> dict[str, Any]:
        return _span_records((self,))[0]

    @classmethod
    def from_record(cls, data: Any) -> Span:
        obj = _mapping(data, "a span")
        return cls(_text(obj, "name"), parse_time(_text(obj, "start")), _number(obj, "durationMs"))


class Tracing(NamedTuple):
    """The trace context of an invocation: ``{spanId?, type, value}``.

    ``value`` is an ``X-Amzn-Trace-Id`` header value (``Root=1-…;Parent=…;Sampled=1``).
    """

    value: str
    span_id: str | None = None
    type: TraceHeader = TRACE_HEADER

    def to_record(self) -> dict[str, Any]:
        value, span_id, kind = self
        if span_id is None:
            return {"type": kind, "value": value}
        return {"spanId": span_id, "type": kind, "value": value}

    @classmethod
    def from_record(cls, data: Any) -> Tracing:
        obj = _mapping(data, "field 'tracing'")
        _choice(obj, "type", (TRACE_HEADER,))
        return cls(_text(obj, "value"), _optional(obj, "spanId", _text))


class TelemetryRecord(Protocol):
    """Any record that is the ``record`` of a Telemetry API event of type ``TYPE``."""

    TYPE: ClassVar[str]

    def to_record(self) -> RecordBody:
        """The event's ``record`` object, with AWS's field names."""
        ...


# --- Init, Restore, Invoke --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InitStart:
    """``platform.initStart``; in plain text ``INIT_START``, which carries only the runtime
    version and its ARN (the other required fields are then None)."""

    TYPE: ClassVar[str] = "platform.initStart"

    runtime_version: str | None
    runtime_version_arn: str | None
    initialization_type: InitializationType | None
    phase: InitPhase | None
    function_name: str | None
    function_version: str | None
    instance_id: str | None = None
    instance_max_memory: int | None = None

    def to_record(self) -> dict[str, Any]:
        return compact(
            {
                "initializationType": _need(
                    self.initialization_type, "initializationType", self.TYPE
                ),
                "phase": _need(self.phase, "phase", self.TYPE),
                "functionName": _need(self.function_name, "functionName", self.TYPE),
                "functionVersion": _need(self.function_version, "functionVersion", self.TYPE),
                "runtimeVersion": self.runtime_version,
                "runtimeVersionArn": self.runtime_version_arn,
                "instanceId": self.instance_id,
                "instanceMaxMemory": self.instance_max_memory,
            }
        )

    @classmethod
    def from_record(cls, data: Any) -> InitStart:
        obj = _mapping(data, cls.TYPE)
        return cls(
            runtime_version=_optional(obj, "runtimeVersion", _text),
            runtime_version_arn=_optional(obj, "runtimeVersionArn", _text),
            initialization_type=_initialization_type(obj),
            phase=_phase(obj),
            function_name=_text(obj, "functionName"),
            function_version=_text(obj, "functionVersion"),
            instance_id=_optional(obj, "instanceId", _text),
            instance_max_memory=_optional(obj, "instanceMaxMemory", _integer),
        )


@dataclass(frozen=True, slots=True)
class InitRuntimeDone:
    """``platform.initRuntimeDone``: the runtime finished its Init (no plain-text line)."""

    TYPE: ClassVar[str] = "platform.initRuntimeDone"

    initialization_type: InitializationType
    phase: InitPhase
    status: Status
    error_type: str | None = None
    spans: tuple[Span, ...] = ()

    def to_record(self) -> dict[str, Any]:
        _check_error_type(self.TYPE, self.status, self.error_type)
        return compact(
            {
                "initializationType": self.initialization_type,
                "phase": self.phase,
                "status": self.status,
                "errorType": self.error_type,
                "spans": _span_list(self.spans),
            }
        )

    @classmethod
    def from_record(cls, data: Any) -> InitRuntimeDone:
        obj = _mapping(data, cls.TYPE)
        return cls(
            initialization_type=_initialization_type(obj),
            phase=_phase(obj),
            status=_status(obj),
            error_type=_optional(obj, "errorType", _text),
            spans=_spans(obj),
        )


@dataclass(frozen=True, slots=True)
class InitReport:
    """``platform.initReport``; in plain text ``INIT_REPORT``, which does not name the
    initialization type (it is then None)."""

    TYPE: ClassVar[str] = "platform.initReport"

    initialization_type: InitializationType | None
    phase: InitPhase
    status: Status
    error_type: str | None
    duration_ms: float
    spans: tuple[Span, ...] = ()

    def to_record(self) -> dict[str, Any]:
        _check_error_type(self.TYPE, self.status, self.error_type)
        return compact(
            {
                "initializationType": _need(
                    self.initialization_type, "initializationType", self.TYPE
                ),
                "phase": self.phase,
                "status": self.status,
                "errorType": self.error_type,
                "metrics": {"durationMs": self.duration_ms},
                "spans": _span_list(self.spans),
            }
        )

    @classmethod
    def from_record(cls, data: Any) -> InitReport:
        obj = _mapping(data, cls.TYPE)
        metrics = _metrics(obj)
        return cls(
            initialization_type=_initialization_type(obj),
            phase=_phase(obj),
            status=_status(obj),
            error_type=_optional(obj, "errorType", _text),
            duration_ms=_number(metrics, "durationMs"),
            spans=_spans(obj),
        )


@dataclass(frozen=True, slots=True)
class RestoreStart:
    """``platform.restoreStart``: a SnapStart environment starts restoring (no plain-text line
    is rendered for it here)."""

    TYPE: ClassVar[str] = "platform.restoreStart"

    runtime_version: str | None
    runtime_version_arn: str | None
    function_name: str
    function_version: str
    instance_id: str | None = None
    instance_max_memory: int | None = None

    def to_record(self) -> dict[str, Any]:
        return compact(
            {
                "functionName": self.function_name,
                "functionVersion": self.function_version,
                "runtimeVersion": self.runtime_version,
                "runtimeVersionArn": self.runtime_version_arn,
                "instanceId": self.instance_id,
                "instanceMaxMemory": self.instance_max_memory,
            }
        )

    @classmethod
    def from_record(cls, data: Any) -> RestoreStart:
        obj = _mapping(data, cls.TYPE)
        return cls(
            runtime_version=_optional(obj, "runtimeVersion", _text),
            runtime_version_arn=_optional(obj, "runtimeVersionArn", _text),
            function_name=_text(obj, "functionName"),
            function_version=_text(obj, "functionVersion"),
            instance_id=_optional(obj, "instanceId", _text),
            instance_max_memory=_optional(obj, "instanceMaxMemory", _integer),
        )


@dataclass(frozen=True, slots=True)
class RestoreRuntimeDone:
    """``platform.restoreRuntimeDone``: the runtime asked for ``restore/next`` again."""

    TYPE: ClassVar[str] = "platform.restoreRuntimeDone"

    status: Status
    error_type: str | None = None
    spans: tuple[Span, ...] = ()

    def to_record(self) -> dict[str, Any]:
        _check_error_type(self.TYPE, self.status, self.error_type)
        return compact(
            {"status": self.status, "errorType": self.error_type, "spans": _span_list(self.spans)}
        )

    @classmethod
    def from_record(cls, data: Any) -> RestoreRuntimeDone:
        obj = _mapping(data, cls.TYPE)
        return cls(_status(obj), _optional(obj, "errorType", _text), _spans(obj))


@dataclass(frozen=True, slots=True)
class RestoreReport:
    """``platform.restoreReport``; in plain text ``RESTORE_REPORT``. The telemetry metrics are
    optional, so ``duration_ms`` may be None (a plain-text line always carries it)."""

    TYPE: ClassVar[str] = "platform.restoreReport"

    status: Status
    error_type: str | None
    duration_ms: float | None
    spans: tuple[Span, ...] = ()

    def to_record(self) -> dict[str, Any]:
        _check_error_type(self.TYPE, self.status, self.error_type)
        metrics = None if self.duration_ms is None else {"durationMs": self.duration_ms}
        return compact(
            {
                "status": self.status,
                "errorType": self.error_type,
                "metrics": metrics,
                "spans": _span_list(self.spans),
            }
        )

    @classmethod
    def from_record(cls, data: Any) -> RestoreReport:
        obj = _mapping(data, cls.TYPE)
        metrics = _optional_metrics(obj)
        return cls(
            status=_status(obj),
            error_type=_optional(obj, "errorType", _text),
            duration_ms=None if metrics is None else _number(metrics, "durationMs"),
            spans=_spans(obj),
        )


class _StartFields(NamedTuple):
    request_id: str
    version: str | None = None
    tracing: Tracing | None = None


class Start(_StartFields):
    """``platform.start``; in plain text ``START RequestId: <id> Version: <version>``."""

    __slots__ = ()
    TYPE: ClassVar[str] = "platform.start"

    def to_record(self) -> dict[str, Any]:
        request_id, version, tracing = self
        record: dict[str, Any] = {"requestId": request_id}
        if version is not None:
            record["version"] = version
        if tracing is not None:
            record["tracing"] = tracing.to_record()
        return record

    @classmethod
    def from_record(cls, data: Any) -> Start:
        obj = _mapping(data, cls.TYPE)
        return cls(_text(obj, "requestId"), _optional(obj, "version", _text), _tracing(obj))


class _RuntimeDoneFields(NamedTuple):
    request_id: str
    status: Status
    error_type: str | None = None
    duration_ms: float | None = None
    produced_bytes: int | None = None
    spans: tuple[Span, ...] = ()
    tracing: Tracing | None = None


class RuntimeDone(_RuntimeDoneFields):
    """``platform.runtimeDone``: the runtime answered (or failed to answer) an invocation.

    The metrics are optional; ``produced_bytes`` can only be sent together with ``duration_ms``.
    """

    __slots__ = ()
    TYPE: ClassVar[str] = "platform.runtimeDone"

    def to_record(self) -> dict[str, Any]:
        request_id, status, error_type, duration_ms, produced_bytes, spans, tracing = self
        metrics: dict[str, Any] | None = None
        if duration_ms is not None:
            metrics = {"durationMs": duration_ms}
            if produced_bytes is not None:
                metrics["producedBytes"] = produced_bytes
        elif produced_bytes is not None:
            raise ValueError(f"{self.TYPE}: producedBytes is only sent with durationMs")
        return _outcome_record(
            self.TYPE, request_id, status, error_type, metrics, spans=spans, tracing=tracing
        )

    @classmethod
    def from_record(cls, data: Any) -> RuntimeDone:
        obj = _mapping(data, cls.TYPE)
        metrics = _optional_metrics(obj) or {}
        return cls(
            request_id=_text(obj, "requestId"),
            status=_status(obj),
            error_type=_optional(obj, "errorType", _text),
            duration_ms=_optional(metrics, "durationMs", _number),
            produced_bytes=_optional(metrics, "producedBytes", _integer),
            spans=_spans(obj),
            tracing=_tracing(obj),
        )


class _ReportFields(NamedTuple):
    request_id: str
    status: Status | None
    error_type: str | None
    duration_ms: float
    billed_duration_ms: int
    memory_size_mb: int
    max_memory_used_mb: int | None
    init_duration_ms: float | None = None
    restore_duration_ms: float | None = None
    billed_restore_duration_ms: int | None = None
    spans: tuple[Span, ...] = ()
    tracing: Tracing | None = None


class Report(_ReportFields):
    """``platform.report``; in plain text ``REPORT RequestId: …``.

    ``status`` is None when a plain-text line does not state it: the older format never does,
    and the newer one prints ``Status`` only when the invocation did not succeed.
    ``max_memory_used_mb`` is None when the memory was not measured (see the module docstring).
    ``billed_restore_duration_ms`` is printed in SnapStart ``REPORT`` lines but is not a
    Telemetry API metric, so ``to_record()`` drops it.
    """

    __slots__ = ()
    TYPE: ClassVar[str] = "platform.report"

    def to_record(self) -> dict[str, Any]:
        (
            request_id,
            status,
            error_type,
            duration_ms,
            billed_ms,
            memory_mb,
            used_mb,
            init_ms,
            restore_ms,
            _,  # the billed restore duration: REPORT prints it, the Telemetry API does not
            spans,
            tracing,
        ) = self
        metrics: dict[str, Any] = {
            "durationMs": duration_ms,
            "billedDurationMs": billed_ms,
            "memorySizeMB": memory_mb,
        }
        if used_mb is not None:
            metrics["maxMemoryUsedMB"] = used_mb
        if init_ms is not None:
            metrics["initDurationMs"] = init_ms
        if restore_ms is not None:
            metrics["restoreDurationMs"] = restore_ms
        return _outcome_record(
            self.TYPE,
            request_id,
            _need(status, "status", self.TYPE),
            error_type,
            metrics,
            spans=spans,
            tracing=tracing,
        )

    @classmethod
    def from_record(cls, data: Any) -> Report:
        obj = _mapping(data, cls.TYPE)
        metrics = _metrics(obj)
        return cls(
            request_id=_text(obj, "requestId"),
            status=_status(obj),
            error_type=_optional(obj, "errorType", _text),
            duration_ms=_number(metrics, "durationMs"),
            billed_duration_ms=_integer(metrics, "billedDurationMs"),
            memory_size_mb=_integer(metrics, "memorySizeMB"),
            max_memory_used_mb=_optional(metrics, "maxMemoryUsedMB", _integer),
            init_duration_ms=_optional(metrics, "initDurationMs", _number),
            restore_duration_ms=_optional(metrics, "restoreDurationMs", _number),
            spans=_spans(obj),
            tracing=_tracing(obj),
        )


# --- extensions, subscriptions, dropped logs --------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExtensionState:
    """``platform.extension``: an extension registered (``state`` is e.g. ``Ready``)."""

    TYPE: ClassVar[str] = "platform.extension"

    name: str
    state: str
    events: tuple[ExtensionEvent, ...]
    error_type: str | None = None

    def to_record(self) -> dict[str, Any]:
        return compact(
            {
                "name": self.name,
                "state": self.state,
                "events": list(self.events),
                "errorType": self.error_type,
            }
        )

    @classmethod
    def from_record(cls, data: Any) -> ExtensionState:
        obj = _mapping(data, cls.TYPE)
        events = cast(tuple[ExtensionEvent, ...], _choices(obj, "events", EXTENSION_EVENTS))
        return cls(
            _text(obj, "name"), _text(obj, "state"), events, _optional(obj, "errorType", _text)
        )


@dataclass(frozen=True, slots=True)
class TelemetrySubscription:
    """``platform.telemetrySubscription``: an extension subscribed to the Telemetry API.

    ``extension`` says whether an extension made it (Lambda then writes a ``TELEMETRY`` line
    too); an embedder's own in-process subscription is not an extension's. It is not part of
    the event.
    """

    TYPE: ClassVar[str] = "platform.telemetrySubscription"

    name: str
    state: str
    types: tuple[TelemetryStream, ...]
    extension: bool = True

    def to_record(self) -> dict[str, Any]:
        return {"name": self.name, "state": self.state, "types": list(self.types)}

    @classmethod
    def from_record(cls, data: Any) -> TelemetrySubscription:
        obj = _mapping(data, cls.TYPE)
        types = cast(tuple[TelemetryStream, ...], _choices(obj, "types", TELEMETRY_STREAMS))
        return cls(_text(obj, "name"), _text(obj, "state"), types)


@dataclass(frozen=True, slots=True)
class LogsDropped:
    """``platform.logsDropped``: Lambda dropped records a subscriber could not take in time."""

    TYPE: ClassVar[str] = "platform.logsDropped"

    dropped_bytes: int
    dropped_records: int
    reason: str

    def to_record(self) -> dict[str, Any]:
        return {
            "droppedBytes": self.dropped_bytes,
            "droppedRecords": self.dropped_records,
            "reason": self.reason,
        }

    @classmethod
    def from_record(cls, data: Any) -> LogsDropped:
        obj = _mapping(data, cls.TYPE)
        return cls(
            _integer(obj, "droppedBytes"), _integer(obj, "droppedRecords"), _text(obj, "reason")
        )


# --- function and extension logs --------------------------------------------------------------

_APP_LOG_KEYS = frozenset({"timestamp", "level", "requestId", "message"})


@dataclass(frozen=True, slots=True)
class AppLog:
    """A function's or extension's log record in the JSON log format:
    ``{timestamp, level, requestId, message}``.

    ``request_id`` is None outside an invocation (the runtime then leaves the key out).
    ``level`` is kept as written: runtimes differ (Python writes ``WARNING``, others ``WARN``).
    ``extra`` holds any other keys the runtime added (``logger``, ``stackTrace``, …); it does
    not take part in hashing.
    """

    timestamp: datetime
    level: str
    request_id: str | None
    message: str
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), hash=False)

    def to_record(self) -> dict[str, Any]:
        fields = {
            "timestamp": format_time(self.timestamp),
            "level": self.level,
            "requestId": self.request_id,
            "message": self.message,
        }
        return {**compact(fields), **self.extra}

    @classmethod
    def from_record(cls, data: Any) -> AppLog:
        obj = _mapping(data, "an application log record")
        return cls(
            timestamp=parse_time(_text(obj, "timestamp")),
            level=_text(obj, "level"),
            request_id=_optional(obj, "requestId", _text),
            message=_text(obj, "message"),
            extra=MappingProxyType({k: v for k, v in obj.items() if k not in _APP_LOG_KEYS}),
        )


def _log_body(content: str | AppLog) -> RecordBody:
    return content if isinstance(content, str) else content.to_record()


def _log_content(data: Any) -> str | AppLog:
    return data if isinstance(data, str) else AppLog.from_record(data)


@dataclass(frozen=True, slots=True)
class _OutputLine:
    """A line of output, as text or as a JSON-format :class:`AppLog` (see the subclasses)."""

    TYPE: ClassVar[str]

    content: str | AppLog

    def to_record(self) -> RecordBody:
        return _log_body(self.content)

    @classmethod
    def from_record(cls, data: Any) -> Self:
        return cls(_log_content(data))


@dataclass(frozen=True, slots=True)
class FunctionLog(_OutputLine):
    """``function``: a line the function wrote, as text or as a JSON-format :class:`AppLog`."""

    TYPE: ClassVar[str] = "function"


@dataclass(frozen=True, slots=True)
class ExtensionLog(_OutputLine):
    """``extension``: a line an extension wrote, as text or as a JSON-format :class:`AppLog`."""

    TYPE: ClassVar[str] = "extension"


# --- plain-text-only lines --------------------------------------------------------------------


class End(NamedTuple):
    """``END RequestId: <id>``: the invocation's Invoke phase is over."""

    request_id: str


@dataclass(frozen=True, slots=True)
class LegacyError:
    """The older format's error notice, one log event of two lines::

        RequestId: <id> Error: Runtime exited without providing a reason
        Runtime.ExitError

    ``error_type`` (the second line) is None when only the first line was given.
    """

    request_id: str
    message: str
    error_type: str | None


@dataclass(frozen=True, slots=True)
class LegacyTimeout:
    """The older format's timeout notice:
    ``<ISO time> <id> Task timed out after 3.00 seconds``."""

    time: datetime
    request_id: str
    timeout_s: float


# --- the registry of telemetry types ----------------------------------------------------------

TELEMETRY_RECORDS: tuple[type[Any], ...] = (
    InitStart,
    InitRuntimeDone,
    InitReport,
    RestoreStart,
    RestoreRuntimeDone,
    RestoreReport,
    Start,
    RuntimeDone,
    Report,
    ExtensionState,
    TelemetrySubscription,
    LogsDropped,
    FunctionLog,
    ExtensionLog,
)
"""Every record class that is a Telemetry API event, one per ``TYPE``."""

_READERS: Mapping[str, Callable[[Any], TelemetryRecord]] = {
    cls.TYPE: cls.from_record for cls in TELEMETRY_RECORDS
}

TELEMETRY_TYPES: tuple[str, ...] = tuple(_READERS)
"""Every Telemetry API event type this module has a record for."""


def record_from(event_type: str, data: Any) -> TelemetryRecord:
    """The record of an event of ``event_type`` whose ``record`` object is ``data``."""
    try:
        read = _READERS[event_type]
    except KeyError:
        raise ValueError(f"unknown telemetry event type {event_type!r}") from None
    return read(data)

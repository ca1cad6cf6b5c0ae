"""The Logs API's events: what the older API (``/2020-08-15/logs``) writes for each record.

The Logs API delivers ``{time, type, record}`` events like the Telemetry API, but with fewer
types and smaller records (AWS's "Using the Lambda Logs API", runtimes-logs-api.html):

=============================  ==============================================================
``platform.start``             ``{requestId, version}``
``platform.runtimeDone``       ``{requestId, status}`` (``success``, ``failure``, ``timeout``);
                               only with ``schemaVersion`` ``2021-03-18``
``platform.end``               ``{requestId}`` (the plain-text ``END``)
``platform.report``            ``{requestId, metrics: {durationMs, billedDurationMs,
                               memorySizeMB, maxMemoryUsedMB, initDurationMs?}, tracing?}``
``platform.fault``             a string: the platform's notice of a crash
                               (``RequestId: … Error: …``)
``platform.extension``         ``{name, state, events}``
``platform.logsSubscription``  ``{name, state, types}``
``platform.logsDropped``       ``{reason, droppedRecords, droppedBytes}``
``function``, ``extension``    the line as a string (an application record: its JSON text)
=============================  ==============================================================

:func:`logs_event` renders a record of :mod:`.records` (with its moment) as the Logs API
event, or None for a record the Logs API has no event for (the Init and Restore records, the
Telemetry API's own subscription notice, ``platform.runtimeDone`` under ``2020-08-15``).
``maxMemoryUsedMB`` is left out when nothing measured it, as in the telemetry report. A status
of ``error`` (the Telemetry API's word for a function error) is ``failure`` here: the Logs API
knows three statuses. Pure: no clock, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from .jsonlog import render_json_line
from .records import (
    End,
    ExtensionLog,
    ExtensionState,
    FunctionLog,
    LegacyError,
    LogsDropped,
    Report,
    RuntimeDone,
    Start,
    TelemetryStream,
    format_wall,
)

__all__ = [
    "DEFAULT_SCHEMA_VERSION",
    "LOGS_SCHEMA_VERSIONS",
    "LOGS_TYPES",
    "LogsSchemaVersion",
    "LogsSubscription",
    "logs_event",
    "logs_record",
]

LogsSchemaVersion = Literal["2020-08-15", "2021-03-18"]
LOGS_SCHEMA_VERSIONS: tuple[LogsSchemaVersion, ...] = ("2020-08-15", "2021-03-18")
DEFAULT_SCHEMA_VERSION: LogsSchemaVersion = "2020-08-15"
"""AWS: ``schemaVersion`` is optional and defaults to ``2020-08-15``; ``2021-03-18`` adds
``platform.runtimeDone``."""

LOGS_TYPES: tuple[str, ...] = (
    "platform.start",
    "platform.runtimeDone",
    "platform.end",
    "platform.report",
    "platform.fault",
    "platform.extension",
    "platform.logsSubscription",
    "platform.logsDropped",
    "function",
    "extension",
)
"""Every event type the Logs API delivers."""


@dataclass(frozen=True, slots=True)
class LogsSubscription:
    """``platform.logsSubscription``: an extension subscribed to the Logs API."""

    TYPE: ClassVar[str] = "platform.logsSubscription"

    name: str
    state: str
    types: tuple[TelemetryStream, ...]

    def to_record(self) -> dict[str, Any]:
        return {"name": self.name, "state": self.state, "types": list(self.types)}


def _status(status: str) -> str:
    return "failure" if status == "error" else status


def _report(record: Report) -> dict[str, Any]:
    metrics: dict[str, Any] = {
        "durationMs": record.duration_ms,
        "billedDurationMs": record.billed_duration_ms,
        "memorySizeMB": record.memory_size_mb,
    }
    if record.max_memory_used_mb is not None:
        metrics["maxMemoryUsedMB"] = record.max_memory_used_mb
    if record.init_duration_ms is not None:
        metrics["initDurationMs"] = record.init_duration_ms
    body: dict[str, Any] = {"requestId": record.request_id, "metrics": metrics}
    if record.tracing is not None:
        body["tracing"] = record.tracing.to_record()
    return body


def logs_record(
    record: object, schema_version: LogsSchemaVersion = DEFAULT_SCHEMA_VERSION
) -> tuple[str, dict[str, Any] | str] | None:
    """The Logs API ``(type, record)`` for ``record``, or None when it writes none."""
    match record:
        case Start():
            body: dict[str, Any] = {"requestId": record.request_id}
            if record.version is not None:
                body["version"] = record.version
            return "platform.start", body
        case RuntimeDone():
            if schema_version == "2020-08-15":
                return None
            return "platform.runtimeDone", {
                "requestId": record.request_id,
                "status": _status(record.status),
            }
        case End():
            return "platform.end", {"requestId": record.request_id}
        case Report():
            return "platform.report", _report(record)
        case LegacyError():
            return "platform.fault", f"RequestId: {record.request_id} Error: {record.message}"
        case ExtensionState() | LogsSubscription() | LogsDropped():
            return record.TYPE, record.to_record()
        case FunctionLog() | ExtensionLog():
            content = record.content
            text = content if isinstance(content, str) else render_json_line(content.to_record())
            return record.TYPE, text
    return None


def logs_event(
    record: object, wall: float, schema_version: LogsSchemaVersion = DEFAULT_SCHEMA_VERSION
) -> dict[str, Any] | None:
    """The Logs API event ``{time, type, record}`` for ``record`` at Unix time ``wall``."""
    found = logs_record(record, schema_version)
    if found is None:
        return None
    event_type, body = found
    return {"time": format_wall(wall), "type": event_type, "record": body}

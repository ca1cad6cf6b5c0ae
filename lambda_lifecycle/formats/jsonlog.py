"""The Telemetry API envelope and the JSON log format.

Every Telemetry API event, and every system record in CloudWatch's JSON log format, is an
envelope ``{"time": …, "type": …, "record": …}``: ``time`` is ISO-8601 in UTC with milliseconds
and ``Z``, ``type`` is the record's ``TYPE`` (``platform.report``, ``function``, …) and
``record`` is what the record's ``to_record()`` gives. Application records in the JSON log
format are not wrapped: they are ``{timestamp, level, requestId, message}`` objects
(:class:`~.records.AppLog`), and inside a ``function`` or ``extension`` telemetry event they are
the ``record``.

:func:`envelope` and :func:`parse_envelope` turn records into envelopes and back;
:func:`render_json_line` and :func:`parse_json_line` do the same for one CloudWatch line of the
JSON log format. The caller supplies every time; nothing here reads a clock or does I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import ModuleType
from typing import Any

from .records import (
    TELEMETRY_TYPES,
    AppLog,
    TelemetryRecord,
    format_time,
    format_wall,
    parse_time,
    record_from,
)

__all__ = [
    "TelemetryEvent",
    "decode_json",
    "encode_array",
    "encode_json",
    "envelope",
    "function_log_record",
    "json_size",
    "parse_envelope",
    "parse_function_log_record",
    "parse_json_line",
    "render_json_line",
]

_ENVELOPE_KEYS = frozenset({"time", "type", "record"})
_APP_LOG_KEYS = frozenset({"timestamp", "level", "message"})

_orjson: ModuleType | None
try:  # the optional `fast` extra: the same compact JSON, encoded about twenty times faster
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised when the extra is not installed
    _orjson = None


@dataclass(frozen=True, slots=True)
class TelemetryEvent:
    """One envelope read back: when it happened and the record it carries."""

    time: datetime
    record: TelemetryRecord

    @property
    def type(self) -> str:
        """The event type, e.g. ``platform.report``."""
        return self.record.TYPE

    def to_envelope(self) -> dict[str, Any]:
        """The event as an envelope object again."""
        return envelope(self.record, self.time)


def envelope(record: TelemetryRecord, time: datetime | float) -> dict[str, Any]:
    """``{"time", "type", "record"}`` for ``record`` happening at ``time``: a ``datetime``
    (naive means UTC) or a Unix time in seconds.

    Raises ``ValueError`` when the record lacks a field the Telemetry API requires (see
    :mod:`.records`).
    """
    when = format_time(time) if isinstance(time, datetime) else format_wall(time)
    return {"time": when, "type": record.TYPE, "record": record.to_record()}


def parse_envelope(data: Mapping[str, Any]) -> TelemetryEvent:
    """The event an envelope object holds; ``ValueError`` if it is not a well-formed one."""
    if not isinstance(data, Mapping) or not _is_envelope(data):
        raise ValueError(f"not a telemetry envelope {sorted(_ENVELOPE_KEYS)}: {data!r}")
    time, event_type = data["time"], data["type"]
    if not isinstance(time, str) or not isinstance(event_type, str):
        raise ValueError(f"envelope 'time' and 'type' must be strings: {data!r}")
    return TelemetryEvent(parse_time(time), record_from(event_type, data["record"]))


def function_log_record(
    timestamp: datetime, level: str, request_id: str | None, message: str
) -> dict[str, Any]:
    """An application record of the JSON log format: ``{timestamp, level, requestId, message}``.

    ``requestId`` is left out when ``request_id`` is None (a line written outside an
    invocation).
    """
    return AppLog(timestamp, level, request_id, message).to_record()


def parse_function_log_record(data: Mapping[str, Any]) -> AppLog:
    """An application record read back; keys beyond the four land in ``AppLog.extra``."""
    return AppLog.from_record(data)


def render_json_line(data: Mapping[str, Any]) -> str:
    """One CloudWatch line of the JSON log format: compact JSON, non-ASCII kept as is."""
    if _orjson is not None:
        line: str = _orjson.dumps(data).decode()
        return line
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def encode_json(data: Mapping[str, Any] | Sequence[Any]) -> bytes:
    """``data`` (an object or an array) as the compact UTF-8 JSON of :func:`render_json_line`."""
    if _orjson is not None:
        encoded: bytes = _orjson.dumps(data)
        return encoded
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def json_size(data: Mapping[str, Any] | Sequence[Any]) -> int:
    """The size in bytes of ``data`` (an object or an array) as the compact UTF-8 JSON of
    :func:`render_json_line`."""
    return len(encode_json(data))


def encode_array(items: Sequence[bytes]) -> bytes:
    """The JSON array of already encoded JSON values (a Telemetry API batch's body)."""
    return b"[" + b",".join(items) + b"]"


def decode_json(data: bytes) -> Any:
    """The value of UTF-8 JSON ``data``, exactly as it was encoded (key order, every float)."""
    if _orjson is not None:
        return _orjson.loads(data)
    return json.loads(data)


def _is_envelope(data: Mapping[str, Any]) -> bool:
    return data.keys() >= _ENVELOPE_KEYS


def _is_app_log(data: Mapping[str, Any]) -> bool:
    return data.keys() >= _APP_LOG_KEYS and "type" not in data


def parse_json_line(text: str) -> TelemetryEvent | AppLog | None:
    """What one line of the JSON log format holds: a system record (an envelope), an
    application record, or None when the line is neither (not JSON, another shape, or an event
    type this module does not know). A known type with a malformed record raises
    ``ValueError``.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    if _is_envelope(data):
        return parse_envelope(data) if data["type"] in TELEMETRY_TYPES else None
    if _is_app_log(data):
        return AppLog.from_record(data)
    return None

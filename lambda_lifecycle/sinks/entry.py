"""One record of an environment's account, with the moment it happened.

Everything the sinks receive is an :class:`Entry`: a record of
:mod:`lambda_lifecycle.formats.records` (frozen, named data) and its engine time and Unix time.
An environment's entries are made once, by :mod:`.bridge` and :mod:`.invocation`, and shared by
every sink: a CloudWatch sink renders each as a text line or a JSON-format line, a telemetry
subscriber buffers its ``{time, type, record}`` event as UTF-8 JSON, whose length is what its
batching counts. The event and its JSON are computed on first use and kept, so that several
sinks pay for them once.

An entry's ``stream`` is the Telemetry API stream its record belongs to (``platform``,
``function``, ``extension``), or None for the lines that exist only in plain text (``END`` and
the older format's notices).
"""

from __future__ import annotations

from typing import Any

from ..formats.jsonlog import encode_json, envelope
from ..formats.records import TELEMETRY_RECORDS, TelemetryStream

__all__ = ["Entry"]

_STREAMS: dict[type[Any], TelemetryStream] = {
    cls: cls.TYPE.split(".")[0] for cls in TELEMETRY_RECORDS
}
"""The Telemetry API stream of each record class."""


class Entry:
    """One record and the moment it happened, shared by every sink of an environment.

    ``time`` is the engine's monotonic clock (seconds), ``wall`` the matching Unix time, and
    ``record`` any record of :mod:`lambda_lifecycle.formats.records`. Shared: read it only.
    """

    __slots__ = ("_encoded", "_envelope", "record", "stream", "time", "wall")

    def __init__(self, time: float, wall: float, record: Any) -> None:
        self.time = time
        self.wall = wall
        self.record = record
        self.stream: TelemetryStream | None = _STREAMS.get(type(record))
        self._envelope: dict[str, Any] | None = None
        self._encoded: bytes | None = None

    def envelope(self) -> dict[str, Any]:
        """The ``{time, type, record}`` event (only for an entry with a ``stream``)."""
        event = self._envelope
        if event is None:
            event = self._envelope = envelope(self.record, self.wall)
        return event

    def event(self) -> tuple[dict[str, Any], bytes]:
        """The event and its UTF-8 JSON together (what a telemetry subscriber buffers)."""
        event = self._envelope
        if event is None:
            event = self._envelope = envelope(self.record, self.wall)
        data = self._encoded
        if data is None:
            data = self._encoded = encode_json(event)
        return event, data

    def json_line(self) -> str:
        """The event as one line of JSON, as the JSON log format writes it."""
        return self.event()[1].decode()

    def encoded(self) -> bytes:
        """The event as UTF-8 JSON (what a Telemetry API batch carries, and counts)."""
        return self.event()[1]

    def size(self) -> int:
        """The event's size in bytes, encoded as UTF-8 JSON (what Telemetry API batching
        counts)."""
        return len(self.encoded())

    def __repr__(self) -> str:
        return f"Entry(time={self.time!r}, wall={self.wall!r}, record={self.record!r})"

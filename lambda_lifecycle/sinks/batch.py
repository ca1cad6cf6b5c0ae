"""One delivery of a Telemetry API (or Logs API) subscription: a batch of events.

Lambda POSTs each batch to a subscriber as one JSON array of ``{time, type, record}`` events.
A subscriber buffers its events already encoded (their UTF-8 JSON is what its ``maxBytes``
counts, and bytes are no work for the garbage collector while they wait), so a
:class:`TelemetryBatch` is that JSON: :attr:`TelemetryBatch.json` is the body as Lambda sends
it, made without decoding anything; read as a sequence, the batch is its events as objects,
decoded from that JSON once, on first use. The HTTP front end sends the body as it is; an
in-process subscriber that reads the events pays for decoding them, one that forwards the
batch does not.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

from ..formats.jsonlog import decode_json, encode_array

__all__ = ["TelemetryBatch"]


class TelemetryBatch(Sequence[dict[str, Any]]):
    """A batch of ``{time, type, record}`` events, in order, as delivered to one subscriber.

    Built from ``chunks``: each the UTF-8 JSON of one or more consecutive events, joined by
    commas (an array's body without its brackets), ``count`` events in all. Equal to any
    sequence holding the same events. Read only.
    """

    __slots__ = ("_chunks", "_count", "_events", "_json")

    def __init__(self, chunks: Sequence[bytes], count: int) -> None:
        self._chunks = chunks
        self._count = count
        self._json: bytes | None = None
        self._events: list[dict[str, Any]] | None = None

    @property
    def json(self) -> bytes:
        """The batch as the JSON array Lambda POSTs (compact, UTF-8)."""
        body = self._json
        if body is None:
            body = self._json = encode_array(self._chunks)
        return body

    @property
    def events(self) -> list[dict[str, Any]]:
        """The events as objects, decoded from :attr:`json` on first use (a new list each
        batch: a subscriber may keep or change it)."""
        events = self._events
        if events is None:
            events = self._events = decode_json(self.json)
        return events

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        return self.events[index]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.events)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TelemetryBatch):
            return self.json == other.json
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return self.events == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"TelemetryBatch({self._count} events)"

"""Streaming the values of a large JSON document, one array element at a time.

An ``aws logs filter-log-events`` export is one JSON object whose ``events`` array can hold
millions of log events, and a Telemetry API capture can be one array (or several) of events.
Reading such a document whole would take memory in proportion to it, so this module walks it
with the standard library's own JSON decoder: :meth:`json.JSONDecoder.raw_decode` decodes each
element (an event, or one delivery's array) from a buffer that is refilled and trimmed as it
goes, and only the document's structure (the brackets, commas and keys around the elements) is
stepped through here. Memory stays bounded by the largest single element.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

__all__ = ["DocumentItem", "JsonStream", "document_items"]

CHUNK = 1 << 20
MAX_ELEMENT = 64 << 20
"""An element larger than this is taken for a broken document rather than read on."""

_WHITESPACE = " \t\r\n"
_DECODER = json.JSONDecoder()

DocumentItem = tuple[int, str, Any, int]
"""``(line, kind, value, delivery)``: ``kind`` is ``cli`` for an export's log event and
``telemetry`` for an event of a capture; ``delivery`` numbers a capture's arrays from 1."""


class JsonStream:
    """A text stream read as JSON, a value at a time, keeping count of lines."""

    def __init__(self, handle: IO[str]) -> None:
        self._handle = handle
        self._buffer = ""
        self._pos = 0
        self._eof = False
        self.line = 1

    def _fill(self) -> bool:
        if self._eof:
            return False
        chunk = self._handle.read(CHUNK)
        if not chunk:
            self._eof = True
            return False
        if self._pos > len(self._buffer) // 2:
            self._buffer = self._buffer[self._pos :]
            self._pos = 0
        self._buffer += chunk
        return True

    def _advance(self, end: int) -> None:
        self.line += self._buffer.count("\n", self._pos, end)
        self._pos = end

    def peek(self) -> str:
        """The next character that is not whitespace ("" at the end), left unread."""
        while True:
            buffer, pos = self._buffer, self._pos
            while pos < len(buffer) and buffer[pos] in _WHITESPACE:
                pos += 1
            self._advance(pos)
            if pos < len(buffer):
                return buffer[pos]
            if not self._fill():
                return ""

    def take(self, expected: str) -> None:
        """Read the character ``expected``; ``ValueError`` if something else comes."""
        found = self.peek()
        if found != expected:
            raise ValueError(f"line {self.line}: expected {expected!r}, found {found or 'EOF'!r}")
        self._advance(self._pos + 1)

    def value(self) -> Any:
        """Decode the next JSON value."""
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self._buffer, self._pos)
            except json.JSONDecodeError as exc:
                if len(self._buffer) - self._pos > MAX_ELEMENT or not self._fill():
                    raise ValueError(f"line {self.line}: not valid JSON: {exc.msg}") from None
                continue
            if end == len(self._buffer) and not self._eof and self._fill():
                continue  # a number may go on in the next chunk
            self._advance(end)
            return value

    def elements(self) -> Iterator[tuple[int, Any]]:
        """The elements of the array that comes next, each with the line it begins on."""
        self.take("[")
        if self.peek() == "]":
            self.take("]")
            return
        while True:
            self.peek()
            line = self.line
            yield line, self.value()
            if self.peek() == ",":
                self.take(",")
                continue
            self.take("]")
            return


def _object(stream: JsonStream, deliveries: list[int]) -> Iterator[DocumentItem]:
    """An object: an export (its ``events`` streamed) or a single pretty-printed event."""
    line = stream.line
    stream.take("{")
    fields: dict[str, Any] = {}
    if stream.peek() == "}":
        stream.take("}")
        return
    while True:
        key = stream.value()
        stream.take(":")
        if key == "events" and stream.peek() == "[":
            for item_line, item in stream.elements():
                yield item_line, "cli", item, 0
        else:
            fields[str(key)] = stream.value()
        if stream.peek() == ",":
            stream.take(",")
            continue
        stream.take("}")
        break
    if "type" in fields and "record" in fields:
        deliveries[0] += 1
        yield line, "telemetry", fields, deliveries[0]


def document_items(handle: IO[str]) -> Iterator[DocumentItem]:
    """Every log event or telemetry event of the JSON document(s) in ``handle``.

    Understands an export object (``{"events": [...], ...}``), arrays of telemetry events
    (one per delivery, or one array of such arrays) and pretty-printed single events, one
    after another. Raises ``ValueError`` (with the line) where the text stops being JSON.
    """
    stream = JsonStream(handle)
    deliveries = [0]
    while (first := stream.peek()) != "":
        if first == "{":
            yield from _object(stream, deliveries)
        elif first == "[":
            deliveries[0] += 1
            outer = deliveries[0]
            for line, element in stream.elements():
                if isinstance(element, list):
                    deliveries[0] += 1
                    for event in element:
                        yield line, "telemetry", event, deliveries[0]
                else:
                    yield line, "telemetry", element, outer
        else:
            raise ValueError(f"line {stream.line}: expected a JSON object or array")

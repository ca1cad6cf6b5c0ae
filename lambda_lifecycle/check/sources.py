"""Reading the inputs: files or stdin, in any of the formats ``check`` understands.

Each input is sniffed from its first line that is not blank:

- a line of JSON (an object or an array): the file is read line by line, each line being a
  CloudWatch line of the JSON log format (``{time, type, record}`` system records; application
  records are skipped), a Telemetry API event (NDJSON), a delivery's array, or a plain-text
  line (the JSON log format leaves ``print`` output as text);
- an opening ``{`` or ``[`` that is not a whole line of JSON: one JSON document, streamed by
  :mod:`.jsonstream`: an ``aws logs filter-log-events`` / ``get-log-events`` export (its events
  from several log streams, each a plain-text or JSON-format message) or a Telemetry API
  capture (arrays of events as delivered);
- anything else: CloudWatch plain text, current or older format, with or without the time (and
  log stream) an export or ``aws logs tail`` puts before each line.

For ``check`` (``warm_runs``), plain text is read in binary a block at a time
(:mod:`.blocks`): the warm invocations of a block are found by one pattern and come as
:class:`~.warmscan.WarmRun` records, the function's own lines are skipped inside the pattern,
and every other line is read as the line reader reads it, with its exact number.

One log stream is one execution environment: an export names each event's stream, ``aws logs
tail`` prefixes it; otherwise a file (or a capture) is one environment. Everything is read as a
stream: memory does not grow with the input. A line that cannot be read becomes a ``malformed``
finding and reading goes on; only an input that cannot be opened, or a JSON document that stops
being JSON, is unreadable (:class:`Unreadable`).
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import IO, Any

from ..formats.jsonlog import parse_envelope
from ..formats.records import End, Start
from . import blocks
from .blocks import Prepended, read_blocks
from .fastlines import fast_report
from .jsonstream import document_items
from .model import Finding, Seen, Source
from .textlines import is_typeless_notice, read_text_line
from .warmscan import WarmRun, scan_block

__all__ = ["LIFECYCLE_TYPES", "Report", "Unreadable", "read_input"]

LIFECYCLE_TYPES = frozenset(
    {
        "platform.initStart",
        "platform.initRuntimeDone",
        "platform.initReport",
        "platform.restoreStart",
        "platform.restoreRuntimeDone",
        "platform.restoreReport",
        "platform.start",
        "platform.runtimeDone",
        "platform.report",
        "platform.logsDropped",
    }
)
"""The telemetry event types that tell of the lifecycle; the others are skipped unread."""

Report = Callable[[Finding], None]

_JSON_STARTS = ("{", "[{", "[[", "[]", "[ ")
"""How a line of JSON begins (an object, or a delivery's array); ``[INFO]`` does not."""


class Unreadable(Exception):
    """An input that cannot be read at all (missing, a directory, broken JSON)."""


def _malformed(file: str, line: int, environment: str, message: str) -> Finding:
    return Finding("malformed", file, line, environment, "malformed", "", message)


class _Context:
    """Per input: its name, where findings go, the telemetry types read, and the state of the
    line reader."""

    __slots__ = ("after_notice", "file", "report", "types")

    def __init__(self, file: str, report: Report, types: frozenset[str]) -> None:
        self.file = file
        self.report = report
        self.types = types
        self.after_notice = False


def _envelope(
    ctx: _Context, data: Any, line: int, environment: str, delivery: int
) -> Iterator[Seen]:
    if not isinstance(data, dict):
        ctx.report(_malformed(ctx.file, line, environment, f"not a telemetry event: {data!r}"))
        return
    kind = data.get("type")
    if kind not in ctx.types:
        return
    try:
        event = parse_envelope(data)
    except ValueError as exc:
        ctx.report(_malformed(ctx.file, line, environment, f"{kind}: {exc}"))
        return
    yield Seen(event.record, ctx.file, line, environment, "telemetry", event.time, delivery)


def _json_line(ctx: _Context, data: Any, line: int, environment: str) -> Iterator[Seen]:
    if isinstance(data, list):
        for index, item in enumerate(data):
            if isinstance(item, list):  # an array of deliveries on one line
                for event in item:
                    yield from _envelope(ctx, event, line, environment, line * 100_000 + index)
            else:
                yield from _envelope(ctx, item, line, environment, line)
    elif isinstance(data, dict):
        if "events" in data and isinstance(data["events"], list):
            for event in data["events"]:
                yield from _cli_event(ctx, event, line, environment)
        elif "type" in data and "record" in data:
            yield from _envelope(ctx, data, line, environment, 0)


def _text(
    ctx: _Context, text: str, line: int, environment: str, time: datetime | None
) -> Iterator[Seen]:
    if text.startswith(_JSON_STARTS):
        try:
            data = json.loads(text)
        except ValueError:
            if text.startswith(('{"time"', '[{"time"', '{"type"')):
                ctx.report(_malformed(ctx.file, line, environment, "a JSON log line cut short"))
            return
        yield from _json_line(ctx, data, line, environment)
        return
    parsed = read_text_line(text, ctx.after_notice)
    if parsed.malformed is not None:
        ctx.report(_malformed(ctx.file, line, parsed.stream or environment, parsed.malformed))
        return
    record = parsed.record
    if record is None:
        return
    ctx.after_notice = is_typeless_notice(record)
    source: Source = "text"
    yield Seen(record, ctx.file, line, parsed.stream or environment, source, parsed.time or time)


def _cli_event(ctx: _Context, event: Any, line: int, default_stream: str) -> Iterator[Seen]:
    if not isinstance(event, dict) or not isinstance(event.get("message"), str):
        ctx.report(_malformed(ctx.file, line, default_stream, "an export event without a message"))
        return
    stream = event.get("logStreamName")
    environment = stream if isinstance(stream, str) else default_stream
    stamp = event.get("timestamp")
    time = (
        datetime.fromtimestamp(stamp / 1000, UTC)
        if isinstance(stamp, int | float) and not isinstance(stamp, bool)
        else None
    )
    yield from _text(ctx, event["message"].rstrip("\r\n"), line, environment, time)


def _document(ctx: _Context, handle: IO[str], first_line: int) -> Iterator[Seen]:
    environment = ctx.file
    try:
        for line, kind, value, delivery in document_items(handle):
            at = line + first_line - 1
            if kind == "cli":
                yield from _cli_event(ctx, value, at, environment)
            else:
                yield from _envelope(ctx, value, at, environment, delivery)
    except ValueError as exc:
        raise Unreadable(f"{ctx.file}: {exc}") from None


def _sniff(handle: IO[str]) -> tuple[str, int, bool]:
    """The first line that is not blank, its number, and whether a JSON document begins."""
    number = 0
    for raw in handle:
        number += 1
        stripped = raw.strip()
        if not stripped:
            continue
        if stripped[0] in "{[":
            try:
                json.loads(stripped)
            except ValueError:
                return raw, number, True
        return raw, number, False
    return "", number, False


def read_handle(
    file: str, handle: IO[str], report: Report, types: frozenset[str] = LIFECYCLE_TYPES
) -> Iterator[Seen]:
    """Every record of one opened input, in order (of telemetry, the event ``types``)."""
    ctx = _Context(file, report, types)
    first, number, document = _sniff(handle)
    if document:
        yield from _document(ctx, _chain(first, handle), number)
        return
    if first:
        text = first.rstrip("\r\n")
        yield from _text(ctx, text, number, file, None)
    yield from _fast_lines(ctx, handle, number + 1)


_START = "START RequestId: "
_END = "END RequestId: "
_REPORT = "REPORT RequestId: "
_START_LINE = b"\nSTART RequestId: "
_LAMBDA_FIRST = frozenset("SERI{[0123456789")
"""The first characters of the lines that may be Lambda's (its keywords, ``RequestId:``, a
time, JSON): a line beginning with anything else is the function's own output."""


def _fast_lines(ctx: _Context, lines: Iterable[str], first: int) -> Iterator[Seen]:
    """The lines of a plain-text or JSON-lines input, the three commonest lines read without
    a regular expression (anything unusual about them goes the general way)."""
    file = ctx.file
    for number, raw in enumerate(lines, first):
        if raw[:1] in _LAMBDA_FIRST:
            text = raw.rstrip("\r\n")
            seen = _quick(ctx, number, text)
            if seen is not None:
                yield seen
            elif text:
                yield from _text(ctx, text, number, file, None)


def _quick(ctx: _Context, number: int, text: str) -> Seen | None:
    """``START``, ``END`` or ``REPORT`` in its usual form, read without the general reader."""
    file = ctx.file
    head = text[:1]
    if head == "S" and text.startswith(_START):
        parts = text[17:].split()
        if len(parts) == 3 and parts[1] == "Version:":
            ctx.after_notice = False
            return Seen(Start(parts[0], parts[2]), file, number, file, "text")
    elif head == "E" and text.startswith(_END):
        parts = text[15:].split()
        if len(parts) == 1:
            ctx.after_notice = False
            return Seen(End(parts[0]), file, number, file, "text")
    elif head == "R" and text.startswith(_REPORT):
        report = fast_report(text)
        if report is not None:
            ctx.after_notice = False
            return Seen(report, file, number, file, "text")
    return None


def _sniff_block(head: bytes) -> tuple[str, int, bool, int] | None:
    """What :func:`_sniff` finds, read from the first bytes of an input, and where the rest
    begins; None when those bytes cannot tell it the same way (a ``\\r``, which the line
    reader also takes for a line end, or no line that is not blank)."""
    if b"\r" in head:
        return None
    number = 0
    start = 0
    while True:
        end = head.find(b"\n", start) + 1
        if not end:
            return None
        number += 1
        raw = head[start:end].decode("utf-8", "replace")
        start = end
        stripped = raw.strip()
        if not stripped:
            continue
        document = False
        if stripped[0] in "{[":
            try:
                json.loads(stripped)
            except ValueError:
                document = True
        return raw, number, document, end


def _block_lines(ctx: _Context, stream: IO[bytes], head: bytes, first: int) -> Iterator[Seen]:
    """The lines of a plain-text or JSON-lines input (``head``, then the rest of ``stream``),
    numbered from ``first``, a block at a time: warm invocations found by one pattern
    (:mod:`.warmscan`) come as :class:`~.warmscan.WarmRun` records, every other line that may
    be Lambda's is read as :func:`_fast_lines` reads it, the function's own lines are skipped
    unread. A block with no invocation to find, or with a ``\\r``, is read by
    :func:`_fast_lines` itself."""
    file = ctx.file
    line = first
    for block in read_blocks(stream, head):
        if b"\r" in block or _START_LINE not in block:
            # no invocation to take in bulk (JSON lines, prefixed lines), or universal
            # newlines: the lines one by one, as the line reader reads them
            text = block[1:].decode("utf-8", "replace")
            lines = list(io.StringIO(text, newline=None)) if "\r" in text else text.split("\n")[:-1]
            yield from _fast_lines(ctx, lines, line)
            line += len(lines)
            continue
        items, line = scan_block(block, line)
        for item in items:
            if isinstance(item, WarmRun):
                ctx.after_notice = False
                yield Seen(item, file, item.ends[-1] + 1, file, "text")
                continue
            number, raw = item
            text = raw.decode("utf-8", "replace")
            quick = _quick(ctx, number, text)
            if quick is not None:
                yield quick
            else:
                yield from _text(ctx, text, number, file, None)


def _read_binary(
    file: str, stream: IO[bytes], report: Report, types: frozenset[str]
) -> Iterator[Seen]:
    """:func:`read_handle` on a binary input, plain text read a block at a time."""
    head = stream.read(blocks.BLOCK_SIZE)
    sniffed = _sniff_block(head)
    if sniffed is None or sniffed[2]:
        if stream.seekable():
            stream.seek(0)
            whole: IO[bytes] = stream
        else:
            whole = io.BufferedReader(Prepended(head, stream))
        text = io.TextIOWrapper(whole, encoding="utf-8", errors="replace")
        yield from read_handle(file, text, report, types)
        return
    first, number, _, end = sniffed
    ctx = _Context(file, report, types)
    yield from _text(ctx, first.rstrip("\r\n"), number, file, None)
    yield from _block_lines(ctx, stream, head[end:], number + 1)


class _Chained(io.TextIOBase):
    """A text stream that gives ``first`` and then the rest of ``rest``."""

    def __init__(self, first: str, rest: IO[str]) -> None:
        self._first = first
        self._rest = rest

    def read(self, size: int | None = -1) -> str:
        if self._first:
            head, self._first = self._first, ""
            return head
        return self._rest.read(-1 if size is None else size)


def _chain(first: str, rest: IO[str]) -> IO[str]:
    return _Chained(first, rest)  # type: ignore[return-value]


def read_input(
    name: str,
    report: Report,
    types: frozenset[str] = LIFECYCLE_TYPES,
    *,
    warm_runs: bool = False,
) -> Iterator[Seen]:
    """Every record of the input ``name`` (a path, or ``-`` for stdin); of telemetry, the
    event ``types``.

    With ``warm_runs``, plain text is read a block at a time and its plain warm invocations
    come as :class:`~.warmscan.WarmRun` records (for :class:`~.path.Path`, which takes them in
    bulk); without, every record is one line's.

    Raises :class:`Unreadable` when it cannot be opened or its JSON document breaks off.
    """
    if name == "-":
        binary = getattr(sys.stdin, "buffer", None)
        if binary is not None and warm_runs:
            yield from _read_binary("<stdin>", binary, report, types)
            return
        stdin: IO[str] = (
            sys.stdin
            if binary is None
            else io.TextIOWrapper(binary, encoding="utf-8", errors="replace")
        )
        yield from read_handle("<stdin>", stdin, report, types)
        return
    try:
        handle: IO[Any] = (
            open(name, "rb")  # noqa: SIM115
            if warm_runs
            else open(name, encoding="utf-8", errors="replace")  # noqa: SIM115
        )
    except OSError as exc:
        raise Unreadable(f"{name}: {exc.strerror or exc}") from None
    with handle:
        try:
            if warm_runs:
                yield from _read_binary(name, handle, report, types)
            else:
                yield from read_handle(name, handle, report, types)
        except OSError as exc:  # a directory, an I/O error
            raise Unreadable(f"{name}: {exc.strerror or exc}") from None

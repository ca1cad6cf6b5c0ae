"""Reading one CloudWatch plain-text log line: the export prefixes, then the record it holds.

Lambda's own lines (``INIT_START``, ``START``, ``END``, ``REPORT``, ``INIT_REPORT``,
``RESTORE_START``, ``RESTORE_REPORT``, the older format's ``RequestId: … Error: …`` and
``… Task timed out after …`` notices) are parsed by :func:`lambda_lifecycle.formats.textlog.
parse_line`; ``RESTORE_START``, which that module does not know, is read here. Before the line,
exports and tools add a time (``2022-12-20T01:00:00.000-08:00 START …``) and ``aws logs tail``
also the log stream (``<time> 2024/01/01/[$LATEST]0123…cdef START …``): both are taken off and
returned. Any other line is the function's or an extension's own output and gives no record; a
line that starts like one of Lambda's but does not read as one is malformed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from ..formats.records import LegacyError, parse_time
from ..formats.textlog import parse_line
from .model import RestoreStartLine

__all__ = ["ErrorTypeLine", "ParsedLine", "read_text_line", "stream_date"]

KEYWORDS = (
    "START ",
    "END ",
    "REPORT ",
    "INIT_START",
    "INIT_REPORT ",
    "RESTORE_START",
    "RESTORE_REPORT ",
    "RequestId: ",
)
"""How Lambda's own lines begin (the older error notice begins with ``RequestId:``)."""

_PREFIX = re.compile(
    r"(?P<time>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)[ \t]+"
    r"(?:(?P<stream>\d{4}/\d{2}/\d{2}/\[[^\]\s]*\][0-9A-Za-z]+)[ \t]+)?"
)
_RESTORE_START = re.compile(
    r"RESTORE_START(?:[ \t]+Runtime Version: (?P<version>\S+))?"
    r"(?:[ \t]+Runtime Version ARN: \S+)?\s*"
)
_ERROR_TYPE = re.compile(r"[A-Z][A-Za-z0-9]*(?:\.[A-Za-z0-9]+)+")
_STREAM_DATE = re.compile(r"(\d{4})/(\d{2})/(\d{2})/")


@dataclass(frozen=True, slots=True)
class ErrorTypeLine:
    """The second line of the older error notice (``Runtime.ExitError``), when the notice came
    as two log lines instead of one two-line event."""

    error_type: str


@dataclass(frozen=True, slots=True)
class ParsedLine:
    """What one line held: a record (None for the function's own output), the time and log
    stream an export prefixed, or why the line is malformed."""

    record: object | None
    time: datetime | None = None
    stream: str | None = None
    malformed: str | None = None


NOTHING = ParsedLine(None)


def _keyword_line(text: str) -> object | None:
    if text.startswith("RESTORE_START"):
        match = _RESTORE_START.fullmatch(text)
        return None if match is None else RestoreStartLine(match["version"])
    return parse_line(text)


def _parse(text: str, time: datetime | None, stream: str | None) -> ParsedLine:
    if not text.startswith(KEYWORDS):
        return ParsedLine(None, time, stream) if time is not None else NOTHING
    try:
        record = _keyword_line(text)
    except ValueError as exc:
        return ParsedLine(None, time, stream, f"unreadable Lambda line: {exc}")
    if record is None:
        if text.startswith("RequestId: ") and " Error: " not in text:
            return ParsedLine(None, time, stream)  # an application line that begins so
        keyword = text.split(maxsplit=1)[0]
        return ParsedLine(None, time, stream, f"a {keyword} line that does not parse: {text!r}")
    return ParsedLine(record, time, stream)


def read_text_line(text: str, after_notice: bool = False) -> ParsedLine:
    """The record ``text`` (one log line, without its newline) holds.

    ``after_notice`` says the previous Lambda line was the older error notice without its error
    type, so a lone ``Runtime.ExitError`` is read as that type.
    """
    if not text:
        return NOTHING
    first = text[0]
    if first.isdigit():
        try:
            record = parse_line(text)  # the older timeout notice begins with its own time
        except ValueError:
            record = None
        if record is not None:
            return ParsedLine(record)
        match = _PREFIX.match(text)
        if match is None:
            return NOTHING
        try:
            time = parse_time(match["time"].replace(" ", "T", 1).replace(",", "."))
        except ValueError:
            return NOTHING
        rest = text[match.end() :]
        if rest[:1].isdigit():
            try:
                record = parse_line(rest)
            except ValueError:
                record = None
            if record is not None:
                return ParsedLine(record, time, match["stream"])
        return _parse(rest, time, match["stream"])
    if after_notice and _ERROR_TYPE.fullmatch(text.strip()):
        return ParsedLine(ErrorTypeLine(text.strip()))
    return _parse(text, None, None)


def stream_date(stream: str) -> tuple[int, int, int] | None:
    """The date a log stream's name begins with (``2024/01/31/[$LATEST]…``), if it does."""
    match = _STREAM_DATE.match(stream)
    if match is None:
        return None
    return int(match[1]), int(match[2]), int(match[3])


def is_typeless_notice(record: object) -> bool:
    """Whether ``record`` is the older error notice without its error type line."""
    return isinstance(record, LegacyError) and record.error_type is None

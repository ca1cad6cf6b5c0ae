"""CloudWatch plain-text log lines: rendered from records and parsed back into them.

The lines Lambda writes to ``/aws/lambda/<function>`` when the system log format is text::

    INIT_START Runtime Version: python:3.13.v14<TAB>Runtime Version ARN: arn:aws:lambda:…
    START RequestId: <id> Version: $LATEST
    END RequestId: <id>
    REPORT RequestId: <id><TAB>Duration: 133.61 ms<TAB>Billed Duration: 214 ms<TAB>…
    INIT_REPORT Init Duration: 1236.04 ms<TAB>Phase: init<TAB>Status: timeout
    RESTORE_REPORT Restore Duration: 1236.04 ms<TAB>Status: error<TAB>Error Type: Runtime.ExitError

Rendering follows the wire, not the documentation's printout: the keyword and the first field are
separated by a space, later fields by tabs (``START`` and ``END`` use spaces only). Durations
have two decimals, billed durations and memory sizes are whole numbers. ``REPORT`` fields come in
AWS's order: RequestId, Duration, Billed Duration, Memory Size, Max Memory Used, Init Duration,
Restore Duration, Billed Restore Duration, Status, Error Type. ``Status`` is printed only when
the invocation did not succeed, and ``Error Type`` only when there is one; ``style="legacy"``
renders the older format, which has neither and instead writes separate notices
(:func:`render_legacy_error`, :func:`render_legacy_timeout`). When the invocation was traced, the
``XRAY TraceId: …<TAB>SegmentId: …<TAB>Sampled: true`` part follows on a second line of the same
log event, as recorded CloudWatch events show.

**Max Memory Used when unknown.** AWS always prints a measured value. When a :class:`Report`
has ``max_memory_used_mb=None`` (nothing measured it), this module writes
``Max Memory Used: - MB``: the field keeps its place and shape, so positional readers stay
aligned, but no number is invented, and any reader that expects digits (``(\\d+) MB``) finds
none instead of a plausible fake. :func:`parse_line` reads ``-`` back as None.

**Parsing** is the inverse of rendering and also accepts what the documentation prints and
what the wire carries besides: spaces or tabs between fields, the ``XRAY`` part on the same line
or the next, and trailing whitespace (AWS often ends each field with a tab, and CloudWatch
messages end with a newline). Billed Duration is read as written: since 2025-08-01 AWS bills
``ceil(Duration + Init Duration)``, older logs bill without the Init, and
:func:`follows_current_billing` tells which rule a line obeys. A line is recognised only when
it matches one of the formats exactly; anything else (an application's own output, a console
timestamp prefix) gives None.

Lines say less than telemetry events, so parsed records hold None where the line is silent (see
:mod:`.records`); a ``REPORT`` without ``Status`` gives ``status=None``, since the older format
omits it for every outcome.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Literal, assert_never, cast

from ..core.deadlines import billed_duration_ms
from .records import (
    STATUSES,
    End,
    ExtensionState,
    InitPhase,
    InitReport,
    InitStart,
    LegacyError,
    LegacyTimeout,
    Report,
    RestoreReport,
    Start,
    Status,
    TelemetrySubscription,
    Tracing,
    format_time,
    parse_time,
)

__all__ = [
    "RUNTIME_EXIT_REASON",
    "UNKNOWN_MEMORY",
    "Style",
    "TextRecord",
    "billed_duration_ms",
    "follows_current_billing",
    "parse_line",
    "render_end",
    "render_extension",
    "render_init_report",
    "render_init_start",
    "render_legacy_error",
    "render_legacy_timeout",
    "render_line",
    "render_report",
    "render_restore_report",
    "render_start",
    "render_telemetry_subscription",
    "render_xray",
    "sampled",
]

Style = Literal["current", "legacy"]
"""``current``: the format with Status and Error Type; ``legacy``: the older one without."""

TextRecord = (
    InitStart | Start | End | Report | InitReport | RestoreReport | LegacyError | LegacyTimeout
)
"""Every record a plain-text line can hold."""

UNKNOWN_MEMORY = "-"
"""What ``Max Memory Used`` shows when the memory was not measured."""

RUNTIME_EXIT_REASON = "Runtime exited without providing a reason"
"""The older format's message when the runtime exits with status 0."""

_FIELD_SEPARATOR = "\t"
_SEP = r"[ \t]+"
_DECIMAL = r"\d+(?:\.\d+)?"
_TOKEN = r"\S+"
_STATUS = "|".join(STATUSES)
_END = r"\s*"


# --- rendering --------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return f"{value:.2f} ms"


def _line(keyword: str, fields: list[str]) -> str:
    """``keyword``, a space, then the fields separated by tabs."""
    return f"{keyword} {_FIELD_SEPARATOR.join(fields)}" if fields else keyword


def _outcome_fields(status: Status | None, error_type: str | None, *, always: bool) -> list[str]:
    fields = []
    if status is not None and (always or status != "success"):
        fields.append(f"Status: {status}")
    if error_type is not None:
        fields.append(f"Error Type: {error_type}")
    return fields


def _trace_header(value: str) -> dict[str, str]:
    """The ``key=value`` pairs of an ``X-Amzn-Trace-Id`` header value."""
    pairs = (part.split("=", 1) for part in value.split(";") if "=" in part)
    return {key.strip(): item.strip() for key, item in pairs}


def render_xray(tracing: Tracing) -> str:
    """The ``XRAY TraceId: …<TAB>SegmentId: …<TAB>Sampled: …`` part of a traced ``REPORT``."""
    header = _trace_header(tracing.value)
    root = header.get("Root")
    segment = tracing.span_id or header.get("Parent")
    if not root or not segment:
        raise ValueError(f"cannot write an XRAY line without a Root and a segment: {tracing!r}")
    sampled = "true" if header.get("Sampled") == "1" else "false"
    return _FIELD_SEPARATOR.join(
        (f"XRAY TraceId: {root}", f"SegmentId: {segment}", f"Sampled: {sampled}")
    )


def render_init_start(record: InitStart) -> str:
    """``INIT_START Runtime Version: …<TAB>Runtime Version ARN: …`` (fields that are None are
    left out)."""
    fields = []
    if record.runtime_version is not None:
        fields.append(f"Runtime Version: {record.runtime_version}")
    if record.runtime_version_arn is not None:
        fields.append(f"Runtime Version ARN: {record.runtime_version_arn}")
    return _line("INIT_START", fields)


def render_start(record: Start) -> str:
    """``START RequestId: <id> Version: <version>``."""
    version = "" if record.version is None else f" Version: {record.version}"
    return f"START RequestId: {record.request_id}{version}"


def render_end(record: End) -> str:
    """``END RequestId: <id>``."""
    return f"END RequestId: {record.request_id}"


def _report_fields(record: Report, style: Style) -> list[str]:
    max_memory = UNKNOWN_MEMORY if record.max_memory_used_mb is None else record.max_memory_used_mb
    # The fields every REPORT has, in one string (the tabs between them are _FIELD_SEPARATOR).
    fields = [
        f"RequestId: {record.request_id}\tDuration: {record.duration_ms:.2f} ms"
        f"\tBilled Duration: {record.billed_duration_ms} ms"
        f"\tMemory Size: {record.memory_size_mb} MB\tMax Memory Used: {max_memory} MB"
    ]
    if record.init_duration_ms is not None:
        fields.append(f"Init Duration: {record.init_duration_ms:.2f} ms")
    if record.restore_duration_ms is not None:
        fields.append(f"Restore Duration: {record.restore_duration_ms:.2f} ms")
    if record.billed_restore_duration_ms is not None:
        fields.append(f"Billed Restore Duration: {record.billed_restore_duration_ms} ms")
    if style == "current":
        if record.status is not None and record.status != "success":
            fields.append(f"Status: {record.status}")
        if record.error_type is not None:
            fields.append(f"Error Type: {record.error_type}")
    return fields


def render_report(record: Report, style: Style = "current", *, xray: bool = True) -> str:
    """The ``REPORT`` line, plus an ``XRAY`` line when the record carries tracing (and ``xray``
    is true: Lambda writes that part only for a sampled trace, see :func:`sampled`)."""
    text = "REPORT " + _FIELD_SEPARATOR.join(_report_fields(record, style))
    tracing = record.tracing
    return text if tracing is None or not xray else f"{text}\n{render_xray(tracing)}"


def sampled(tracing: Tracing | None) -> bool:
    """Whether the trace header says ``Sampled=1``: then ``REPORT`` has its ``XRAY`` part."""
    return tracing is not None and "Sampled=1" in tracing.value.split(";")


# EXTENSION and TELEMETRY lines, as CloudWatch log streams recorded from AWS show them (for
# example "EXTENSION<TAB>Name: AppConfigAgent<TAB>State: Ready<TAB>Events: [INVOKE, SHUTDOWN]"
# and "TELEMETRY<TAB>Name: datadog-agent<TAB>State: Subscribed<TAB>Types: [Platform, Function,
# Extension]", quoted in users' public reports of their function logs): unlike REPORT, a tab
# follows the keyword too; lists are bracketed and separated by ", "; the telemetry streams are
# capitalised.


def render_extension(record: ExtensionState) -> str:
    """``EXTENSION<TAB>Name: …<TAB>State: Ready<TAB>Events: [INVOKE, SHUTDOWN]``."""
    events = ", ".join(record.events)
    return _FIELD_SEPARATOR.join(
        ("EXTENSION", f"Name: {record.name}", f"State: {record.state}", f"Events: [{events}]")
    )


def render_telemetry_subscription(record: TelemetrySubscription) -> str:
    """``TELEMETRY<TAB>Name: …<TAB>State: Subscribed<TAB>Types: [Platform, Function]``."""
    types = ", ".join(stream.capitalize() for stream in record.types)
    return _FIELD_SEPARATOR.join(
        ("TELEMETRY", f"Name: {record.name}", f"State: {record.state}", f"Types: [{types}]")
    )


def render_init_report(record: InitReport) -> str:
    """``INIT_REPORT Init Duration: … ms<TAB>Phase: …<TAB>Status: …[<TAB>Error Type: …]``."""
    fields = [f"Init Duration: {_ms(record.duration_ms)}", f"Phase: {record.phase}"]
    fields += _outcome_fields(record.status, record.error_type, always=True)
    return _line("INIT_REPORT", fields)


def render_restore_report(record: RestoreReport) -> str:
    """``RESTORE_REPORT Restore Duration: … ms<TAB>Status: …[<TAB>Error Type: …]``."""
    if record.duration_ms is None:
        raise ValueError("a RESTORE_REPORT line always states the Restore Duration")
    fields = [f"Restore Duration: {_ms(record.duration_ms)}"]
    fields += _outcome_fields(record.status, record.error_type, always=True)
    return _line("RESTORE_REPORT", fields)


def render_legacy_error(record: LegacyError) -> str:
    """The older format's error notice: ``RequestId: <id> Error: <message>``, then the error
    type on a second line of the same log event."""
    text = f"RequestId: {record.request_id} Error: {record.message}"
    return text if record.error_type is None else f"{text}\n{record.error_type}"


def render_legacy_timeout(record: LegacyTimeout) -> str:
    """The older format's timeout notice: ``<time> <id> Task timed out after N.NN seconds``."""
    return (
        f"{format_time(record.time)} {record.request_id} "
        f"Task timed out after {record.timeout_s:.2f} seconds"
    )


def render_line(record: TextRecord, style: Style = "current") -> str:
    """The plain-text line for any record a line can hold."""
    match record:
        case InitStart():
            return render_init_start(record)
        case Start():
            return render_start(record)
        case End():
            return render_end(record)
        case Report():
            return render_report(record, style)
        case InitReport():
            return render_init_report(record)
        case RestoreReport():
            return render_restore_report(record)
        case LegacyError():
            return render_legacy_error(record)
        case LegacyTimeout():
            return render_legacy_timeout(record)
        case _:
            assert_never(record)


# --- parsing ----------------------------------------------------------------------------------


def _optional_field(label: str, group: str, value: str, unit: str = "") -> str:
    suffix = f" {unit}" if unit else ""
    return rf"(?:{_SEP}{label}: (?P<{group}>{value}){suffix})?"


_OUTCOME = _optional_field("Status", "status", _STATUS) + _optional_field(
    "Error Type", "error_type", _TOKEN
)
_REQUIRED_OUTCOME = rf"{_SEP}Status: (?P<status>{_STATUS})" + _optional_field(
    "Error Type", "error_type", _TOKEN
)
_XRAY = (
    rf"(?:\s+XRAY TraceId: (?P<trace_id>{_TOKEN}){_SEP}SegmentId: (?P<segment_id>{_TOKEN})"
    rf"{_SEP}Sampled: (?P<sampled>true|false))?"
)

# The patterns' text; compiled at the first parse (a writer of logs never compiles them).
_INIT_START = (
    "INIT_START"
    + _optional_field("Runtime Version", "runtime_version", _TOKEN)
    + _optional_field("Runtime Version ARN", "runtime_version_arn", _TOKEN)
    + _END
)
_START = (
    rf"START RequestId: (?P<request_id>{_TOKEN})"
    + _optional_field("Version", "version", _TOKEN)
    + _END
)
_END_LINE = rf"END RequestId: (?P<request_id>{_TOKEN}){_END}"
_REPORT = (
    rf"REPORT RequestId: (?P<request_id>{_TOKEN})"
    rf"{_SEP}Duration: (?P<duration>{_DECIMAL}) ms"
    rf"{_SEP}Billed Duration: (?P<billed>\d+) ms"
    rf"{_SEP}Memory Size: (?P<memory>\d+) MB"
    rf"{_SEP}Max Memory Used: (?P<max_memory>\d+|{re.escape(UNKNOWN_MEMORY)}) MB"
    + _optional_field("Init Duration", "init", _DECIMAL, "ms")
    + _optional_field("Restore Duration", "restore", _DECIMAL, "ms")
    + _optional_field("Billed Restore Duration", "billed_restore", r"\d+", "ms")
    + _OUTCOME
    + _XRAY
    + _END
)
_INIT_REPORT = (
    rf"INIT_REPORT Init Duration: (?P<duration>{_DECIMAL}) ms"
    rf"{_SEP}Phase: (?P<phase>init|invoke)" + _REQUIRED_OUTCOME + _END
)
_RESTORE_REPORT = (
    rf"RESTORE_REPORT Restore Duration: (?P<duration>{_DECIMAL}) ms" + _REQUIRED_OUTCOME + _END
)
_LEGACY_ERROR = (
    rf"RequestId: (?P<request_id>{_TOKEN}) Error: (?P<message>[^\n]*[^\s])"
    rf"(?:[ \t]*\n(?P<error_type>{_TOKEN}))?{_END}"
)
_LEGACY_TIMEOUT = (
    r"(?P<time>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?)"
    rf"{_SEP}(?P<request_id>{_TOKEN}){_SEP}"
    rf"Task timed out after (?P<seconds>{_DECIMAL}) seconds{_END}"
)


def _float_or_none(text: str | None) -> float | None:
    return None if text is None else float(text)


def _int_or_none(text: str | None) -> int | None:
    return None if text is None else int(text)


def _status_or_none(text: str | None) -> Status | None:
    return None if text is None else cast(Status, text)


def _xray(match: re.Match[str]) -> Tracing | None:
    if match["trace_id"] is None:
        return None
    sampled = "1" if match["sampled"] == "true" else "0"
    return Tracing(f"Root={match['trace_id']};Sampled={sampled}", span_id=match["segment_id"])


def _init_start(match: re.Match[str]) -> InitStart:
    return InitStart(
        runtime_version=match["runtime_version"],
        runtime_version_arn=match["runtime_version_arn"],
        initialization_type=None,
        phase=None,
        function_name=None,
        function_version=None,
    )


def _start(match: re.Match[str]) -> Start:
    return Start(match["request_id"], match["version"])


def _end(match: re.Match[str]) -> End:
    return End(match["request_id"])


def _report(match: re.Match[str]) -> Report:
    max_memory = match["max_memory"]
    return Report(
        request_id=match["request_id"],
        status=_status_or_none(match["status"]),
        error_type=match["error_type"],
        duration_ms=float(match["duration"]),
        billed_duration_ms=int(match["billed"]),
        memory_size_mb=int(match["memory"]),
        max_memory_used_mb=None if max_memory == UNKNOWN_MEMORY else int(max_memory),
        init_duration_ms=_float_or_none(match["init"]),
        restore_duration_ms=_float_or_none(match["restore"]),
        billed_restore_duration_ms=_int_or_none(match["billed_restore"]),
        tracing=_xray(match),
    )


def _init_report(match: re.Match[str]) -> InitReport:
    return InitReport(
        initialization_type=None,
        phase=cast(InitPhase, match["phase"]),
        status=cast(Status, match["status"]),
        error_type=match["error_type"],
        duration_ms=float(match["duration"]),
    )


def _restore_report(match: re.Match[str]) -> RestoreReport:
    return RestoreReport(
        status=cast(Status, match["status"]),
        error_type=match["error_type"],
        duration_ms=float(match["duration"]),
    )


def _legacy_error(match: re.Match[str]) -> LegacyError:
    return LegacyError(match["request_id"], match["message"], match["error_type"])


def _legacy_timeout(match: re.Match[str]) -> LegacyTimeout:
    return LegacyTimeout(parse_time(match["time"]), match["request_id"], float(match["seconds"]))


Parser = tuple[re.Pattern[str], Callable[[re.Match[str]], TextRecord]]


@cache
def _parsers() -> tuple[Parser, ...]:
    """Each pattern compiled, with the function that builds its record; the most frequent first."""
    return tuple(
        (re.compile(pattern), build)
        for pattern, build in (
            (_REPORT, _report),
            (_START, _start),
            (_END_LINE, _end),
            (_INIT_START, _init_start),
            (_INIT_REPORT, _init_report),
            (_RESTORE_REPORT, _restore_report),
            (_LEGACY_ERROR, _legacy_error),
            (_LEGACY_TIMEOUT, _legacy_timeout),
        )
    )


def parse_line(text: str) -> TextRecord | None:
    """The record a plain-text Lambda line holds, or None when ``text`` is no such line.

    ``text`` is one CloudWatch log event's message; the two-line events (``REPORT`` with its
    ``XRAY`` line, the older error notice with its error type) are read whole. Raises
    ``ValueError`` only for a line of the right shape holding an impossible time.
    """
    for pattern, build in _parsers():
        match = pattern.fullmatch(text)
        if match is not None:
            return build(match)
    return None


# --- billing ----------------------------------------------------------------------------------


def follows_current_billing(record: Report) -> bool:
    """Whether the line bills ``ceil(Duration + Init Duration)``, AWS's rule since 2025-08-01.

    Lines written before then bill the invocation without its Init; both kinds are real logs,
    so a reader reports the rule instead of rejecting either.
    """
    return record.billed_duration_ms == billed_duration_ms(
        record.duration_ms, record.init_duration_ms
    )

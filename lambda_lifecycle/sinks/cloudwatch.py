"""The CloudWatch log stream of an environment: the lines Lambda writes, where the user wants them.

:func:`attach_log_sink` writes what ``/aws/lambda/<function>`` would receive from one execution
environment, rendered by :mod:`lambda_lifecycle.formats`:

- ``log_format="text"`` (the default, AWS's plain-text system logs): ``INIT_START`` at each
  Init phase Lambda logs (a suppressed init, phase ``invoke``, is not logged as an Init);
  ``INIT_REPORT`` when an Init fails or times out, and after every Init of a
  provisioned-concurrency or SnapStart function; ``RESTORE_REPORT`` when a Restore fails or
  times out; ``START``, ``END`` and ``REPORT`` for every invocation; and the function's and
  extensions' own lines as they were written. ``style="legacy"`` writes the older format:
  ``REPORT`` without ``Status`` and ``Error Type``, and instead the platform's notices between
  ``START`` and ``END`` for a runtime or extension crash (``RequestId: … Error: …`` with the
  error type on a second line) or a timeout (``… Task timed out after N.NN seconds``).
- ``log_format="json"`` (AWS's ``LogFormat=JSON``): every ``platform.*`` record as a
  ``{time, type, record}`` line, the same records the Telemetry API delivers, and the output
  lines as written (an application record as its JSON object).

A line Lambda writes as one log event of two lines (``REPORT`` with its ``XRAY`` part, the older
error notice) is handed over as one string with an embedded newline.

The destination is a text stream (``sys.stdout``), a file path (opened for appending, UTF-8), or
a callable taking each line. The sink is a synchronous listener: lines are written in order,
while the engine publishes what they are about, and flushed at once; an invocation's ``START``
is written together with what follows it (its first output line, or its ``END`` and
``REPORT``), as :mod:`.bridge` explains, unless the sink is ``live`` (for a person watching the
stream: ``START`` as the Invoke phase begins). The sink never configures ``logging`` or
structlog. A destination that raises does not disturb the environment: the first
error is kept and raised again by :meth:`LogSink.close`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import IO, TYPE_CHECKING, Any, Literal

from ..formats.jsonlog import render_json_line
from ..formats.records import (
    End,
    ExtensionLog,
    ExtensionState,
    FunctionLog,
    InitReport,
    InitStart,
    LegacyError,
    LegacyTimeout,
    Report,
    RestoreReport,
    Start,
    TelemetrySubscription,
)
from ..formats.textlog import (
    Style,
    render_end,
    render_extension,
    render_init_report,
    render_init_start,
    render_legacy_error,
    render_legacy_timeout,
    render_report,
    render_restore_report,
    render_start,
    render_telemetry_subscription,
    sampled,
)
from . import router
from .entry import Entry
from .router import Need

if TYPE_CHECKING:
    from ..engine.environment import Environment

__all__ = [
    "Destination",
    "LogFormat",
    "LogSink",
    "attach_log_sink",
    "init_report_logged",
    "json_line",
    "text_line",
]

LogFormat = Literal["text", "json"]
Destination = IO[str] | str | os.PathLike[str] | Callable[[str], object]
"""Where lines go: a text stream, a file path, or a callable taking each line."""

LOG_FORMATS = ("text", "json")
STYLES = ("current", "legacy")
_LOGGED_INIT_TYPES = frozenset({"provisioned-concurrency", "snap-start"})


def init_report_logged(record: InitReport) -> bool:
    """Whether Lambda writes ``INIT_REPORT`` for this Init.

    On failure or timeout, always (a failed suppressed init reads ``Phase: invoke``); on
    success, only after the Init phase of a provisioned-concurrency or SnapStart function.
    """
    if record.status != "success":
        return True
    return record.phase == "init" and record.initialization_type in _LOGGED_INIT_TYPES


def _output_text(record: FunctionLog | ExtensionLog) -> str:
    content = record.content
    return content if isinstance(content, str) else content.message


def _output_json(record: FunctionLog | ExtensionLog) -> str:
    content = record.content
    return content if isinstance(content, str) else render_json_line(content.to_record())


def _legacy_only(render: Callable[[Any], str]) -> Callable[[Any, Style], str | None]:
    """A notice the older format alone writes."""
    return lambda record, style: render(record) if style == "legacy" else None


_TEXT_LINES: dict[type[Any], Callable[[Any, Style], str | None]] = {
    Start: lambda record, _: render_start(record),
    End: lambda record, _: render_end(record),
    Report: lambda record, style: render_report(record, style, xray=sampled(record.tracing)),
    FunctionLog: lambda record, _: _output_text(record),
    ExtensionLog: lambda record, _: _output_text(record),
    LegacyError: _legacy_only(render_legacy_error),
    LegacyTimeout: _legacy_only(render_legacy_timeout),
    InitStart: lambda record, _: render_init_start(record) if record.phase == "init" else None,
    InitReport: lambda record, _: (
        render_init_report(record) if init_report_logged(record) else None
    ),
    RestoreReport: lambda record, _: (
        render_restore_report(record) if record.status != "success" else None
    ),
    ExtensionState: lambda record, _: render_extension(record),
    TelemetrySubscription: lambda record, _: (
        render_telemetry_subscription(record) if record.extension else None
    ),
}
"""How each kind of record is written in plain text (see :func:`text_line`)."""


def text_line(record: object, style: Style = "current") -> str | None:
    """The plain-text log event Lambda writes for ``record`` in ``style``, or None where it
    writes none (a two-line event is one string with an embedded newline).

    An invocation writes ``START``, ``END`` and ``REPORT`` (its ``XRAY`` part for a sampled
    trace), and in the older format its notice of a timeout or a crash; an Init writes
    ``INIT_START`` (not for a suppressed init) and ``INIT_REPORT`` when
    :func:`init_report_logged`; a Restore writes ``RESTORE_REPORT`` when it did not succeed;
    an extension's registration writes ``EXTENSION`` and its telemetry subscription
    ``TELEMETRY`` (when they happen; AWS writes them among the Init's lines, ``TELEMETRY``
    first: here they come in the order they happened); output lines are written as they came
    (an application record by its message).
    """
    write = _TEXT_LINES.get(type(record))
    return None if write is None else write(record, style)


def json_line(entry: Entry) -> str | None:
    """The JSON-format line Lambda writes for an entry, if any: a ``platform.*`` event as its
    envelope, an output line as written."""
    record = entry.record
    if isinstance(record, FunctionLog | ExtensionLog):
        return _output_json(record)
    return entry.json_line() if entry.stream == "platform" else None


Writer = Callable[[list[str]], object]
"""Writes log events (one line each, or two for a two-line event), and flushes them."""


def _open(destination: Destination) -> tuple[Writer, Callable[[], None]]:
    """The write function for ``destination`` and the function that closes it."""
    if isinstance(destination, str | os.PathLike):
        fd = os.open(destination, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        return _file_writer(fd), lambda: os.close(fd)
    if callable(destination):
        call = destination

        def call_each(lines: list[str]) -> None:
            for line in lines:
                call(line)

        return call_each, lambda: None
    return _stream_writer(destination), lambda: None


def _file_writer(fd: int) -> Writer:
    """Lines appended to an open file, handed to the kernel at once (nothing waits in a
    buffer: a process that dies loses no line it wrote)."""
    write = os.write

    def write_lines(lines: list[str]) -> None:
        data = ("\n".join(lines) + "\n").encode()
        while data:
            data = data[write(fd, data) :]

    return write_lines


def _stream_writer(stream: IO[str]) -> Writer:
    write, flush = stream.write, stream.flush

    def write_lines(lines: list[str]) -> None:
        write("\n".join(lines) + "\n")
        flush()

    return write_lines


class LogSink:
    """An environment's CloudWatch log stream, written to a destination. Close it when done."""

    __slots__ = (
        "_close",
        "_env",
        "_write",
        "error",
        "live",
        "log_format",
        "needs",
        "style",
    )

    def __init__(
        self,
        env: Environment,
        destination: Destination,
        *,
        log_format: LogFormat = "text",
        style: Style = "current",
        live: bool = False,
    ) -> None:
        if log_format not in LOG_FORMATS:
            raise ValueError(f"log_format {log_format!r} must be one of {', '.join(LOG_FORMATS)}")
        if style not in STYLES:
            raise ValueError(f"style {style!r} must be one of {', '.join(STYLES)}")
        self.log_format = log_format
        self.style = style
        self.live = live
        self.error: Exception | None = None
        text = log_format == "text"
        self.needs: frozenset[Need] = frozenset({"text" if text else "platform"})
        self._write, self._close = _open(destination)
        self._env: Environment | None = env
        router.attach(env, self)

    def accept(self, entries: Sequence[Entry]) -> None:
        """Write the lines of ``entries``, where Lambda writes one."""
        try:
            lines: Iterable[str | None]
            if self.log_format == "text":
                style = self.style
                lines = (text_line(entry.record, style) for entry in entries)
            else:
                lines = (json_line(entry) for entry in entries)
            written = [line for line in lines if line is not None]
            if written:
                self._write(written)
        except Exception as exc:  # the destination's failure must not break the environment
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        if self.error is None:
            self.error = exc

    def close(self) -> None:
        """Stop writing and close a file the sink opened; raise the destination's first error."""
        env, self._env = self._env, None
        if env is None:
            return
        router.flush(env)  # an invocation's START that is due is written, not lost
        router.detach(env, self)
        self._close()
        if self.error is not None:
            raise self.error

    def __enter__(self) -> LogSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def attach_log_sink(
    env: Environment,
    destination: Destination,
    *,
    log_format: LogFormat = "text",
    style: Style = "current",
    live: bool = False,
) -> LogSink:
    """Write ``env``'s CloudWatch log lines to ``destination`` from now on.

    ``log_format`` is ``text`` or ``json``; ``style`` (text only) is ``current`` or ``legacy``.
    ``live=True`` writes every line the moment its record happens (``START`` as the Invoke
    phase begins), for a person watching the stream; by default an invocation's ``START`` is
    written together with what follows it (see :mod:`.bridge`), which costs less.
    Attach before the environment's first Init to have its ``INIT_START``. The returned sink is a
    context manager; :meth:`LogSink.close` detaches it.
    """
    return LogSink(env, destination, log_format=log_format, style=style, live=live)

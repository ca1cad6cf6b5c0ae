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
a callable taking each line. The sink is a synchronous listener: each line is written while the
engine publishes the event behind it, in order, and flushed at once. The sink never configures
``logging`` or structlog. A destination that raises does not disturb the environment: the first
error is kept and raised again by :meth:`LogSink.close`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, Literal

from ..formats.jsonlog import render_json_line
from ..formats.records import (
    End,
    ExtensionLog,
    FunctionLog,
    InitReport,
    InitStart,
    LegacyError,
    LegacyTimeout,
    Report,
    RestoreReport,
    Start,
)
from ..formats.textlog import (
    Style,
    render_end,
    render_init_report,
    render_init_start,
    render_legacy_error,
    render_legacy_timeout,
    render_report,
    render_restore_report,
    render_start,
)
from . import router
from .bridge import Entry
from .router import Need

if TYPE_CHECKING:
    from ..engine.environment import Environment

__all__ = ["Destination", "LogFormat", "LogSink", "attach_log_sink", "init_report_logged"]

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


def _text_renderers(style: Style) -> dict[type[Any], Callable[[Any], str | None]]:
    """The plain-text line of each record type, or None where Lambda writes none."""
    legacy = style == "legacy"
    return {
        InitStart: lambda r: render_init_start(r) if r.phase == "init" else None,
        InitReport: lambda r: render_init_report(r) if init_report_logged(r) else None,
        RestoreReport: lambda r: render_restore_report(r) if r.status != "success" else None,
        Start: render_start,
        End: render_end,
        Report: lambda r: render_report(r, style),
        LegacyError: lambda r: render_legacy_error(r) if legacy else None,
        LegacyTimeout: lambda r: render_legacy_timeout(r) if legacy else None,
        FunctionLog: _output_text,
        ExtensionLog: _output_text,
    }


def _text_line(style: Style) -> Callable[[Entry], str | None]:
    """The plain-text line of an entry, or None."""
    renderers = _text_renderers(style)

    def text_line(entry: Entry) -> str | None:
        render = renderers.get(type(entry.text))
        return None if render is None else render(entry.text)

    return text_line


def _json_line(entry: Entry) -> str | None:
    """The JSON-format line of an entry, or None."""
    record = entry.record
    if isinstance(record, FunctionLog | ExtensionLog):
        return _output_json(record)
    return entry.json_line() if entry.stream == "platform" else None


Writer = Callable[[str, bool], object]
"""Writes one line; the flag says whether the line ends an account (then it is flushed)."""

_HELD = (Start, End, InitStart)
"""Lines always followed by another at once (START, END, INIT_START): written, not flushed; the
line that ends the account (REPORT, INIT_REPORT, RESTORE_REPORT, an output line) flushes them."""


def _open(destination: Destination) -> tuple[Writer, Callable[[], None]]:
    """The write and close functions for ``destination``."""
    if isinstance(destination, str | os.PathLike):
        stream = open(destination, "a", encoding="utf-8")  # noqa: SIM115 (closed by close())
        return _stream_writer(stream), stream.close
    if callable(destination):
        call = destination
        return (lambda line, _flush: call(line)), lambda: None
    return _stream_writer(destination), lambda: None


def _stream_writer(stream: IO[str]) -> Writer:
    write, flush = stream.write, stream.flush

    def write_line(line: str, ends_account: bool) -> None:
        write(line + "\n")
        if ends_account:
            flush()

    return write_line


class LogSink:
    """An environment's CloudWatch log stream, written to a destination. Close it when done."""

    __slots__ = ("_close", "_env", "_render", "_write", "error", "log_format", "needs", "style")

    def __init__(
        self,
        env: Environment,
        destination: Destination,
        *,
        log_format: LogFormat = "text",
        style: Style = "current",
    ) -> None:
        if log_format not in LOG_FORMATS:
            raise ValueError(f"log_format {log_format!r} must be one of {', '.join(LOG_FORMATS)}")
        if style not in STYLES:
            raise ValueError(f"style {style!r} must be one of {', '.join(STYLES)}")
        self.log_format = log_format
        self.style = style
        self.error: Exception | None = None
        text = log_format == "text"
        self._render = _text_line(style) if text else _json_line
        self.needs: frozenset[Need] = frozenset({"text" if text else "platform"})
        self._write, self._close = _open(destination)
        self._env: Environment | None = env
        router.attach(env, self)

    def accept(self, entry: Entry) -> None:
        """Write the line of ``entry``, if Lambda writes one for it."""
        try:
            line = self._render(entry)
            if line is not None:
                self._write(line, not isinstance(entry.text, _HELD))
        except Exception as exc:  # the destination's failure must not break the environment
            if self.error is None:
                self.error = exc

    def close(self) -> None:
        """Stop writing and close a file the sink opened; raise the destination's first error."""
        env, self._env = self._env, None
        if env is None:
            return
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
) -> LogSink:
    """Write ``env``'s CloudWatch log lines to ``destination`` from now on.

    ``log_format`` is ``text`` or ``json``; ``style`` (text only) is ``current`` or ``legacy``.
    Attach before the environment's first Init to have its ``INIT_START``. The returned sink is a
    context manager; :meth:`LogSink.close` detaches it.
    """
    return LogSink(env, destination, log_format=log_format, style=style)

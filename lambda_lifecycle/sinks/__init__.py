"""Logs and telemetry exactly as Lambda writes them, from an environment's event stream.

An execution environment on AWS leaves two records of its life: the CloudWatch log stream
(``INIT_START``, ``START``, ``END``, ``REPORT``, ``INIT_REPORT``, ``RESTORE_REPORT``, and the
function's own output) and the Telemetry API events delivered to subscribed extensions. This
package produces both from the engine's lifecycle events, through the pure renderers of
:mod:`lambda_lifecycle.formats`:

- :func:`attach_log_sink`: the CloudWatch lines, as text (current or older format) or as JSON,
  to a stream, a file or a callable (:mod:`.cloudwatch`).
- :func:`subscribe_telemetry`: an in-process Telemetry API subscription with AWS's buffering
  rules and validation (:mod:`.telemetry`), delivering each batch as a :class:`TelemetryBatch`
  (its JSON, and its events, :mod:`.batch`); :func:`subscribe_logs`, the same through the older
  Logs API and its event shapes (:mod:`.logs`).
- :func:`log_function_line`, :func:`log_extension_line`: a line of output from the runtime or an
  extension, for in-process participants and process front ends (:mod:`.router`).

Modules, lowest first: :mod:`.entry` is a record (frozen, named data of
:mod:`lambda_lifecycle.formats.records`) with the moment it happened, the one thing the sinks
receive; :mod:`.invocation` makes an invocation's records, :mod:`.bridge` turns lifecycle events
into records, :mod:`.router` is the one synchronous listener per environment that hands them to
every sink, :mod:`.cloudwatch` and :mod:`.telemetry` are the sinks, which render the records
with :mod:`lambda_lifecycle.formats`. An environment with no sink attached has no listener, so
its invoke path costs what it costs without this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .batch import TelemetryBatch
    from .cloudwatch import LogSink, attach_log_sink
    from .logs import LogsSubscriber, subscribe_logs
    from .router import log_extension_line, log_function_line
    from .telemetry import Buffering, TelemetrySubscriber, subscribe_telemetry

__all__ = [
    "Buffering",
    "LogSink",
    "LogsSubscriber",
    "TelemetryBatch",
    "TelemetrySubscriber",
    "attach_log_sink",
    "log_extension_line",
    "log_function_line",
    "subscribe_logs",
    "subscribe_telemetry",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "TelemetryBatch": ".batch",
        "LogSink": ".cloudwatch",
        "attach_log_sink": ".cloudwatch",
        "LogsSubscriber": ".logs",
        "subscribe_logs": ".logs",
        "log_extension_line": ".router",
        "log_function_line": ".router",
        "Buffering": ".telemetry",
        "TelemetrySubscriber": ".telemetry",
        "subscribe_telemetry": ".telemetry",
    },
)

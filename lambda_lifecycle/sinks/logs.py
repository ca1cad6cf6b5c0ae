"""The Logs API, in process: a Telemetry API subscription that speaks the older API's events.

AWS's Logs API (``PUT /2020-08-15/logs``) came before the Telemetry API and still works:
extensions subscribe during Init to the ``platform``, ``function`` and ``extension`` streams
with the same ``buffering`` limits (``maxItems`` 1,000 to 10,000, ``maxBytes`` 262,144 to
1,048,576, ``timeoutMs`` 25 to 30,000) and the same destinations, and receive batches of
``{time, type, record}`` events, of the Logs API's own types and shapes
(:mod:`lambda_lifecycle.formats.logsapi`). So a :class:`LogsSubscriber` *is* a
:class:`~.telemetry.TelemetrySubscriber` (the same buffering, batching, delivery, behaviour
across a Reset, and drop accounting); only what it makes of each entry differs. Subscribing
writes ``platform.logsSubscription`` to every sink, the new subscriber included.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..formats.logsapi import (
    DEFAULT_SCHEMA_VERSION,
    LogsSchemaVersion,
    LogsSubscription,
    logs_event,
)
from ..formats.records import TELEMETRY_STREAMS
from .entry import Entry
from .telemetry import (
    DEFAULT_MAX_BACKLOG,
    Buffered,
    Deliver,
    TelemetrySubscriber,
    start_subscription,
    validated,
)

if TYPE_CHECKING:
    from ..engine.environment import Environment

__all__ = ["LogsSubscriber", "subscribe_logs"]


class LogsSubscriber(TelemetrySubscriber):
    """One in-process Logs API subscription: ``async with`` it to listen (see
    :class:`~.telemetry.TelemetrySubscriber`)."""

    __slots__ = ("schema_version",)

    schema_version: LogsSchemaVersion

    def accept(self, entries: Sequence[Entry]) -> None:
        """Buffer the Logs API events of ``entries`` that belong to a subscribed stream."""
        if self._closing:
            return
        streams = self._streams
        version = self.schema_version
        taken: list[Entry] = []
        events: list[Buffered] = []
        for entry in entries:
            event = logs_event(entry.record, entry.wall, version)
            if event is not None and event["type"].split(".")[0] in streams:
                taken.append(entry)
                events.append(event)
        if taken:
            self._take_run(taken, events)


def subscribe_logs(
    env: Environment,
    types: Sequence[str] = TELEMETRY_STREAMS,
    buffering: Mapping[str, Any] | None = None,
    *,
    deliver: Deliver,
    name: str = "in-process",
    schema_version: LogsSchemaVersion = DEFAULT_SCHEMA_VERSION,
    max_backlog: int = DEFAULT_MAX_BACKLOG,
    generation_bound: bool = False,
) -> LogsSubscriber:
    """Subscribe to ``env``'s logs ``types`` through the Logs API, with AWS's ``buffering``.

    Everything is as :func:`~.telemetry.subscribe_telemetry` does it, but the events are the
    Logs API's of ``schema_version`` (``2021-03-18`` adds ``platform.runtimeDone``). Raises
    ``APIError`` ``ValidationError`` (400) for a bad ``types`` or ``buffering``.
    """
    streams, limits = validated(types, buffering, max_backlog)
    subscriber = LogsSubscriber(
        env,
        name=name,
        types=streams,
        buffering=limits,
        deliver=deliver,
        max_backlog=max_backlog,
        generation_bound=generation_bound,
    )
    subscriber.schema_version = schema_version
    start_subscription(env, subscriber, LogsSubscription(name, "Subscribed", streams))
    return subscriber

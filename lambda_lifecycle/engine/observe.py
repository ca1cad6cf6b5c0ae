"""What an environment tells the outside world: an event stream and structlog events.

Every transition of the state machine and every lifecycle event (a phase starting or ending, an
extension registering, a process exiting, ...) becomes one :class:`LifecycleEvent`. Subscribers
receive them through an async iterator with an unbounded buffer, so a slow reader loses nothing
and never slows the environment down. The same events go to structlog as
``lambda_lifecycle.<type>`` debug events, *only* when the application has configured structlog:
the library never configures logging itself, and unconfigured structlog would print every event
to stdout. (A transition's ``event`` key is logged as ``spec_event``: ``event`` is structlog's
name for the event's own name.)

A :class:`Listener` is the synchronous alternative to a subscription: its callback runs inside
:meth:`EventHub.publish`, on the engine's own call stack, in the order the events happen. The log
and telemetry sinks of :mod:`lambda_lifecycle.sinks` are listeners, so that no line is lost or
reordered; a listener's callback must be quick. A callback that raises is a bug in the
listener, never a failure of the environment: the hub logs it as the structlog event
``lambda_lifecycle.listener_failed`` (with the listener, the event type and the exception),
detaches that listener and goes on delivering the event to the others.

An event nobody wants is never built: the engine first asks :attr:`EventHub.wanted` (and
whether structlog is configured), which on the invoke path costs a check per event. An event
about an invocation builds its ``data`` only when someone reads it.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, ClassVar

from anyio import (
    BrokenResourceError,
    ClosedResourceError,
    EndOfStream,
    WouldBlock,
    create_memory_object_stream,
)
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .structured_log import configured, logger

if TYPE_CHECKING:
    from .invocation import Invocation

_log = logger("lambda_lifecycle")
_failure_log = logger()
"""Where a receiver's failure is reported: always, configured or not (it is a bug to see)."""
structlog_configured = configured
"""Whether the application has configured structlog (then every event goes to it too)."""


class LifecycleEvent:
    """One thing that happened to an environment (shared by every receiver: read it only).

    ``type`` is one of the names listed in ``docs/engine.md`` (``transition``, ``init_start``,
    ``invoke_end``, ...); ``time`` is the engine's monotonic clock in seconds and ``wall`` the
    matching Unix time; ``data`` holds the type's documented keys. An event about an invocation
    (``invoke_start``, ``runtime_done``, ``invoke_end``) carries it as ``invocation`` and builds
    its ``data`` from it on first access: most receivers never look.
    """

    __slots__ = ("_data", "environment_id", "invocation", "time", "type", "wall")

    def __init__(
        self,
        type: str,
        environment_id: str,
        time: float,
        wall: float,
        data: dict[str, Any] | None = None,
        *,
        invocation: Invocation | None = None,
    ) -> None:
        self.type = type
        self.environment_id = environment_id
        self.time = time
        self.wall = wall
        self.invocation = invocation
        self._data = data

    @property
    def data(self) -> dict[str, Any]:
        """The event's documented keys."""
        data = self._data
        if data is None:
            inv = self.invocation
            data = self._data = {} if inv is None else inv.event_data(self.type)
        return data

    def __repr__(self) -> str:
        return (
            f"LifecycleEvent(type={self.type!r}, environment_id={self.environment_id!r}, "
            f"time={self.time!r}, wall={self.wall!r}, data={self.data!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LifecycleEvent):
            return NotImplemented
        return (self.type, self.environment_id, self.time, self.wall, self.data) == (
            other.type,
            other.environment_id,
            other.time,
            other.wall,
            other.data,
        )

    __hash__ = None  # type: ignore[assignment]


class Subscription:
    """An async iterator over an environment's events, from the moment of subscribing."""

    __slots__ = ("_hub", "_receive", "_send")
    types: ClassVar[frozenset[str] | None] = None  # a subscription receives every type

    def __init__(self, hub: EventHub) -> None:
        self._hub = hub
        send, receive = create_memory_object_stream[LifecycleEvent](math.inf)
        self._send: MemoryObjectSendStream[LifecycleEvent] = send
        self._receive: MemoryObjectReceiveStream[LifecycleEvent] = receive

    def __aiter__(self) -> AsyncIterator[LifecycleEvent]:
        return self._receive.__aiter__()

    async def __anext__(self) -> LifecycleEvent:
        return await self._receive.__anext__()

    def drain(self) -> list[LifecycleEvent]:
        """Every event buffered so far, without waiting."""
        events: list[LifecycleEvent] = []
        while True:
            try:
                events.append(self._receive.receive_nowait())
            except (WouldBlock, EndOfStream, ClosedResourceError):
                return events

    def close(self) -> None:
        """Stop receiving; the iterator ends after the events already buffered."""
        self._hub.drop(self)
        self._send.close()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
        self._receive.close()

    def _put(self, event: LifecycleEvent) -> None:
        try:
            self._send.send_nowait(event)
        except (BrokenResourceError, ClosedResourceError):
            self._hub.drop(self)


class Listener:
    """A synchronous listener: ``callback(event)`` runs inside :meth:`EventHub.publish`.

    It sits in the same list as the subscriptions, so events reach it in order and an
    environment with no listener pays nothing for the mechanism. ``types`` limits it to those
    event types (None: every type); the engine does not even build an event that nobody wants.
    ``close()`` detaches it.
    """

    __slots__ = ("_hub", "_put", "types")

    def __init__(
        self,
        hub: EventHub,
        callback: Callable[[LifecycleEvent], None],
        types: frozenset[str] | None = None,
    ) -> None:
        self._hub = hub
        self._put = callback
        self.types = types

    def close(self) -> None:
        """Stop receiving events (idempotent)."""
        self._hub.drop(self)

    def retype(self, types: frozenset[str] | None) -> None:
        """Receive the events of ``types`` (None: every type) from now on."""
        if types != self.types:
            self.types = types
            self._hub.changed()


_NOTHING_WANTED: frozenset[str] = frozenset()
"""What a hub nobody listens to wants: one shared empty set (each new ``frozenset()`` is an
object of its own, 216 bytes, kept by every environment)."""


class EventHub:
    """The fan-out point of one environment's events."""

    __slots__ = ("_receivers", "_subscribers", "wanted")

    def __init__(self) -> None:
        self._subscribers: list[Subscription | Listener] = []
        self._receivers: tuple[Subscription | Listener, ...] = ()  # a snapshot, for publish
        self.wanted: frozenset[str] | None = _NOTHING_WANTED
        """The event types some subscriber or listener receives (None: every type); structlog,
        once configured, wants every type too (see :meth:`wants`)."""

    def wants(self, event_type: str) -> bool:
        """Whether an event of ``event_type`` would reach anyone now."""
        wanted = self.wanted
        return wanted is None or event_type in wanted or structlog_configured()

    def changed(self) -> None:
        """Recompute which event types anyone wants (a listener changed its types)."""
        self._receivers = tuple(self._subscribers)
        wanted: set[str] = set()
        for sub in self._subscribers:
            types = sub.types
            if types is None:
                self.wanted = None
                return
            wanted |= types
        self.wanted = frozenset(wanted) if wanted else _NOTHING_WANTED

    @property
    def listening(self) -> bool:
        """Whether anything would receive an event now."""
        return bool(self._subscribers) or structlog_configured()

    def subscribe(self) -> Subscription:
        """A new subscription receiving every event from now on."""
        sub = Subscription(self)
        self._subscribers.append(sub)
        self.changed()
        return sub

    def listen(
        self,
        callback: Callable[[LifecycleEvent], None],
        types: frozenset[str] | None = None,
    ) -> Listener:
        """A new synchronous listener called with every event (of ``types``) from now on."""
        listener = Listener(self, callback, types)
        self._subscribers.append(listener)
        self.changed()
        return listener

    def drop(self, sub: Subscription | Listener) -> None:
        """Forget a subscription or a listener."""
        if sub in self._subscribers:
            self._subscribers.remove(sub)
            self.changed()

    def publish(self, event: LifecycleEvent) -> None:
        """Hand ``event`` to every subscriber and listener, then to structlog (when configured).

        A receiver that raises is logged, detached, and the others still get the event: a
        listener's bug is never the failure of the participant whose call published the event.
        """
        receivers = self._receivers
        sub: Subscription | Listener | None = None
        try:
            for sub in receivers:
                types = sub.types
                if types is None or event.type in types:
                    sub._put(event)
        except Exception as exc:
            self._deliver_after(sub, exc, event, receivers)
        if structlog_configured():
            _log.debug(
                f"lambda_lifecycle.{event.type}",
                environment_id=event.environment_id,
                **_structlog_keys(event.data),
            )

    def _deliver_after(
        self,
        failed: Subscription | Listener | None,
        exc: Exception,
        event: LifecycleEvent,
        receivers: tuple[Subscription | Listener, ...],
    ) -> None:
        """The slow path of :meth:`publish`: ``failed`` raised ``exc``; log it, detach it, and
        hand ``event`` to the receivers after it (each of which may fail in turn)."""
        while failed is not None:
            callback = failed._put if isinstance(failed, Listener) else failed
            _failure_log.error(
                "lambda_lifecycle.listener_failed",
                environment_id=event.environment_id,
                event_type=event.type,
                listener=repr(callback),
                exc_info=exc,
            )
            self.drop(failed)
            rest = receivers[receivers.index(failed) + 1 :]
            failed = None
            try:
                for failed in rest:
                    types = failed.types
                    if types is None or event.type in types:
                        failed._put(event)
                failed = None
            except Exception as again:
                exc = again

    def close(self) -> None:
        """End every subscription and listener (the environment is gone)."""
        for sub in tuple(self._subscribers):
            sub.close()


def _structlog_keys(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as structlog keys: ``event`` is structlog's own key (the event's name), so a
    transition's ``event`` (the spec event that fired) is logged as ``spec_event``."""
    if "event" not in data:
        return data
    return {("spec_event" if key == "event" else key): value for key, value in data.items()}

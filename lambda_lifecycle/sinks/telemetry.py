"""The Telemetry API, in process: subscriptions, buffering and batched delivery.

On AWS an extension subscribes during Init (``PUT /2022-07-01/telemetry``) to some of the
``platform``, ``function`` and ``extension`` streams, with buffering limits, and Lambda POSTs
it batches: JSON arrays of ``{time, type, record}`` events. :func:`subscribe_telemetry` is that
subscription for an embedder, with an async callback as the destination:

- The request is validated as the API validates it; a bad one raises
  :class:`~lambda_lifecycle.core.errors.APIError` ``ValidationError`` (status 400) naming the
  field, the value and the allowed range.
- From the moment of subscribing every event of the chosen streams is buffered, and a
  subscription made during an Init phase first receives that phase's earlier events (when the
  environment was already watched by some sink: an environment nobody watches makes no events).
  Delivery starts when the subscriber *listens*: ``async with subscription:``. Events buffered
  before (those of an Init phase, typically) wait for it, as Lambda holds Init events until the
  subscriber listens; their batch's timer starts when listening starts.
- A batch is delivered when it holds ``maxItems`` events, when it reaches ``maxBytes`` (the
  events' UTF-8 JSON size; an event that would take a batch over the limit starts the next
  batch, and an event larger than the limit travels alone), or ``timeoutMs`` after its first
  event, whichever comes first. Batches are delivered one at a time, in order. Leaving the
  ``async with`` block delivers what is still buffered, then unsubscribes.
- **Across a Reset or a Shutdown** (the engine's ``reset_start`` / ``shutdown_start``), what
  is buffered is delivered at once, before the extensions are sent ``SHUTDOWN`` or stopped: the
  timed-out invocation's ``platform.runtimeDone`` and ``platform.report`` reach an extension
  that is still alive to read them. A *generation-bound* subscription (an extension's: it
  belongs to the processes of one generation) then ends when they are torn down
  (``reset_end`` / ``shutdown_end``), so the next Init's events go only to the subscription
  its new extension makes: every event reaches the generation it belongs to, once.
- A subscriber that falls behind by more than ``max_backlog`` events loses the excess; the next
  event it does get is preceded by ``platform.logsDropped`` with the counts (AWS publishes no
  limit: this one is the project's).
- Subscribing writes ``platform.telemetrySubscription`` to every sink of the environment, the new
  subscriber included.

Unlike AWS, an in-process subscriber may subscribe at any time, not only during Init.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

import anyio
from anyio.abc import TaskGroup

from ..core.errors import APIError
from ..engine.observe import LifecycleEvent, Listener
from ..formats.jsonlog import encode_json
from ..formats.records import TELEMETRY_STREAMS, LogsDropped, TelemetryRecord, TelemetryStream
from ..formats.records import TelemetrySubscription as SubscriptionRecord
from . import router
from .batch import TelemetryBatch
from .entry import Entry
from .router import Need

if TYPE_CHECKING:
    from ..engine.environment import Environment

__all__ = [
    "DEFAULT_BUFFERING",
    "MAX_BYTES_RANGE",
    "MAX_ITEMS_RANGE",
    "TIMEOUT_MS_RANGE",
    "Buffering",
    "Deliver",
    "TelemetrySubscriber",
    "start_subscription",
    "subscribe_telemetry",
    "validate_types",
]

MAX_ITEMS_RANGE = (1_000, 10_000)
MAX_BYTES_RANGE = (262_144, 1_048_576)
TIMEOUT_MS_RANGE = (25, 30_000)
# AWS's pages disagree on the default of maxItems (10,000 on one, 1,000 on another); this
# project takes 10,000 (lifecycle-facts, section 9, reading 3).
DEFAULT_MAX_ITEMS = 10_000
DEFAULT_MAX_BYTES = 262_144
DEFAULT_TIMEOUT_MS = 1_000
DROPPED_REASON = "Some logs were dropped because the subscriber fell behind the logs production"
DEFAULT_MAX_BACKLOG = 100_000

TEARDOWN_STARTS = frozenset({"reset_start", "shutdown_start"})
"""The engine's events that begin tearing the processes down: buffered events go out now."""
TEARDOWN_ENDS = frozenset({"reset_end", "shutdown_end"})
"""The engine's events that end it: a generation-bound subscription ends with its processes."""

Deliver = Callable[[TelemetryBatch], Awaitable[object]]
"""The destination: called with each batch (a :class:`~.batch.TelemetryBatch`: the events'
JSON array, and read as a sequence the ``{time, type, record}`` events)."""


Buffered = dict[str, Any]
"""An event to buffer: the ``{time, type, record}`` object (shared with the environment's other
sinks: never mutated). It is buffered as its UTF-8 JSON, whose length batching counts."""


def _invalid(message: str) -> APIError:
    return APIError("ValidationError", message, 400)


def _limit(body: Mapping[str, Any], key: str, bounds: tuple[int, int], default: int) -> int:
    value = body.get(key, default)
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(f"buffering.{key} must be an integer from {low} to {high}, got {value!r}")
    if not low <= value <= high:
        raise _invalid(f"buffering.{key} {value} is outside the allowed range {low} to {high}")
    return value


@dataclass(frozen=True, slots=True)
class Buffering:
    """The buffering limits of a subscription (AWS's ``buffering`` object)."""

    max_items: int = DEFAULT_MAX_ITEMS
    max_bytes: int = DEFAULT_MAX_BYTES
    timeout_ms: int = DEFAULT_TIMEOUT_MS

    @classmethod
    def from_request(cls, body: Mapping[str, Any] | None) -> Buffering:
        """The limits of a request's ``buffering`` object; absent fields take the defaults."""
        if body is None:
            return DEFAULT_BUFFERING
        if not isinstance(body, Mapping):
            raise _invalid(f"buffering must be an object, got {body!r}")
        unknown = sorted(set(body) - {"maxItems", "maxBytes", "timeoutMs"})
        if unknown:
            raise _invalid(
                f"buffering has unknown field(s) {', '.join(unknown)}: "
                "expected maxItems, maxBytes, timeoutMs"
            )
        return cls(
            max_items=_limit(body, "maxItems", MAX_ITEMS_RANGE, DEFAULT_MAX_ITEMS),
            max_bytes=_limit(body, "maxBytes", MAX_BYTES_RANGE, DEFAULT_MAX_BYTES),
            timeout_ms=_limit(body, "timeoutMs", TIMEOUT_MS_RANGE, DEFAULT_TIMEOUT_MS),
        )

    def to_request(self) -> dict[str, int]:
        """The limits as AWS's ``buffering`` object."""
        return {
            "maxItems": self.max_items,
            "maxBytes": self.max_bytes,
            "timeoutMs": self.timeout_ms,
        }


DEFAULT_BUFFERING = Buffering()


def validate_types(types: Sequence[str]) -> tuple[TelemetryStream, ...]:
    """The requested streams, checked: a non-empty list of distinct stream names."""
    allowed = ", ".join(TELEMETRY_STREAMS)
    if isinstance(types, str) or not isinstance(types, Sequence) or not types:
        raise _invalid(f"types must be a non-empty list drawn from {allowed}, got {types!r}")
    for item in types:
        if item not in TELEMETRY_STREAMS:
            raise _invalid(f"types has {item!r}: each type must be one of {allowed}")
    if len(set(types)) != len(types):
        raise _invalid(f"types {list(types)!r} names a type twice")
    return cast(tuple[TelemetryStream, ...], tuple(types))


class TelemetrySubscriber:
    """One in-process Telemetry API subscription: ``async with`` it to listen.

    ``types`` and ``buffering`` are the validated request; ``buffered`` counts the events
    waiting for delivery, ``delivered`` those handed to the callback so far.
    """

    __slots__ = (
        "_batch",
        "_bytes",
        "_closed",
        "_closing",
        "_deliver",
        "_dropped_bytes",
        "_dropped_records",
        "_ended",
        "_env",
        "_items",
        "_listening",
        "_max_backlog",
        "_max_bytes",
        "_max_items",
        "_opened_at",
        "_platform",
        "_queued",
        "_ready",
        "_streams",
        "_teardown",
        "_tg",
        "_waiting",
        "_wake",
        "buffering",
        "delivered",
        "generation_bound",
        "name",
        "needs",
        "types",
    )
    live = False

    def __init__(
        self,
        env: Environment,
        *,
        name: str,
        types: tuple[TelemetryStream, ...],
        buffering: Buffering,
        deliver: Deliver,
        max_backlog: int = DEFAULT_MAX_BACKLOG,
        generation_bound: bool = False,
    ) -> None:
        self.name = name
        self.types = types
        self.buffering = buffering
        self._max_items = buffering.max_items
        self._max_bytes = buffering.max_bytes
        self.delivered = 0
        self._deliver = deliver
        self._streams = frozenset(types)
        self._platform = "platform" in self._streams
        self.needs: frozenset[Need] = frozenset({"platform"} if "platform" in types else ())
        self._max_backlog = max_backlog
        # A batch holds its events as UTF-8 JSON (their sizes are what batching counts; bytes
        # wait without weighing on the garbage collector), in chunks of one or more events:
        # the JSON array's body without brackets, delivered as a TelemetryBatch.
        self._batch: list[bytes] = []
        self._items = 0  # the events in the current batch
        self._bytes = 0
        self._opened_at: float | None = None  # when the current batch's timer started
        self._ready: deque[tuple[list[bytes], int]] = deque()
        self._queued = 0
        self._dropped_records = 0
        self._dropped_bytes = 0
        self._wake: anyio.Event | None = None
        self._listening = False
        self._closing = False
        self._waiting = False  # told the router it waits to be told of a due record
        self._tg: TaskGroup | None = None
        self._env: Environment | None = env
        self._ended: anyio.Event | None = None  # made by wait_closed, set when closed
        self._closed = False
        self.generation_bound = generation_bound
        teardown = TEARDOWN_STARTS | TEARDOWN_ENDS if generation_bound else TEARDOWN_STARTS
        self._teardown: Listener | None = env.listen(self._torn_down, teardown)

    @property
    def buffered(self) -> int:
        """Events waiting for delivery."""
        return self._queued

    # -- taking events (synchronous, on the engine's call stack) -----------------------------
    def accept(self, entries: Sequence[Entry]) -> None:
        """Buffer the events of ``entries`` that belong to a subscribed stream."""
        if self._closing:
            return
        streams = self._streams
        taken = [entry for entry in entries if entry.stream in streams]
        if taken:
            self._take_run(taken, [entry.envelope() for entry in taken])

    def _take_run(self, entries: list[Entry], events: list[Buffered]) -> None:
        """Buffer ``events``, those of ``entries``, in order."""
        count = len(events)
        # The size of them all from one encoding: their JSON array less its brackets and commas.
        encoded = encode_json(events)
        size = len(encoded) - count - 1
        batch = self._batch
        if (
            self._items + count < self._max_items
            and self._bytes + size < self._max_bytes
            and self._queued + count <= self._max_backlog
            and not self._dropped_records
        ):
            # They all fit without completing the batch: the outcome of taking them one by one,
            # at once (the usual case: an invocation's records).
            batch.append(encoded[1:-1])
            self._items += count
            self._bytes += size
            self._queued += count
            if self._opened_at is None and self._listening:
                self._open_batch(entries[0].time)
            return
        for entry, event in zip(entries, events, strict=True):
            data = encode_json(event)
            self._take(data, len(data), entry.time, entry.wall)

    def expect(self, at: float) -> None:
        """A ``platform.*`` event of time ``at`` is due: its batch's timer starts then."""
        if self._opened_at is None and self._listening and not self._closing:
            self._open_batch(at)

    def _open_batch(self, at: float) -> None:
        """Start the current batch's timer at ``at``."""
        self._opened_at = at
        self._signal()
        self._update_waiting()

    def _update_waiting(self) -> None:
        """Wait to be told of due records while listening with no batch timer running (the
        router then watches the moments of each invocation, at a small cost)."""
        waiting = (
            self._opened_at is None and self._listening and not self._closing and self._platform
        )
        if waiting != self._waiting:
            self._waiting = waiting
            env = self._env
            if env is not None:
                router.wait(env, self, waiting)

    def _take(self, event: bytes, size: int, at: float, wall: float) -> None:
        if self._queued >= self._max_backlog:
            self._dropped_records += 1
            self._dropped_bytes += size
            return
        if self._dropped_records:
            self._report_drops(at, wall)
        self._add(event, size, at)

    def _report_drops(self, at: float, wall: float) -> None:
        record = LogsDropped(self._dropped_bytes, self._dropped_records, DROPPED_REASON)
        self._dropped_records = self._dropped_bytes = 0
        if self._platform:
            notice = Entry(at, wall, record)
            data = notice.encoded()
            self._add(data, len(data), at)

    def _add(self, event: bytes, size: int, at: float) -> None:
        max_bytes = self._max_bytes
        total = self._bytes + size
        batch = self._batch
        if batch and total > max_bytes:  # it would not fit: it starts the next batch
            self._seal()
            batch = self._batch
            total = size
        batch.append(event)
        self._items += 1
        self._bytes = total
        self._queued += 1
        if self._items >= self._max_items or total >= max_bytes:
            self._seal()
        elif self._opened_at is None and self._listening:
            self._open_batch(at)

    def _seal(self) -> None:
        """The current batch is complete: queue it for delivery."""
        self._ready.append((self._batch, self._items))
        self._batch = []
        self._items = 0
        self._bytes = 0
        self._opened_at = None
        self._signal()
        self._update_waiting()

    def _signal(self) -> None:
        wake = self._wake
        if wake is not None:
            wake.set()

    def _torn_down(self, event: LifecycleEvent) -> None:
        """A Reset or a Shutdown tears the processes down: what is buffered is delivered now,
        while the subscriber still lives; a generation-bound subscription ends with them."""
        if event.type in TEARDOWN_STARTS:
            self.flush()
        else:
            self.close()

    def flush(self) -> None:
        """Complete the current batch now (with what is due of the invocation under way), so
        that it is delivered at once rather than when its timer runs out."""
        if self._closing:
            return
        self._pull()
        if self._batch:
            self._seal()

    def _pull(self) -> None:
        """Take at once what is due of the invocation under way."""
        env = self._env
        if env is not None:
            router.flush(env)

    # -- delivering (the listening task) -----------------------------------------------------
    async def _run(self) -> None:
        timeout = self.buffering.timeout_ms / 1000
        while True:
            while self._ready:
                chunks, count = self._ready.popleft()
                self._queued -= count
                await self._deliver(TelemetryBatch(chunks, count))
                self.delivered += count
            if self._closing:
                if not self._batch:
                    return
                self._seal()
                continue
            wake = self._wake = anyio.Event()
            opened = self._opened_at
            with anyio.move_on_at(math.inf if opened is None else opened + timeout):
                await wake.wait()
            self._wake = None
            opened = self._opened_at
            if opened is not None and anyio.current_time() >= opened + timeout:
                self._pull()  # what is due of an invocation belongs to this batch
                if self._opened_at == opened:  # (else taking it completed the batch)
                    if self._batch:
                        self._seal()
                    else:
                        self._opened_at = None
                        self._update_waiting()

    async def __aenter__(self) -> TelemetrySubscriber:
        if self._listening or self._env is None:
            raise RuntimeError(
                f"telemetry subscriber {self.name!r} is closed or has listened: it cannot listen "
                "again (subscribe anew)"
            )
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        self._listening = True
        if self._batch:
            self._opened_at = anyio.current_time()
        self._update_waiting()
        tg.start_soon(self._run, name=f"telemetry delivery to {self.name}")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        tg = self._tg
        assert tg is not None
        self._pull()
        self._detach()
        self._closing = True
        self._signal()
        if exc_type is not None:
            tg.cancel_scope.cancel()
        return await tg.__aexit__(exc_type, exc, tb)

    def close(self) -> None:
        """Unsubscribe now; a listening subscriber still delivers what it has buffered."""
        self._pull()
        self._detach()
        self._closing = True
        self._signal()

    @property
    def closed(self) -> bool:
        """Whether the subscription has ended (it takes no more events)."""
        return self._closed

    async def wait_closed(self) -> None:
        """Wait until the subscription ends (:meth:`close`, or the end of its generation)."""
        if not self._closed:
            if self._ended is None:
                self._ended = anyio.Event()
            await self._ended.wait()

    def _detach(self) -> None:
        env, self._env = self._env, None
        self._waiting = False
        teardown, self._teardown = self._teardown, None
        if teardown is not None:
            teardown.close()
        if env is not None:
            router.detach(env, self)
        if not self._closed:
            self._closed = True
            if self._ended is not None:
                self._ended.set()


def validated(
    types: Sequence[str], buffering: Mapping[str, Any] | None, max_backlog: int
) -> tuple[tuple[TelemetryStream, ...], Buffering]:
    """A subscription request's streams and buffering, checked as AWS checks them (400
    ``ValidationError``); ``max_backlog`` is the embedder's own bound."""
    streams = validate_types(types)
    limits = Buffering.from_request(buffering)
    if max_backlog < 1:
        raise ValueError(f"max_backlog must be at least 1, got {max_backlog}")
    return streams, limits


def subscribe_telemetry(
    env: Environment,
    types: Sequence[str] = TELEMETRY_STREAMS,
    buffering: Mapping[str, Any] | None = None,
    *,
    deliver: Deliver,
    name: str = "in-process",
    max_backlog: int = DEFAULT_MAX_BACKLOG,
    generation_bound: bool = False,
) -> TelemetrySubscriber:
    """Subscribe to ``env``'s telemetry ``types`` with AWS's ``buffering`` object.

    ``deliver`` is awaited with each batch, a :class:`~.batch.TelemetryBatch`: a sequence of
    ``{time, type, record}`` events (decoded for this subscriber, on first use, from the JSON
    it buffered) whose ``json`` is the body Lambda POSTs. ``name`` is the
    subscriber's name in ``platform.telemetrySubscription``. Buffering starts now; delivery
    starts inside ``async with`` the returned subscriber. An extension's subscription is
    ``generation_bound``: it ends when a Reset or a Shutdown has torn down the processes of the
    generation it was made in (the next generation's extension subscribes anew); any
    subscription's buffered events are delivered as that tear-down begins. Raises ``APIError``
    ``ValidationError`` (400) for a bad ``types`` or ``buffering``.
    """
    streams, limits = validated(types, buffering, max_backlog)
    subscriber = TelemetrySubscriber(
        env,
        name=name,
        types=streams,
        buffering=limits,
        deliver=deliver,
        max_backlog=max_backlog,
        generation_bound=generation_bound,
    )
    notice = SubscriptionRecord(name, "Subscribed", streams, extension=generation_bound)
    start_subscription(env, subscriber, notice)
    return subscriber


def start_subscription(
    env: Environment, subscriber: TelemetrySubscriber, notice: TelemetryRecord
) -> None:
    """Attach ``subscriber`` to ``env``: it first takes what is owed of the Init under way, then
    ``notice`` (its subscription's record) goes to every sink, the new subscriber included."""
    fanout = router.attach(env, subscriber)
    subscriber.accept(fanout.init_entries())  # joining during Init: its earlier events are owed
    fanout.publish(notice)

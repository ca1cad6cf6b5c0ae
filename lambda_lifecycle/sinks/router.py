"""One environment's fan-out point for logs and telemetry.

Lambda writes one account of an environment's life and hands it to two audiences: CloudWatch
(text or JSON lines) and the Telemetry API's subscribers. A :class:`Router` is that account for
one :class:`~lambda_lifecycle.engine.environment.Environment`: created by the first sink attached
to the environment, it registers its :class:`~.bridge.Bridge` as a *synchronous* listener on the
environment's event hub (see :mod:`lambda_lifecycle.engine.observe`), so each lifecycle event is
turned into entries while the engine publishes it, and every sink receives every entry in the
order things happened. No line can be lost or reordered, and no task is scheduled for it.
While an Init phase is under way the router keeps its entries, so that a telemetry subscriber
joining during Init (as extensions subscribe on AWS) still receives the Init's earlier events.

Each sink says what it needs (:attr:`Sink.needs`): ``text`` (the plain-text lines) and/or
``platform`` (the ``platform.*`` records); the bridge makes only what someone needs. The records
reach the sinks as :class:`~.entry.Entry` objects, several at once when they are handed over
together (:meth:`Sink.accept`: an invocation's ``START`` with what follows it); a sink that
delivers on a timer can wait to be told when such a record is due (:func:`wait`,
:meth:`WaitingSink.expect`) and ask for it at once (:func:`flush`). With no sink attached the
router stops listening, so the engine pays nothing on its invoke path. Output lines of the
runtime and of the extensions enter through :func:`log_function_line` and
:func:`log_extension_line`, which return at once when no sink is attached; a line written
during an invocation carries its request id when it is an application record.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, Protocol

import anyio

from ..core.errors import EnvironmentClosed
from ..engine.observe import Listener
from ..formats.records import (
    AppLog,
    ExtensionLog,
    FunctionLog,
    InitReport,
    InitStart,
    TelemetryRecord,
)
from .bridge import EVENT_TYPES, MOMENT_TYPES, Bridge
from .entry import Entry

if TYPE_CHECKING:
    from ..engine.environment import Environment
    from ..engine.invocation import Invocation

__all__ = [
    "Need",
    "Router",
    "Sink",
    "WaitingSink",
    "attach",
    "detach",
    "flush",
    "log_extension_line",
    "log_function_line",
    "wait",
]

Need = Literal["text", "platform"]


class Sink(Protocol):
    """Anything that takes an environment's records, synchronously and without raising."""

    @property
    def needs(self) -> frozenset[Need]:
        """Which records the sink uses: plain-text lines, ``platform.*`` records, or both."""
        ...

    @property
    def live(self) -> bool:
        """Whether the sink wants every record the moment it happens (no run is held back)."""
        ...

    def accept(self, entries: Sequence[Entry]) -> None:
        """Take consecutive entries, in order (called on the engine's call stack: be quick)."""
        ...


class WaitingSink(Sink, Protocol):
    """A sink that delivers on a timer, and can wait to be told when a record is due."""

    def expect(self, at: float) -> None:
        """A record of engine time ``at`` is due; :meth:`Router.flush` hands it over now.
        Called only while the sink waits for it (:meth:`Router.wait`)."""
        ...


class Router:
    """The bridge and the sinks of one environment."""

    __slots__ = ("_bridge", "_env", "_init", "_listener", "_waiting", "sinks")

    def __init__(self, env: Environment) -> None:
        self._env = weakref.ref(env)  # the registry's key: never hold it strongly
        self.sinks: tuple[Sink, ...] = ()
        self._waiting: set[WaitingSink] = set()  # sinks waiting to be told of a due record
        self._bridge = Bridge(
            env.id,
            env.config,
            emit=self._dispatch,
            expect=self._expect,
            current=self._current,
            offset=self._offset,
        )
        self._listener: Listener | None = None
        self._init: list[Entry] | None = None  # the entries of the Init phase under way

    def _dispatch(self, entries: Sequence[Entry]) -> None:
        # An Init phase's entries are kept from its platform.initStart (which comes alone) to
        # its platform.initReport.
        init = self._init
        if init is not None or type(entries[0].record) is InitStart:
            for entry in entries:
                if init is not None:
                    init.append(entry)
                    if type(entry.record) is InitReport:
                        init = None
                elif type(entry.record) is InitStart:
                    init = [entry]
            self._init = init
        for sink in self.sinks:
            sink.accept(entries)

    def _expect(self, at: float) -> None:
        for sink in tuple(self._waiting):
            sink.expect(at)

    def _current(self) -> Invocation | None:
        env = self._env()
        return None if env is None else env.invocation

    def _offset(self) -> float:
        at, wall = self.now()
        return wall - at

    def flush(self) -> None:
        """Hand over at once the records of the invocation under way that are due."""
        self._bridge.flush()

    def wait(self, sink: WaitingSink, waiting: bool) -> None:
        """``sink`` starts or stops waiting to be told when a record is due."""
        if waiting:
            self._waiting.add(sink)
        else:
            self._waiting.discard(sink)
        self._retype()

    def _retype(self) -> None:
        """Subscribe to the moments of an invocation only while someone needs them."""
        listener = self._listener
        if listener is not None:
            moments = self._bridge.live or bool(self._waiting)
            listener.retype(EVENT_TYPES | MOMENT_TYPES if moments else EVENT_TYPES)

    def init_entries(self) -> tuple[Entry, ...]:
        """What happened so far in the Init phase under way (nothing outside Init)."""
        return () if self._init is None else tuple(self._init)

    def update(self, sinks: tuple[Sink, ...]) -> None:
        """Serve ``sinks`` from now on; listen to the environment while there is any."""
        self.sinks = sinks
        self._waiting = {sink for sink in self._waiting if sink in sinks}
        bridge = self._bridge
        bridge.text = any("text" in sink.needs for sink in sinks)
        bridge.platform = any("platform" in sink.needs for sink in sinks)
        bridge.live = any(sink.live for sink in sinks)
        env = self._env()
        if sinks and self._listener is None and env is not None:
            self._listener = env.listen(bridge.handle, EVENT_TYPES)
        elif not sinks and self._listener is not None:
            self._listener.close()
            self._listener = None
        self._retype()

    def now(self) -> tuple[float, float]:
        """The environment's clock now and the matching Unix time (before the environment is
        entered: the event loop's clock, or a monotonic one outside any loop)."""
        env = self._env()
        try:
            if env is not None:
                clock = env.clock
                at = clock.now()
                return at, clock.wall(at)
        except EnvironmentClosed:
            pass
        try:
            at = anyio.current_time()
        except RuntimeError:  # no event loop is running
            at = time.monotonic()
        return at, time.time()

    def publish(self, record: TelemetryRecord) -> None:
        """Hand a record that happened now (not from a lifecycle event) to every sink."""
        at, wall = self.now()
        self._bridge.flush()  # what is due of an invocation comes first
        self._dispatch((Entry(at, wall, record),))

    def log(
        self, kind: type[FunctionLog] | type[ExtensionLog], text: str, level: str | None
    ) -> None:
        """A line of output: plain ``text``, or an application record when ``level`` is given."""
        at, wall = self.now()
        content: str | AppLog = text
        if level is not None:
            moment = datetime.fromtimestamp(wall, UTC)
            content = AppLog(moment, level, self._bridge.request_id, text)
        self._bridge.flush()  # what is due of an invocation comes first
        self._dispatch((Entry(at, wall, kind(content)),))


_routers: weakref.WeakKeyDictionary[Environment, Router] = weakref.WeakKeyDictionary()


def attach(env: Environment, sink: Sink) -> Router:
    """Start handing ``env``'s entries to ``sink`` (creating the router if need be)."""
    router = _routers.get(env)
    if router is None:
        router = _routers[env] = Router(env)
    router.update((*router.sinks, sink))
    return router


def detach(env: Environment, sink: Sink) -> None:
    """Stop handing entries to ``sink``; with the last sink gone, forget the router.
    Idempotent."""
    router = _routers.get(env)
    if router is None or sink not in router.sinks:
        return
    router.update(tuple(s for s in router.sinks if s is not sink))
    if not router.sinks:
        del _routers[env]


def flush(env: Environment) -> None:
    """Hand over at once what is due of ``env``'s invocation under way (see
    :meth:`Router.flush`)."""
    router = _routers.get(env)
    if router is not None:
        router.flush()


def wait(env: Environment, sink: WaitingSink, waiting: bool) -> None:
    """``sink`` starts or stops waiting to be told when a record is due (see
    :meth:`Router.wait`)."""
    router = _routers.get(env)
    if router is not None:
        router.wait(sink, waiting)


def log_function_line(env: Environment, text: str, *, level: str | None = None) -> None:
    """A line the function wrote (its stdout or stderr): a ``function`` telemetry event and a
    log line.

    ``text`` is one line. With ``level`` (``INFO``, ``ERROR``, ...) the line is an application
    record of the JSON log format, ``{timestamp, level, requestId, message}``, as the runtime's
    own logger writes it; without, it is plain text, as ``print`` writes it. Costs nothing when
    no sink is attached to ``env``.
    """
    router = _routers.get(env)
    if router is not None:
        router.log(FunctionLog, text, level)


def log_extension_line(env: Environment, text: str, *, level: str | None = None) -> None:
    """A line an extension wrote: an ``extension`` telemetry event and a log line (see
    :func:`log_function_line`)."""
    router = _routers.get(env)
    if router is not None:
        router.log(ExtensionLog, text, level)

"""From lifecycle events to what Lambda writes about them.

The engine says what happened to an environment (:class:`~lambda_lifecycle.engine.observe.
LifecycleEvent`: ``init_start``, ``runtime_done``, ``invoke_end``, ...); Lambda writes records
about it, as CloudWatch lines and as Telemetry API events. A :class:`Bridge` turns the first into
the second, once per environment for all of its sinks: each record is one of
:mod:`lambda_lifecycle.formats.records`, handed over in an :class:`~.entry.Entry` with the moment
it happened (an invocation's records are made by :mod:`.invocation`).

| event | records, in order |
|---|---|
| ``init_start`` | ``platform.initStart`` |
| ``init_end`` | ``platform.initRuntimeDone``, ``platform.initReport`` |
| ``restore_start`` | ``platform.restoreStart`` |
| ``restore_end`` | ``platform.restoreRuntimeDone``, ``platform.restoreReport`` |
| ``extension_registered`` | ``platform.extension`` (state ``Ready``) |
| the Invoke phase begins | ``platform.start`` (``START``) |
| the runtime answers | ``platform.runtimeDone``; the older format's notice of a timeout or crash |
| ``invoke_end`` | ``END``, ``platform.report`` (``REPORT``) |

**When an invocation's records are handed over.** ``START`` and ``platform.runtimeDone`` carry
the moments they happened, but reach the sinks together with what follows them: at the first of
the invocation's end (``invoke_end``, whose invocation holds every figure), any other record or
output line (so that every line stays in order), or a sink asking for them (:meth:`Bridge.flush`:
a telemetry subscriber whose batch is due, a sink being closed). A sink that waits on a timer
with nothing buffered is told at once that a record is due (``expect``, from the engine's
``invoke_start`` and ``runtime_done`` events), so its batch's timer starts when the record
happened, as it would have, and an extension that waits for ``platform.runtimeDone`` gets it in
time; a *live* sink (a person watching) gets every record the moment it happens. Those two
events are watched only while such a sink needs them. An invocation thus costs one engine event
and one hand-over to each sink, instead of three and five.

Every invocation gets its ``START``, even one that ended before its Invoke phase began (a failed
suppressed init or restore): the bridge then writes ``START`` when the invocation ends, at the
moment of its answer and without ``tracing``, so each invocation reads ``START`` ... ``END``,
``REPORT`` in that order.

``instanceId`` is the environment's id and ``instanceMaxMemory`` the configured memory size.

What the engine does not observe is said plainly rather than invented:

- ``platform.initRuntimeDone`` and ``platform.restoreRuntimeDone`` are written when their phase
  ends (the engine has no separate moment for the runtime's own ``next``).
- ``maxMemoryUsedMB`` is absent (``Max Memory Used: - MB`` in text) when nothing measured it.
- ``runtimeVersionArn`` is derived from ``FunctionConfig.runtime_version``: AWS's real ARN ends in
  the SHA-256 of the runtime build, which an emulator cannot know, so this one ends in the
  SHA-256 of the version name. Both are left out when no runtime version is configured.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from ..core.config import FunctionConfig
from ..engine.invocation import Invocation
from ..engine.observe import LifecycleEvent
from ..formats.records import (
    ExtensionState,
    InitReport,
    InitRuntimeDone,
    InitStart,
    RestoreReport,
    RestoreRuntimeDone,
    RestoreStart,
    TelemetryRecord,
)
from .entry import Entry
from .invocation import invocation_entries, outcome

__all__ = ["EVENT_TYPES", "MOMENT_TYPES", "Bridge", "Emit", "runtime_version_arn"]

Emit = Callable[[Sequence[Entry]], None]
"""Where the bridge hands its entries: consecutive entries, in order, in one call."""


def runtime_version_arn(config: FunctionConfig) -> str | None:
    """The ``Runtime Version ARN`` written for ``config`` (see the module docstring)."""
    if config.runtime_version is None:
        return None
    digest = hashlib.sha256(config.runtime_version.encode()).hexdigest()
    return f"arn:aws:lambda:{config.region}::runtime:{digest}"


_NOTHING_WRITTEN, _START_WRITTEN, _DONE_WRITTEN = 0, 1, 2
"""How far the records of the invocation under way have been handed to the sinks."""


class Bridge:
    """Turns one environment's lifecycle events into records for its sinks.

    Entries go to ``emit``, several at once when they are handed over together, and ``expect(at)``
    announces a record of time ``at`` that is due but not handed over yet (see the module
    docstring); ``current`` tells which invocation is in its Invoke phase, ``offset`` the
    environment's Unix time minus its engine time. ``text`` and
    ``platform`` say who is listening (set by the router): when neither is, an invocation's
    records are not made at all (only output lines are watched). ``live`` hands every record
    over the moment it happens.

    The bridge needs the ``invoke_start`` and ``runtime_done`` events (:data:`MOMENT_TYPES`)
    only to announce or hand over records at once: the router subscribes to them only while a
    sink is live or waiting to be told (:data:`EVENT_TYPES` is the rest).
    """

    __slots__ = (
        "_arn",
        "_config",
        "_current",
        "_emit",
        "_expect",
        "_handlers",
        "_instance_id",
        "_offset",
        "_stage",
        "_written",
        "live",
        "platform",
        "text",
    )

    def __init__(
        self,
        environment_id: str,
        config: FunctionConfig,
        *,
        emit: Emit,
        expect: Callable[[float], None],
        current: Callable[[], Invocation | None],
        offset: Callable[[], float],
    ) -> None:
        self._emit = emit
        self._expect = expect
        self._current = current
        self._offset = offset
        self._config = config
        self._instance_id = environment_id
        self._arn = runtime_version_arn(config)
        self.text = True
        self.platform = True
        self.live = False
        self._written: Invocation | None = None  # the invocation with records handed over
        self._stage = _NOTHING_WRITTEN  # how far
        self._handlers: dict[str, Callable[[LifecycleEvent], None]] = {
            "init_start": self._init_start,
            "init_end": self._init_end,
            "restore_start": self._restore_start,
            "restore_end": self._restore_end,
            "extension_registered": self._extension_registered,
            "invoke_start": self._invoke_moment,
            "runtime_done": self._invoke_moment,
            "invoke_end": self._invoke_end,
        }

    @property
    def request_id(self) -> str | None:
        """The invocation in its Invoke phase, if any."""
        inv = self._current()
        return None if inv is None else inv.request_id

    def handle(self, event: LifecycleEvent) -> None:
        """Turn ``event`` into its records (most event types have none)."""
        handler = self._handlers.get(event.type)
        if handler is not None:
            handler(event)

    def flush(self) -> None:
        """Hand over the records of the invocation under way that are due (``START``, and
        ``platform.runtimeDone`` once the runtime has answered)."""
        if not (self.text or self.platform):
            return
        inv = self._current()
        if inv is None:
            return
        stage = self._stage if inv is self._written else _NOTHING_WRITTEN
        if stage == _DONE_WRITTEN:
            return
        done = inv.answered_at is not None
        if stage == _START_WRITTEN and not done:
            return
        self._written = inv
        self._stage = _DONE_WRITTEN if done else _START_WRITTEN
        start_at = inv.begun_at if stage == _NOTHING_WRITTEN else None
        offset = self._offset()
        self._emit(
            invocation_entries(inv, self._config, offset, start_at=start_at, done=done, end=False)
        )

    def _put(self, event: LifecycleEvent, *records: TelemetryRecord) -> None:
        self.flush()  # what is due of an invocation comes first
        self._emit([Entry(event.time, event.wall, record) for record in records])

    # -- Init and Restore --------------------------------------------------------------------
    def _init_start(self, event: LifecycleEvent) -> None:
        data = event.data
        config = self._config
        record = InitStart(
            runtime_version=config.runtime_version,
            runtime_version_arn=self._arn,
            initialization_type=data["initialization_type"],
            phase=data["phase"],
            function_name=data["function_name"],
            function_version=data["function_version"],
            instance_id=self._instance_id,
            instance_max_memory=config.memory_mb,
        )
        self._put(event, record)

    def _init_end(self, event: LifecycleEvent) -> None:
        data = event.data
        status, error_type = outcome(data["status"], data["error_type"])
        kind, phase = data["initialization_type"], data["phase"]
        self._put(
            event,
            InitRuntimeDone(kind, phase, status, error_type),
            InitReport(kind, phase, status, error_type, data["duration_ms"]),
        )

    def _restore_start(self, event: LifecycleEvent) -> None:
        data = event.data
        config = self._config
        record = RestoreStart(
            runtime_version=config.runtime_version,
            runtime_version_arn=self._arn,
            function_name=data["function_name"],
            function_version=data["function_version"],
            instance_id=self._instance_id,
            instance_max_memory=config.memory_mb,
        )
        self._put(event, record)

    def _restore_end(self, event: LifecycleEvent) -> None:
        data = event.data
        status, error_type = outcome(data["status"], data["error_type"])
        self._put(
            event,
            RestoreRuntimeDone(status, error_type),
            RestoreReport(status, error_type, data["duration_ms"]),
        )

    def _extension_registered(self, event: LifecycleEvent) -> None:
        data = event.data
        self._put(event, ExtensionState(data["name"], "Ready", tuple(data["events"])))

    # -- Invoke ------------------------------------------------------------------------------
    def _invoke_moment(self, event: LifecycleEvent) -> None:
        """The Invoke phase began, or the runtime answered: a record is due."""
        inv = event.invocation
        if inv is None or inv.begun_at is None:
            return  # its Invoke phase never began: its records wait for its end
        if self.live:
            self.flush()
        elif self.text or self.platform:
            self._expect(event.time)

    def _invoke_end(self, event: LifecycleEvent) -> None:
        inv = event.invocation
        assert inv is not None
        stage = self._stage if inv is self._written else _NOTHING_WRITTEN
        self._written = None
        if not (self.text or self.platform):  # only output lines are watched
            return
        offset = event.wall - event.time
        begun = inv.begun_at
        config = self._config
        if begun is not None:
            start_at = begun if stage == _NOTHING_WRITTEN else None
            done = stage != _DONE_WRITTEN
            entries = invocation_entries(
                inv, config, offset, start_at=start_at, done=done, end=True
            )
        else:  # its Invoke phase never began (a failed suppressed init or restore): START now
            answered = inv.answered_at
            start_at = event.time if answered is None else answered
            entries = invocation_entries(
                inv, config, offset, start_at=start_at, done=True, end=True, traced=False
            )
        self._emit(entries)


MOMENT_TYPES = frozenset({"invoke_start", "runtime_done"})
"""The events by which the bridge announces or hands over an invocation's records at once."""

EVENT_TYPES = frozenset(
    {"init_start", "init_end", "restore_start", "restore_end", "extension_registered", "invoke_end"}
)
"""The other events the bridge turns into records."""

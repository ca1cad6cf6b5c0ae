"""One execution environment, run by an anyio scheduler: the embedding API.

:class:`Environment` is what an embedder holds. It owns a task group in which the participants
(one runtime, up to ten extensions) and one scheduler task run, and it is the hub the pieces of
the engine meet at:

- the **core** (:class:`~lambda_lifecycle.core.environment.EnvironmentCore`) decides every rule
  of the lifecycle; nothing here edits its fields;
- the **scheduler** (:mod:`.scheduler`) takes one job at a time and owns every wait and deadline;
- the **phases** (:mod:`.phases`) walk the environment through Init, Restore, Invoke, Reset and
  Shutdown;
- the **clients** (:mod:`.clients`) are the Runtime and Extensions APIs; their calls reach the
  core through the methods in the "participant calls" section below, synchronously between
  awaits, so every step is atomic on the event loop.

The lifecycle, in one paragraph: Init starts the external extensions, waits for them to
register, starts the runtime, and ends when the runtime and every extension have called
``next``; Invoke hands the invocation to the runtime and each INVOKE-subscribed extension,
answers the caller the moment the runtime answers, and freezes when all have called ``next``
again; a crash or a passing deadline resets the environment (SIGTERM, SHUTDOWN with the reason,
the budgets, SIGKILL) and the next invocation runs a suppressed init; Shutdown is the same
procedure with reason ``spindown``, after which ``/tmp`` is removed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio
from anyio.abc import TaskGroup

from ..core.config import FunctionConfig
from ..core.environment import EnvironmentCore, Failure, ShutdownReason
from ..core.errors import ConfigurationError, EnvironmentBusy, EnvironmentClosed
from ..core.machine import LifecycleMachine
from ..core.payloads import error_body
from ..core.spec import Transition
from ..specs import lifecycle_machine
from . import snapshot as snapshots
from .clients import ExtensionClient, RuntimeClient
from .clock import Clock
from .invocation import Invocation, InvokeResult, InvokeStatus, new_request_id, new_trace_id
from .observe import EventHub, LifecycleEvent, Listener, Subscription, structlog_configured
from .participant import ExtensionParticipant, RuntimeParticipant
from .phases import invoke as invoke_phase
from .phases import teardown
from .phases.dispatch import provision, serve
from .process_table import ProcessTable
from .scheduler import Scheduler
from .snapshot import Snapshot, SnapshotError
from .uniqueness import UniqueMark, held_marks
from .waiters import Waiter, waiter_factory

SHUTDOWN_REASONS = ("spindown", "timeout", "failure")


class Environment:
    """An AWS Lambda execution environment: use it as an async context manager.

    ``runtime`` is the function's runtime and ``extensions`` its extensions (at most ten);
    ``config`` the function's configuration. ``freeze`` turns the SIGSTOP/SIGCONT of real
    processes between phases on or off (off helps debuggers); ``tmp_root`` is where the
    environment's ``/tmp`` directory is made.

    Leaving the ``async with`` block shuts the environment down (reason ``spindown``) with the
    Shutdown budgets; leaving it through an exception kills every participant at once.

    The attributes without a leading underscore that the public methods do not document
    (``core``, ``procs``, ``scheduler``, ``current``, ``books``, ...) are how the engine's own
    modules share this environment; an embedder reads them at most.
    """

    __slots__ = (
        "__weakref__",
        "_clock",
        "_hub",
        "_restore_from",
        "_snapshot",
        "_tg",
        "_tmp_root",
        "books",
        "clients_by_name",
        "closed",
        "config",
        "core",
        "current",
        "deadlines",
        "ext_clients",
        "extensions",
        "freeze",
        "function_arn",
        "id",
        "machine",
        "new_waiter",
        "procs",
        "queued",
        "runtime",
        "runtime_api",
        "scheduler",
        "tmp_dir",
        "unique_held",
        "unique_marks",
        "variables",
    )

    def __init__(
        self,
        runtime: RuntimeParticipant,
        extensions: Sequence[ExtensionParticipant] = (),
        config: FunctionConfig | None = None,
        *,
        environment_id: str | None = None,
        tmp_root: str | os.PathLike[str] | None = None,
        freeze: bool = True,
        variables: dict[str, str] | None = None,
        machine: LifecycleMachine | None = None,
    ) -> None:
        self.machine = machine or lifecycle_machine()
        most = self.machine.spec.limits.max_extensions
        if len(extensions) > most:
            raise ConfigurationError(
                f"{len(extensions)} extensions given: a function can have at most {most}"
            )
        names = [e.name for e in extensions]
        if len(set(names)) != len(names):
            raise ConfigurationError(f"extension names must be unique, got {names}")
        for ext in extensions:
            if ext.kind not in ("internal", "external"):
                raise ConfigurationError(
                    f"extension {ext.name!r} has kind {ext.kind!r}: expected internal or external"
                )
        self.config = config or FunctionConfig()
        self.function_arn = self.config.function_arn  # built once: every invocation carries it
        self.id = environment_id or uuid.uuid4().hex
        self.runtime = runtime
        self.extensions = tuple(extensions)
        self.freeze = freeze
        self.deadlines = self.machine.spec.deadlines
        self.core = EnvironmentCore(self.machine, self.config.initialization_type)
        self.variables = dict(variables or {})
        self._tmp_root = tmp_root
        self.tmp_dir: Path | None = None
        self._hub = EventHub()
        self.procs = ProcessTable(freeze)
        self.books = invoke_phase.Books()
        self.scheduler = Scheduler(self)
        self.runtime_api: RuntimeClient | None = None  # the latest generation's, once started
        self.ext_clients: dict[str, ExtensionClient] = {}  # by identifier, once registered
        self.clients_by_name: dict[str, ExtensionClient] = {}
        self.current: Invocation | None = None
        self.queued: Invocation | None = None  # an invoke() waiting for the scheduler
        self._tg: TaskGroup | None = None
        self._clock: Clock | None = None
        self.closed = False
        self.new_waiter: Callable[[], Waiter] = anyio.Event
        self._restore_from: Snapshot | None = None
        self._snapshot: Snapshot | SnapshotError | None = None  # the latest one, or why none
        self.unique_marks: list[UniqueMark] = []  # marked during the current Init
        self.unique_held: tuple[UniqueMark, ...] = ()  # still held after the latest Restore

    # ------------------------------------------------------------------ context management --
    async def __aenter__(self) -> Environment:
        if self._tg is not None:
            raise EnvironmentClosed(f"environment {self.id} was already entered")
        self._clock = Clock()
        self.new_waiter = waiter_factory()
        self.tmp_dir = Path(
            tempfile.mkdtemp(prefix=f"lambda-lifecycle-{self.id[:12]}-", dir=self._tmp_root)
        )
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        self.scheduler.entered(self._clock.now())
        tg.start_soon(self.scheduler.run, name=f"lambda-lifecycle scheduler {self.id[:12]}")
        if self._restore_from is not None:
            try:
                await snapshots.materialize(self, self._restore_from)
            except BaseException as exc:
                await self.__aexit__(type(exc), exc, exc.__traceback__)
                raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        tg = self._tg
        assert tg is not None, "environment was not entered"
        try:
            if exc_type is None and self.core.state != "Shutdown":
                await self.shutdown()
        finally:
            self.closed = True
            tg.cancel_scope.cancel()
            # The body's own exception propagates unwrapped; the task group only adds errors
            # of its own tasks (participants' exceptions are caught and become exit statuses).
            await tg.__aexit__(None, None, None)
            self._hub.close()
            if self.tmp_dir is not None and self.tmp_dir.exists():
                shutil.rmtree(self.tmp_dir, ignore_errors=True)
        return None

    @property
    def task_group(self) -> TaskGroup:
        """The task group the participants run in (once entered)."""
        if self._tg is None:
            raise EnvironmentClosed(f"environment {self.id} has not been entered")
        return self._tg

    # ------------------------------------------------------------------------ SnapStart --
    def restore_from(self, snapshot: Snapshot) -> Environment:
        """Make this new environment from ``snapshot`` when it is entered (call it before
        ``async with``): no Init of its own; it starts Frozen with the Restore pending, and its
        first invocation restores it. Returns the environment.

        Raises :class:`SnapshotError` when the environment is not ``snap-start``, or its
        runtime and extensions are not the snapshot's (names) or cannot be resumed.
        """
        if self._tg is not None or self.core.initialized_once:
            raise SnapshotError(
                f"environment {self.id} is not new: it cannot be made from a snapshot"
            )
        snapshots.check_fits(self, snapshot)
        self._restore_from = snapshot
        self._snapshot = snapshot
        return self

    def snapshot(self) -> Snapshot:
        """The SnapStart snapshot this environment restores from: the one taken at the end of
        its latest publish-time Init, or the one it was made from.

        Raises :class:`SnapshotError` when there is none: not SnapStart, not published yet, or
        (the message says which) a participant that cannot be snapshotted.
        """
        snap = self._snapshot
        if isinstance(snap, Snapshot):
            return snap
        if snap is None:
            raise SnapshotError(
                f"environment {self.id} has no snapshot: "
                + (
                    "it is not a SnapStart environment"
                    if self.config.initialization_type != "snap-start"
                    else "its publish-time Init has not completed"
                )
            )
        raise snap

    @property
    def snapshot_name(self) -> str | None:
        """The name of :meth:`snapshot`, or None when there is none."""
        snap = self._snapshot
        return snap.name if isinstance(snap, Snapshot) else None

    def take_snapshot(self) -> None:
        """The publish-time Init just ended (Frozen, Restore pending): take the snapshot, or
        keep why it cannot be taken (called by the Init phase)."""
        self._restore_from = None
        try:
            self._snapshot = snapshots.capture(self)
        except SnapshotError as exc:
            self._snapshot = exc

    def mark_unique(self, generation: int, label: str, value: object) -> None:
        """A participant of ``generation`` marked ``value`` unique; only marks made during
        Init, by the current generation, count (see :mod:`.uniqueness`)."""
        if generation == self.core.generation and self.core.state == "Init":
            self.unique_marks.append(UniqueMark.of(label, value))

    def participant_states(self) -> dict[str, Any]:
        """What each live participant of the current generation that can be snapshotted holds
        now (``"runtime"`` and each extension's name): what a snapshot would copy."""
        states: dict[str, Any] = {}
        for (kind, name), process in self.procs.current(self.core.generation).items():
            read = getattr(process.process, "snapshot_state", None)
            if callable(read):
                states[snapshots.RUNTIME_KEY if kind == "runtime" else name] = read()
        return states

    def record_restore(self) -> None:
        """A Restore phase succeeded: note which marked values the participants still hold
        (called by the Restore phase)."""
        snap = self._snapshot
        if isinstance(snap, Snapshot) and snap.unique:
            self.unique_held = held_marks(snap.unique, self.participant_states().values())
        else:
            self.unique_held = ()

    # ------------------------------------------------------------------------ public API --
    @property
    def state(self) -> str:
        """The current state of the spec's machine."""
        return self.core.state

    @property
    def generation(self) -> int:
        """The generation of processes: each Init starts a new one."""
        return self.core.generation

    @property
    def clock(self) -> Clock:
        """The environment's clock (available once entered)."""
        if self._clock is None:
            raise EnvironmentClosed(f"environment {self.id} has not been entered")
        return self._clock

    @property
    def invocation(self) -> Invocation | None:
        """The invocation in its Invoke phase (begun, not ended), if any."""
        inv = self.current
        if inv is None or inv.begun_at is None or inv.ended is not None:
            return None
        return inv

    @property
    def runtime_client(self) -> RuntimeClient | None:
        """The Runtime API client of the current generation of processes (None before Init).

        A front end serving the Runtime API over HTTP routes every request to this client.
        """
        client = self.runtime_api
        return client if client is not None and client.generation == self.generation else None

    def extension_client(self, name: str) -> ExtensionClient:
        """The Extensions API client for the extension called ``name`` (its file name).

        An attached extension of the current generation gets its own client back. Any other
        name is an internal extension registering from inside the runtime's process: it gets a
        new client of kind ``internal`` (which ``register`` then validates as AWS does).
        """
        client = self.clients_by_name.get(name)
        if client is not None and client.generation == self.generation:
            return client
        client = ExtensionClient(self, self.generation, name, "internal")
        self.clients_by_name[name] = client
        return client

    def extension_client_by_id(self, extension_id: str) -> ExtensionClient | None:
        """The registered extension with this ``Lambda-Extension-Identifier``, if any."""
        client = self.ext_clients.get(extension_id)
        return client if client is not None and client.generation == self.generation else None

    def subscribe(self) -> Subscription:
        """An async iterator over every :class:`LifecycleEvent` from now on."""
        return self._hub.subscribe()

    def listen(
        self, callback: Callable[[LifecycleEvent], None], types: Iterable[str] | None = None
    ) -> Listener:
        """Call ``callback`` synchronously with every event (of ``types``) from now on.

        The callback runs on the engine's own call stack, in order: it must be quick. One that
        raises is logged and detached; the environment carries on. Events of types nobody
        wants are not even built.
        """
        return self._hub.listen(callback, None if types is None else frozenset(types))

    async def invoke(
        self,
        payload: bytes | str | Any = b"",
        *,
        request_id: str | None = None,
        content_type: str = "application/json",
        trace_id: str | None = None,
        client_context: str | None = None,
        cognito_identity: str | None = None,
    ) -> InvokeResult:
        """Invoke the function and return its one result.

        ``payload`` is sent as is when it is bytes, encoded when it is str, and serialised as
        JSON otherwise. The call returns as soon as the runtime answers (or the platform answers
        for it); :meth:`InvokeResult.report` waits for the end of the phase. Raises
        :class:`EnvironmentBusy` while another invocation has no answer yet (one invocation at a
        time), and :class:`EnvironmentClosed` after Shutdown. A call made while the previous
        invocation's extensions are still finishing waits for the environment to freeze.
        """
        self.check_open()
        current = self.current
        busy = self.queued or (current if current is not None and current.result is None else None)
        if busy is not None:
            raise EnvironmentBusy(
                f"environment {self.id} is serving invocation {busy.request_id}: "
                "an environment serves one invocation at a time"
            )
        clock = self.clock
        now = clock.now()
        inv = Invocation(
            request_id=request_id or new_request_id(),
            payload=_encode(payload),
            content_type=content_type,
            trace_id=trace_id or new_trace_id(clock.wall(now)),
            client_context=client_context,
            cognito_identity=cognito_identity,
            answered=self.new_waiter(),
            version=self.config.function_version,
        )
        if self.core.warm and self.scheduler.idle_now():
            # The fast path: a warm environment is thawed and handed the invocation right here,
            # synchronously; the last participant's next ends the phase (phase_completed).
            self.current = inv
            self.procs.thaw_all()
            self.publish_transition(self.core.begin_invoke())
            invoke_phase.begin(self, inv, now)
        else:
            # Queued until the scheduler serves it: the previous invocation's phase may still
            # be running (its extensions), and that phase's end must not close this one's books.
            self.queued = inv
            try:
                await self.scheduler.submit(lambda: serve(self, inv))
            except BaseException:
                if self.queued is inv:
                    self.queued = None
                raise
        await inv.answered.wait()
        assert inv.result is not None
        return inv.result

    async def init(self) -> None:
        """Run the Init phase now, with no invocation waiting.

        This is provisioned concurrency (or Lambda's proactive init) for the on-demand and
        provisioned types, and the version publish of a SnapStart function (after which the
        first invocation restores from the snapshot). A no-op when already initialized.
        """
        finished = await self.scheduler.submit(lambda: provision(self))
        await finished.wait()

    async def shutdown(self, reason: ShutdownReason = "spindown") -> None:
        """Shut the environment down (reason ``spindown`` unless given) and wait for the end.

        Waits for a running invocation's phase to end first. Idempotent.
        """
        if reason not in SHUTDOWN_REASONS:
            raise ConfigurationError(
                f"shutdown reason {reason!r} must be one of {', '.join(SHUTDOWN_REASONS)}"
            )
        await self.scheduler.shut_down(lambda: teardown.shut_down(self, reason))

    def check_open(self) -> None:
        """Refuse work before the environment is entered or after it shut down."""
        if self._tg is None:
            raise EnvironmentClosed(f"environment {self.id} must be entered (async with) first")
        if self.closed or self.core.state == "Shutdown":
            raise EnvironmentClosed(f"environment {self.id} has been shut down")

    # ------------------------------------------------------------------ participant calls --
    # Called by RuntimeClient and ExtensionClient, synchronously between awaits: each asks the
    # core and acts on what it returns.
    def extension_next(self, extension_id: str) -> None:
        """An extension called ``next``."""
        core = self.core
        row = core.extension_next(extension_id)
        if row is not None:
            self.phase_completed(row)
        elif core.stopping:
            self.scheduler.notify()  # maybe a SHUTDOWN acknowledgement

    def phase_completed(self, row: Transition | None) -> None:
        """The core took ``row`` (``phase_complete``, or none): end the phase accordingly."""
        if row is None:
            return
        self.publish_transition(row)
        if row.source == "Invoke":
            invoke_phase.end(self)
        else:
            self.scheduler.phase_done_now()

    def answer(
        self,
        inv: Invocation,
        body: bytes,
        content_type: str,
        error: dict[str, Any] | None,
        produced: int | None = None,
    ) -> None:
        """The runtime answered ``inv`` (a response, or a function error). ``produced`` is the
        size of what it sent when that is not ``body`` (a streamed response: ``body`` is only
        what was not forwarded to the caller)."""
        now = self.clock.now()
        if inv.answer(now, body, content_type, error):
            inv.produced_bytes = len(body) if produced is None else produced
            self.publish_about(inv, "runtime_done", now)

    def answer_platform_error(
        self, inv: Invocation, error: dict[str, Any], status: InvokeStatus
    ) -> None:
        """Answer ``inv`` for the runtime with a platform error body."""
        now = self.clock.now()
        if inv.answer_error(now, error, status):
            self.publish_about(inv, "runtime_done", now)

    def register(self, client: ExtensionClient, events: list[str]) -> str:
        """Register an extension of the current generation; returns its identifier."""
        ext_id = str(uuid.uuid4())
        record = self.core.register(ext_id, client.name, client.kind, events)
        self.ext_clients[ext_id] = client
        self.emit(
            "extension_registered",
            name=record.name,
            kind=record.kind,
            events=sorted(record.events),
            extension_id=ext_id,
        )
        self.scheduler.notify()
        return ext_id

    def route_failure(
        self,
        failure: Failure | None,
        error: dict[str, Any] | None,
        status: InvokeStatus = "error",
    ) -> None:
        """Act on a failure the core accepted: answer, close the books, wake the scheduler."""
        if failure is not None:
            teardown.failed(self, failure, error, status)

    def fail(self, event: str, error: dict[str, Any] | None, status: InvokeStatus) -> None:
        """A crash or a passing deadline (the spec's ``event``): route it into Reset."""
        self.route_failure(self.core.fail(event), error, status)

    def extension_failed(self, name: str, error_type: str) -> None:
        """An extension posted ``/extension/exit/error``."""
        rid = self.current.request_id if self.current else ""
        error = error_body(
            "Extension.Crash", f"RequestId: {rid} Error: extension {name} reported {error_type}"
        )
        self.fail("extension_crash", error, "error")

    # ---------------------------------------------------------------------- observation --
    def publish_transition(self, row: Transition) -> None:
        """The ``transition`` event of a row the core took (only when someone wants it)."""
        wanted = self._hub.wanted  # hub.wants() inlined: this runs twice per invocation
        if wanted is None or "transition" in wanted or structlog_configured():
            inv = self.current
            self.emit(
                "transition",
                from_state=row.source,
                to_state=row.dest,
                event=row.event,
                transition=row.id,
                request_id=inv.request_id if inv is not None else None,
            )

    def emit(self, event_type: str, /, **data: Any) -> None:
        """Publish a lifecycle event with ``data`` (only when someone wants it)."""
        hub = self._hub
        if hub.wants(event_type):
            clock = self.clock
            now = clock.now()
            hub.publish(LifecycleEvent(event_type, self.id, now, clock.wall(now), data))

    def publish_about(self, inv: Invocation, event_type: str, now: float) -> None:
        """Publish an event about ``inv`` that happened at ``now`` (its data is built only if
        someone reads it)."""
        hub = self._hub
        wanted = hub.wanted  # hub.wants() inlined: this runs three times per invocation
        if wanted is None or event_type in wanted or structlog_configured():
            wall = now + self.clock.offset
            hub.publish(LifecycleEvent(event_type, self.id, now, wall, invocation=inv))


def _encode(payload: bytes | str | Any) -> bytes:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode()
    return json.dumps(payload, separators=(",", ":")).encode()

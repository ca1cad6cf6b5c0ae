"""One execution environment, run by an anyio scheduler.

:class:`Environment` is the embedding API. It owns a task group in which the participants (one
runtime, up to ten extensions) and one *driver* task run. The driver takes one job at a time (an
invocation, a provisioned Init, a shutdown) and walks the environment through the phases, firing
the spec's events on the core's machine; it is the only task that waits on deadlines. The
participants' API calls (``next``, ``respond``, ``register``, ...) are synchronous bookkeeping on
the core between awaits, so every transition is atomic on the event loop:

- **Init**: external extensions start and must all register; then the runtime (and the internal
  extensions) start; the phase ends when the runtime and every registered extension have called
  ``next``. Its limit is 10 s on demand, max(130 s, timeout) for provisioned concurrency and
  SnapStart. A failed Init with an invocation waiting is reset and retried at once as a
  suppressed init (phase ``invoke``) under that invocation's own timeout.
- **Invoke**: the invocation goes to the runtime and to each INVOKE-subscribed extension. The
  caller is answered the moment the runtime answers; the phase ends, and the environment
  freezes, when the runtime and every such extension have called ``next`` again. The function
  timeout bounds the whole phase.
- **Reset** (a crash or a passing deadline): the runtime gets SIGTERM (when an extension is
  registered) and its share of the budget, then SIGKILL; each external extension subscribed to
  SHUTDOWN gets it with the reason (``timeout`` or ``failure``) and the deadline; whatever is
  left when the budget ends is killed. ``/tmp`` is kept; the next invocation runs a suppressed
  init.
- **Shutdown**: the same procedure with reason ``spindown``, then ``/tmp`` is removed.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import anyio
from anyio.abc import TaskGroup

from ..core.config import MAX_EXTENSIONS, FunctionConfig
from ..core.deadlines import init_limit_ms, restore_limit_ms, shutdown_budget
from ..core.environment import RUNTIME, EnvironmentCore
from ..core.errors import ConfigurationError, EnvironmentBusy, EnvironmentClosed
from ..core.machine import LifecycleMachine
from ..core.payloads import (
    error_body,
    extension_crashed,
    runtime_exited,
    timed_out,
)
from ..core.variables import participant_variables
from ..specs import lifecycle_machine
from .clients import ExtensionClient, RuntimeClient, RuntimeEvent
from .clock import Clock
from .invocation import (
    Invocation,
    InvokeResult,
    InvokeStatus,
    new_request_id,
    new_trace_id,
)
from .observe import EventHub, LifecycleEvent, Listener, Subscription, structlog_configured
from .participant import (
    ExitStatus,
    ExtensionParticipant,
    RuntimeParticipant,
    StartContext,
)
from .process_table import ProcessTable, Started
from .waiters import Waiter, waiter_factory

ShutdownReason = Literal["spindown", "timeout", "failure"]
SHUTDOWN_REASONS = ("spindown", "timeout", "failure")
Job = Callable[[], Awaitable[None]]


class Environment:
    """An AWS Lambda execution environment: use it as an async context manager.

    ``runtime`` is the function's runtime and ``extensions`` its extensions (at most ten);
    ``config`` the function's configuration. ``freeze`` turns the SIGSTOP/SIGCONT of real
    processes between phases on or off (off helps debuggers); ``tmp_root`` is where the
    environment's ``/tmp`` directory is made.

    Leaving the ``async with`` block shuts the environment down (reason ``spindown``) with the
    Shutdown budgets; leaving it through an exception kills every participant at once.
    """

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
        if len(extensions) > MAX_EXTENSIONS:
            raise ConfigurationError(
                f"{len(extensions)} extensions given: a function can have at most {MAX_EXTENSIONS}"
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
        self._spins_down = (
            self.config.idle_timeout is not None or self.config.max_lifetime is not None
        )
        self.id = environment_id or uuid.uuid4().hex
        self.runtime = runtime
        self.extensions = tuple(extensions)
        self.freeze = freeze
        self._machine = machine or lifecycle_machine()
        self._deadlines = self._machine.spec.deadlines
        self.core = EnvironmentCore(self._machine)
        self.generation = 0
        self._variables = dict(variables or {})
        self._tmp_root = tmp_root
        self.tmp_dir: Path | None = None
        self._hub = EventHub()
        self._procs = ProcessTable(freeze)
        self._runtime_client: RuntimeClient | None = None
        self._ext_clients: dict[str, ExtensionClient] = {}
        self._clients_by_name: dict[str, ExtensionClient] = {}
        self._current: Invocation | None = None
        self._queued: Invocation | None = None  # an invoke() waiting for the driver
        self._reset_reason: ShutdownReason = "failure"
        self._pending_init_ms: float | None = None
        self._pending_restore_ms: float | None = None
        self._tg: TaskGroup | None = None
        self._clock: Clock | None = None
        self._entered_at = 0.0
        self._last_active = 0.0
        self._job: Job | None = None
        self._job_done: anyio.Event | None = None
        self._job_running = False
        self._idle_waiter: anyio.Event | None = None
        self._watch: anyio.CancelScope | None = None
        self._invoke_deadline = math.inf
        self._closed = False

    # ------------------------------------------------------------------ context management --
    async def __aenter__(self) -> Environment:
        if self._tg is not None:
            raise EnvironmentClosed(f"environment {self.id} was already entered")
        self._clock = Clock()
        self.new_waiter: Callable[[], Waiter] = waiter_factory()
        self._entered_at = self._last_active = self._clock.now()
        self._wake = anyio.Event()
        self._phase_done = anyio.Event()
        self._changed = anyio.Event()
        self._shut = anyio.Event()
        self.tmp_dir = Path(
            tempfile.mkdtemp(prefix=f"lambda-lifecycle-{self.id[:12]}-", dir=self._tmp_root)
        )
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        tg.start_soon(self._drive, name=f"lambda-lifecycle driver {self.id[:12]}")
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
            self._closed = True
            tg.cancel_scope.cancel()
            # The body's own exception propagates unwrapped; the task group only adds errors
            # of its own tasks (participants' exceptions are caught and become exit statuses).
            await tg.__aexit__(None, None, None)
            self._hub.close()
            if self.tmp_dir is not None and self.tmp_dir.exists():
                shutil.rmtree(self.tmp_dir, ignore_errors=True)
        return None

    # ------------------------------------------------------------------------ public API --
    @property
    def state(self) -> str:
        """The current state of the spec's machine."""
        return self.core.state

    @property
    def clock(self) -> Clock:
        """The environment's clock (available once entered)."""
        if self._clock is None:
            raise EnvironmentClosed(f"environment {self.id} has not been entered")
        return self._clock

    @property
    def invocation(self) -> Invocation | None:
        """The invocation in its Invoke phase (begun, not ended), if any."""
        inv = self._current
        if inv is None or inv.begun_at is None or inv.ended is not None:
            return None
        return inv

    @property
    def runtime_client(self) -> RuntimeClient | None:
        """The Runtime API client of the current generation of processes (None before Init).

        A front end serving the Runtime API over HTTP routes every request to this client.
        """
        client = self._runtime_client
        return client if client is not None and client.generation == self.generation else None

    def extension_client(self, name: str) -> ExtensionClient:
        """The Extensions API client for the extension called ``name`` (its file name).

        An attached extension of the current generation gets its own client back. Any other
        name is an internal extension registering from inside the runtime's process: it gets a
        new client of kind ``internal`` (which ``register`` then validates as AWS does).
        """
        client = self._clients_by_name.get(name)
        if client is not None and client.generation == self.generation:
            return client
        client = ExtensionClient(self, self.generation, name, "internal")
        self._clients_by_name[name] = client
        return client

    def extension_client_by_id(self, extension_id: str) -> ExtensionClient | None:
        """The registered extension with this ``Lambda-Extension-Identifier``, if any."""
        client = self._ext_clients.get(extension_id)
        return client if client is not None and client.generation == self.generation else None

    def subscribe(self) -> Subscription:
        """An async iterator over every :class:`LifecycleEvent` from now on."""
        return self._hub.subscribe()

    def listen(
        self, callback: Callable[[LifecycleEvent], None], types: Iterable[str] | None = None
    ) -> Listener:
        """Call ``callback`` synchronously with every event (of ``types``) from now on.

        The callback runs on the engine's own call stack, in order: it must be quick and must
        not raise. Events of types nobody wants are not even built.
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
        self._check_open()
        current = self._current
        if (current is not None and current.result is None) or self._queued is not None:
            busy = self._queued or current
            assert busy is not None
            raise EnvironmentBusy(
                f"environment {self.id} is serving invocation {busy.request_id}: "
                "an environment serves one invocation at a time"
            )
        now = self.clock.now()
        inv = Invocation(
            request_id=request_id or new_request_id(),
            payload=_encode(payload),
            content_type=content_type,
            trace_id=trace_id or new_trace_id(self.clock.wall(now)),
            client_context=client_context,
            cognito_identity=cognito_identity,
            answered=self.new_waiter(),
            version=self.config.function_version,
        )
        if self._warm():
            # The fast path: a warm environment is thawed and handed the invocation right here,
            # synchronously; the last participant's next ends the phase (see arrive()).
            self._current = inv
            self._procs.thaw_all()
            self._fire("invoke")
            self._begin_invoke(inv, now)
        else:
            # Queued until the driver serves it: the previous invocation's phase may still be
            # running (its extensions), and that phase's end must not close this one's books.
            self._queued = inv
            try:
                await self._submit(lambda: self._serve(inv))
            except BaseException:
                if self._queued is inv:
                    self._queued = None
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
        finished = await self._submit(self._provision)
        await finished.wait()

    async def shutdown(self, reason: ShutdownReason = "spindown") -> None:
        """Shut the environment down (reason ``spindown`` unless given) and wait for the end.

        Waits for a running invocation's phase to end first. Idempotent.
        """
        if reason not in SHUTDOWN_REASONS:
            raise ConfigurationError(
                f"shutdown reason {reason!r} must be one of {', '.join(SHUTDOWN_REASONS)}"
            )
        if self.core.state == "Shutdown" or self._closed:
            return
        with contextlib.suppress(EnvironmentClosed):
            await self._submit(lambda: self._shutdown(reason))
        await self._shut.wait()

    # ------------------------------------------------------------------- client callbacks --
    # Called by RuntimeClient and ExtensionClient (synchronously, between awaits).
    def arrive(self, member: str) -> None:
        """``member`` called ``next``: it is done with the current phase."""
        owed = self.core.owed
        if member not in owed:
            return
        owed.discard(member)
        if not owed:
            core = self.core
            core.registration_open = False
            ending_invoke = core.state == "Invoke"
            self._fire("phase_complete")
            if ending_invoke:
                self._end_invoke()
            else:
                self._phase_done.set()

    def answer(
        self,
        inv: Invocation,
        body: bytes,
        content_type: str,
        error: dict[str, Any] | None,
    ) -> None:
        """The runtime answered ``inv`` (a response, or a function error)."""
        now = self.clock.now()
        if inv.answer(now, body, content_type, error):
            inv.produced_bytes = len(body)
            self._publish_about(inv, "runtime_done", now)

    def answer_platform_error(
        self, inv: Invocation, error: dict[str, Any], status: InvokeStatus
    ) -> None:
        """Answer ``inv`` for the runtime with a platform error body."""
        now = self.clock.now()
        if inv.answer_error(now, error, status):
            self._publish_about(inv, "runtime_done", now)

    def register(self, client: ExtensionClient, events: list[str]) -> str:
        """Register an extension of the current generation; returns its identifier."""
        ext_id = str(uuid.uuid4())
        record = self.core.register(ext_id, client.name, client.kind, events)
        if self.core.state == "Init":
            self.core.owed.add(ext_id)
            self.core.owed.discard(_pending(client.name))
        self._ext_clients[ext_id] = client
        self._emit(
            "extension_registered",
            name=record.name,
            kind=record.kind,
            events=sorted(record.events),
            extension_id=ext_id,
        )
        self.notify()
        return ext_id

    def fail(self, event: str, error: dict[str, Any]) -> None:
        """A participant reported a failure (``init_error`` or ``restore_error``)."""
        self._fail(event, error, "error")

    def extension_failed(self, name: str, error_type: str) -> None:
        """An extension posted ``/extension/exit/error``."""
        rid = self._current.request_id if self._current else ""
        error = error_body(
            "Extension.Crash", f"RequestId: {rid} Error: extension {name} reported {error_type}"
        )
        self._fail("extension_crash", error, "error")

    def notify(self) -> None:
        """Wake the driver's condition waits (a process exited, a registration, ...)."""
        self._changed.set()

    # ------------------------------------------------------------------------ the driver --
    def _check_open(self) -> None:
        if self._tg is None:
            raise EnvironmentClosed(f"environment {self.id} must be entered (async with) first")
        if self._closed or self.core.state == "Shutdown":
            raise EnvironmentClosed(f"environment {self.id} has been shut down")

    def _idle(self) -> bool:
        """No job is running or waiting and no phase is under way."""
        return (
            not self._job_running
            and self._job is None
            and self.core.state in ("Frozen", "Uninitialized", "Shutdown")
        )

    def _warm(self) -> bool:
        """Whether an invocation can take the fast path (nothing else is going on)."""
        core = self.core
        return (
            core.state == "Frozen"
            and not core.snapshot_waiting
            and self._idle_waiter is None
            and self._idle()
        )

    def _signal_idle(self) -> None:
        waiter = self._idle_waiter
        if waiter is not None and self._idle():
            self._idle_waiter = None
            waiter.set()

    async def _submit(self, job: Job) -> anyio.Event:
        """Hand ``job`` to the driver once it is idle; the returned event is set when it ends."""
        self._check_open()
        while not self._idle():
            if self._idle_waiter is None:
                self._idle_waiter = anyio.Event()
            await self._idle_waiter.wait()
            self._check_open()
        self._job = job
        done = self._job_done = anyio.Event()
        self._wake.set()
        return done

    def _spindown_at(self) -> float:
        config = self.config
        at = math.inf
        if config.idle_timeout is not None:
            at = self._last_active + config.idle_timeout
        if config.max_lifetime is not None:
            at = min(at, self._entered_at + config.max_lifetime)
        return at

    async def _drive(self) -> None:
        """The driver: runs jobs one at a time, resets, and watches the Invoke deadline.

        While idle it sleeps until the earliest of: a job or a failure (``_wake``), the current
        Invoke phase's deadline, and the spin-down time. A warm invocation only moves the
        deadline later, so the driver wakes at most once per timeout period for it.
        """
        core = self.core
        clock = self.clock
        while core.state != "Shutdown":
            wake_at = self._invoke_deadline
            if self._idle():
                wake_at = min(wake_at, self._spindown_at())
            with anyio.CancelScope(deadline=wake_at) as watch:
                self._watch = watch
                await self._wake.wait()
            self._watch = None
            if self._wake.is_set():
                self._wake = anyio.Event()
            self._job_running = True
            try:
                if core.state == "Invoke" and clock.now() >= self._invoke_deadline:
                    inv = self._current
                    rid = inv.request_id if inv is not None else ""
                    self._fail("invoke_timeout", timed_out(rid, self.config.timeout), "timeout")
                if core.state == "Reset":
                    await self._reset()
                job, self._job = self._job, None
                if job is not None:
                    await job()
                    self._last_active = clock.now()
                if core.state == "Reset":
                    await self._reset()
                if core.state in ("Frozen", "Uninitialized") and (
                    self._lifetime_over() or clock.now() >= self._spindown_at()
                ):
                    await self._shutdown("spindown")
            finally:
                self._job_running = False
                done, self._job_done = self._job_done, None
                if done is not None:
                    done.set()
                self._signal_idle()

    def _lifetime_over(self) -> bool:
        lifetime = self.config.max_lifetime
        return lifetime is not None and self.clock.now() >= self._entered_at + lifetime

    # -------------------------------------------------------------------------- the jobs --
    async def _serve(self, inv: Invocation) -> None:
        self._current = inv
        if self._queued is inv:
            self._queued = None
        core = self.core
        core.invoke_waiting = True
        try:
            if core.state == "Uninitialized" and not core.initialized_once:
                if self.config.initialization_type == "snap-start":
                    core.invoke_waiting = False  # the publish-time Init has no invocation
                    await self._init("init", None)
                    core.invoke_waiting = True
                else:
                    await self._init("init", inv)
                if core.state == "Reset":
                    await self._reset()
            if core.state == "Uninitialized":
                await self._init("invoke", inv)
            if core.state == "Frozen":
                self._procs.thaw_all()
                if core.snapshot_waiting:
                    await self._restore(inv)
                else:
                    self._fire("invoke")
            if core.state == "Invoke":
                self._begin_invoke(inv)
        finally:
            core.invoke_waiting = False
            if core.state != "Invoke" and inv.ended is None:
                self._finish(inv)  # it ended before its Invoke phase (init or restore failed)

    async def _provision(self) -> None:
        core = self.core
        if core.state != "Uninitialized" or core.initialized_once:
            return
        await self._init("init", None)

    async def _shutdown(self, reason: ShutdownReason) -> None:
        core = self.core
        if core.state == "Frozen":
            self._procs.thaw_all()
            self._fire("shutdown")
            await self._terminate(reason)
        elif core.state == "Uninitialized":
            self._fire("shutdown")
        if self.tmp_dir is not None:
            await anyio.to_thread.run_sync(shutil.rmtree, self.tmp_dir, True)
        self._emit("shutdown_end", reason=reason)
        self._shut.set()

    # ------------------------------------------------------------------------ the phases --
    async def _init(self, phase: Literal["init", "invoke"], inv: Invocation | None) -> None:
        core = self.core
        clock = self.clock
        core.begin_generation()
        core.init_phase = phase
        self.generation += 1
        self._ext_clients.clear()
        self._clients_by_name.clear()
        self._fire("init" if phase == "init" else "invoke")
        start = clock.now()
        if phase == "invoke":
            assert inv is not None
            inv.suppressed_init = True
            inv.started = start
            deadline = inv.deadline = start + self.config.timeout
        else:
            deadline = start + init_limit_ms(self._deadlines, self.config, phase) / 1000
        self._emit(
            "init_start",
            phase=phase,
            initialization_type=self.config.initialization_type,
            function_name=self.config.function_name,
            function_version=self.config.function_version,
        )
        # The phase waits for the runtime's next and for every attached internal extension to
        # register (the registration then owes a next of its own).
        core.expect_next_from(
            [RUNTIME, *(_pending(e.name) for e in self.extensions if e.kind == "internal")]
        )
        self._phase_done = anyio.Event()
        with anyio.move_on_at(deadline):
            externals = [e for e in self.extensions if e.kind == "external"]
            started = [await self._start_extension(e) for e in externals]
            await self._until(lambda: core.state != "Init" or all(c.id for c in started))
            if core.state == "Init":
                await self._start_runtime()
                for ext in self.extensions:
                    if ext.kind == "internal":
                        await self._start_extension(ext)
                await self._phase_done.wait()
        if core.state == "Init":
            error = timed_out(inv.request_id, self.config.timeout) if inv else None
            self._fail("init_timeout", error, "timeout")
        duration_ms = (clock.now() - start) * 1000
        ok = core.state != "Reset"
        if ok and phase == "init":
            if self.config.initialization_type == "snap-start":
                core.snapshot_waiting = True
            elif self.config.initialization_type == "on-demand":
                self._pending_init_ms = duration_ms
        self._emit(
            "init_end",
            phase=phase,
            initialization_type=self.config.initialization_type,
            status="success" if ok else self._failure_status,
            error_type=None if ok else self._failure_type,
            duration_ms=duration_ms,
        )
        if core.state == "Frozen":
            self._procs.freeze_all()

    async def _restore(self, inv: Invocation) -> None:
        core = self.core
        clock = self.clock
        self._fire("restore")
        core.snapshot_waiting = False
        start = clock.now()
        self._emit(
            "restore_start",
            function_name=self.config.function_name,
            function_version=self.config.function_version,
        )
        core.expect_next_from([RUNTIME])
        self._phase_done = anyio.Event()
        runtime = self._runtime_client
        assert runtime is not None
        if runtime.waiting_for_restore:
            runtime.resume_from_snapshot()
        else:  # the runtime has no after-restore hook: it is already waiting in next
            self.arrive(RUNTIME)
        with anyio.move_on_at(start + restore_limit_ms(self._deadlines) / 1000):
            await self._phase_done.wait()
        if core.state == "Restore":
            error = error_body(
                "SnapStartTimeoutException",
                f"RequestId: {inv.request_id} Error: restore did not finish within "
                f"{restore_limit_ms(self._deadlines) / 1000:.2f} seconds",
            )
            self._fail("restore_timeout", error, "timeout")
        duration_ms = (clock.now() - start) * 1000
        ok = core.state != "Reset"
        if ok:
            self._pending_restore_ms = duration_ms
        self._emit(
            "restore_end",
            status="success" if ok else self._failure_status,
            error_type=None if ok else self._failure_type,
            duration_ms=duration_ms,
        )

    def _begin_invoke(self, inv: Invocation, now: float | None = None) -> None:
        """Start the Invoke phase (state Invoke): hand the invocation out, arm the deadline."""
        core = self.core
        clock = self.clock
        config = self.config
        begun = inv.begun_at = clock.now() if now is None else now
        if inv.started is None:  # else a suppressed init began the invocation
            inv.started = begun
            inv.deadline = begun + config.timeout
        assert inv.deadline is not None
        deadline_ms = clock.wall_ms(inv.deadline)
        core.expect_next_from(core.invoke_members())
        inv.delivered = True
        runtime = self._runtime_client
        assert runtime is not None
        runtime.deliver(
            inv,
            RuntimeEvent(
                inv.request_id,
                inv.payload,
                inv.content_type,
                deadline_ms,
                config.function_arn,
                inv.trace_id,
                inv.client_context,
                inv.cognito_identity,
            ),
        )
        if len(core.owed) > 1:
            event = {
                "eventType": "INVOKE",
                "deadlineMs": deadline_ms,
                "requestId": inv.request_id,
                "invokedFunctionArn": config.function_arn,
                "tracing": {"type": "X-Amzn-Trace-Id", "value": inv.trace_id},
            }
            for ext_id in core.owed:
                if ext_id != RUNTIME:
                    self._ext_clients[ext_id].deliver(dict(event))
        self._invoke_deadline = inv.deadline
        watch = self._watch
        if watch is not None and inv.deadline < watch.deadline:
            watch.deadline = inv.deadline
        self._publish_about(inv, "invoke_start", begun)

    def _end_invoke(self) -> None:
        """The Invoke phase completed (state Frozen): freeze and close the invocation's books."""
        self._invoke_deadline = math.inf
        self._procs.freeze_all()
        now = self._last_active = self.clock.now()
        inv = self._current
        if inv is not None and inv.ended is None:
            self._finish(inv, now)
        watch = self._watch
        if watch is not None and self._spins_down:
            spindown = self._spindown_at()
            # Only when earlier: assigning a deadline reschedules the scope's timer.
            if spindown < watch.deadline:  # noqa: PLR1730
                watch.deadline = spindown
        self._signal_idle()

    def _finish(self, inv: Invocation, end: float | None = None) -> None:
        """Close the books of an invocation: its answer (always exactly one) and its figures."""
        if end is None:
            end = self.clock.now()
        if inv.result is None:  # every path answers; this guards the promise of one result
            inv.answer_error(end, error_body("Sandbox.Failure", "the environment ended"), "failure")
        inv.init_ms, self._pending_init_ms = self._pending_init_ms, None
        inv.restore_ms, self._pending_restore_ms = self._pending_restore_ms, None
        inv.memory_size_mb = self.config.memory_mb
        if self._procs.measurable:
            inv.max_memory_used_mb = self._procs.max_memory_used_mb()
        inv.ended = end
        if inv.done is not None:
            inv.done.set()
        self._publish_about(inv, "invoke_end", end)

    # ----------------------------------------------------------------- failure and reset --
    _failure_status: InvokeStatus = "error"
    _failure_type: str | None = None

    def _fail(self, event: str, error: dict[str, Any] | None, status: InvokeStatus) -> None:
        """Route a crash, an error report or a passing deadline into Reset."""
        core = self.core
        if not core.can_fire(event):
            return  # e.g. a process exiting during Reset or Shutdown: expected
        before = core.state
        self._fire(event)
        self._reset_reason = "timeout" if event.endswith("_timeout") else "failure"
        self._failure_status = status
        self._failure_type = None if error is None else str(error.get("errorType"))
        inv = self._current
        retry_follows = before == "Init" and core.init_phase == "init"
        if (
            inv is not None
            and inv.result is None
            and error is not None
            and not retry_follows
            and before != "Frozen"
        ):
            self.answer_platform_error(inv, error, status)
        if before == "Invoke":
            self._invoke_deadline = math.inf
            if inv is not None and inv.ended is None:
                self._finish(inv)
        self._phase_done.set()
        self.notify()
        if not self._job_running:
            self._wake.set()

    async def _reset(self) -> None:
        reason = self._reset_reason
        self._emit("reset_start", reason=reason)
        await self._terminate(reason)
        self._fire("reset_complete")
        self._emit("reset_end", reason=reason)

    async def _terminate(self, reason: ShutdownReason) -> None:
        """Stop every process under the Shutdown budgets (a Shutdown or a Reset)."""
        clock = self.clock
        internal, external = self.core.counts()
        budget = shutdown_budget(self._deadlines, internal, external)
        self._emit(
            "shutdown_start",
            reason=reason,
            budget_ms=budget.total_ms,
            runtime_ms=budget.runtime_ms,
            sigterm=budget.sigterm,
        )
        await self._procs.stop(
            reason,
            budget,
            now=clock.now,
            wall_ms=clock.wall_ms,
            until=self._until,
            wants_shutdown=self._wants_shutdown,
        )

    def _wants_shutdown(self, client: ExtensionClient) -> bool:
        record = self.core.extensions.get(client.id or "")
        return record is not None and "SHUTDOWN" in record.events

    # --------------------------------------------------------------------- participants --
    def _context(
        self, kind: Literal["runtime", "internal", "external"], proc: Started
    ) -> StartContext:
        assert self._tg is not None
        assert self.tmp_dir is not None
        return StartContext(
            task_group=self._tg,
            config=self.config,
            tmp_dir=self.tmp_dir,
            environment=participant_variables(
                self.config, kind, self.tmp_dir, self._variables, self.clock.wall(self.clock.now())
            ),
            on_exit=lambda status: self._on_exit(proc, status),
        )

    async def _start_runtime(self) -> None:
        client = RuntimeClient(self, self.generation)
        self._runtime_client = client
        proc = Started("runtime", self.runtime.name, client, self.generation)
        self._procs.add(proc)
        proc.process = await self.runtime.start(client, self._context("runtime", proc))
        self._procs.started(proc.process)

    async def _start_extension(self, ext: ExtensionParticipant) -> ExtensionClient:
        client = ExtensionClient(self, self.generation, ext.name, ext.kind)
        self._clients_by_name[ext.name] = client
        proc = Started(ext.kind, ext.name, client, self.generation)
        self._procs.add(proc)
        proc.process = await ext.start(client, self._context(ext.kind, proc))
        self._procs.started(proc.process)
        return client

    def _on_exit(self, proc: Started, status: ExitStatus) -> None:
        proc.exited = True
        proc.status = status
        self._emit(
            "process_exit", name=proc.name, kind=proc.kind, code=status.code, signal=status.signal
        )
        self.notify()
        if proc.generation != self.generation:
            return
        rid = self._current.request_id if self._current else ""
        if proc.kind == "runtime":
            self._fail("runtime_exit", runtime_exited(rid, status.describe()), "error")
        else:
            self._fail(
                "extension_crash", extension_crashed(rid, proc.name, status.describe()), "error"
            )

    async def _until(self, condition: Callable[[], bool]) -> None:
        while not condition():
            changed = self._changed = anyio.Event()
            await changed.wait()

    # ---------------------------------------------------------------------- observation --
    def _fire(self, event: str) -> None:
        core = self.core
        before = core.state
        row = self._machine.fire(core, event)
        wanted = self._hub.wanted  # hub.wants() inlined: this runs twice per invocation
        if wanted is None or "transition" in wanted or structlog_configured():
            inv = self._current
            self._emit(
                "transition",
                from_state=before,
                to_state=core.state,
                event=event,
                transition=row.id,
                request_id=inv.request_id if inv is not None else None,
            )

    def _emit(self, event_type: str, /, **data: Any) -> None:
        self._publish(event_type, data)

    def _publish(self, event_type: str, data: dict[str, Any]) -> None:
        hub = self._hub
        if hub.wants(event_type):
            clock = self.clock
            now = clock.now()
            hub.publish(LifecycleEvent(event_type, self.id, now, clock.wall(now), data))

    def _publish_about(self, inv: Invocation, event_type: str, now: float) -> None:
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


def _pending(name: str) -> str:
    """The barrier key of an attached extension that has not registered yet."""
    return f"registration:{name}"

"""A function's execution environments: concurrency as Lambda does it.

On Lambda each concurrent invocation runs in an execution environment of its own. :class:`Function`
is that pool for an embedder: it owns every environment of one function and routes each
invocation the way Lambda does.

- A **free** environment (frozen, or torn down by a Reset and waiting for its next Init, with no
  invocation of the pool in it) takes the invocation; the most recently used one first, so warm
  environments stay warm and the others age towards their idle timeout. Provisioned environments
  are tried before on-demand ones.
- With none free, a **new** environment starts and runs a full Init for the invocation (a cold
  start), as long as the function's environments are fewer than its concurrency limit
  (``reserved_concurrency``).
- Over the limit the invocation is **throttled**: :class:`~lambda_lifecycle.core.errors.
  TooManyRequestsException` is raised before any environment sees it, so no phase starts.

Each environment is an :class:`~lambda_lifecycle.engine.environment.Environment` of its own, made
by the embedder's factory: its own participants (processes), ``/tmp``, log stream and telemetry
subscriptions. The pool does not reap environments itself: it gives every on-demand environment
``idle_timeout`` and ``max_lifetime`` in its :class:`~lambda_lifecycle.core.config.FunctionConfig`
and the environment's scheduler spins it down (SHUTDOWN ``spindown``); the pool hears the
``shutdown_end`` event, forgets the environment and frees its place. Provisioned environments are
never reaped for idleness; one that reaches its maximum lifetime is replaced by a new provisioned
environment.

SnapStart: entering the block publishes the version in one environment (its Init ends with the
:class:`~lambda_lifecycle.engine.snapshot.Snapshot`, kept as :attr:`Function.snapshot`); every
further environment is made from that one snapshot (no Init of its own; its first invocation is
a Restore), and each Restore reports to the pool's
:class:`~lambda_lifecycle.engine.uniqueness.UniquenessGuard`. Participants that cannot be
snapshotted (real processes) leave no snapshot: each environment then runs its own Init before
its Restore (:attr:`Function.snapshot_error` says why).

The class is called ``Function`` because everything it decides belongs to a Lambda function, not
to an environment: the concurrency limit, provisioned concurrency, where an invocation goes. An
embedder invokes a function; the environments are how Lambda serves it.

A function whose Init keeps failing does not start environments in a loop: an environment starts
only for an invocation that found none free (or, for provisioned concurrency, once at start and
once per lifetime replacement), and a failed environment is free again after its Reset, so the
next invocation retries Init in it rather than in a new one.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, Literal, TypeVar

import anyio
from anyio.abc import TaskGroup, TaskStatus

from ..core.config import FunctionConfig, InitializationType
from ..core.errors import (
    ConfigurationError,
    EnvironmentClosed,
    TooManyRequestsException,
)
from ..core.variables import log_stream_name
from .environment import Environment
from .invocation import InvokeResult
from .observe import LifecycleEvent
from .snapshot import Snapshot, SnapshotError
from .structured_log import configured, logger
from .uniqueness import UniquenessGuard, UniquenessWarning

_T = TypeVar("_T")

EnvironmentFactory = Callable[[FunctionConfig], AbstractAsyncContextManager[Environment]]
"""Makes one environment for the configuration given (an :class:`Environment` itself is an
async context manager, so ``lambda config: Environment(MyRuntime(), config=config)`` will do)."""

DEFAULT_RESERVED_CONCURRENCY = 1000
"""AWS's default quota of concurrent executions per account and region."""
DEFAULT_IDLE_TIMEOUT = 600.0
"""How long an idle on-demand environment is kept (AWS publishes no figure; 10 minutes)."""
DEFAULT_MAX_LIFETIME = 4 * 3600.0
"""When an environment is replaced ("every few hours" on AWS, which publishes no figure)."""

DEFAULT_REUSE_GRACE = 0.1
"""How long an invocation finding no free environment waits for one that is finishing."""

PoolEventType = Literal["environment_started", "environment_gone", "invocation_routed", "throttled"]
_FREE_STATES = frozenset({"Frozen", "Uninitialized"})
_log = logger("lambda_lifecycle")


@dataclasses.dataclass(frozen=True, slots=True)
class PoolEvent:
    """Something the pool did: an environment started or went away, an invocation was routed
    (``cold`` when it went to a new environment) or throttled (``environment_id`` empty)."""

    type: PoolEventType
    environment_id: str
    provisioned: bool = False
    cold: bool = False
    log_stream: str = ""


class _Member:
    """One environment of the pool and the pool's own facts about it."""

    __slots__ = ("env", "gone", "last", "leased", "log_stream", "provisioned", "reaped", "stop")

    def __init__(self, provisioned: bool) -> None:
        self.provisioned = provisioned
        self.env: Environment | None = None
        self.leased = False  # an invocation of the pool is in it
        self.gone = False
        self.reaped = False  # it spun itself down (idle timeout or maximum lifetime)
        self.stop = anyio.Event()
        self.log_stream = ""
        self.last: InvokeResult | None = None  # the pool's latest invocation in it

    def finishing(self) -> bool:
        """The pool's latest invocation here has its answer, but its Invoke phase goes on."""
        env, last = self.env, self.last
        if env is None or last is None or self.gone or self.leased:
            return False
        current = env.invocation
        return current is not None and current.request_id == last.request_id

    def free(self) -> bool:
        env = self.env
        return (
            env is not None
            and not self.leased
            and not self.gone
            and env.state in _FREE_STATES
            and env.invocation is None
        )


class Function:
    """A Lambda function served by a pool of execution environments: an async context manager.

    ``make_environment`` makes each environment (see :data:`EnvironmentFactory`); it is given
    ``config`` with the environment's ``initialization_type``, ``idle_timeout`` and
    ``max_lifetime`` filled in. ``reserved_concurrency`` is the most environments the function
    has at once (the reserved concurrency, or the account's quota); ``provisioned_concurrency``
    environments are initialized when the block is entered (``provisioned-concurrency``
    initialization type) and are used first. ``idle_timeout`` (seconds, None: never) spins down
    an on-demand environment left idle that long; ``max_lifetime`` (seconds, None: never) spins
    down every environment that old, once it is idle. ``reuse_grace`` (seconds, 0: none) is
    how long an invocation that finds no free environment first waits for one that already
    has its answer to finish its Invoke phase: a caller that
    invokes again the moment it is answered is often quicker than the runtime's next ``next``,
    and would otherwise cause a cold start (or a throttle) for nothing.

    Leaving the block shuts every environment down at once, each under its own Shutdown budget.
    """

    def __init__(
        self,
        make_environment: EnvironmentFactory,
        config: FunctionConfig | None = None,
        *,
        reserved_concurrency: int = DEFAULT_RESERVED_CONCURRENCY,
        provisioned_concurrency: int = 0,
        idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
        max_lifetime: float | None = DEFAULT_MAX_LIFETIME,
        reuse_grace: float = DEFAULT_REUSE_GRACE,
    ) -> None:
        if not reuse_grace >= 0:
            raise ConfigurationError(f"reuse_grace must be 0 or more seconds, not {reuse_grace!r}")
        self.reuse_grace = reuse_grace
        if isinstance(reserved_concurrency, bool) or not (
            isinstance(reserved_concurrency, int) and reserved_concurrency >= 1
        ):
            raise ConfigurationError(
                f"reserved_concurrency must be a whole number of at least 1, not "
                f"{reserved_concurrency!r}"
            )
        if isinstance(provisioned_concurrency, bool) or not (
            isinstance(provisioned_concurrency, int)
            and 0 <= provisioned_concurrency <= reserved_concurrency
        ):
            raise ConfigurationError(
                f"provisioned_concurrency must be a whole number from 0 to the reserved "
                f"concurrency ({reserved_concurrency}), not {provisioned_concurrency!r}"
            )
        base = config or FunctionConfig()
        if provisioned_concurrency and base.initialization_type == "snap-start":
            raise ConfigurationError("a SnapStart function cannot have provisioned concurrency")
        # FunctionConfig checks the two durations (positive or None).
        self.config = dataclasses.replace(
            base, idle_timeout=idle_timeout, max_lifetime=max_lifetime
        )
        self.reserved_concurrency = reserved_concurrency
        # Environments past the provisioned ones are on-demand, even when the configuration
        # says provisioned-concurrency; SnapStart ones are made from the version's snapshot.
        self._on_demand_type: InitializationType = (
            "on-demand"
            if base.initialization_type == "provisioned-concurrency"
            else base.initialization_type
        )
        self.provisioned_concurrency = provisioned_concurrency
        self._make = make_environment
        self._members: dict[_Member, None] = {}  # every live environment, in start order
        # The free candidates, least recently used first (a dict keeps order; re-adding a key
        # moves nothing, so release pops it first).
        self._provisioned: dict[_Member, None] = {}
        self._on_demand: dict[_Member, None] = {}
        self._listeners: list[Callable[[PoolEvent], None]] = []
        self._tg: TaskGroup | None = None
        self._closing = False
        self.started = 0
        """How many environments the pool has started (the cold starts, and provisioned ones)."""
        self.throttled = 0
        """How many invocations were throttled."""
        self.snapshot: Snapshot | None = None
        """SnapStart: the version's snapshot, taken at the publish when entering the block;
        every further environment is made from it. None when it could not be taken
        (:attr:`snapshot_error` says why): each new environment then runs its own Init."""
        self.snapshot_error: SnapshotError | None = None
        """Why no snapshot could be taken at the publish (a participant that cannot be
        snapshotted, real processes, state that cannot be copied), or None."""
        self.uniqueness = UniquenessGuard()
        """SnapStart's uniqueness guard: every Restore of the pool's environments reports to
        it; :attr:`uniqueness_warnings` lists what it found."""

    # ------------------------------------------------------------------ context management --
    async def __aenter__(self) -> Function:
        if self._tg is not None:
            raise EnvironmentClosed("the function was already entered")
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        try:
            async with anyio.create_task_group() as ahead:
                for _ in range(self.provisioned_concurrency):
                    ahead.start_soon(self._provision, True)
                if self._on_demand_type == "snap-start" and not self.provisioned_concurrency:
                    # The version's publish: one environment runs Init and takes its snapshot
                    # now; its first invocation restores from it.
                    ahead.start_soon(self._provision, True, False)
        except BaseException:
            await self._close(failed=True)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._close(failed=exc_type is not None)

    async def _close(self, *, failed: bool) -> None:
        self._closing = True
        tg, self._tg = self._tg, None
        if tg is None:
            return
        for member in list(self._members):
            member.stop.set()  # each environment's task leaves its block: a spin-down
        if failed:
            tg.cancel_scope.cancel()
        await tg.__aexit__(None, None, None)

    # ------------------------------------------------------------------------ public API --
    @property
    def environments(self) -> tuple[Environment, ...]:
        """The live environments, oldest first."""
        return tuple(m.env for m in self._members if m.env is not None and not m.gone)

    @property
    def concurrency(self) -> int:
        """How many environments are busy with an invocation of the pool (or with their
        provisioned Init) now."""
        return sum(1 for m in self._members if m.leased)

    @property
    def uniqueness_warnings(self) -> tuple[UniquenessWarning, ...]:
        """The values marked unique during the publish Init that two restored environments
        still held after their Restore (see :mod:`lambda_lifecycle.engine.uniqueness`)."""
        return tuple(self.uniqueness.warnings)

    def log_stream(self, environment: Environment) -> str:
        """The CloudWatch log stream of one of the pool's environments."""
        for member in self._members:
            if member.env is environment:
                return member.log_stream
        raise LookupError(f"environment {environment.id} is not in this function's pool")

    def listen(self, callback: Callable[[PoolEvent], None]) -> Callable[[], None]:
        """Call ``callback`` with every :class:`PoolEvent`; returns the function that stops it.

        The callback runs synchronously inside the pool's routing: it must be quick. One that
        raises is logged and detached.
        """
        self._listeners.append(callback)

        def stop() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return stop

    async def invoke(self, payload: bytes | str | Any = b"", **options: Any) -> InvokeResult:
        """Invoke the function in a free environment, or a new one; throttled over the limit.

        ``options`` are :meth:`Environment.invoke`'s. Raises :class:`TooManyRequestsException`
        when every environment is busy and there are ``reserved_concurrency`` of them, and
        :class:`EnvironmentClosed` once the block is left.
        """
        return await self.call(lambda env: env.invoke(payload, **options), lambda r: r)

    async def call(
        self,
        use: Callable[[Environment], Awaitable[_T]],
        result_of: Callable[[_T], InvokeResult],
    ) -> _T:
        """Route one invocation as :meth:`invoke` does, and make it with ``use(environment)``
        (for a front end that needs the environment, the log tail of ``X-Amz-Log-Type:
        Tail`` say); ``result_of`` finds the invocation's result in what ``use`` returns."""
        while True:
            member = self._take()
            if member is None and self.reuse_grace:
                member = await self._finishing()
            cold = member is None
            if member is None:
                self._check_limit()  # in the same step as the reservation: no race
                member = self._reserve(provisioned=False)
                await self._start(member)  # raises when the factory fails (nothing leased)
            env = member.env
            assert env is not None
            self._emit("invocation_routed", member, cold=cold)
            try:
                outcome = await use(env)
            except EnvironmentClosed:
                # It spun down between the routing and the call (its idle time came): forget
                # it and route again, unless the whole pool is closing.
                self._forget(member)
                if self._closing:
                    raise
            else:
                member.last = result_of(outcome)
                return outcome
            finally:
                self._release(member)

    # ------------------------------------------------------------------------- routing --
    def _take(self) -> _Member | None:
        """A free environment, leased (most recently used first), or None."""
        if self._closing or self._tg is None:
            raise EnvironmentClosed("the function's pool is closed")
        for stack in (self._provisioned, self._on_demand):
            for member in reversed(stack):
                if member.free():
                    del stack[member]
                    member.leased = True
                    return member
        return None

    def _check_limit(self) -> None:
        """Throttle when the function has as many environments as it may have."""
        if len(self._members) >= self.reserved_concurrency:
            self.throttled += 1
            self._emit("throttled", None)
            raise TooManyRequestsException()

    async def _finishing(self) -> _Member | None:
        """Wait up to ``reuse_grace`` for an environment whose invocation has its answer but
        whose Invoke phase is not over (the runtime has not asked for its next event yet, or
        extensions still work); the first that ends its phase, leased, or None."""
        with anyio.move_on_after(self.reuse_grace):
            while True:
                answered = [
                    member.last
                    for stack in (self._provisioned, self._on_demand)
                    for member in stack
                    if member.finishing() and member.last is not None
                ]
                if not answered:
                    return None
                async with anyio.create_task_group() as tg:

                    async def ended(result: InvokeResult, scope: anyio.CancelScope) -> None:
                        await result.report()
                        scope.cancel()

                    for result in answered:
                        tg.start_soon(ended, result, tg.cancel_scope)
                member = self._take()
                if member is not None:
                    return member
        return None

    def _reserve(self, *, provisioned: bool) -> _Member:
        """A place for a new environment, counted against the limit from now on."""
        member = _Member(provisioned)
        member.leased = True  # the invocation that made it, or the provisioned Init
        self._members[member] = None
        return member

    def _release(self, member: _Member) -> None:
        """The pool's invocation in ``member`` is over: it is the most recently used."""
        member.leased = False
        if member.gone:
            return
        stack = self._provisioned if member.provisioned else self._on_demand
        stack.pop(member, None)
        stack[member] = None

    def _forget(self, member: _Member) -> None:
        """The environment is gone (spun down, or never started): free its place."""
        if member.gone:
            return
        member.gone = True
        self._members.pop(member, None)
        self._provisioned.pop(member, None)
        self._on_demand.pop(member, None)
        member.stop.set()
        if member.env is not None:
            self._emit("environment_gone", member)
        if member.provisioned and member.reaped and not self._closing and self._tg is not None:
            self._tg.start_soon(self._provision)  # a replacement, after its maximum lifetime

    # ----------------------------------------------------------------- environments' tasks --
    async def _start(self, member: _Member) -> None:
        """Start the environment of ``member`` in the pool's task group."""
        tg = self._tg
        if tg is None:
            self._forget(member)
            raise EnvironmentClosed("the function's pool is closed")
        try:
            await tg.start(self._run, member)
        except BaseException:
            self._forget(member)
            raise
        self.started += 1
        self._emit("environment_started", member)

    async def _run(self, member: _Member, *, task_status: TaskStatus[None]) -> None:
        config = dataclasses.replace(
            self.config,
            initialization_type=(
                "provisioned-concurrency" if member.provisioned else self._on_demand_type
            ),
            idle_timeout=None if member.provisioned else self.config.idle_timeout,
        )
        made = self._make(config)
        snapshot = self.snapshot
        if snapshot is not None and isinstance(made, Environment):
            made.restore_from(snapshot)  # no Init of its own: Frozen, its Restore pending
        try:
            async with made as env:
                member.env = env
                member.log_stream = log_stream_name(config, env.clock.wall(env.clock.now()), env.id)

                def on_shutdown(_: LifecycleEvent) -> None:
                    member.reaped = not self._closing
                    self._forget(member)

                env.listen(on_shutdown, ("shutdown_end",))
                if config.initialization_type == "snap-start":

                    def on_restored(event: LifecycleEvent) -> None:
                        name = env.snapshot_name
                        if event.data.get("status") == "success" and name is not None:
                            self.uniqueness.report(env.id, name, env.unique_held)

                    env.listen(on_restored, ("restore_end",))
                task_status.started()
                await member.stop.wait()
        finally:
            self._forget(member)

    async def _provision(self, strict: bool = False, provisioned: bool = True) -> None:
        """Start one environment and run its Init ahead of any invocation: a provisioned one,
        or (``provisioned`` false) a SnapStart version's publish.

        ``strict`` (entering the block): an environment that cannot be made is the caller's
        error. Otherwise (a replacement) it is logged, and not retried: the place is left to
        on-demand environments.
        """
        if len(self._members) >= self.reserved_concurrency:
            return  # on-demand environments took the places meanwhile
        member = self._reserve(provisioned=provisioned)
        try:
            await self._start(member)
        except Exception as exc:
            if strict:
                raise
            _log.warning(
                "lambda_lifecycle.provisioned_start_failed", error=str(exc), kind=type(exc).__name__
            )
            return
        env = member.env
        assert env is not None
        # A failed Init is not retried here: the environment retries it at its first invocation.
        with contextlib.suppress(EnvironmentClosed):  # the pool closed meanwhile
            await env.init()
        if not provisioned and self.snapshot is None:
            self._keep_snapshot(env)
        self._release(member)

    def _keep_snapshot(self, env: Environment) -> None:
        """The version was published in ``env``: keep its snapshot for every new environment,
        or say (once) why there is none."""
        try:
            self.snapshot = env.snapshot()
        except SnapshotError as exc:
            self.snapshot_error = exc
            if not configured():  # unconfigured structlog prints to stdout: say it only to
                return  # an application that asked for the library's logs
            _log.warning(
                "lambda_lifecycle.snapshot_unavailable",
                environment_id=env.id,
                reason=str(exc),
                consequence="each new environment runs its own Init, then its Restore",
            )

    def _emit(self, kind: PoolEventType, member: _Member | None, *, cold: bool = False) -> None:
        if not self._listeners:
            return
        env = member.env if member is not None else None
        event = PoolEvent(
            kind,
            env.id if env is not None else "",
            provisioned=member.provisioned if member is not None else False,
            cold=cold,
            log_stream=member.log_stream if member is not None else "",
        )
        for callback in list(self._listeners):
            try:
                callback(event)
            except Exception:  # a listener's bug must not fail the invocation it is told of
                _log.exception("lambda_lifecycle.pool_listener_failed", listener=repr(callback))
                self._listeners.remove(callback)

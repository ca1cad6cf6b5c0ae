"""The scheduler of one environment: one job at a time, and every wait and deadline.

An environment's work arrives as *jobs* (serve an invocation that cannot take the warm path,
run a provisioned Init, shut down) and as *wake-ups* (a failure to reset, a deadline). One
task, :meth:`Scheduler.run`, takes them in turn. While idle it sleeps until the earliest of: a
job or a failure, the current Invoke phase's deadline, and the spin-down time (idle timeout or
maximum lifetime). A warm invocation only ever moves the deadline later, so the task wakes at
most once per timeout period for it; the passing deadline becomes the spec's
``invoke_timeout`` event.

The scheduler decides nothing about the lifecycle: it asks the core (``core.state``,
``core.warm``) and runs the phase modules.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import anyio

from ..core.errors import EnvironmentClosed
from ..core.payloads import timed_out
from .phases import teardown
from .waiters import Waiter

if TYPE_CHECKING:
    from .environment import Environment

Job = Callable[[], Awaitable[None]]
_RESTING = frozenset({"Frozen", "Uninitialized", "Shutdown"})


class Scheduler:
    """Runs an environment's jobs one at a time and watches its deadlines."""

    __slots__ = (
        "_changed",
        "_entered_at",
        "_env",
        "_idle_waiter",
        "_is_shut",
        "_job",
        "_job_done",
        "_job_running",
        "_shut",
        "_wake",
        "_watch",
        "invoke_deadline",
        "last_active",
        "phase_done",
    )

    def __init__(self, env: Environment) -> None:
        self._env = env
        self._job: Job | None = None
        self._job_done: anyio.Event | None = None
        self._job_running = False
        self._idle_waiter: anyio.Event | None = None
        self._watch: anyio.CancelScope | None = None
        self._wake: Waiter | None = None
        self._changed: anyio.Event | None = None  # made by until(), when something waits
        self._shut: anyio.Event | None = None  # made by shut_down(), when something waits
        self._is_shut = False
        self.phase_done: anyio.Event | None = None
        """Set when the current Init or Restore phase ends (completed or failed)."""
        self.invoke_deadline = math.inf
        """The current Invoke phase's deadline on the environment's clock (inf: none)."""
        self._entered_at = 0.0
        self.last_active = 0.0

    def entered(self, now: float) -> None:
        """The environment was entered at ``now`` (the spin-down clock starts)."""
        self._entered_at = self.last_active = now
        self._wake = self._env.new_waiter()

    # -- state --------------------------------------------------------------------------------
    def idle(self) -> bool:
        """No job is running or waiting and no phase is under way."""
        return not self._job_running and self._job is None and self._env.core.state in _RESTING

    def idle_now(self) -> bool:
        """Idle, and nobody is queued for the idle moment (an invocation may go straight in)."""
        return self._idle_waiter is None and self.idle()

    # -- signals from the rest of the engine --------------------------------------------------
    def notify(self) -> None:
        """Wake the condition waits (a process exited, a registration, an acknowledgement)."""
        changed = self._changed
        if changed is not None:
            changed.set()

    def wake(self) -> None:
        """A failure to act on: wake the scheduler unless it is running a job already."""
        self.phase_done_now()
        self.notify()
        if not self._job_running and self._wake is not None:
            self._wake.set()

    def phase_done_now(self) -> None:
        """The current Init or Restore phase ended (completed or failed)."""
        if self.phase_done is not None:
            self.phase_done.set()

    def new_phase(self) -> anyio.Event:
        """An Init or Restore phase starts: a fresh ``phase_done``."""
        done = self.phase_done = anyio.Event()
        return done

    def end_phase(self) -> None:
        """The Init or Restore phase is over: forget its ``phase_done``."""
        self.phase_done = None

    def arm(self, deadline: float) -> None:
        """The Invoke phase runs until ``deadline``: be awake for it."""
        self.invoke_deadline = deadline
        watch = self._watch
        if watch is not None and deadline < watch.deadline:
            watch.deadline = deadline

    def clear_deadline(self) -> None:
        """The Invoke phase failed: its deadline no longer applies."""
        self.invoke_deadline = math.inf

    def disarm(self, now: float) -> None:
        """The Invoke phase ended at ``now``: no deadline; the idle clock restarts."""
        self.invoke_deadline = math.inf
        self.last_active = now
        watch = self._watch
        if watch is not None:
            spindown = self._spindown_at()
            # Only when earlier: assigning a deadline reschedules the scope's timer.
            if spindown < watch.deadline:  # noqa: PLR1730
                watch.deadline = spindown
        self.signal_idle()

    def signal_idle(self) -> None:
        """Release whoever waits for the idle moment, if it has come."""
        waiter = self._idle_waiter
        if waiter is not None and self.idle():
            self._idle_waiter = None
            waiter.set()

    # -- waiting ------------------------------------------------------------------------------
    async def until(self, condition: Callable[[], bool]) -> None:
        """Wait until ``condition()`` holds (re-checked at each :meth:`notify`)."""
        while not condition():
            changed = self._changed = anyio.Event()
            await changed.wait()

    async def submit(self, job: Job) -> anyio.Event:
        """Hand ``job`` over once idle; the returned event is set when it has ended."""
        env = self._env
        env.check_open()
        while not self.idle():
            if self._idle_waiter is None:
                self._idle_waiter = anyio.Event()
            await self._idle_waiter.wait()
            env.check_open()
        self._job = job
        done = self._job_done = anyio.Event()
        assert self._wake is not None
        self._wake.set()
        return done

    async def shut_down(self, job: Job) -> None:
        """Run the shutdown ``job`` (after the running phase) and wait for the end."""
        env = self._env
        if env.core.state == "Shutdown" or env.closed:
            return
        with contextlib.suppress(EnvironmentClosed):
            await self.submit(job)
        if not self._is_shut:
            if self._shut is None:
                self._shut = anyio.Event()
            await self._shut.wait()

    def shut(self) -> None:
        """The environment reached Shutdown."""
        self._is_shut = True
        if self._shut is not None:
            self._shut.set()

    # -- the task -----------------------------------------------------------------------------
    def _spindown_at(self) -> float:
        config = self._env.config
        at = math.inf
        if config.idle_timeout is not None:
            at = self.last_active + config.idle_timeout
        if config.max_lifetime is not None:
            at = min(at, self._entered_at + config.max_lifetime)
        return at

    def _lifetime_over(self, now: float) -> bool:
        lifetime = self._env.config.max_lifetime
        return lifetime is not None and now >= self._entered_at + lifetime

    async def run(self) -> None:
        """The scheduler's task: jobs, resets and deadlines until Shutdown."""
        env = self._env
        core = env.core
        clock = env.clock
        assert self._wake is not None, "entered() comes first"
        while core.state != "Shutdown":
            wake_at = self.invoke_deadline
            if self.idle():
                wake_at = min(wake_at, self._spindown_at())
            with anyio.CancelScope(deadline=wake_at) as watch:
                self._watch = watch
                await self._wake.wait()
            self._watch = None
            if self._wake.is_set():
                self._wake = env.new_waiter()
            self._job_running = True
            try:
                if core.state == "Invoke" and clock.now() >= self.invoke_deadline:
                    inv = env.current
                    rid = inv.request_id if inv is not None else ""
                    env.fail("invoke_timeout", timed_out(rid, env.config.timeout), "timeout")
                if core.state == "Reset":
                    await teardown.reset(env)
                job, self._job = self._job, None
                if job is not None:
                    await job()
                    self.last_active = clock.now()
                if core.state == "Reset":
                    await teardown.reset(env)
                now = clock.now()
                if core.state in ("Frozen", "Uninitialized") and (
                    self._lifetime_over(now) or now >= self._spindown_at()
                ):
                    await teardown.shut_down(env, "spindown")
            finally:
                self._job_running = False
                done, self._job_done = self._job_done, None
                if done is not None:
                    done.set()
                self.signal_idle()
            # Asleep until the next wake-up, the task keeps neither the job it ran (nor the
            # invocation the job holds) nor that job's event: a frozen environment weighs less.
            job = done = None

"""Failures, the Reset they lead to, and Shutdown: the phases that stop processes.

:func:`failed` acts on a failure the core accepted (a crash, an error report, a passing
deadline): the waiting invocation gets its one answer when the core says so, an Invoke phase's
books are closed, and the scheduler is woken to run the Reset. :func:`reset` and
:func:`shut_down` share one stopping procedure (:func:`terminate`, the process table's
``stop``): the runtime gets SIGTERM (when an extension is registered) and its share of the
budget, then SIGKILL; each external extension subscribed to SHUTDOWN gets the event with the
reason (``timeout``, ``failure`` or ``spindown``) and the deadline of the whole budget, as the
answer to its next ``next`` whenever within the budget it makes that call; whatever has neither
exited nor acknowledged SHUTDOWN when the budget ends is killed. A Reset keeps ``/tmp``; a
Shutdown removes it.
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING, Any

import anyio

from ...core.deadlines import shutdown_budget
from ...core.environment import Failure, ShutdownReason
from ..invocation import InvokeStatus
from . import invoke as invoke_phase

if TYPE_CHECKING:
    from ..environment import Environment


def failed(
    env: Environment, failure: Failure, error: dict[str, Any] | None, status: InvokeStatus
) -> None:
    """Act on a failure the core took into Reset."""
    env.publish_transition(failure.row)
    books = env.books
    books.failure_status = status
    books.failure_type = None if error is None else str(error.get("errorType"))
    inv = env.current
    if inv is not None and inv.result is None and error is not None and failure.answer:
        env.answer_platform_error(inv, error, status)
    if failure.before == "Invoke":
        env.scheduler.clear_deadline()
        if inv is not None and inv.ended is None:
            invoke_phase.finish(env, inv)
    env.scheduler.wake()


async def terminate(env: Environment, reason: ShutdownReason) -> None:
    """Stop every process under the Shutdown budgets (a Shutdown or a Reset)."""
    clock = env.clock
    core = env.core
    internal, external = core.counts()
    budget = shutdown_budget(env.deadlines, internal, external)
    env.emit(
        "shutdown_start",
        reason=reason,
        budget_ms=budget.total_ms,
        runtime_ms=budget.runtime_ms,
        sigterm=budget.sigterm,
    )
    await env.procs.stop(
        reason,
        budget,
        core,
        now=clock.now,
        wall_ms=clock.wall_ms,
        until=env.scheduler.until,
    )


async def reset(env: Environment) -> None:
    """The Reset: stop every process, then the environment is Uninitialized again."""
    reason = env.core.reset_reason
    env.emit("reset_start", reason=reason)
    await terminate(env, reason)
    env.publish_transition(env.core.reset_complete())
    env.emit("reset_end", reason=reason)


async def shut_down(env: Environment, reason: ShutdownReason) -> None:
    """Shutdown: stop every process (when any runs), remove ``/tmp``, reach state Shutdown."""
    core = env.core
    if core.state == "Frozen":
        env.procs.thaw_all()
        env.publish_transition(core.shut_down())
        await terminate(env, reason)
    elif core.state == "Uninitialized":
        env.publish_transition(core.shut_down())
    if env.tmp_dir is not None:
        await anyio.to_thread.run_sync(shutil.rmtree, env.tmp_dir, True)
    env.emit("shutdown_end", reason=reason)
    env.scheduler.shut()

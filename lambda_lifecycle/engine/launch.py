"""Starting participants, and hearing of their exits.

Each Init starts a new generation of processes: the external extensions first, then the
runtime and the internal extensions that live in its process. :func:`start_runtime` and
:func:`start_extension` give each participant its API client and its :class:`StartContext`, and
track it in the environment's :class:`~lambda_lifecycle.engine.process_table.ProcessTable`.

A participant that cannot be started (its ``start`` raised, or what it returned is not a
:class:`~lambda_lifecycle.engine.participant.Process`) is treated as one that exited at once
with status 1, so the spec's ``runtime_exit`` or ``extension_crash`` applies; the reason is
logged through structlog (``lambda_lifecycle.participant_start_failed``). An exit of a process
of the current generation is routed into Reset by the same events.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Literal

from ..core.payloads import extension_crashed, runtime_exited
from ..core.variables import participant_variables
from .clients import ExtensionClient, RuntimeClient
from .participant import ExitStatus, ExtensionParticipant, ProcessHandle, StartContext
from .process_table import Started
from .structured_log import logger

if TYPE_CHECKING:
    from .environment import Environment

_log = logger("lambda_lifecycle")


def _context(
    env: Environment, kind: Literal["runtime", "internal", "external"], proc: Started
) -> StartContext:
    assert env.tmp_dir is not None
    clock = env.clock
    return StartContext(
        task_group=env.task_group,
        config=env.config,
        tmp_dir=env.tmp_dir,
        environment=participant_variables(
            # The environment's id names its log stream: every participant sees the same one.
            env.config,
            kind,
            env.tmp_dir,
            env.variables,
            clock.wall(clock.now()),
            token=env.id,
        ),
        on_exit=lambda status: on_exit(env, proc, status),
    )


async def start_participant(
    env: Environment, proc: Started, start: Callable[[StartContext], Awaitable[object]]
) -> None:
    """Track ``proc`` and start it with ``start(ctx)`` (a failure is an exit with status 1)."""
    env.procs.add(proc)
    try:
        handle = ProcessHandle.of(await start(_context(env, proc.kind, proc)))
    except Exception as exc:  # the participant's failure, never the engine's
        _log.error(
            "lambda_lifecycle.participant_start_failed",
            environment_id=env.id,
            name=proc.name,
            kind=proc.kind,
            error=repr(exc),
        )
        on_exit(env, proc, ExitStatus(1))
        return
    proc.process = handle
    env.procs.started(handle)


async def start_runtime(env: Environment) -> None:
    """Start the runtime of the current generation."""
    client = RuntimeClient(env, env.core.generation)
    env.runtime_api = client
    proc = Started("runtime", env.runtime.name, client, env.core.generation)
    await start_participant(env, proc, lambda ctx: env.runtime.start(client, ctx))


async def start_extension(env: Environment, ext: ExtensionParticipant) -> ExtensionClient:
    """Start an attached extension of the current generation."""
    client = ExtensionClient(env, env.core.generation, ext.name, ext.kind)
    env.clients_by_name[ext.name] = client
    if ext.kind == "external":
        env.core.extension_started(ext.name)
    proc = Started(ext.kind, ext.name, client, env.core.generation)
    await start_participant(env, proc, lambda ctx: ext.start(client, ctx))
    return client


def on_exit(env: Environment, proc: Started, status: ExitStatus) -> None:
    """A participant ended: note it, and route an exit of the current generation."""
    if proc.exited:
        return
    proc.exited = True
    proc.status = status
    env.emit("process_exit", name=proc.name, kind=proc.kind, code=status.code, signal=status.signal)
    env.scheduler.notify()
    if proc.generation != env.core.generation:
        return
    rid = env.current.request_id if env.current else ""
    if proc.kind == "runtime":
        env.fail("runtime_exit", runtime_exited(rid, status.describe()), "error")
    else:
        env.fail("extension_crash", extension_crashed(rid, proc.name, status.describe()), "error")

"""The Init phase: start the extensions, then the runtime; wait until all have called next.

External extensions start first and must all register before the runtime starts (the
Extensions API's registration gate); the runtime and the internal extensions follow. The phase
completes when the runtime and every registered extension have called ``next``, which the core
reports as ``phase_complete``. Its limit is 10 s on demand and max(130 s, timeout) for
provisioned concurrency and SnapStart; a suppressed init (phase ``invoke``) runs inside the
invocation's own timeout, which starts with it. A passing limit is the spec's ``init_timeout``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio

from ...core.deadlines import init_limit_ms
from ...core.environment import InitPhase
from ...core.payloads import timed_out
from ..invocation import Invocation
from ..launch import start_extension, start_runtime

if TYPE_CHECKING:
    from ..environment import Environment


async def run(env: Environment, phase: InitPhase, inv: Invocation | None) -> None:
    """Run one Init phase; ``inv`` is the invocation waiting for it, if any."""
    core = env.core
    clock = env.clock
    config = env.config
    env.ext_clients.clear()
    env.clients_by_name.clear()
    internal = [e for e in env.extensions if e.kind == "internal"]
    env.publish_transition(core.begin_init(phase, (e.name for e in internal)))
    env.unique_marks = []
    start = clock.now()
    if phase == "invoke":
        assert inv is not None
        inv.suppressed_init = True
        inv.started = start
        deadline = inv.deadline = start + config.timeout
    else:
        deadline = start + init_limit_ms(env.deadlines, config, phase) / 1000
    limit_s = round(deadline - start, 3)
    env.emit(
        "init_start",
        phase=phase,
        initialization_type=config.initialization_type,
        function_name=config.function_name,
        function_version=config.function_version,
    )
    done = env.scheduler.new_phase()
    with anyio.move_on_at(deadline):
        for ext in env.extensions:
            if ext.kind == "external":
                await start_extension(env, ext)
        await env.scheduler.until(lambda: core.state != "Init" or core.registrations_complete)
        if core.state == "Init":
            await start_runtime(env)
            for ext in internal:
                await start_extension(env, ext)
            await done.wait()
    if core.state == "Init":
        error = timed_out(inv.request_id, limit_s) if inv else None
        env.fail("init_timeout", error, "timeout")
    env.scheduler.end_phase()
    duration_ms = (clock.now() - start) * 1000
    ok = core.state != "Reset"
    books = env.books
    if ok and phase == "init" and config.initialization_type == "on-demand":
        books.pending_init_ms = duration_ms
    env.emit(
        "init_end",
        phase=phase,
        initialization_type=config.initialization_type,
        status="success" if ok else books.failure_status,
        error_type=None if ok else books.failure_type,
        duration_ms=duration_ms,
    )
    if core.state == "Frozen":
        if core.snapshot_pending:  # a SnapStart publish: the snapshot is taken now
            env.take_snapshot()
        env.procs.freeze_all()

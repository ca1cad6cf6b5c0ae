"""The Restore phase: SnapStart resumes the environment from its snapshot.

The runtime waiting in ``restore/next`` is released and runs its after-restore hooks; the phase
completes when it calls ``next``. A runtime with no hooks is waiting in ``next`` already, so
the phase completes at once. Runtime load and hooks must finish in 10 s, else the spec's
``restore_timeout`` (the caller gets ``SnapStartTimeoutException``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio

from ...core.deadlines import restore_limit_ms
from ...core.payloads import error_body
from ..invocation import Invocation

if TYPE_CHECKING:
    from ..environment import Environment


async def run(env: Environment, inv: Invocation) -> None:
    """Run the Restore phase for the waiting invocation ``inv``."""
    core = env.core
    clock = env.clock
    runtime = env.runtime_client
    assert runtime is not None
    done = env.scheduler.new_phase()
    start = clock.now()
    in_hook = runtime.waiting_for_restore
    row, completed = core.begin_restore(runtime_in_restore_next=in_hook)
    env.publish_transition(row)
    env.emit(
        "restore_start",
        function_name=env.config.function_name,
        function_version=env.config.function_version,
    )
    if in_hook:
        runtime.resume_from_snapshot()
    env.phase_completed(completed)
    limit_ms = restore_limit_ms(env.deadlines)
    with anyio.move_on_at(start + limit_ms / 1000):
        await done.wait()
    if core.state == "Restore":
        error = error_body(
            "SnapStartTimeoutException",
            f"RequestId: {inv.request_id} Error: restore did not finish within "
            f"{limit_ms / 1000:.2f} seconds",
        )
        env.fail("restore_timeout", error, "timeout")
    env.scheduler.end_phase()
    duration_ms = (clock.now() - start) * 1000
    ok = core.state != "Reset"
    books = env.books
    if ok:
        books.pending_restore_ms = duration_ms
        env.record_restore()
    env.emit(
        "restore_end",
        status="success" if ok else books.failure_status,
        error_type=None if ok else books.failure_type,
        duration_ms=duration_ms,
    )

"""Which phases an invocation goes through, and a provisioned Init.

An invocation that cannot take the warm path waits for the scheduler, then goes through what
its environment needs, as the core plans it: an Init (the first one, or the suppressed init
after a Reset), once more if AWS's one retry of a failed first Init applies, a Restore for a
SnapStart snapshot, then the Invoke phase. If it ends before its Invoke phase (an Init or a
Restore failed), its books are closed here, so it still gets exactly one answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..invocation import Invocation
from . import init, restore, teardown
from . import invoke as invoke_phase

if TYPE_CHECKING:
    from ..environment import Environment


async def _initialize(env: Environment, inv: Invocation) -> None:
    core = env.core
    await init.run(env, core.init_plan(), inv)
    if core.state == "Reset":
        await teardown.reset(env)


async def serve(env: Environment, inv: Invocation) -> None:
    """Take ``inv`` through the phases it needs."""
    env.current = inv
    if env.queued is inv:
        env.queued = None
    core = env.core
    core.invocation_waits(True)
    try:
        if core.state == "Uninitialized":
            await _initialize(env, inv)
            if core.state == "Uninitialized" and inv.result is None:  # AWS's one retry
                await _initialize(env, inv)
        if core.state == "Frozen":
            env.procs.thaw_all()
            if core.snapshot_pending:
                await restore.run(env, inv)
            else:
                env.publish_transition(core.begin_invoke())
        if core.state == "Invoke":
            invoke_phase.begin(env, inv)
    finally:
        core.invocation_waits(False)
        if core.state != "Invoke" and inv.ended is None:
            invoke_phase.finish(env, inv)  # it ended before its Invoke phase


async def provision(env: Environment) -> None:
    """An Init with no invocation (provisioned concurrency, a SnapStart publish)."""
    core = env.core
    if core.state != "Uninitialized" or core.initialized_once:
        return
    await init.run(env, "init", None)

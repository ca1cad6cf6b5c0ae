"""SnapStart in `serve`'s pool with real processes, in real time: no process can be snapshotted,
so each new environment runs its own Init, then its Restore (docs/engine.md, "SnapStart across
the pool"). Two overlapping invocations; nothing about timing is asserted."""

from __future__ import annotations

import os
from typing import Any

import anyio
import pytest

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.engine.invocation import InvokeResult
from lambda_lifecycle.processes import ProcessRuntime
from lambda_lifecycle.server.function_emulator import FunctionEmulator
from tests.fixtures.helpers import FIXTURES, PYTHON, children_of

pytestmark = pytest.mark.processes


async def test_real_processes_in_a_snapstart_pool_init_then_restore_each(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def participants() -> tuple[ProcessRuntime, list[Any]]:
        return ProcessRuntime([PYTHON, "-m", "awslambdaric", "pool_handlers.sleepy"]), []

    config = FunctionConfig(
        function_name="fn",
        function_version="2",
        initialization_type="snap-start",
        timeout=10,
        handler="pool_handlers.sleepy",
    )
    variables = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LAMBDA_TASK_ROOT": str(FIXTURES / "functions"),
    }
    emulator = FunctionEmulator(
        participants, config, invoke=("127.0.0.1", 0), reserved_concurrency=2, variables=variables
    )
    results: list[InvokeResult] = []
    with anyio.fail_after(60):
        async with emulator:
            fn = emulator.function
            assert fn.snapshot is None and fn.snapshot_error is not None
            assert "cannot be snapshotted" in str(fn.snapshot_error)

            async def one() -> None:
                results.append(await fn.invoke({"sleep": 1.5}))

            async with anyio.create_task_group() as tg:
                tg.start_soon(one)
                tg.start_soon(one)
            reports = [await r.report() for r in results]
            pids = {r.json()["pid"] for r in results}
    assert all(r.ok for r in results) and len(pids) == 2
    assert all(rep.restore_duration_ms is not None for rep in reports)
    assert all(rep.init_duration_ms is None for rep in reports)  # SnapStart: Init not billed
    assert children_of(os.getpid()) == []
    # Unconfigured structlog would print to stdout, among the log lines: nothing is said there.
    assert "snapshot_unavailable" not in capsys.readouterr().out

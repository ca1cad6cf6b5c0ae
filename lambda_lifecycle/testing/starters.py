"""The in-process environment the ``lambda_harness`` fixture starts.

:func:`start_harness` is an async context manager that yields a
:class:`~lambda_lifecycle.testing.harness.LambdaHarness` over an environment whose runtime is
your Python handler, and spins the environment down when the block ends. It needs nothing of the
``server`` extra.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from ..core.config import FunctionConfig
from ..engine.environment import Environment
from ..engine.participant import ExtensionParticipant
from ..sinks import attach_log_sink, subscribe_telemetry
from ..sinks.batch import TelemetryBatch
from .handler import Handler, HandlerRuntime, Init
from .harness import LambdaHarness

TELEMETRY_BUFFERING = {"timeoutMs": 25}


@asynccontextmanager
async def start_harness(
    handler: Handler,
    *,
    init: Init | None = None,
    extensions: Sequence[ExtensionParticipant] = (),
    telemetry: bool = False,
    **config: Any,
) -> AsyncIterator[LambdaHarness]:
    """An in-process environment serving ``handler`` (the ``lambda_harness`` fixture)."""
    env = Environment(HandlerRuntime(handler, init), extensions, FunctionConfig(**config))
    harness = LambdaHarness(env)
    env.listen(harness.record)
    attach_log_sink(env, harness.lines.append, live=True)
    async with env:
        if not telemetry:
            yield harness
            return

        async def deliver(batch: TelemetryBatch) -> None:
            harness.telemetry.extend(batch)

        async with subscribe_telemetry(env, buffering=TELEMETRY_BUFFERING, deliver=deliver):
            yield harness

"""The engine is anyio code: the same lifecycle runs on trio (virtual time with MockClock)."""

from __future__ import annotations

import anyio
import pytest

trio = pytest.importorskip("trio")
trio_testing = pytest.importorskip("trio.testing")

from lambda_lifecycle import Environment, FunctionConfig  # noqa: E402
from lambda_lifecycle.engine.clients import RuntimeEvent  # noqa: E402

from .support import EchoRuntime, RecordingExtension  # noqa: E402


def test_cold_warm_timeout_reset_and_shutdown_on_trio() -> None:
    async def handler(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
        if event.json().get("sleep"):
            await anyio.sleep(5)
        return b'{"count": %d}' % rt.counter

    ext = RecordingExtension()
    seen: list[object] = []

    async def scenario() -> None:
        config = FunctionConfig(timeout=2)
        rt = EchoRuntime(handler=handler)
        async with Environment(rt.participant(), [ext.participant()], config) as env:
            seen.append((await env.invoke({})).json())
            seen.append((await env.invoke({})).json())
            t0 = anyio.current_time()
            seen.append((await env.invoke({"sleep": True})).error_type)
            seen.append(round(anyio.current_time() - t0, 3))
            seen.append((await env.invoke({})).json())

    clock = trio_testing.MockClock(autojump_threshold=0)
    anyio.run(scenario, backend="trio", backend_options={"clock": clock})
    assert seen == [{"count": 1}, {"count": 2}, "Sandbox.Timedout", 2.0, {"count": 1}]
    assert [e.get("shutdownReason") for e in ext.received if e["eventType"] == "SHUTDOWN"] == [
        "timeout",
        "spindown",
    ]

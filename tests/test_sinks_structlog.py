"""structlog: one debug event per lifecycle event when the application configured structlog, and
nothing at all when it did not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import pytest
import structlog
from structlog.testing import capture_logs

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.engine.clients import RuntimeEvent
from lambda_lifecycle.engine.environment import Environment
from lambda_lifecycle.engine.observe import LifecycleEvent
from lambda_lifecycle.sinks import attach_log_sink

from .support import EchoRuntime, RecordingExtension

pytestmark = pytest.mark.looptime

TRANSITION_KEYS = {
    "event",  # structlog's: lambda_lifecycle.transition
    "log_level",
    "environment_id",
    "from_state",
    "to_state",
    "spec_event",  # the transition's own ``event``
    "transition",
    "request_id",
}


@pytest.fixture(autouse=True)
def unconfigured_structlog() -> Iterator[None]:
    """Each test starts and ends with structlog unconfigured (capture_logs leaves it configured)."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


async def sleepy(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
    if event.json().get("sleep"):
        await anyio.sleep(2)
    return b"{}"


async def lifecycle(lines: list[str]) -> tuple[Environment, list[LifecycleEvent]]:
    """Cold start, warm invoke, timeout and Reset, suppressed init, Shutdown."""
    env = Environment(
        EchoRuntime(handler=sleepy).participant(),
        [RecordingExtension().participant()],
        FunctionConfig(timeout=1),
    )
    subscription = env.subscribe()
    with attach_log_sink(env, lines.append):
        async with env:
            for payload in ({}, {}, {"sleep": True}, {}):
                await (await env.invoke(payload)).report()
    return env, subscription.drain()


async def test_every_transition_is_one_structlog_event_with_the_documented_keys() -> None:
    lines: list[str] = []
    with capture_logs() as logs:
        env, events = await lifecycle(lines)
    logged = [entry for entry in logs if entry["event"] == "lambda_lifecycle.transition"]
    fired = [e.data for e in events if e.type == "transition"]
    assert "invoke-timeout" in [data["transition"] for data in fired]
    assert "suppressed-init" in [data["transition"] for data in fired]
    assert all(set(entry) == TRANSITION_KEYS for entry in logged)
    assert logged == [
        {
            "event": "lambda_lifecycle.transition",
            "log_level": "debug",
            "environment_id": env.id,
            "from_state": data["from_state"],
            "to_state": data["to_state"],
            "spec_event": data["event"],
            "transition": data["transition"],
            "request_id": data["request_id"],
        }
        for data in fired
    ]
    # The sink works alongside: INIT_START, EXTENSION (again after the Reset), and START, END,
    # REPORT for each invocation.
    assert len(lines) == 1 + 2 + 4 * 3


async def test_every_lifecycle_event_reaches_structlog_in_order() -> None:
    with capture_logs() as logs:
        env, events = await lifecycle([])

    def expected(event: LifecycleEvent) -> dict[str, Any]:
        data = {("spec_event" if k == "event" else k): v for k, v in event.data.items()}
        return {
            "event": f"lambda_lifecycle.{event.type}",
            "log_level": "debug",
            "environment_id": env.id,
            **data,
        }

    assert logs == [expected(e) for e in events]


async def test_unconfigured_structlog_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert not structlog.is_configured()
    env = Environment(EchoRuntime().participant())
    async with env:
        assert not env._hub.listening  # nothing is even built
        await env.invoke({})
    lines: list[str] = []
    await lifecycle(lines)  # listening (a subscription and a sink), structlog still silent
    assert lines
    assert capsys.readouterr() == ("", "")

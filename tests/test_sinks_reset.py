"""Telemetry across a Reset: every event exactly once, to the generation it belongs to.

An extension in the style of OpenTelemetry's collector subscribes during Init and, on each
INVOKE, waits for that invocation's ``platform.runtimeDone`` before calling ``next``. When the
invocation times out, the Reset must deliver what is buffered (the ``platform.runtimeDone`` and
``platform.report`` of the timed-out invocation) while that extension still lives, and its
subscription must end with its generation, so that the next Init's events reach only the
subscription of the new extension. Virtual time, in process.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.engine.clients import ExtensionClient, RuntimeEvent
from lambda_lifecycle.engine.environment import Environment
from lambda_lifecycle.engine.inprocess import InProcessExtension
from lambda_lifecycle.sinks import attach_log_sink, subscribe_telemetry
from lambda_lifecycle.sinks.batch import TelemetryBatch

from .support import EchoRuntime

pytestmark = pytest.mark.looptime

SLOW_TIMER = {"timeoutMs": 30_000}  # longer than any shutdown budget: only a flush delivers
CONFIG = FunctionConfig(timeout=60)  # longer than the timer: a waiting extension keeps up


@dataclass
class WaitingExtension:
    """Subscribes to ``platform`` during Init; on INVOKE waits for its ``runtimeDone``."""

    env: Environment | None = None
    generations: list[list[dict[str, Any]]] = field(default_factory=list)
    got_runtime_done: list[str] = field(default_factory=list)
    gave_up: list[str] = field(default_factory=list)
    caught_up: dict[str, anyio.Event] = field(default_factory=dict)  # by request id

    def participant(self) -> InProcessExtension:
        return InProcessExtension(self.main, "waiter")

    async def main(self, client: ExtensionClient) -> None:
        assert self.env is not None
        received: list[dict[str, Any]] = []
        self.generations.append(received)
        done: dict[str, anyio.Event] = {}

        async def deliver(batch: TelemetryBatch) -> None:
            received.extend(batch)
            for event in batch:
                if event["type"] == "platform.runtimeDone":
                    done.setdefault(event["record"]["requestId"], anyio.Event()).set()

        subscription = subscribe_telemetry(
            self.env,
            ["platform"],
            SLOW_TIMER,
            deliver=deliver,
            name="waiter",
            generation_bound=True,
        )
        async with subscription:
            client.register(["INVOKE", "SHUTDOWN"])
            while True:
                event = await client.next()
                if event["eventType"] == "SHUTDOWN":
                    return
                request_id = event["requestId"]
                with anyio.move_on_after(120):
                    await done.setdefault(request_id, anyio.Event()).wait()
                    self.got_runtime_done.append(request_id)
                    self.caught_up.setdefault(request_id, anyio.Event()).set()
                    continue
                self.gave_up.append(request_id)


def key(event: dict[str, Any]) -> tuple[str, str, str | None]:
    record = event["record"]
    return (
        event["time"],
        event["type"],
        record.get("requestId") if isinstance(record, dict) else None,
    )


async def test_a_timeout_reset_delivers_every_event_once_to_its_own_generation() -> None:
    async def first_times_out(event: RuntimeEvent, rt: EchoRuntime) -> bytes | None:
        if rt.inits == 1:
            await anyio.sleep_forever()
        return b"{}"

    runtime = EchoRuntime(handler=first_times_out)
    extension = WaitingExtension()
    everything: list[str] = []  # every platform record, as the JSON log format writes it
    env = Environment(runtime.participant(), [extension.participant()], CONFIG)
    extension.env = env
    with attach_log_sink(env, everything.append, log_format="json"):
        async with env:
            first = await env.invoke({})
            second = await env.invoke({})
            with anyio.fail_after(40):
                await extension.caught_up.setdefault(second.request_id, anyio.Event()).wait()
        # The environment is closed: the second generation's subscription flushed at Shutdown.

    assert first.error_type == "Sandbox.Timedout"
    assert second.ok
    old, new = extension.generations
    # The timed-out invocation's records reached the extension of its generation while it still
    # lived (its runtimeDone and its report), at the Reset; it never gave up waiting.
    assert extension.gave_up == []
    assert second.request_id in extension.got_runtime_done
    old_types = [(e["type"], e["record"].get("requestId")) for e in old]
    assert ("platform.runtimeDone", first.request_id) in old_types
    assert ("platform.report", first.request_id) in old_types
    # The next Init's events belong to the new extension only.
    assert [e["type"] for e in old].count("platform.initStart") == 1
    assert [e["type"] for e in new].count("platform.initStart") == 1
    assert all(e["record"].get("requestId") != second.request_id for e in old)
    assert all(e["record"].get("requestId") != first.request_id for e in new)
    # Exactly once: no event twice, and none lost (every platform record the log saw, bar
    # those written before the first subscription and the subscription notices of the other
    # generation, reached one of the two).
    delivered = Counter(key(e) for e in old + new)
    assert max(delivered.values()) == 1
    logged = [json.loads(line) for line in everything if '"type":"platform.' in line]
    expected = {key(e) for e in logged if e["type"] != "platform.telemetrySubscription"}
    assert {k for k in delivered if k[1] != "platform.telemetrySubscription"} == expected


async def test_an_embedder_subscription_lives_on_and_is_flushed_at_the_reset() -> None:
    async def first_times_out(event: RuntimeEvent, rt: EchoRuntime) -> bytes | None:
        if rt.inits == 1:
            await anyio.sleep_forever()
        return b"{}"

    runtime = EchoRuntime(handler=first_times_out)
    got: list[tuple[float, list[dict[str, Any]]]] = []

    async def deliver(batch: TelemetryBatch) -> None:
        got.append((anyio.current_time(), batch))

    env = Environment(runtime.participant(), config=CONFIG)
    async with env, subscribe_telemetry(env, ["platform"], SLOW_TIMER, deliver=deliver) as sub:
        t0 = anyio.current_time()
        first = await env.invoke({})
        assert not sub.closed
        await anyio.sleep(0.5)
        # Delivered at the Reset (at the timeout), long before the 30-second timer ran out.
        assert got and got[-1][0] - t0 == pytest.approx(60, abs=0.1)
        types = [e["type"] for e in got[-1][1]]
        assert types == ["platform.runtimeDone", "platform.report"]
        assert got[-1][1][-1]["record"]["requestId"] == first.request_id
        await env.invoke({})
        assert not sub.closed  # not bound to a generation: it stays


async def test_a_generation_bound_subscription_ends_with_its_processes() -> None:
    async def first_times_out(event: RuntimeEvent, rt: EchoRuntime) -> bytes | None:
        if rt.inits == 1:
            await anyio.sleep_forever()
        return b"{}"

    runtime = EchoRuntime(handler=first_times_out)
    got: list[dict[str, Any]] = []

    async def deliver(batch: TelemetryBatch) -> None:
        got.extend(batch)

    env = Environment(runtime.participant(), config=CONFIG)
    async with env:
        bound = subscribe_telemetry(
            env, ["platform"], SLOW_TIMER, deliver=deliver, generation_bound=True
        )
        async with bound:
            first = await env.invoke({})
            with anyio.fail_after(10):
                await bound.wait_closed()  # the Reset tore its generation down
            second = await env.invoke({})
    assert bound.closed
    ids = {e["record"].get("requestId") for e in got}
    assert first.request_id in ids
    assert second.request_id not in ids  # the next generation's events are not its own
    assert [e["type"] for e in got].count("platform.initStart") <= 1

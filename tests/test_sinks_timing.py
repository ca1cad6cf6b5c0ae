"""When an invocation's records reach the sinks, in virtual time.

``START`` and ``platform.runtimeDone`` are handed to the sinks together with what follows them,
unless someone needs them sooner (see :mod:`lambda_lifecycle.sinks.bridge`). These tests hold
the promises that make this invisible: a telemetry batch's timer starts when the record
happened, so a subscriber gets ``platform.start`` and ``platform.runtimeDone`` ``timeoutMs``
after they happened even while the invocation goes on; an extension that waits for
``platform.runtimeDone`` before calling ``next`` (a common way to flush) gets it in time; a live
log sink writes ``START`` as the Invoke phase begins; and nothing is lost when a sink closes
mid-invocation.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import anyio
import pytest

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.engine.clients import ExtensionClient, RuntimeEvent
from lambda_lifecycle.engine.environment import Environment
from lambda_lifecycle.engine.inprocess import InProcessExtension
from lambda_lifecycle.sinks import attach_log_sink, log_function_line, subscribe_telemetry
from lambda_lifecycle.sinks.batch import TelemetryBatch

from .support import EchoRuntime
from .test_sinks_telemetry import Collector

pytestmark = pytest.mark.looptime

FAST = {"timeoutMs": 25}


def types(batch: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in batch]


async def test_a_long_invocation_delivers_start_and_runtime_done_on_time() -> None:
    async def handler(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
        await anyio.sleep(10)
        return b"{}"

    async def extension(client: ExtensionClient) -> None:
        client.register(["INVOKE"])
        while True:
            await client.next()
            await anyio.sleep(20)  # the extension works on long after the answer

    collector = Collector()
    env = Environment(
        EchoRuntime(handler).participant(),
        [InProcessExtension(extension, "slow")],
        FunctionConfig(timeout=60),
    )
    async with env, subscribe_telemetry(env, ["platform"], FAST, deliver=collector):
        await (await env.invoke({})).report()  # the first: Init's events come and go
        await anyio.sleep(1)
        first = len(collector.batches)
        begun = anyio.current_time()
        await (await env.invoke({})).report()
        await anyio.sleep(1)
    batches = collector.batches[first:]
    times = [at - begun for at in collector.times[first:]]
    assert types(batches[0]) == ["platform.start"]
    assert times[0] == pytest.approx(0.025)
    assert types(batches[1]) == ["platform.runtimeDone"]
    assert times[1] == pytest.approx(10.025)
    assert types(batches[2]) == ["platform.report"]
    assert times[2] == pytest.approx(20.025)


async def test_an_extension_that_waits_for_runtime_done_gets_it_in_time() -> None:
    seen: set[str] = set()
    arrived = anyio.Event()

    async def deliver(batch: TelemetryBatch) -> None:
        for event in batch:
            if event["type"] == "platform.runtimeDone":
                seen.add(event["record"]["requestId"])
                arrived.set()

    async def flushing_extension(client: ExtensionClient) -> None:
        nonlocal arrived
        client.register(["INVOKE"])
        while True:
            event = await client.next()
            while event["requestId"] not in seen:  # flush only once the function is done
                await arrived.wait()
                arrived = anyio.Event()

    env = Environment(
        EchoRuntime().participant(),
        [InProcessExtension(flushing_extension, "flusher")],
        FunctionConfig(timeout=60),
    )
    async with env, subscribe_telemetry(env, ["platform"], FAST, deliver=deliver):
        for _ in range(3):
            result = await env.invoke({})
            report = await result.report()
            assert report.status == "success"
            assert 25.0 <= report.duration_ms < 26.0  # one batch timeout, not the 60 s one


@pytest.mark.parametrize("live", [True, False])
async def test_a_live_log_sink_writes_start_as_the_invoke_phase_begins(live: bool) -> None:
    lines: list[str] = []
    seen_during: list[list[str]] = []

    async def handler(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
        seen_during.append([line.split(" ")[0] for line in lines])
        return b"{}"

    env = Environment(EchoRuntime(handler).participant(), [], FunctionConfig())
    with attach_log_sink(env, lines.append, live=live):
        async with env:
            await (await env.invoke({}, request_id="r1")).report()
    assert seen_during == [["INIT_START", "START"] if live else ["INIT_START"]]
    assert [line.split(" ")[0] for line in lines] == ["INIT_START", "START", "END", "REPORT"]


async def test_an_output_line_comes_after_its_start() -> None:
    lines: list[str] = []

    async def handler(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
        log_function_line(env, "working")
        await anyio.sleep(1)
        log_function_line(env, "done")
        return b"{}"

    env = Environment(EchoRuntime(handler).participant(), [], FunctionConfig())
    with attach_log_sink(env, lines.append):
        async with env:
            await (await env.invoke({}, request_id="r1")).report()
    assert lines[1:4] == ["START RequestId: r1 Version: $LATEST", "working", "done"]
    assert [line.split(" ")[0] for line in lines[4:]] == ["END", "REPORT"]


async def test_closing_a_sink_mid_invocation_writes_its_start() -> None:
    lines: list[str] = []
    collector = Collector()
    answer = anyio.Event()

    async def handler(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
        if event.request_id == "r2":
            await answer.wait()
        return b"{}"

    env = Environment(EchoRuntime(handler).participant(), [], FunctionConfig())
    sink = attach_log_sink(env, lines.append)
    subscriber = subscribe_telemetry(env, ["platform"], {"timeoutMs": 1000}, deliver=collector)
    async with env, subscriber:
        await (await env.invoke({}, request_id="r1")).report()
        async with anyio.create_task_group() as tg:
            tg.start_soon(partial(env.invoke, {}, request_id="r2"))
            await anyio.sleep(0.5)
            sink.close()
            subscriber.close()
            answer.set()
    assert lines[-1] == "START RequestId: r2 Version: $LATEST"  # written as the sink closed
    last = collector.events[-1]
    assert (last["type"], last["record"]["requestId"]) == ("platform.start", "r2")


async def test_the_moments_of_an_invocation_are_watched_only_while_needed() -> None:
    env = Environment(EchoRuntime().participant(), [], FunctionConfig())
    moments = ("invoke_start", "runtime_done")

    def watched() -> bool:
        return all(env._hub.wants(kind) for kind in moments)

    with attach_log_sink(env, [].append):
        assert not watched()  # a log sink that is not live waits for nothing
        with attach_log_sink(env, [].append, live=True):
            assert watched()
        assert not watched()
        subscriber = subscribe_telemetry(env, ["platform"], FAST, deliver=Collector())
        assert not watched()  # not listening yet
        async with env, subscriber:
            assert not watched()  # the Init's events are a batch under way
            await anyio.sleep(1)
            assert watched()  # delivered, no batch under way: told when a record is due
            result = await env.invoke({})
            assert not watched()  # a batch is under way: its timer runs
            await result.report()
            await anyio.sleep(1)
            assert watched()  # delivered: waiting again


async def test_a_batch_completed_by_what_falls_due_leaves_the_rest_to_its_own_timer() -> None:
    async def handler(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
        await anyio.sleep(0.010)
        return b"{}"

    async def extension(client: ExtensionClient) -> None:
        client.register(["INVOKE"])
        while True:
            await client.next()
            await anyio.sleep(1)

    collector = Collector()
    env = Environment(
        EchoRuntime(handler).participant(), [InProcessExtension(extension, "slow")], None
    )
    buffering = {"maxItems": 1000, "timeoutMs": 25}
    async with (
        env,
        subscribe_telemetry(env, ["platform", "function"], buffering, deliver=collector),
    ):
        await (await env.invoke({})).report()
        await anyio.sleep(1)
        first = len(collector.batches)
        begun = anyio.current_time()
        for _ in range(999):
            log_function_line(env, "x")  # the batch's timer starts now
        await (await env.invoke({}, request_id="r")).report()
        await anyio.sleep(1)
    batches = collector.batches[first:]
    times = [round((at - begun) * 1000, 3) for at in collector.times[first:]]
    # At 25 ms the batch is due; START (due since 0 ms) completes it at 1,000 events. The
    # runtimeDone of 10 ms opens the next batch, due at 35 ms, not at once.
    assert [types(batch)[-1] for batch in batches[:2]] == ["platform.start", "platform.runtimeDone"]
    assert [len(batch) for batch in batches[:2]] == [1000, 1]
    assert times[:2] == [25.0, 35.0]

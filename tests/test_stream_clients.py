"""The Runtime API's streamed responses as the engine's clients take them (virtual time)."""

from __future__ import annotations

import anyio
import pytest

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.core.errors import APIError
from lambda_lifecycle.engine.clients import RuntimeClient
from lambda_lifecycle.engine.environment import Environment
from lambda_lifecycle.engine.inprocess import InProcessRuntime
from lambda_lifecycle.formats.records import parse_time
from lambda_lifecycle.sinks import subscribe_telemetry
from lambda_lifecycle.sinks.batch import TelemetryBatch

pytestmark = pytest.mark.looptime


async def streaming_runtime(client: RuntimeClient) -> None:
    while True:
        event = await client.next()
        mode = event.json()["mode"]
        client.begin_stream(event.request_id)
        with pytest.raises(APIError) as again:
            client.begin_stream(event.request_id)
        assert again.value.status == 403
        with pytest.raises(APIError) as refused:
            client.error(event.request_id, {"errorMessage": "no"})
        assert refused.value.status == 403
        if mode == "ok":
            client.end_stream(event.request_id, b"rest", "text/plain")
        elif mode == "trailer":
            client.end_stream(event.request_id, error={"errorMessage": "mid"}, error_type="Mid")
        else:
            client.stream_too_large(event.request_id, 1000)
        with pytest.raises(APIError) as late:
            client.end_stream(event.request_id)
        assert late.value.status == 403


async def test_a_streamed_response_ends_with_its_body_its_error_or_too_large() -> None:
    async with Environment(
        InProcessRuntime(streaming_runtime), config=FunctionConfig(timeout=3)
    ) as env:
        ok = await env.invoke({"mode": "ok"})
        trailer = await env.invoke({"mode": "trailer"})
        large = await env.invoke({"mode": "large"})
        with pytest.raises(APIError) as unknown:
            env.runtime_client.begin_stream("not-the-current-id")  # type: ignore[union-attr]
    assert (ok.body, ok.content_type, ok.function_error) == (b"rest", "text/plain", None)
    assert trailer.function_error == "Unhandled"
    assert trailer.error == {"errorMessage": "mid", "errorType": "Mid"}
    assert large.error_type == "Function.ResponseSizeTooLarge"
    assert "(1000 bytes)" in str(large.error)
    assert unknown.value.status == 400


async def test_a_streamed_response_has_its_own_runtime_done_spans() -> None:
    # responseLatency runs from the start to the stream's beginning, responseDuration from
    # there to its end; producedBytes is the whole stream, not what was left unforwarded.
    async def slow_stream(client: RuntimeClient) -> None:
        while True:
            event = await client.next()
            await anyio.sleep(0.25)  # working before the first byte
            client.begin_stream(event.request_id)
            await anyio.sleep(1.5)  # streaming
            if event.json()["mode"] == "ok":
                client.end_stream(event.request_id, b"", "text/plain", streamed=70_000)
            else:
                client.end_stream(
                    event.request_id, error={"errorMessage": "mid"}, error_type="Mid", streamed=9
                )

    batches: list[list[dict[str, object]]] = []

    async def keep(batch: TelemetryBatch) -> None:
        batches.append(batch)

    env = Environment(InProcessRuntime(slow_stream), config=FunctionConfig(timeout=5))
    async with env, subscribe_telemetry(env, ["platform"], deliver=keep):
        await env.invoke({"mode": "ok"})
        await env.invoke({"mode": "trailer"})
    done = [e["record"] for b in batches for e in b if e["type"] == "platform.runtimeDone"]
    assert len(done) == 2
    for record, produced, status in zip(done, (70_000, 9), ("success", "error"), strict=True):
        assert isinstance(record, dict)
        assert record["status"] == status
        assert record["metrics"]["producedBytes"] == produced
        assert record["metrics"]["durationMs"] == pytest.approx(1750, abs=1)
        spans = {span["name"]: span for span in record["spans"]}
        assert spans["responseLatency"]["durationMs"] == pytest.approx(250, abs=1)
        assert spans["responseDuration"]["durationMs"] == pytest.approx(1500, abs=1)
        assert spans["runtimeOverhead"]["durationMs"] == 0.0
        latency_start = parse_time(spans["responseLatency"]["start"])
        sending_start = parse_time(spans["responseDuration"]["start"])
        assert (sending_start - latency_start).total_seconds() == pytest.approx(0.25, abs=0.002)

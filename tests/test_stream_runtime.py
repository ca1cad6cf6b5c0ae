"""Response streaming end to end with a hand-written standard-library runtime (trailers by hand).

The caller is boto3's ``invoke_with_response_stream`` or a raw HTTP client decoding the
event-stream body with botocore's decoder; the runtime is ``tests/fixtures/stream_runtime.py``.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from botocore.eventstream import EventStreamBuffer

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.processes import ProcessRuntime
from lambda_lifecycle.server import Emulator, eventstream, streaming_runtime
from lambda_lifecycle.server.limits import Limits
from tests.fixtures.clients import lambda_client
from tests.fixtures.helpers import FIXTURES, PYTHON

RUNTIME = FIXTURES / "stream_runtime.py"


def test_the_encoder_frames_as_botocore_decodes() -> None:
    buffer = EventStreamBuffer()
    data = bytes(range(256)) * 5
    buffer.add_data(
        eventstream.payload_chunk(data)
        + eventstream.payload_chunk(b"")
        + eventstream.invoke_complete("E", "details", "bG9n")
    )
    messages = list(buffer)
    assert [m.headers[":event-type"] for m in messages] == [
        "PayloadChunk",
        "PayloadChunk",
        "InvokeComplete",
    ]
    assert messages[0].payload == data
    assert messages[0].headers[":message-type"] == "event"
    assert json.loads(messages[2].payload) == {
        "ErrorCode": "E",
        "ErrorDetails": "details",
        "LogResult": "bG9n",
    }
    (empty,) = _decode(eventstream.invoke_complete())
    assert json.loads(empty.payload) == {}


def _decode(data: bytes) -> list[Any]:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return list(buffer)


@asynccontextmanager
async def streaming(
    log: list[str],
    timeout: float = 5,  # noqa: ASYNC109 (the function's timeout)
    limits: Limits | None = None,
) -> AsyncIterator[Emulator]:
    async with Emulator(
        ProcessRuntime([PYTHON, str(RUNTIME)]),
        config=FunctionConfig(function_name="fn", timeout=timeout),
        runtime_api=("127.0.0.1", 0),
        invoke=("127.0.0.1", 0),
        variables={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        log=log.append,
        limits=limits,
    ) as emulator:
        yield emulator


def stream_url(emulator: Emulator) -> str:
    base = emulator.invoke_url.split("/2015-03-31/", 1)[0]
    return f"{base}/2021-11-15/functions/fn/response-streaming-invocations"


async def stream_invoke(
    emulator: Emulator, event: Any, **headers: str
) -> tuple[httpx.Response, list[Any]]:
    async with (
        httpx.AsyncClient(timeout=30) as http,
        http.stream(
            "POST", stream_url(emulator), content=json.dumps(event), headers=headers
        ) as response,
    ):
        data = await response.aread()
    return response, _decode(data)


def chunks_and_end(messages: list[Any]) -> tuple[bytes, dict[str, Any]]:
    *chunks, end = messages
    assert all(m.headers[":event-type"] == "PayloadChunk" for m in chunks)
    assert end.headers[":event-type"] == "InvokeComplete"
    return b"".join(m.payload for m in chunks), json.loads(end.payload)


@pytest.mark.processes
async def test_boto3_reads_each_chunk_as_it_is_streamed(tmp_path: Path) -> None:
    log: list[str] = []
    flag = tmp_path / "first-chunk-seen"
    async with streaming(log) as emulator:
        client = lambda_client(emulator.invoke_url)

        def call() -> tuple[dict[str, Any], list[Any]]:
            answer = client.invoke_with_response_stream(
                FunctionName="fn", Payload=json.dumps({"mode": "handshake", "flag": str(flag)})
            )
            events = []
            for event in answer["EventStream"]:
                events.append(event)
                if "PayloadChunk" in event:
                    flag.touch()  # the runtime sends its second chunk only once this exists
            return answer, events

        answer, events = await anyio.to_thread.run_sync(call)
        # A plain Invoke of the same runtime gets the whole streamed response at its end.
        plain = await anyio.to_thread.run_sync(
            lambda: client.invoke(
                FunctionName="fn", Payload=json.dumps({"mode": "handshake", "flag": str(flag)})
            )
        )
    assert answer["StatusCode"] == 200
    assert answer["ResponseStreamContentType"] == "text/plain; charset=utf-8"
    assert answer["ExecutedVersion"] == "$LATEST"
    chunks = [e["PayloadChunk"]["Payload"] for e in events if "PayloadChunk" in e]
    assert chunks == [b"first", b"second"]  # not "late": the first arrived before the second
    assert events[-1] == {"InvokeComplete": {}}
    assert plain["Payload"].read() == b"firstsecond"
    assert "FunctionError" not in plain
    assert log.count("stream answered 202") == 2


@pytest.mark.processes
async def test_trailers_refusals_and_the_log_tail() -> None:
    log: list[str] = []
    async with streaming(log) as emulator:
        response, messages = await stream_invoke(
            emulator, {"mode": "trailer"}, **{"X-Amz-Log-Type": "Tail"}
        )
        _, refused = await stream_invoke(emulator, {"mode": "error-after-start"})
        _, bad_mode = await stream_invoke(emulator, {"mode": "bad-mode"})
        async with httpx.AsyncClient(timeout=10) as http:
            dry = await http.post(
                stream_url(emulator), content=b"{}", headers={"X-Amz-Invocation-Type": "DryRun"}
            )
            missing = await http.post(stream_url(emulator).replace("/fn/", "/other/"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    body, end = chunks_and_end(messages)
    assert body == b"partial"
    assert end["ErrorCode"] == "MidStream"
    assert end["ErrorDetails"] == "went wrong mid-stream"
    tail = base64.b64decode(end["LogResult"]).decode().splitlines()
    assert tail[0].startswith("START RequestId: ")
    assert tail[-1].startswith("REPORT RequestId: ")
    assert "Status: error" in tail[-1]
    assert "stream answered 202" in log  # answered only after the trailers
    # /error while the stream runs is refused; the stream then ends normally.
    assert "error during the stream answered 403" in log
    assert chunks_and_end(refused) == (b"a", {})
    # An unknown response mode is 400; the runtime may then answer as usual.
    assert "bad mode answered 400" in log
    assert "plain response answered 202" in log
    assert chunks_and_end(bad_mode) == (b"{}", {})
    assert dry.status_code == 204
    assert missing.status_code == 404
    assert missing.json()["errorType"] == "ResourceNotFoundException"


@pytest.mark.processes
async def test_a_stream_past_the_limit_or_the_timeout_ends_with_the_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(streaming_runtime, "MAX_STREAMED_BYTES", 1_000_000)
    log: list[str] = []
    async with streaming(log, timeout=1) as emulator:
        _, big = await stream_invoke(emulator, {"mode": "big", "size": 2_000_000})
        _, hung = await stream_invoke(emulator, {"mode": "hang"})
        _, again = await stream_invoke(emulator, {"mode": "big", "size": 10})
    body, end = chunks_and_end(big)
    assert len(body) <= 1_000_000
    assert end["ErrorCode"] == "Function.ResponseSizeTooLarge"
    assert "stream answered 413" in log
    body, end = chunks_and_end(hung)
    assert body == b"tick"
    assert end["ErrorCode"] == "Sandbox.Timedout"
    # The environment was reset after the timeout and serves the next invocation.
    assert chunks_and_end(again) == (b"x" * 10, {})


@pytest.mark.processes
async def test_a_stream_may_outlast_the_body_timeout_while_it_keeps_sending() -> None:
    log: list[str] = []
    async with streaming(log, limits=Limits(body_timeout=0.4)) as emulator:
        _, messages = await stream_invoke(emulator, {"mode": "slow", "count": 8, "pause": 0.1})
    assert chunks_and_end(messages) == (b"." * 8, {})
    assert "stream answered 202" in log


def test_a_stream_is_paced_past_its_first_6_mb() -> None:
    from lambda_lifecycle.server.response_streams import BURST_BYTES, pacing_delay  # noqa: PLC0415

    assert pacing_delay(BURST_BYTES, 0.0, 1000.0) == 0.0
    assert pacing_delay(10 * BURST_BYTES, 0.0, None) == 0.0
    assert pacing_delay(BURST_BYTES + 2000, 0.5, 1000.0) == 1.5
    assert pacing_delay(BURST_BYTES + 2000, 3.0, 1000.0) == 0.0


@pytest.mark.processes
async def test_the_bandwidth_cap_applies_past_the_burst(monkeypatch: pytest.MonkeyPatch) -> None:
    from lambda_lifecycle.server import response_streams  # noqa: PLC0415

    monkeypatch.setattr(response_streams, "BURST_BYTES", 65536)
    monkeypatch.setattr(streaming_runtime, "BURST_BYTES", 65536)
    slept: list[float] = []
    real = response_streams.pacing_delay

    def pacing(size: int, since_burst: float, bandwidth: float | None) -> float:
        delay = real(size, since_burst, bandwidth)
        slept.append(delay)
        return min(delay, 0.001)  # the delays are recorded, not waited for

    monkeypatch.setattr(streaming_runtime, "pacing_delay", pacing)
    log: list[str] = []
    async with Emulator(
        ProcessRuntime([PYTHON, str(RUNTIME)]),
        config=FunctionConfig(function_name="fn", timeout=5),
        runtime_api=("127.0.0.1", 0),
        invoke=("127.0.0.1", 0),
        variables={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        log=log.append,
        stream_bandwidth=1_000_000,
    ) as emulator:
        _, messages = await stream_invoke(emulator, {"mode": "big", "size": 1_000_000})
    body, end = chunks_and_end(messages)
    assert (len(body), end) == (1_000_000, {})
    assert slept  # paced past the (shortened) burst
    assert max(slept) > 0

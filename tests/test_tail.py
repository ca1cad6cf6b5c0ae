"""``X-Amz-Log-Type: Tail``: the invocation's own log lines in ``X-Amz-Log-Result``."""

from __future__ import annotations

import base64
import json
import os

import anyio
import pytest

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.processes import ProcessRuntime
from lambda_lifecycle.server import Emulator
from lambda_lifecycle.server.tail import TAIL_BYTES, log_tail
from tests.fixtures.clients import lambda_client
from tests.fixtures.helpers import FIXTURES, PYTHON

FUNCTIONS = FIXTURES / "functions"


def test_the_tail_is_the_last_4_kb() -> None:
    lines = [f"line {n:05d}" for n in range(1000)]
    tail = base64.b64decode(log_tail(lines))
    assert len(tail) == TAIL_BYTES
    assert tail.endswith(b"line 00999\n")


def emulator(handler: str, log: list[str]) -> Emulator:
    return Emulator(
        ProcessRuntime([PYTHON, "-m", "awslambdaric", handler]),
        config=FunctionConfig(function_name="fn", timeout=5, handler=handler),
        runtime_api=("127.0.0.1", 0),
        invoke=("127.0.0.1", 0),
        variables={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LAMBDA_TASK_ROOT": str(FUNCTIONS),
        },
        log=log.append,
    )


@pytest.mark.processes
async def test_boto3_log_type_tail_ends_in_the_report_line() -> None:
    log: list[str] = []
    async with emulator("callers.chatty", log) as served:
        client = lambda_client(served.invoke_url)

        def call(tail: bool) -> dict[str, object]:
            kwargs = {"LogType": "Tail"} if tail else {}
            answer: dict[str, object] = client.invoke(
                FunctionName="fn", Payload=json.dumps({"n": 1}), **kwargs
            )
            return answer

        plain = await anyio.to_thread.run_sync(call, False)
        first = await anyio.to_thread.run_sync(call, True)
        second = await anyio.to_thread.run_sync(call, True)
    assert "LogResult" not in plain
    for answer in (first, second):
        assert answer["StatusCode"] == 200
        text = base64.b64decode(str(answer["LogResult"])).decode()
        lines = text.splitlines()
        request_id = answer["ResponseMetadata"]["RequestId"]  # type: ignore[index]
        assert lines[0].startswith(f"START RequestId: {request_id}")
        assert any("chatty saw {'n': 1}" in line for line in lines)
        assert lines[-1].startswith(f"REPORT RequestId: {request_id}")
        assert "INIT_START" not in text  # only the invocation's own lines
    first_text = base64.b64decode(str(first["LogResult"])).decode()
    assert first_text.count("START RequestId") == 1


@pytest.mark.looptime
@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_the_tail_of_an_in_process_invocation(log_format: str) -> None:
    from lambda_lifecycle.engine.environment import Environment  # noqa: PLC0415
    from lambda_lifecycle.server.tail import invoke_with_tail  # noqa: PLC0415
    from tests.support import EchoRuntime  # noqa: PLC0415

    async with Environment(EchoRuntime().participant()) as env:
        await env.invoke({"first": 1})
        result, tail = await invoke_with_tail(env, env.invoke, {"n": 2}, log_format=log_format)
    lines = base64.b64decode(tail).decode().splitlines()
    assert result.ok
    assert len(lines) >= 2
    assert result.request_id in lines[0]
    assert result.request_id in lines[-1]
    if log_format == "text":
        assert lines[0].startswith("START") and lines[-1].startswith("REPORT")
    else:
        assert json.loads(lines[0])["type"] == "platform.start"
        assert json.loads(lines[-1])["type"] == "platform.report"

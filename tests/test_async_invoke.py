"""``X-Amz-Invocation-Type: Event``: 202 at once, queued, retried on a function error."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import anyio
import pytest

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.processes import ProcessRuntime
from lambda_lifecycle.server import Emulator
from lambda_lifecycle.server.async_invoke import (
    DEFAULT_DELAYS,
    DEFAULT_RETRIES,
    AsyncInvoker,
    AsyncOptions,
)
from tests.fixtures.clients import lambda_client
from tests.fixtures.helpers import FIXTURES, PYTHON

FUNCTIONS = FIXTURES / "functions"


def test_the_defaults_are_lambdas() -> None:
    options = AsyncOptions()
    assert (options.retries, tuple(options.delays)) == (DEFAULT_RETRIES, DEFAULT_DELAYS)
    assert (options.delay(1), options.delay(2), options.delay(3)) == (60.0, 120.0, 120.0)
    assert options.max_age == 6 * 3600


def test_an_event_too_old_is_not_retried() -> None:
    outcomes: list[str] = []

    async def failing(payload: bytes, **options: Any) -> Any:
        from lambda_lifecycle.engine.invocation import InvokeResult  # noqa: PLC0415

        return InvokeResult("id", b"{}", "application/json", "Unhandled", {"errorType": "X"}, None)

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            invoker = AsyncInvoker(
                failing,
                tg.start_soon,
                outcomes.append,
                AsyncOptions(retries=2, delays=(0.02,), max_age=0.01),
            )
            invoker.enqueue(b"{}", {})

    anyio.run(main)
    assert [line.split(" ", 3)[3] for line in outcomes] == [
        "Attempt: 1 Status: error ErrorType: X",
        "Outcome: EventAgeExceeded Attempts: 1",
    ]


@pytest.mark.processes
async def test_boto3_event_invocation_of_a_failing_handler_is_retried(tmp_path: Path) -> None:
    log: list[str] = []
    destination = tmp_path / "outcomes.jsonl"
    handler = "callers.fails"
    async with Emulator(
        ProcessRuntime([PYTHON, "-m", "awslambdaric", handler]),
        config=FunctionConfig(function_name="fn", timeout=5, handler=handler),
        runtime_api=("127.0.0.1", 0),
        invoke=("127.0.0.1", 0),
        variables={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LAMBDA_TASK_ROOT": str(FUNCTIONS),
        },
        log=log.append,
        async_options=AsyncOptions(delays=(0.05, 0.1), destination=destination),
    ) as served:
        client = lambda_client(served.invoke_url)

        def call(kind: str) -> dict[str, Any]:
            answer: dict[str, Any] = client.invoke(
                FunctionName="fn", InvocationType=kind, Payload=json.dumps({"n": 7})
            )
            return answer

        dry = await anyio.to_thread.run_sync(call, "DryRun")
        answer = await anyio.to_thread.run_sync(call, "Event")
        with anyio.fail_after(30):
            while not any("Outcome:" in line for line in log):  # noqa: ASYNC110
                await anyio.sleep(0.05)
    assert dry["StatusCode"] == 204
    assert answer["StatusCode"] == 202
    request_id = answer["ResponseMetadata"]["RequestId"]
    attempts = [line for line in log if line.startswith("ASYNC")]
    assert attempts == [
        f"ASYNC RequestId: {request_id} Attempt: {n} Status: error ErrorType: ValueError"
        for n in (1, 2, 3)
    ] + [f"ASYNC RequestId: {request_id} Outcome: RetriesExhausted Attempts: 3"]
    # Each attempt ran the function, with the event's own request id.
    assert sum("attempt for {'n': 7}" in line for line in log) == 3
    assert sum(line.startswith(f"START RequestId: {request_id}") for line in log) == 3
    (record,) = [json.loads(line) for line in destination.read_text().splitlines()]
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestPayload"] == {"n": 7}
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "ValueError"


def test_serve_options_set_the_retries() -> None:
    from lambda_lifecycle.tools.cli import build_parser  # noqa: PLC0415
    from lambda_lifecycle.tools.serve import _async_options  # noqa: PLC0415

    args = build_parser(only="serve").parse_args(
        [
            "serve",
            "--async-retries",
            "1",
            "--async-max-age",
            "90",
            "--async-delays",
            "0.5,1",
            "--async-destination",
            "out.jsonl",
        ]
    )
    assert _async_options(args) == AsyncOptions(
        retries=1, delays=(0.5, 1.0), max_age=90.0, destination="out.jsonl"
    )
    default = build_parser(only="serve").parse_args(["serve"])
    assert _async_options(default) == AsyncOptions()
    assert default.stream_bandwidth is None


def test_each_attempt_carries_the_request_id_and_the_client_context() -> None:
    calls: list[dict[str, Any]] = []
    lines: list[str] = []

    async def succeeding(payload: bytes, **options: Any) -> Any:
        from lambda_lifecycle.engine.invocation import InvokeResult  # noqa: PLC0415

        calls.append(options)
        return InvokeResult(options["request_id"], b"{}", "application/json", None, None, None)

    async def main() -> str:
        async with anyio.create_task_group() as tg:
            invoker = AsyncInvoker(succeeding, tg.start_soon, lines.append)
            return invoker.enqueue(b"{}", {"client_context": '{"custom":{"a":1}}'})

    request_id = anyio.run(main)
    assert calls == [{"request_id": request_id, "client_context": '{"custom":{"a":1}}'}]
    assert lines[-1] == f"ASYNC RequestId: {request_id} Outcome: Success Attempts: 1"

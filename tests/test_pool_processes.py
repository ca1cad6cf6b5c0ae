"""The pool behind the invoke endpoint, with real runtimes in real time, and boto3 as the caller.

Four concurrent invocations of a handler that sleeps 0.5 s run at once in four runtime
processes, each with its own Runtime API port and log stream; a fifth over the reserved
concurrency is throttled, and boto3 raises its ``TooManyRequestsException``. No timing is
asserted beyond "the invocations overlapped".
"""

from __future__ import annotations

import base64
import json
import os
import re
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.engine.pool import PoolEvent
from lambda_lifecycle.processes import ProcessRuntime
from lambda_lifecycle.server.function_emulator import FunctionEmulator
from tests.fixtures.helpers import FIXTURES, PYTHON, alive, children_of

boto3 = pytest.importorskip("boto3")
from botocore.config import Config  # noqa: E402 (after the skip)

pytestmark = pytest.mark.processes

FUNCTIONS = FIXTURES / "functions"


@asynccontextmanager
async def pool(reserved: int) -> AsyncIterator[FunctionEmulator]:
    def participants() -> tuple[ProcessRuntime, list[Any]]:
        return ProcessRuntime([PYTHON, "-m", "awslambdaric", "pool_handlers.sleepy"]), []

    config = FunctionConfig(function_name="fn", timeout=10, handler="pool_handlers.sleepy")
    variables = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LAMBDA_TASK_ROOT": str(FUNCTIONS),
    }
    emulator = FunctionEmulator(
        participants,
        config,
        invoke=("127.0.0.1", 0),
        reserved_concurrency=reserved,
        variables=variables,
    )
    with anyio.fail_after(60):
        async with emulator:
            yield emulator


async def all_frozen(emulator: FunctionEmulator) -> None:
    """Wait (at most 10 s) until every environment has ended its last Invoke phase: on a
    loaded machine a runtime's next ``/next`` may come later than the 0.1 s reuse grace."""
    for _ in range(500):
        if all(env.state == "Frozen" for env in emulator.function.environments):
            return
        await anyio.sleep(0.02)
    raise AssertionError("the environments did not freeze")


def lambda_client(url: str) -> Any:
    endpoint = url.split("/2015-03-31/", maxsplit=1)[0]
    return boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=30),
    )


async def test_concurrent_invokes_run_at_once_in_their_own_processes_and_boto3_sees_throttles() -> (
    None
):
    async with pool(reserved=4) as emulator:
        client = lambda_client(emulator.invoke_url)
        answers: list[dict[str, Any]] = []
        throttled: list[Exception] = []

        def call(sleep: float = 0.5) -> None:
            try:
                payload = json.dumps({"sleep": sleep}).encode()
                response = client.invoke(FunctionName="fn", Payload=payload)
            except client.exceptions.TooManyRequestsException as exc:
                throttled.append(exc)
                return
            answers.append(json.loads(response["Payload"].read()))

        async with anyio.create_task_group() as tg:
            for _ in range(4):  # the cold round sleeps longer: all four surely overlap
                tg.start_soon(anyio.to_thread.run_sync, call, 1.5)
        assert throttled == []
        assert len(answers) == 4
        # Four cold starts: four runtime processes, Runtime API addresses and log streams.
        assert len({a["pid"] for a in answers}) == 4
        assert len({a["api"] for a in answers}) == 4
        assert len({a["log_stream"] for a in answers}) == 4
        pids = {a["pid"] for a in answers}
        # Again, warm: the same four processes, and the four invocations overlapped (each
        # started before every other one ended; the cold round's Inits could skew that).
        answers.clear()
        await all_frozen(emulator)
        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(anyio.to_thread.run_sync, call)
        assert {a["pid"] for a in answers} == pids
        assert max(a["started"] for a in answers) < min(a["ended"] for a in answers)

        # Over the limit: keep the four environments busy, then one more is throttled.
        busy = anyio.Event()

        def routed(event: PoolEvent) -> None:
            if event.type == "invocation_routed" and emulator.function.concurrency == 4:
                busy.set()

        emulator.function.listen(routed)
        await all_frozen(emulator)
        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(
                    anyio.to_thread.run_sync,
                    lambda: client.invoke(FunctionName="fn", Payload=b'{"sleep": 2}'),
                )
            with anyio.fail_after(10):
                await busy.wait()
            await anyio.to_thread.run_sync(call)
        assert len(throttled) == 1
        error = throttled[0].response  # type: ignore[attr-defined]
        assert error["Error"]["Code"] == "TooManyRequestsException"
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
        assert error["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
        assert emulator.function.started == 4  # the throttled one started nothing
    assert not any(alive(pid) for pid in pids)
    assert children_of(os.getpid()) == []


def test_serve_tells_environments_apart_and_spins_them_all_down() -> None:
    from tests.test_cli_serve import served, stop  # noqa: PLC0415 (its helpers, on demand)

    with served(
        "--handler",
        "pool_handlers.sleepy",
        "--task-root",
        str(FUNCTIONS),
        "--reserved-concurrency",
        "2",
        "--show-environments",
    ) as (url, process):
        client = lambda_client(url)
        answers: list[dict[str, Any]] = []

        def call() -> None:
            # Long enough that the two overlap even on a loaded machine.
            response = client.invoke(FunctionName="function", Payload=b'{"sleep": 1.5}')
            answers.append(json.loads(response["Payload"].read()))

        threads = [threading.Thread(target=call) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        code, out, err = stop(process)
    assert code == 0, err
    assert len({a["pid"] for a in answers}) == 2
    started = re.findall(r"environment (\w+) started \(on-demand, log stream (\S+)\)", err)
    assert len(started) == 2
    assert len(re.findall(r"environment \w+ shut down", err)) == 2  # Ctrl-C: every one
    streams = {stream for _, stream in started}
    for line in out.splitlines():
        stream = line.split(" ", 1)[0]
        assert stream in streams, line  # every text line names its environment's stream
    starts = [line for line in out.splitlines() if " START RequestId: " in line]
    assert {line.split(" ")[0] for line in starts} == streams
    assert not any(alive(a["pid"]) for a in answers)


async def test_the_pools_endpoint_serves_tail_logs_event_invokes_and_the_guard() -> None:
    # serve runs on the pool: its endpoint must be the whole Invoke API, not only Invoke.
    async with pool(reserved=2) as emulator:
        client = lambda_client(emulator.invoke_url)

        def tail() -> Any:
            return client.invoke(
                FunctionName="fn", Payload=json.dumps({"sleep": 0}).encode(), LogType="Tail"
            )

        answer = await anyio.to_thread.run_sync(tail)
        lines = base64.b64decode(answer["LogResult"]).decode().splitlines()
        assert lines[0].startswith("START RequestId:") and lines[-1].startswith("REPORT")

        def event() -> Any:
            return client.invoke(FunctionName="fn", InvocationType="Event", Payload=b"{}")

        queued = await anyio.to_thread.run_sync(event)
        assert queued["StatusCode"] == 202

        async with httpx.AsyncClient() as http:
            refused = await http.post(
                emulator.invoke_url, content=b"{}", headers={"Origin": "https://evil.example"}
            )
        assert refused.status_code == 403
        assert refused.json()["errorType"] == "AccessDeniedException"
    assert children_of(os.getpid()) == []

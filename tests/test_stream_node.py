"""Response streaming with the Node.js runtime client (``aws-lambda-ric``) and boto3.

The handler (``tests/fixtures/node_stream/app.js``) is wrapped in ``awslambda.streamifyResponse``;
the caller is boto3's ``invoke_with_response_stream``. The Node.js client is installed by
``.ci/run`` into ``tests/.node`` (or the directory named by ``LAMBDA_LIFECYCLE_NODE_MODULES``);
without it these tests are skipped, saying so.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.processes import ProcessRuntime
from lambda_lifecycle.server import Emulator
from tests.fixtures.clients import lambda_client
from tests.fixtures.helpers import FIXTURES

NODE_MODULES = Path(
    os.environ.get("LAMBDA_LIFECYCLE_NODE_MODULES")
    or Path(__file__).resolve().parent / ".node" / "node_modules"
)

pytestmark = [
    pytest.mark.processes,
    pytest.mark.skipif(
        not (NODE_MODULES / ".bin" / "aws-lambda-ric").exists() or shutil.which("npx") is None,
        reason=f"the Node.js runtime client is not installed in {NODE_MODULES} (.ci/run "
        "installs it: npm install --prefix tests/.node aws-lambda-ric)",
    ),
]


@asynccontextmanager
async def node(tmp_path: Path, log: list[str], timeout: float = 5) -> AsyncIterator[Emulator]:  # noqa: ASYNC109
    shutil.copy(FIXTURES / "node_stream" / "app.js", tmp_path / "app.js")
    (tmp_path / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
    async with Emulator(
        ProcessRuntime(["npx", "--no-install", "aws-lambda-ric", "app.handler"], cwd=tmp_path),
        config=FunctionConfig(function_name="fn", timeout=timeout, handler="app.handler"),
        runtime_api=("127.0.0.1", 0),
        invoke=("127.0.0.1", 0),
        variables={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", str(tmp_path)),
            "LAMBDA_TASK_ROOT": str(tmp_path),
            "_HANDLER": "app.handler",
        },
        log=log.append,
    ) as emulator:
        yield emulator


def stream(
    emulator: Emulator, event: Any, on_chunk: Any = None
) -> tuple[dict[str, Any], list[Any]]:
    client = lambda_client(emulator.invoke_url)
    answer: dict[str, Any] = client.invoke_with_response_stream(
        FunctionName="fn", Payload=json.dumps(event)
    )
    events = []
    for item in answer["EventStream"]:
        events.append(item)
        if "PayloadChunk" in item and on_chunk is not None:
            on_chunk()
    return answer, events


def payload(events: list[Any]) -> list[bytes]:
    return [e["PayloadChunk"]["Payload"] for e in events if "PayloadChunk" in e]


async def test_streamed_chunks_arrive_in_order_before_the_handler_ends(tmp_path: Path) -> None:
    log: list[str] = []
    flag = tmp_path / "first-chunk-seen"
    done: list[dict[str, Any]] = []
    async with node(tmp_path, log) as emulator:
        emulator.env.listen(lambda event: done.append(event.data), ("runtime_done",))
        answer, events = await anyio.to_thread.run_sync(
            lambda: stream(emulator, {"mode": "handshake", "flag": str(flag)}, flag.touch)
        )
    # platform.runtimeDone's producedBytes: the whole stream, though none of it was kept.
    assert [d["produced_bytes"] for d in done] == [len(b"firstsecondthird")]
    assert answer["StatusCode"] == 200
    assert answer["ResponseStreamContentType"] == "text/plain"
    # "second", not "late": the handler saw the caller had the first chunk before it went on.
    assert b"".join(payload(events)) == b"firstsecondthird"
    assert payload(events)[0] == b"first"
    assert events[-1] == {"InvokeComplete": {}}
    (report,) = [line for line in log if line.startswith("REPORT")]
    assert "Status:" not in report  # a success, as Lambda writes it


async def test_a_handler_that_throws_mid_stream(tmp_path: Path) -> None:
    log: list[str] = []
    async with node(tmp_path, log) as emulator:
        _, events = await anyio.to_thread.run_sync(lambda: stream(emulator, {"mode": "throw"}))
        _, after = await anyio.to_thread.run_sync(
            lambda: stream(emulator, {"mode": "handshake", "flag": "/"})
        )
    assert payload(events) == [b"partial"]
    end = events[-1]["InvokeComplete"]
    assert end["ErrorCode"] == "Error"
    assert end["ErrorDetails"] == "thrown mid-stream"
    assert b"".join(payload(after)) == b"firstsecondthird"  # the environment serves on


async def test_a_timeout_mid_stream(tmp_path: Path) -> None:
    log: list[str] = []
    async with node(tmp_path, log, timeout=1) as emulator:
        _, events = await anyio.to_thread.run_sync(lambda: stream(emulator, {"mode": "hang"}))
    assert payload(events) == [b"tick"]
    assert events[-1]["InvokeComplete"]["ErrorCode"] == "Sandbox.Timedout"
    assert any(line.startswith("REPORT") and "Status: timeout" in line for line in log)

"""The Telemetry and Logs APIs over HTTP, with a real extension process: across a timeout Reset.

The extension (``tests/fixtures/extensions/telemetry_waiter.py``) subscribes during Init and, on
each INVOKE, waits for that invocation's ``platform.runtimeDone`` before calling ``next``, as
OpenTelemetry's collector does. After a timeout Reset and a fresh invoke, every event was
delivered exactly once, to the extension process of the generation it belongs to.
"""

from __future__ import annotations

import json
import os
import socket
import stat
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.processes import ProcessRuntime, discover_extensions
from lambda_lifecycle.server import Emulator
from tests.fixtures.helpers import FIXTURES, PYTHON

pytestmark = pytest.mark.processes

WAITER = FIXTURES / "extensions" / "telemetry_waiter.py"


@asynccontextmanager
async def serving(tmp_path: Path, api: str, log: list[str]) -> AsyncIterator[Emulator]:
    folder = tmp_path / "extensions"
    folder.mkdir()
    wrapper = folder / "waiter"
    wrapper.write_text(f'#!/bin/sh\nexec "{PYTHON}" "{WAITER}" waiter {api}\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    runtime = ProcessRuntime([PYTHON, "-m", "awslambdaric", "handlers.count"])
    config = FunctionConfig(function_name="fn", timeout=1, handler="handlers.count")
    variables = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LAMBDA_TASK_ROOT": str(FIXTURES / "functions"),
        "RECORDER_DIR": str(tmp_path),
        # One port for every generation, as the AWS samples listen on, and a batch timer longer
        # than the shutdown budget: only a flush at the Reset delivers in time.
        "WAITER_PORT": str(free_port()),
        "WAITER_TIMEOUT_MS": "10000",
    }
    emulator = Emulator(
        runtime,
        discover_extensions(folder),
        config,
        runtime_api=("127.0.0.1", 0),
        invoke=("127.0.0.1", 0),
        variables=variables,
        log=log.append,
    )
    async with emulator:
        yield emulator


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def recorded(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "waiter.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def key(event: dict[str, Any]) -> tuple[str, str, str]:
    return event["time"], event["type"], json.dumps(event["record"], sort_keys=True)


async def test_telemetry_across_a_timeout_reset_reaches_each_generation_once(
    tmp_path: Path,
) -> None:
    log: list[str] = []
    async with (
        serving(tmp_path, "telemetry", log) as emulator,
        httpx.AsyncClient(timeout=30) as http,
    ):
        first = await http.post(emulator.invoke_url, content=b'{"sleep": 3}')
        second = await http.post(emulator.invoke_url, content=b"{}")
    assert first.json()["errorType"] == "Sandbox.Timedout"
    assert second.status_code == 200
    first_id = first.headers["x-amzn-requestid"]
    second_id = second.headers["x-amzn-requestid"]

    records = recorded(tmp_path)
    subscribed = [r for r in records if r["kind"] == "subscribe"]
    assert [r["status"] for r in subscribed] == [200, 200]
    old_pid, new_pid = (r["pid"] for r in subscribed)
    delivered = [r for r in records if r["kind"] == "telemetry"]
    by_pid = {pid: [r["event"] for r in delivered if r["pid"] == pid] for pid in (old_pid, new_pid)}
    # Nothing delivered twice, neither to one process nor across the two.
    counts = Counter(key(event) for event in by_pid[old_pid] + by_pid[new_pid])
    assert max(counts.values()) == 1
    # The timed-out invocation's runtimeDone and report reached the first process, which was
    # still waiting for them; nothing of the next Init or invocation did.
    old = [(e["type"], e["record"].get("requestId")) for e in by_pid[old_pid]]
    assert ("platform.runtimeDone", first_id) in old
    assert ("platform.report", first_id) in old
    assert all(request_id != second_id for _, request_id in old)
    assert [t for t, _ in old].count("platform.initStart") == 1
    new = [(e["type"], e["record"].get("requestId")) for e in by_pid[new_pid]]
    assert ("platform.runtimeDone", second_id) in new
    assert all(request_id != first_id for _, request_id in new)
    assert [t for t, _ in new].count("platform.initStart") == 1
    waited = [r for r in records if r["kind"] == "waited"]
    assert [(r["request_id"], r["got"]) for r in waited][:1] == [(first_id, True)]
    # Each generation's extension writes its EXTENSION and TELEMETRY lines.
    assert log.count("EXTENSION\tName: waiter\tState: Ready\tEvents: [INVOKE, SHUTDOWN]") == 2
    assert log.count("TELEMETRY\tName: waiter\tState: Subscribed\tTypes: [Platform]") == 2


LOGS_SPECS = Path(__file__).resolve().parent.parent / "specs" / "logs"


async def test_the_logs_api_over_http(tmp_path: Path) -> None:
    log: list[str] = []
    async with serving(tmp_path, "logs", log) as emulator, httpx.AsyncClient(timeout=30) as http:
        response = await http.post(emulator.invoke_url, content=b'{"say": "hello logs"}')
    assert response.status_code == 200
    request_id = response.headers["x-amzn-requestid"]
    records = recorded(tmp_path)
    bad = next(r for r in records if r["kind"] == "bad-subscribe")
    assert bad["status"] == 400
    assert json.loads(bad["body"])["errorType"] == "Logs.ValidationError"
    subscribed = next(r for r in records if r["kind"] == "subscribe")
    assert (subscribed["status"], subscribed["body"]) == (200, "OK")
    events = [r["event"] for r in records if r["kind"] == "telemetry"]
    for event in events:
        path = LOGS_SPECS / f"{event['type']}.schema.json"
        jsonschema.validate(event, json.loads(path.read_text(encoding="utf-8")))
    types = [e["type"] for e in events]
    assert types[:2] == ["platform.extension", "platform.logsSubscription"]
    invocation = [
        e["type"]
        for e in events
        if isinstance(e["record"], dict) and e["record"].get("requestId") == request_id
    ]
    assert invocation == [
        "platform.start",
        "platform.runtimeDone",
        "platform.end",
        "platform.report",
    ]
    assert any(e["type"] == "function" and "hello logs" in e["record"] for e in events)
    waited = next(r for r in records if r["kind"] == "waited")
    assert waited["got"]  # the extension waited for platform.runtimeDone and got it

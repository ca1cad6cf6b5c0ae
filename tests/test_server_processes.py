"""The local emulator end to end: real runtimes and extensions over HTTP, real time.

The runtime is AWS's own Python runtime interface client (``awslambdaric``) running the
handlers of ``tests/fixtures/functions``, or a shell ``bootstrap`` using curl; the extension is a
standard-library program (``tests/fixtures/extensions/recorder.py``) that records what it gets.
Every test checks that no process outlives the emulator.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.engine.observe import Subscription
from lambda_lifecycle.processes import ProcessExtension, ProcessRuntime, discover_extensions
from lambda_lifecycle.server import Emulator
from tests.fixtures.helpers import FIXTURES, PYTHON, alive, children_of, proc_state, until

pytestmark = pytest.mark.processes

FUNCTIONS = FIXTURES / "functions"
RECORDER = FIXTURES / "extensions" / "recorder.py"
TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


@dataclass
class Served:
    emulator: Emulator
    http: httpx.AsyncClient
    lines: list[tuple[str, str]] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)

    def subscribe(self) -> Subscription:
        """The environment's events from now on (closed when the emulator is)."""
        subscription = self.emulator.env.subscribe()
        self.subscriptions.append(subscription)
        return subscription

    async def invoke(self, event: Any = None, **headers: str) -> httpx.Response:
        body = b"" if event is None else json.dumps(event).encode()
        return await self.http.post(self.emulator.invoke_url, content=body, headers=headers)


def awslambdaric(handler: str, lines: list[tuple[str, str]]) -> ProcessRuntime:
    return ProcessRuntime(
        [PYTHON, "-m", "awslambdaric", handler], output=lambda n, t: lines.append((n, t))
    )


def extensions_dir(tmp_path: Path, *names: str) -> Path:
    """An extensions directory of recorder programs, one per name."""
    folder = tmp_path / "extensions"
    folder.mkdir()
    for name in names:
        wrapper = folder / name
        wrapper.write_text(f'#!/bin/sh\nexec "{PYTHON}" "{RECORDER}" {name}\n')
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    return folder


def recorded(tmp_path: Path, name: str = "recorder") -> list[dict[str, Any]]:
    path = tmp_path / f"{name}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


@asynccontextmanager
async def serving(
    tmp_path: Path,
    handler: str = "handlers.count",
    *,
    timeout: float = 3,  # noqa: ASYNC109 (the function's timeout, not this call's)
    extensions: tuple[str, ...] = (),
    mode: str = "",
    runtime: ProcessRuntime | None = None,
    log: list[str] | None = None,
) -> AsyncIterator[Served]:
    lines: list[tuple[str, str]] = []
    runtime = runtime or awslambdaric(handler, lines)
    found = (
        discover_extensions(
            extensions_dir(tmp_path, *extensions), output=lambda n, t: lines.append((n, t))
        )
        if extensions
        else []
    )
    config = FunctionConfig(function_name="fn", timeout=timeout, handler=handler)
    variables = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LAMBDA_TASK_ROOT": str(FUNCTIONS),
        "RECORDER_DIR": str(tmp_path),
        "RECORDER_MODE": mode,
    }
    emulator = Emulator(
        runtime,
        found,
        config,
        runtime_api=("127.0.0.1", 0),
        invoke=("127.0.0.1", 0),
        variables=variables,
        log=None if log is None else log.append,
    )
    async with emulator, httpx.AsyncClient(timeout=20) as http:
        served = Served(emulator, http, lines)
        try:
            yield served
        finally:
            for subscription in served.subscriptions:
                subscription.__exit__(None, None, None)
    assert children_of(os.getpid()) == []


# -- awslambdaric ------------------------------------------------------------------------------


async def test_two_invokes_reuse_the_process(tmp_path: Path) -> None:
    async with serving(tmp_path) as served:
        first = await served.invoke({"hello": 1})
        second = await served.invoke({"hello": 2})
    assert first.status_code == second.status_code == 200
    assert first.headers["content-type"] == "application/json"
    assert "x-amz-function-error" not in first.headers
    one, two = first.json(), second.json()
    assert (one["count"], two["count"]) == (1, 2)
    assert one["pid"] == two["pid"]
    assert first.headers["x-amzn-requestid"] == one["request_id"]
    assert not alive(one["pid"])


async def test_trace_and_client_context_reach_the_runtime(tmp_path: Path) -> None:
    context = base64.b64encode(json.dumps({"custom": {"user": "ada"}}).encode()).decode()
    async with serving(tmp_path) as served:
        response = await served.invoke(
            {}, **{"X-Amzn-Trace-Id": TRACE}, **{"X-Amz-Client-Context": context}
        )
        bad = await served.invoke({}, **{"X-Amz-Client-Context": "not base64!"})
    body = response.json()
    assert body["trace"] == TRACE
    assert body["client_context"] == {"user": "ada"}
    assert bad.status_code == 400
    assert bad.json()["errorType"] == "InvalidRequestContentException"


async def test_a_handler_exception_is_a_function_error_and_the_process_lives_on(
    tmp_path: Path,
) -> None:
    async with serving(tmp_path) as served:
        failed = await served.invoke({"crash": "boom"})
        after = await served.invoke({})
    assert failed.status_code == 200
    assert failed.headers["x-amz-function-error"] == "Unhandled"
    error = failed.json()
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "bad input boom"
    assert error["stackTrace"]
    assert after.json()["count"] == 2  # same process, module global intact


async def test_sys_exit_in_the_handler_is_a_runtime_exit_then_a_fresh_process(
    tmp_path: Path,
) -> None:
    async with serving(tmp_path) as served:
        first = (await served.invoke({})).json()
        exited = await served.invoke({"exit": 2})
        after = (await served.invoke({})).json()
    assert exited.headers["x-amz-function-error"] == "Unhandled"
    assert exited.json() == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {exited.headers['x-amzn-requestid']} Error: "
        "Runtime exited with error: exit status 2",
    }
    assert after["count"] == 1
    assert after["pid"] != first["pid"]


async def test_an_exception_at_import_is_served_to_the_first_invoke(tmp_path: Path) -> None:
    async with serving(tmp_path, "broken_import.handler") as served:
        response = await served.invoke({})
        again = await served.invoke({})
    assert response.status_code == 200
    assert response.headers["x-amz-function-error"] == "Unhandled"
    error = response.json()
    assert "cannot load configuration" in error["errorMessage"]
    assert error["errorType"] == "RuntimeError"  # the exception's type, as on AWS
    assert again.json()["errorType"] == error["errorType"]


async def test_timeout_then_a_suppressed_init_that_keeps_tmp(tmp_path: Path) -> None:
    async with serving(tmp_path, timeout=1) as served:
        events = served.subscribe()
        first = (await served.invoke({"write": "marker"})).json()
        started = anyio.current_time()
        timed_out = await served.invoke({"sleep": 2})
        took = anyio.current_time() - started
        after = (await served.invoke({})).json()
        reports: list[dict[str, Any]] = []
        await until(
            lambda: (
                len(
                    reports.extend(e.data for e in events.drain() if e.type == "invoke_end")
                    or reports
                )
                == 3
            )
        )
    assert 0.9 < took < 1.8
    assert timed_out.status_code == 200
    assert timed_out.headers["x-amz-function-error"] == "Unhandled"
    assert timed_out.json() == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {timed_out.headers['x-amzn-requestid']} Error: "
        "Task timed out after 1.00 seconds",
    }
    assert after["count"] == 1 and after["pid"] != first["pid"]
    assert "marker" in after["tmp"]
    assert [r["status"] for r in reports] == ["success", "timeout", "success"]
    assert reports[2]["suppressed_init"] is True


async def test_kill_9_of_the_runtime_mid_invoke(tmp_path: Path) -> None:
    async with serving(tmp_path, timeout=10) as served:
        pid = (await served.invoke({})).json()["pid"]
        result: dict[str, httpx.Response] = {}

        async def slow() -> None:
            result["slow"] = await served.invoke({"sleep": 5})

        async with anyio.create_task_group() as tg:
            tg.start_soon(slow)
            await anyio.sleep(0.3)
            os.kill(pid, signal.SIGKILL)
        after = (await served.invoke({})).json()
    killed = result["slow"]
    assert killed.headers["x-amz-function-error"] == "Unhandled"
    assert killed.json()["errorType"] == "Runtime.ExitError"
    assert killed.json()["errorMessage"].endswith("Runtime exited with error: signal: killed")
    assert after["count"] == 1 and after["pid"] != pid


async def test_an_oversized_response(tmp_path: Path) -> None:
    async with serving(tmp_path) as served:
        response = await served.invoke({"big": 6_300_000})
        after = await served.invoke({})
    assert response.status_code == 200
    assert response.headers["x-amz-function-error"] == "Unhandled"
    assert response.json() == {
        "errorType": "Function.ResponseSizeTooLarge",
        "errorMessage": "Response payload size exceeded maximum allowed payload size "
        "(6291556 bytes).",
    }
    assert after.status_code == 200
    assert "count" in after.json()


async def test_two_concurrent_invokes_queue_and_both_succeed(tmp_path: Path) -> None:
    async with serving(tmp_path) as served:
        await served.invoke({})  # warm
        responses: list[httpx.Response] = []

        async def one() -> None:
            responses.append(await served.invoke({"sleep": 0.3}))

        started = anyio.current_time()
        async with anyio.create_task_group() as tg:
            tg.start_soon(one)
            tg.start_soon(one)
        took = anyio.current_time() - started
    assert [r.status_code for r in responses] == [200, 200]
    assert sorted(r.json()["count"] for r in responses) == [2, 3]
    assert took >= 0.6  # one after the other, in the same environment


# -- a shell bootstrap -------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
async def test_a_shell_bootstrap_with_curl(tmp_path: Path) -> None:
    lines: list[tuple[str, str]] = []
    runtime = ProcessRuntime(
        [str(FIXTURES / "bootstrap_curl")], output=lambda n, t: lines.append((n, t))
    )
    async with serving(tmp_path, runtime=runtime) as served:
        first = await served.invoke({"n": 1})
        second = await served.invoke({"n": 2})
    assert first.json()["echo"] == {"n": 1}
    assert second.json() == {"echo": {"n": 2}, "request": second.headers["x-amzn-requestid"]}
    assert first.headers["content-type"] == "application/json"


# -- external extensions -------------------------------------------------------------------------


async def test_an_extension_gets_invoke_with_tracing_and_shutdown_on_spindown(
    tmp_path: Path,
) -> None:
    async with serving(tmp_path, extensions=("recorder",)) as served:
        response = await served.invoke({}, **{"X-Amzn-Trace-Id": TRACE})
        request_id = response.headers["x-amzn-requestid"]
        closing = anyio.current_time()
    wall_closing = anyio.current_time() - closing  # how long the spin-down took
    records = recorded(tmp_path)
    register = records[0]
    assert register["kind"] == "register" and register["status"] == 200
    assert register["body"] == {
        "functionName": "fn",
        "functionVersion": "$LATEST",
        "handler": "handlers.count",
    }
    assert "_HANDLER" not in register["env"] and "LAMBDA_TASK_ROOT" not in register["env"]
    assert "AWS_LAMBDA_RUNTIME_API" in register["env"]
    events = [r for r in records if r["kind"] == "event"]
    invoke, shutdown = (e["event"] for e in events)
    assert invoke["eventType"] == "INVOKE"
    assert invoke["requestId"] == request_id
    assert invoke["tracing"] == {"type": "X-Amzn-Trace-Id", "value": TRACE}
    assert invoke["invokedFunctionArn"].endswith(":function:fn")
    assert shutdown["eventType"] == "SHUTDOWN"
    assert shutdown["shutdownReason"] == "spindown"
    # The deadline is the end of the 2,000 ms Shutdown budget.
    assert 0 < shutdown["deadlineMs"] / 1000 - events[1]["at"] <= 2.05
    assert all(e["event_id"] for e in events)
    assert wall_closing < 2.5


async def test_an_extension_gets_shutdown_with_reason_timeout_on_reset(tmp_path: Path) -> None:
    async with serving(tmp_path, timeout=1, extensions=("recorder",)) as served:
        timed_out = await served.invoke({"sleep": 2})
        after = await served.invoke({})
    assert timed_out.json()["errorType"] == "Sandbox.Timedout"
    assert after.status_code == 200
    records = recorded(tmp_path)
    events = [r["event"] for r in records if r["kind"] == "event"]
    assert [e["eventType"] for e in events] == ["INVOKE", "SHUTDOWN", "INVOKE", "SHUTDOWN"]
    assert [e["shutdownReason"] for e in events if e["eventType"] == "SHUTDOWN"] == [
        "timeout",
        "spindown",
    ]
    pids = {r["pid"] for r in records}
    assert len(pids) == 2  # the extension was restarted by the suppressed init


async def test_an_extension_crash_during_init(tmp_path: Path) -> None:
    async with serving(tmp_path, extensions=("recorder",), mode="crash-init") as served:
        response = await served.invoke({})
    assert response.status_code == 200
    assert response.headers["x-amz-function-error"] == "Unhandled"
    error = response.json()
    assert error["errorType"] == "Extension.Crash"
    assert "recorder" in error["errorMessage"] and "exit status 3" in error["errorMessage"]
    assert ("recorder", "recorder: crashing during init") in served.lines


async def test_an_extension_crash_during_invoke_resets_the_environment(tmp_path: Path) -> None:
    async with serving(tmp_path, extensions=("recorder",), mode="crash-invoke") as served:
        events = served.subscribe()
        first = await served.invoke({})
        await until(lambda: any(e.type == "reset_end" for e in events.drain()))
        after = await served.invoke({})
    assert first.status_code == 200
    assert after.status_code == 200
    assert after.json()["count"] == 1  # a fresh runtime after the Reset
    registrations = [r for r in recorded(tmp_path) if r["kind"] == "register"]
    assert len(registrations) == 2


async def test_an_extension_init_error(tmp_path: Path) -> None:
    async with serving(tmp_path, extensions=("recorder",), mode="init-error") as served:
        response = await served.invoke({})
    assert response.headers["x-amz-function-error"] == "Unhandled"
    assert response.json()["errorType"] == "Extension.ConfigInvalid"
    assert next(r["status"] for r in recorded(tmp_path) if r["kind"] == "init-error") == 202


async def test_telemetry_is_delivered_to_the_subscribed_extension(tmp_path: Path) -> None:
    log: list[str] = []  # with a log sink, as `serve` runs: the Init is watched from its start
    async with serving(tmp_path, extensions=("recorder",), mode="telemetry", log=log) as served:
        response = await served.invoke({"say": "hello from the handler"})
        request_id = response.headers["x-amzn-requestid"]
        await anyio.sleep(0.2)
        await served.invoke({})
    records = recorded(tmp_path)
    subscribe = next(r for r in records if r["kind"] == "subscribe")
    assert subscribe["status"] == 200
    types = [t for r in records if r["kind"] == "telemetry" for t in r["types"]]
    # The Init's earlier events reach the subscriber once it listens.
    assert types[0] == "platform.initStart"
    assert "platform.extension" in types and "platform.telemetrySubscription" in types
    assert "platform.initReport" in types
    assert "platform.start" in types and "platform.report" in types
    assert "function" in types  # the runtime's own output lines
    assert f"START RequestId: {request_id} Version: $LATEST" in log
    assert "hello from the handler" in log


async def test_process_extension_without_the_recorder_wrapper(tmp_path: Path) -> None:
    extension = ProcessExtension(RECORDER)
    assert extension.name == "recorder.py"


# -- where the AWS emulator falls short ----------------------------------------------------------


async def test_the_caller_is_answered_before_the_extension_finishes(tmp_path: Path) -> None:
    async with serving(tmp_path, extensions=("recorder",), mode="slow") as served:
        await served.invoke({})  # cold start
        await until(lambda: served.emulator.env.state == "Frozen")  # the extension is done
        started = anyio.current_time()
        response = await served.invoke({})
        took = anyio.current_time() - started
        events = served.subscribe()
        await until(lambda: any(e.type == "invoke_end" for e in events.drain()))
        phase = anyio.current_time() - started
    assert response.status_code == 200
    assert took < 0.15  # the extension works 0.2 s on each INVOKE
    assert phase >= 0.2


async def test_the_processes_are_frozen_between_invocations(tmp_path: Path) -> None:
    async with serving(tmp_path) as served:
        pid = (await served.invoke({})).json()["pid"]
        await until(lambda: proc_state(pid) == "T")
        again = (await served.invoke({})).json()
        assert again["pid"] == pid
        await until(lambda: proc_state(pid) == "T")


async def test_a_runtime_that_dies_during_init_gets_a_json_answer(tmp_path: Path) -> None:
    runtime = ProcessRuntime(["sh", "-c", "echo starting; exit 3"])
    async with serving(tmp_path, runtime=runtime) as served:
        response = await served.invoke({})
    assert response.status_code == 200
    assert response.headers["x-amz-function-error"] == "Unhandled"
    assert response.json()["errorType"] == "Runtime.ExitError"
    assert response.json()["errorMessage"].endswith("Runtime exited with error: exit status 3")


async def test_a_missing_bootstrap_is_an_invalid_entrypoint(tmp_path: Path) -> None:
    runtime = ProcessRuntime([str(tmp_path / "bootstrap")])
    async with serving(tmp_path, runtime=runtime) as served:
        response = await served.invoke({})
    assert response.headers["x-amz-function-error"] == "Unhandled"
    assert response.json() == {
        "errorType": "Runtime.InvalidEntrypoint",
        "errorMessage": f"fork/exec {tmp_path / 'bootstrap'}: no such file or directory",
    }


async def test_a_failed_init_with_an_extension_is_retried_with_the_same_extension(
    tmp_path: Path,
) -> None:
    async with serving(tmp_path, extensions=("recorder",), mode="init-error-once") as served:
        response = await served.invoke({})
    assert response.status_code == 200
    assert response.json()["count"] == 1  # served by the suppressed init's runtime
    registrations = [r for r in recorded(tmp_path) if r["kind"] == "register"]
    assert [r["status"] for r in registrations] == [200, 200]  # the same name, twice


async def test_snapstart_restore_with_awslambdaric(tmp_path: Path) -> None:
    lines: list[tuple[str, str]] = []
    config = FunctionConfig(
        function_name="fn",
        function_version="7",
        initialization_type="snap-start",
        handler="handlers.count",
    )
    emulator = Emulator(
        awslambdaric("handlers.count", lines),
        (),
        config,
        runtime_api=("127.0.0.1", 0),
        invoke=("127.0.0.1", 0),
        variables={"LAMBDA_TASK_ROOT": str(FUNCTIONS)},
    )
    async with emulator, httpx.AsyncClient(timeout=20) as http:
        with emulator.env.subscribe() as events:
            await emulator.init()  # the version publish: Init, then the snapshot
            first = await http.post(emulator.invoke_url, content=b"{}")
            second = await http.post(emulator.invoke_url, content=b"{}")
            types = [e.type for e in events.drain()]
    assert (first.json()["count"], second.json()["count"]) == (1, 2)
    assert types.count("restore_start") == 1 and types.count("restore_end") == 1
    assert first.headers["x-amz-executed-version"] == "7"
    assert children_of(os.getpid()) == []


async def test_max_memory_used_is_measured_for_real_processes(tmp_path: Path) -> None:
    log: list[str] = []
    async with serving(tmp_path, extensions=("recorder",), log=log) as served:
        await served.invoke({})
    reports = [line for line in log if line.startswith("REPORT")]
    assert len(reports) == 1
    match = re.search(r"Max Memory Used: (\d+) MB", reports[0])
    assert match, reports[0]
    # a Python runtime and a Python extension each hold at least a few MB resident
    assert 10 <= int(match.group(1)) <= 1024


async def test_snapstart_hooks_of_snapshot_restore_py_run_again_after_a_reset(
    tmp_path: Path,
) -> None:
    # awslambdaric runs the snapshot-restore-py hooks around restore/next; after a timeout
    # Reset the environment publishes again (before-snapshot) and restores (after-restore).
    lines: list[tuple[str, str]] = []
    hooks = tmp_path / "hooks.log"
    config = FunctionConfig(
        function_name="fn",
        function_version="3",
        initialization_type="snap-start",
        handler="snap_hooks.handler",
        timeout=1,
    )
    emulator = Emulator(
        awslambdaric("snap_hooks.handler", lines),
        (),
        config,
        runtime_api=("127.0.0.1", 0),
        invoke=("127.0.0.1", 0),
        variables={"LAMBDA_TASK_ROOT": str(FUNCTIONS), "HOOKS_LOG": str(hooks)},
    )
    async with emulator, httpx.AsyncClient(timeout=20) as http:
        first = await http.post(emulator.invoke_url, content=b"{}")
        timed = await http.post(emulator.invoke_url, content=b'{"sleep": 5}')
        after = await http.post(emulator.invoke_url, content=b"{}")
    assert first.status_code == 200 and "x-amz-function-error" not in first.headers
    assert timed.json()["errorType"] == "Sandbox.Timedout"
    assert "x-amz-function-error" not in after.headers, after.text
    assert after.json()["pid"] != first.json()["pid"]  # a new process, restored
    notes = [line.split() for line in hooks.read_text().splitlines()]
    assert [what for what, _ in notes] == [
        "before-snapshot",
        "after-restore",
        "before-snapshot",
        "after-restore",
    ]
    assert notes[0][1] == str(first.json()["pid"]) and notes[3][1] == str(after.json()["pid"])
    assert children_of(os.getpid()) == []

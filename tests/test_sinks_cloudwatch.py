"""The CloudWatch log sink: the exact lines of every lifecycle path, in virtual time."""

from __future__ import annotations

import io
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.engine.clients import RuntimeClient, RuntimeEvent
from lambda_lifecycle.engine.environment import Environment
from lambda_lifecycle.formats.jsonlog import parse_json_line
from lambda_lifecycle.formats.textlog import parse_line
from lambda_lifecycle.sinks import (
    attach_log_sink,
    log_extension_line,
    log_function_line,
    subscribe_telemetry,
)
from lambda_lifecycle.sinks.batch import TelemetryBatch

from .support import ARN, TRACE, VERSION, EchoRuntime, RecordingExtension

pytestmark = pytest.mark.looptime

NO_MEMORY = "Max Memory Used: - MB"


def report(request_id: str, *fields: str, memory: int = 128) -> str:
    """A REPORT line: its fixed fields, then ``fields`` (Duration, Billed Duration first)."""
    duration, billed, *rest = fields
    return "\t".join(
        (
            f"REPORT RequestId: {request_id}",
            f"Duration: {duration}",
            f"Billed Duration: {billed}",
            f"Memory Size: {memory} MB",
            NO_MEMORY,
            *rest,
        )
    )


def invocation(request_id: str, *fields: str, version: str = "$LATEST") -> list[str]:
    """START, END and REPORT of one invocation."""
    return [
        f"START RequestId: {request_id} Version: {version}",
        f"END RequestId: {request_id}",
        report(request_id, *fields),
    ]


async def run(
    runtime: EchoRuntime,
    body: Callable[[Environment], Awaitable[None]],
    *,
    extensions: tuple[RecordingExtension, ...] = (),
    config: FunctionConfig | None = None,
) -> tuple[list[str], list[str]]:
    """Run ``body`` on a fresh environment; the current-format and legacy-format lines."""
    current: list[str] = []
    legacy: list[str] = []
    env = Environment(runtime.participant(), [e.participant() for e in extensions], config)
    with attach_log_sink(env, current.append), attach_log_sink(env, legacy.append, style="legacy"):
        async with env:
            await body(env)
    return current, legacy


def invoking(*request_ids: str, **kwargs: Any) -> Callable[[Environment], Awaitable[None]]:
    async def body(env: Environment) -> None:
        for request_id in request_ids:
            await (await env.invoke({}, request_id=request_id, **kwargs)).report()

    return body


def sleeping(seconds: float) -> Callable[[RuntimeEvent, EchoRuntime], Awaitable[bytes]]:
    async def handler(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
        await anyio.sleep(seconds)
        return b"{}"

    return handler


async def test_cold_start_then_warm_invoke() -> None:
    async def init(_: int, __: RuntimeClient) -> None:
        await anyio.sleep(0.25)

    rt = EchoRuntime(handler=sleeping(0.1), init_hook=init)
    config = FunctionConfig(runtime_version=VERSION, memory_mb=512)
    lines, legacy = await run(
        rt, invoking("r1", "r2"), extensions=(RecordingExtension(work=0.15),), config=config
    )
    cold = ["150.00 ms", "400 ms", "Init Duration: 250.00 ms"]  # billed: ceil(150 + 250)
    assert lines == [
        f"INIT_START Runtime Version: {VERSION}\tRuntime Version ARN: {ARN}",
        "EXTENSION\tName: recorder\tState: Ready\tEvents: [INVOKE, SHUTDOWN]",
        "START RequestId: r1 Version: $LATEST",
        "END RequestId: r1",
        report("r1", *cold, memory=512),
        "START RequestId: r2 Version: $LATEST",
        "END RequestId: r2",
        report("r2", "150.00 ms", "150 ms", memory=512),
    ]
    assert legacy == lines  # a successful invocation reads the same in both formats


async def test_init_start_without_a_runtime_version_names_none() -> None:
    lines, _ = await run(EchoRuntime(), invoking("r1"))
    assert lines[0] == "INIT_START"
    assert lines[1:] == invocation("r1", "0.00 ms", "0 ms", "Init Duration: 0.00 ms")


async def test_handler_error_reports_status_and_error_type() -> None:
    clients: list[RuntimeClient] = []

    async def grab(_: int, client: RuntimeClient) -> None:
        clients.append(client)

    async def fail(event: RuntimeEvent, rt: EchoRuntime) -> None:
        await anyio.sleep(0.02)
        clients[0].error(event.request_id, {"errorMessage": "bad", "errorType": "ValueError"})

    lines, legacy = await run(EchoRuntime(handler=fail, init_hook=grab), invoking("r1"))
    fields = ["20.00 ms", "20 ms", "Init Duration: 0.00 ms"]
    assert lines[1:] == invocation("r1", *fields, "Status: error", "Error Type: ValueError")
    # The older format has no Status, and the platform adds no notice for a function error.
    assert legacy[1:] == invocation("r1", *fields)


async def test_timeout() -> None:
    rt = EchoRuntime(handler=sleeping(5))
    lines, legacy = await run(rt, invoking("r1"), config=FunctionConfig(timeout=1))
    fields = ["1000.00 ms", "1000 ms", "Init Duration: 0.00 ms"]
    assert lines == ["INIT_START", *invocation("r1", *fields, "Status: timeout")]
    start, notice, end, last = legacy[1:]
    assert (start, end, last) == tuple(invocation("r1", *fields))
    assert notice.endswith("Z r1 Task timed out after 1.00 seconds")
    record = parse_line(notice)
    assert record is not None and type(record).__name__ == "LegacyTimeout"


@pytest.mark.parametrize(
    ("ending", "message"),
    [
        (SystemExit(0), "Runtime exited without providing a reason"),
        (SystemExit(3), "Runtime exited with error: exit status 3"),
    ],
)
async def test_runtime_crash(ending: BaseException, message: str) -> None:
    async def crash(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
        await anyio.sleep(0.01)
        raise ending

    lines, legacy = await run(EchoRuntime(handler=crash), invoking("r1"))
    fields = ["10.00 ms", "10 ms", "Init Duration: 0.00 ms"]
    error = ["Status: error", "Error Type: Runtime.ExitError"]
    assert lines == ["INIT_START", *invocation("r1", *fields, *error)]
    assert legacy == [
        "INIT_START",
        "START RequestId: r1 Version: $LATEST",
        f"RequestId: r1 Error: {message}\nRuntime.ExitError",
        "END RequestId: r1",
        report("r1", *fields),
    ]


async def test_extension_crash_before_the_answer() -> None:
    ext = RecordingExtension(crash_on_invoke=True)
    lines, legacy = await run(EchoRuntime(handler=sleeping(0.5)), invoking("r1"), extensions=(ext,))
    assert lines[-1].endswith("\tStatus: error\tError Type: Extension.Crash")
    assert legacy[1] == "EXTENSION\tName: recorder\tState: Ready\tEvents: [INVOKE, SHUTDOWN]"
    assert legacy[3] == (
        "RequestId: r1 Error: extension recorder exited with error: exit status 1\nExtension.Crash"
    )


async def test_suppressed_init_is_not_logged_as_an_init() -> None:
    async def init(generation: int, _: RuntimeClient) -> None:
        await anyio.sleep(0.2 if generation == 2 else 0)

    async def crash_first(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
        await anyio.sleep(0.1)
        if rt.inits == 1:
            raise SystemExit(1)
        return b"{}"

    rt = EchoRuntime(handler=crash_first, init_hook=init)
    lines, _ = await run(rt, invoking("r1", "r2"))
    assert lines == [
        "INIT_START",
        *invocation(
            "r1",
            "100.00 ms",
            "100 ms",
            "Init Duration: 0.00 ms",
            "Status: error",
            "Error Type: Runtime.ExitError",
        ),
        # No INIT_START and no INIT_REPORT: the Duration includes the 200 ms suppressed init.
        *invocation("r2", "300.00 ms", "300 ms"),
    ]


async def test_init_timeout_then_suppressed_init() -> None:
    async def slow_first_init(generation: int, _: RuntimeClient) -> None:
        await anyio.sleep(11 if generation == 1 else 2)

    rt = EchoRuntime(init_hook=slow_first_init)
    lines, legacy = await run(rt, invoking("r1"), config=FunctionConfig(timeout=5))
    assert lines == [
        "INIT_START",
        "INIT_REPORT Init Duration: 10000.00 ms\tPhase: init\tStatus: timeout",
        *invocation("r1", "2000.00 ms", "2000 ms"),
    ]
    assert legacy == lines


async def test_failed_suppressed_init_reports_phase_invoke() -> None:
    async def import_error(_: int, client: RuntimeClient) -> None:
        await anyio.sleep(0.03)
        client.init_error({"errorMessage": "no module", "errorType": "Runtime.ImportModuleError"})
        await anyio.sleep_forever()

    lines, legacy = await run(EchoRuntime(init_hook=import_error), invoking("r1"))
    error = ["Status: error", "Error Type: Runtime.ImportModuleError"]
    assert lines == [
        "INIT_START",
        "INIT_REPORT Init Duration: 30.00 ms\tPhase: init\t" + "\t".join(error),
        "INIT_REPORT Init Duration: 30.00 ms\tPhase: invoke\t" + "\t".join(error),
        *invocation("r1", "30.00 ms", "30 ms", *error),
    ]
    assert legacy[-3:] == invocation("r1", "30.00 ms", "30 ms")


async def test_provisioned_concurrency_always_writes_init_report() -> None:
    async def slow_init(_: int, __: RuntimeClient) -> None:
        await anyio.sleep(100)

    async def body(env: Environment) -> None:
        await env.init()
        await (await env.invoke({}, request_id="r1")).report()

    config = FunctionConfig(initialization_type="provisioned-concurrency", runtime_version=VERSION)
    lines, _ = await run(EchoRuntime(init_hook=slow_init), body, config=config)
    assert lines == [
        f"INIT_START Runtime Version: {VERSION}\tRuntime Version ARN: {ARN}",
        "INIT_REPORT Init Duration: 100000.00 ms\tPhase: init\tStatus: success",
        *invocation("r1", "0.00 ms", "0 ms"),  # no Init Duration after a provisioned Init
    ]


async def test_proactive_on_demand_init_writes_no_init_report() -> None:
    async def body(env: Environment) -> None:
        await env.init()
        await (await env.invoke({}, request_id="r1")).report()

    lines, _ = await run(EchoRuntime(), body)
    assert lines[0] == "INIT_START"
    assert not any(line.startswith("INIT_REPORT") for line in lines)


def snapstart(hook_seconds: float, fail: bool = False) -> EchoRuntime:
    async def hooks(_: int, client: RuntimeClient) -> None:
        await anyio.sleep(0.5)  # the Init, before the snapshot
        await client.restore_next()
        await anyio.sleep(hook_seconds)  # after-restore hooks
        if fail:
            client.restore_error({"errorType": "HookError", "errorMessage": "hook failed"})
            await anyio.sleep_forever()

    return EchoRuntime(handler=sleeping(0.1), init_hook=hooks)


async def publish_then_invoke(env: Environment) -> None:
    await env.init()
    await (await env.invoke({}, request_id="r1")).report()


SNAPSTART = FunctionConfig(initialization_type="snap-start", function_version="3", timeout=30)


async def test_snapstart_restore() -> None:
    lines, _ = await run(snapstart(0.25), publish_then_invoke, config=SNAPSTART)
    restored = ["Restore Duration: 250.00 ms", "Billed Restore Duration: 250 ms"]
    assert lines == [
        "INIT_START",
        "INIT_REPORT Init Duration: 500.00 ms\tPhase: init\tStatus: success",
        *invocation("r1", "100.00 ms", "100 ms", *restored, version="3"),
    ]


async def test_snapstart_restore_error_and_timeout() -> None:
    failed, _ = await run(snapstart(0.25, fail=True), publish_then_invoke, config=SNAPSTART)
    assert failed[2:] == [
        "RESTORE_REPORT Restore Duration: 250.00 ms\tStatus: error\tError Type: HookError",
        *invocation("r1", "0.00 ms", "0 ms", "Status: error", "Error Type: HookError", version="3"),
    ]
    timed_out, _ = await run(snapstart(60), publish_then_invoke, config=SNAPSTART)
    assert timed_out[2] == "RESTORE_REPORT Restore Duration: 10000.00 ms\tStatus: timeout"
    assert timed_out[-1].endswith("\tStatus: timeout")


async def test_sampled_trace_adds_the_xray_part() -> None:
    async def body(env: Environment) -> None:
        await (await env.invoke({}, request_id="r1", trace_id=TRACE)).report()
        await (await env.invoke({}, request_id="r2")).report()  # Sampled=0: no XRAY part

    lines, _ = await run(EchoRuntime(), body)
    xray = "XRAY TraceId: 1-5759e988-bd862e3fe1be46a994272793\tSegmentId: 53995c3f42cd8ad8"
    assert lines[3] == report("r1", "0.00 ms", "0 ms", "Init Duration: 0.00 ms") + (
        f"\n{xray}\tSampled: true"
    )
    assert lines[-1] == report("r2", "0.00 ms", "0 ms")


async def test_function_and_extension_lines_in_order() -> None:
    envs: list[Environment] = []

    async def init(_: int, __: RuntimeClient) -> None:
        log_function_line(envs[0], "loading model")

    async def handler(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
        log_function_line(envs[0], "handling")
        log_extension_line(envs[0], "[ext] saw the invoke")
        log_function_line(envs[0], "done", level="INFO")
        return b"{}"

    async def body(env: Environment) -> None:
        await invoking("r1")(env)

    lines: list[str] = []
    env = Environment(EchoRuntime(handler=handler, init_hook=init).participant())
    envs.append(env)
    with attach_log_sink(env, lines.append):
        async with env:
            await body(env)
    assert lines == [
        "INIT_START",
        "loading model",
        "START RequestId: r1 Version: $LATEST",
        "handling",
        "[ext] saw the invoke",
        "done",
        "END RequestId: r1",
        report("r1", "0.00 ms", "0 ms", "Init Duration: 0.00 ms"),
    ]


async def test_json_log_format_writes_the_platform_records() -> None:
    envs: list[Environment] = []

    async def handler(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
        log_function_line(envs[0], "plain line")
        log_function_line(envs[0], "structured", level="WARN")
        return b"{}"

    lines: list[str] = []
    batches: list[list[dict[str, Any]]] = []

    async def deliver(batch: TelemetryBatch) -> None:
        batches.append(batch)

    env = Environment(
        EchoRuntime(handler=handler).participant(), [RecordingExtension().participant()]
    )
    envs.append(env)
    sink = attach_log_sink(env, lines.append, log_format="json")
    async with env, subscribe_telemetry(env, ["platform"], deliver=deliver):
        await invoking("r1")(env)
    sink.close()
    platform = [json.loads(line) for line in lines if line.startswith('{"time"')]
    # The same envelopes the Telemetry API delivers, in the same order.
    assert platform == [event for batch in batches for event in batch]
    assert [e["type"] for e in platform] == [
        "platform.telemetrySubscription",
        "platform.initStart",
        "platform.extension",
        "platform.initRuntimeDone",
        "platform.initReport",
        "platform.start",
        "platform.runtimeDone",
        "platform.report",
    ]
    plain, structured = (line for line in lines if not line.startswith('{"time"'))
    assert plain == "plain line"
    app = parse_json_line(structured)
    assert app is not None and not hasattr(app, "record")
    assert json.loads(structured) == {
        "timestamp": json.loads(structured)["timestamp"],
        "level": "WARN",
        "requestId": "r1",
        "message": "structured",
    }
    assert all(parse_json_line(line) is not None for line in lines if line != plain)


async def test_every_platform_line_parses_back() -> None:
    async def init(generation: int, _: RuntimeClient) -> None:
        await anyio.sleep(11 if generation == 1 else 0.5)

    rt = EchoRuntime(handler=sleeping(2), init_hook=init)
    lines, legacy = await run(rt, invoking("r1", "r2"), config=FunctionConfig(timeout=1))
    for line in lines + legacy:
        assert parse_line(line) is not None, line


async def test_destinations_file_stream_and_callable(tmp_path: Path) -> None:
    path = tmp_path / "function.log"
    path.write_text("earlier\n")
    stream = io.StringIO()
    called: list[str] = []
    env = Environment(EchoRuntime().participant())
    sinks = [
        attach_log_sink(env, path),
        attach_log_sink(env, stream),
        attach_log_sink(env, called.append),
    ]
    async with env:
        await invoking("r1")(env)
    for sink in sinks:
        sink.close()
        sink.close()  # idempotent
    expected = ["INIT_START", *invocation("r1", "0.00 ms", "0 ms", "Init Duration: 0.00 ms")]
    assert called == expected
    assert stream.getvalue() == "".join(f"{line}\n" for line in expected)
    assert path.read_text() == "earlier\n" + stream.getvalue()  # appended


async def test_a_failing_destination_does_not_disturb_the_environment() -> None:
    def broken(line: str) -> None:
        raise OSError("disk full")

    env = Environment(EchoRuntime().participant())
    sink = attach_log_sink(env, broken)
    async with env:
        assert (await env.invoke({})).ok
    with pytest.raises(OSError, match="disk full"):
        sink.close()


async def test_nothing_listens_once_every_sink_is_closed() -> None:
    env = Environment(EchoRuntime().participant())
    assert not env._hub.listening
    log_function_line(env, "nobody hears this")  # a no-op without sinks
    sink = attach_log_sink(env, io.StringIO())
    assert env._hub.listening
    sink.close()
    assert not env._hub.listening


def test_bad_options_are_refused() -> None:
    env = Environment(EchoRuntime().participant())
    with pytest.raises(ValueError, match="log_format 'xml'"):
        attach_log_sink(env, print, log_format="xml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="style 'old'"):
        attach_log_sink(env, print, style="old")  # type: ignore[arg-type]
    assert not env._hub.listening


async def test_an_extensions_telemetry_subscription_writes_its_telemetry_line() -> None:
    async def ignore(batch: TelemetryBatch) -> None:
        del batch

    lines: list[str] = []
    env = Environment(EchoRuntime().participant())
    with attach_log_sink(env, lines.append):
        async with env:
            own = subscribe_telemetry(env, ["platform"], deliver=ignore)  # the embedder's own
            ext = subscribe_telemetry(
                env, ["platform", "function"], deliver=ignore, name="agent", generation_bound=True
            )
            own.close()
            ext.close()
    assert [line for line in lines if line.startswith("TELEMETRY")] == [
        "TELEMETRY\tName: agent\tState: Subscribed\tTypes: [Platform, Function]"
    ]

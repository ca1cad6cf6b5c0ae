"""The in-process Telemetry API: events of every lifecycle path, buffering rules, validation.

Every event any test here receives is validated against its bundled JSON Schema on delivery.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import cache
from typing import Any

import anyio
import jsonschema
import pytest

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.core.errors import APIError
from lambda_lifecycle.engine.clients import RuntimeClient, RuntimeEvent
from lambda_lifecycle.engine.environment import Environment
from lambda_lifecycle.engine.inprocess import InProcessExtension
from lambda_lifecycle.formats.jsonlog import render_json_line
from lambda_lifecycle.formats.records import parse_time
from lambda_lifecycle.formats.schemas import load_schema
from lambda_lifecycle.sinks import (
    TelemetrySubscriber,
    attach_log_sink,
    log_extension_line,
    log_function_line,
    subscribe_telemetry,
)
from lambda_lifecycle.sinks.batch import TelemetryBatch

from .support import ARN, TRACE, VERSION, EchoRuntime, RecordingExtension

pytestmark = pytest.mark.looptime

TRACING = {"type": "X-Amzn-Trace-Id", "value": TRACE}
ALL = ["platform", "function", "extension"]
FAST = {"timeoutMs": 25}
Record = tuple[str, dict[str, Any]]


@cache
def validator(event_type: str) -> jsonschema.protocols.Validator:
    schema = load_schema(event_type)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


class Collector:
    """A ``deliver`` callback that validates and keeps every batch, and when it came."""

    def __init__(self, pause: float = 0.0) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.times: list[float] = []
        self.pause = pause

    async def __call__(self, batch: TelemetryBatch) -> None:
        for event in batch:
            validator(event["type"]).validate(event)
        self.batches.append(batch)
        self.times.append(anyio.current_time())
        await anyio.sleep(self.pause)

    @property
    def events(self) -> list[dict[str, Any]]:
        return [event for batch in self.batches for event in batch]

    def records(self, *prefixes: str) -> list[Record]:
        """(type, record) of every event whose type starts with one of ``prefixes``, without
        the start times of spans (the wall clock is real; test_span_times_line_up checks them).
        """
        return [
            (e["type"], untimed(e["record"]))
            for e in self.events
            if e["type"].startswith(prefixes or "")
        ]

    def sizes(self) -> list[int]:
        return [len(batch) for batch in self.batches]


def untimed(record: Any) -> Any:
    if not isinstance(record, dict) or "spans" not in record:
        return record
    spans = [{k: v for k, v in item.items() if k != "start"} for item in record["spans"]]
    return {**record, "spans": spans}


async def observe(
    runtime: EchoRuntime,
    body: Callable[[Environment], Awaitable[None]],
    *,
    extensions: tuple[RecordingExtension, ...] = (),
    config: FunctionConfig | None = None,
) -> tuple[Collector, Environment]:
    """Run ``body`` on a fresh environment with a listening subscriber to every stream."""
    collector = Collector()
    env = Environment(runtime.participant(), [e.participant() for e in extensions], config)
    async with env, subscribe_telemetry(env, ALL, FAST, deliver=collector):
        await body(env)
    return collector, env


def invoking(*request_ids: str, **kwargs: Any) -> Callable[[Environment], Awaitable[None]]:
    async def body(env: Environment) -> None:
        for request_id in request_ids:
            await (await env.invoke({}, request_id=request_id, **kwargs)).report()

    return body


def sleeping(seconds: float, crash: bool = False) -> Callable[[RuntimeEvent, EchoRuntime], Any]:
    async def handler(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
        await anyio.sleep(seconds)
        if crash and rt.inits == 1:
            raise SystemExit(2)
        return b"{}"

    return handler


def span(record: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = (s for s in record["spans"] if s["name"] == name)
    return found


def ms(a: str, b: str) -> float:
    """Milliseconds from time ``a`` to time ``b`` (both ISO-8601)."""
    return (parse_time(b) - parse_time(a)) / timedelta(milliseconds=1)


async def test_cold_start_and_warm_invoke() -> None:
    async def init(_: int, __: RuntimeClient) -> None:
        await anyio.sleep(0.25)

    rt = EchoRuntime(handler=sleeping(0.1), init_hook=init)
    config = FunctionConfig(
        function_name="orders", memory_mb=512, runtime_version=VERSION, timeout=3
    )
    got, env = await observe(
        rt,
        invoking("r1", "r2", trace_id=TRACE),
        extensions=(RecordingExtension(work=0.15),),
        config=config,
    )
    approx = pytest.approx
    init_fields = {"initializationType": "on-demand", "phase": "init"}
    assert got.records("platform.") == [
        (
            "platform.telemetrySubscription",
            {"name": "in-process", "state": "Subscribed", "types": ALL},
        ),
        (
            "platform.initStart",
            {
                **init_fields,
                "functionName": "orders",
                "functionVersion": "$LATEST",
                "runtimeVersion": VERSION,
                "runtimeVersionArn": ARN,
                "instanceId": env.id,
                "instanceMaxMemory": 512,
            },
        ),
        (
            "platform.extension",
            {"name": "recorder", "state": "Ready", "events": ["INVOKE", "SHUTDOWN"]},
        ),
        ("platform.initRuntimeDone", {**init_fields, "status": "success"}),
        (
            "platform.initReport",
            {**init_fields, "status": "success", "metrics": {"durationMs": approx(250)}},
        ),
        *invocation_records("r1", init_ms=250),
        *invocation_records("r2"),
    ]


def invocation_records(request_id: str, init_ms: float | None = None) -> list[Record]:
    """start, runtimeDone, report of the traced 100 ms handler with a 150 ms extension."""
    approx = pytest.approx
    metrics: dict[str, Any] = {
        "durationMs": approx(150),
        "billedDurationMs": 150 if init_ms is None else 400,
        "memorySizeMB": 512,
    }
    if init_ms is not None:
        metrics["initDurationMs"] = approx(init_ms)
    return [
        ("platform.start", {"requestId": request_id, "version": "$LATEST", "tracing": TRACING}),
        (
            "platform.runtimeDone",
            {
                "requestId": request_id,
                "status": "success",
                "metrics": {"durationMs": approx(100), "producedBytes": 2},
                "spans": [
                    {"name": "responseLatency", "durationMs": approx(100)},
                    {"name": "responseDuration", "durationMs": 0.0},
                    {"name": "runtimeOverhead", "durationMs": 0.0},
                ],
                "tracing": TRACING,
            },
        ),
        (
            "platform.report",
            {
                "requestId": request_id,
                "status": "success",
                "metrics": metrics,
                "spans": [{"name": "extensionOverhead", "durationMs": approx(50)}],
                "tracing": TRACING,
            },
        ),
    ]


async def test_span_times_line_up() -> None:
    got, _ = await observe(
        EchoRuntime(handler=sleeping(0.1)),
        invoking("r1"),
        extensions=(RecordingExtension(work=0.15),),
    )
    events = {e["type"]: e for e in got.events}
    start, done, report = (events[f"platform.{t}"] for t in ("start", "runtimeDone", "report"))
    assert ms(start["time"], done["time"]) == pytest.approx(100, abs=1)
    latency = span(done["record"], "responseLatency")
    assert ms(latency["start"], done["time"]) == pytest.approx(latency["durationMs"], abs=1)
    assert span(done["record"], "responseDuration")["start"] == done["time"]
    overhead = span(report["record"], "extensionOverhead")
    assert ms(overhead["start"], report["time"]) == pytest.approx(50, abs=1)
    assert ms(start["time"], report["time"]) == pytest.approx(150, abs=1)


async def test_handler_error_timeout_and_crash() -> None:
    clients: list[RuntimeClient] = []

    async def grab(_: int, client: RuntimeClient) -> None:
        clients.append(client)

    async def handler(event: RuntimeEvent, rt: EchoRuntime) -> bytes | None:
        mode = event.json()["mode"]
        if mode == "error":
            clients[-1].error(event.request_id, {"errorMessage": "bad", "errorType": "ValueError"})
            return None
        await anyio.sleep(5 if mode == "sleep" else 0.01)
        if mode == "crash":
            raise SystemExit(0)
        return b"{}"

    async def body(env: Environment) -> None:
        for mode in ("error", "sleep", "crash"):
            await (await env.invoke({"mode": mode}, request_id=mode)).report()

    config = FunctionConfig(timeout=1)
    got, _ = await observe(EchoRuntime(handler=handler, init_hook=grab), body, config=config)
    done = {r["requestId"]: r for t, r in got.records("platform.runtimeDone")}
    reports = {r["requestId"]: r for t, r in got.records("platform.report")}
    assert done["error"]["status"] == "error" and done["error"]["errorType"] == "ValueError"
    assert [s["name"] for s in done["error"]["spans"]] == [
        "responseLatency",
        "responseDuration",
        "runtimeOverhead",
    ]
    assert done["sleep"] == {
        "requestId": "sleep",
        "status": "timeout",  # no errorType for a timeout, and no spans: the runtime never answered
        "metrics": {"durationMs": pytest.approx(1000)},
        "tracing": done["sleep"]["tracing"],
    }
    assert (done["crash"]["status"], done["crash"]["errorType"]) == ("error", "Runtime.ExitError")
    assert "spans" not in done["crash"]
    assert [(r["status"], r.get("errorType")) for r in reports.values()] == [
        ("error", "ValueError"),
        ("timeout", None),
        ("error", "Runtime.ExitError"),
    ]
    assert reports["sleep"]["metrics"]["durationMs"] == pytest.approx(1000)


async def test_suppressed_init_reports_phase_invoke() -> None:
    async def init(generation: int, _: RuntimeClient) -> None:
        await anyio.sleep(0.2 if generation == 2 else 0)

    rt = EchoRuntime(handler=sleeping(0.1, crash=True), init_hook=init)
    got, _ = await observe(rt, invoking("r1", "r2"))
    after_crash = got.records("platform.")[7:]
    invoke_phase = {"initializationType": "on-demand", "phase": "invoke"}
    assert [t for t, _ in after_crash] == [
        "platform.initStart",
        "platform.initRuntimeDone",
        "platform.initReport",
        "platform.start",
        "platform.runtimeDone",
        "platform.report",
    ]
    assert after_crash[0][1]["phase"] == "invoke"
    assert after_crash[2][1] == {
        **invoke_phase,
        "status": "success",
        "metrics": {"durationMs": pytest.approx(200)},
    }
    report = after_crash[5][1]
    assert report["metrics"]["durationMs"] == pytest.approx(300)  # the init is in the Duration
    assert "initDurationMs" not in report["metrics"]


async def test_init_timeout_then_retry() -> None:
    async def slow_first(generation: int, _: RuntimeClient) -> None:
        await anyio.sleep(11 if generation == 1 else 2)

    got, _ = await observe(
        EchoRuntime(init_hook=slow_first), invoking("r1"), config=FunctionConfig(timeout=5)
    )
    reports = [r for t, r in got.records("platform.initReport")]
    assert reports == [
        {
            "initializationType": "on-demand",
            "phase": "init",
            "status": "timeout",
            "metrics": {"durationMs": pytest.approx(10_000)},
        },
        {
            "initializationType": "on-demand",
            "phase": "invoke",
            "status": "success",
            "metrics": {"durationMs": pytest.approx(2_000)},
        },
    ]


async def test_failed_suppressed_init_still_starts_and_reports_the_invocation() -> None:
    async def import_error(_: int, client: RuntimeClient) -> None:
        client.init_error({"errorMessage": "no module", "errorType": "Runtime.ImportModuleError"})
        await anyio.sleep_forever()

    got, _ = await observe(EchoRuntime(init_hook=import_error), invoking("r1"))
    tail = got.records("platform.")[-6:]
    assert [t for t, _ in tail] == [
        "platform.initStart",
        "platform.initRuntimeDone",
        "platform.initReport",
        "platform.start",
        "platform.runtimeDone",
        "platform.report",
    ]
    error = {"status": "error", "errorType": "Runtime.ImportModuleError"}
    assert tail[2][1] | error == tail[2][1]
    assert tail[3][1] == {"requestId": "r1", "version": "$LATEST"}  # no tracing: never invoked
    assert tail[5][1] | error == tail[5][1]


async def test_provisioned_concurrency_init() -> None:
    async def slow_init(_: int, __: RuntimeClient) -> None:
        await anyio.sleep(100)

    async def body(env: Environment) -> None:
        await env.init()
        await invoking("r1")(env)

    config = FunctionConfig(initialization_type="provisioned-concurrency")
    got, _ = await observe(EchoRuntime(init_hook=slow_init), body, config=config)
    (_, start), (_, report) = got.records("platform.initStart", "platform.initReport")
    assert (start["initializationType"], start["phase"]) == ("provisioned-concurrency", "init")
    assert report["metrics"] == {"durationMs": pytest.approx(100_000)}
    ((_, invoke_report),) = got.records("platform.report")
    assert "initDurationMs" not in invoke_report["metrics"]


def snapstart(hook_seconds: float, fail: bool = False) -> EchoRuntime:
    async def hooks(_: int, client: RuntimeClient) -> None:
        await client.restore_next()
        await anyio.sleep(hook_seconds)
        if fail:
            client.restore_error({"errorType": "HookError", "errorMessage": "hook failed"})
            await anyio.sleep_forever()

    return EchoRuntime(init_hook=hooks)


async def publish_then_invoke(env: Environment) -> None:
    await env.init()
    await invoking("r1")(env)


SNAPSTART = FunctionConfig(
    initialization_type="snap-start", function_version="3", runtime_version=VERSION
)


async def test_snapstart_restore() -> None:
    got, env = await observe(snapstart(0.25), publish_then_invoke, config=SNAPSTART)
    assert got.records("platform.restore") == [
        (
            "platform.restoreStart",
            {
                "functionName": "function",
                "functionVersion": "3",
                "runtimeVersion": VERSION,
                "runtimeVersionArn": ARN,
                "instanceId": env.id,
                "instanceMaxMemory": 128,
            },
        ),
        ("platform.restoreRuntimeDone", {"status": "success"}),
        (
            "platform.restoreReport",
            {"status": "success", "metrics": {"durationMs": pytest.approx(250)}},
        ),
    ]
    ((_, report),) = got.records("platform.report")
    assert report["metrics"]["restoreDurationMs"] == pytest.approx(250)
    assert "initDurationMs" not in report["metrics"]
    ((_, init_report),) = got.records("platform.initReport")
    assert init_report["initializationType"] == "snap-start"


async def test_snapstart_restore_failures() -> None:
    failed, _ = await observe(snapstart(0.25, fail=True), publish_then_invoke, config=SNAPSTART)
    assert failed.records("platform.restoreReport") == [
        (
            "platform.restoreReport",
            {
                "status": "error",
                "errorType": "HookError",
                "metrics": {"durationMs": pytest.approx(250)},
            },
        )
    ]
    timed_out, _ = await observe(snapstart(60), publish_then_invoke, config=SNAPSTART)
    ((_, record),) = timed_out.records("platform.restoreReport")
    assert record == {"status": "timeout", "metrics": {"durationMs": pytest.approx(10_000)}}


async def test_function_and_extension_lines() -> None:
    envs: list[Environment] = []

    async def init(_: int, __: RuntimeClient) -> None:
        log_function_line(envs[0], "cold")

    async def handler(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
        log_function_line(envs[0], "hello", level="INFO")
        log_extension_line(envs[0], "ext line")
        return b"{}"

    collector = Collector()
    env = Environment(EchoRuntime(handler=handler, init_hook=init).participant())
    envs.append(env)
    async with env, subscribe_telemetry(env, ["function", "extension"], FAST, deliver=collector):
        await invoking("r1")(env)
    events = collector.events
    assert [e["type"] for e in events] == ["function", "function", "extension"]
    assert events[0]["record"] == "cold"
    app = events[1]["record"]
    assert app == {
        "timestamp": events[1]["time"],
        "level": "INFO",
        "requestId": "r1",
        "message": "hello",
    }
    assert events[2]["record"] == "ext line"


async def test_a_subscriber_joining_during_init_gets_the_init_so_far() -> None:
    envs: list[Environment] = []
    got = Collector()
    joined: list[TelemetrySubscriber] = []

    async def extension(client: Any) -> None:
        client.register(["INVOKE"])
        await anyio.sleep(0.1)
        joined.append(subscribe_telemetry(envs[0], ["platform"], FAST, deliver=got, name="late"))
        while True:
            await client.next()

    env = Environment(EchoRuntime().participant(), [InProcessExtension(extension, "late")])
    envs.append(env)
    with attach_log_sink(env, [].append):  # something watches the environment from the start
        async with env:
            await env.invoke({}, request_id="r1")
            async with joined[0]:
                pass
            late = subscribe_telemetry(env, ["platform"], deliver=Collector())
            assert late.buffered == 1  # after Init nothing is owed: its subscription record only
            late.close()
    assert [t for t, _ in got.records()] == [
        "platform.initStart",
        "platform.extension",
        "platform.telemetrySubscription",
        "platform.initRuntimeDone",
        "platform.initReport",
        "platform.start",
        "platform.runtimeDone",
        "platform.report",
    ]
    assert got.events[2]["record"] == {"name": "late", "state": "Subscribed", "types": ["platform"]}


# -- buffering ---------------------------------------------------------------------------------


def function_events(env: Environment, count: int, text: str = "x") -> None:
    for _ in range(count):
        log_function_line(env, text)


async def test_max_items_delivers_full_batches_at_once() -> None:
    env = Environment(EchoRuntime().participant())
    got = Collector()
    buffering = {"maxItems": 1000, "maxBytes": 1_048_576, "timeoutMs": 30_000}
    async with env, subscribe_telemetry(env, ["function"], buffering, deliver=got):
        t0 = anyio.current_time()
        function_events(env, 2500)
        await anyio.sleep(0.001)
        assert got.sizes() == [1000, 1000]
        await anyio.sleep(29.998)
        assert got.sizes() == [1000, 1000]
        await anyio.sleep(0.001)
        assert got.sizes() == [1000, 1000, 500]  # timeoutMs after the batch's first event
    assert got.times == [t0, t0, pytest.approx(t0 + 30)]


def event_size(text: str) -> int:
    """The UTF-8 JSON size of a ``function`` event carrying ``text``."""
    sample = {"time": "2024-01-01T00:00:00.000Z", "type": "function", "record": text}
    return len(render_json_line(sample).encode())


def sized(size: int, char: str) -> str:
    """A text whose ``function`` event is ``size`` bytes (``char`` is 1 or 2 UTF-8 bytes)."""
    room = size - event_size("")
    width = len(char.encode())
    return char * (room // width) + "x" * (room % width)


async def test_max_bytes_delivers_when_the_next_event_would_not_fit() -> None:
    exact, large = sized(1024, "é"), sized(1000, "y")
    assert (event_size(exact), event_size(large)) == (1024, 1000)
    env = Environment(EchoRuntime().participant())
    got = Collector()
    buffering = {"maxItems": 10_000, "maxBytes": 262_144, "timeoutMs": 30_000}
    async with env, subscribe_telemetry(env, ["function"], buffering, deliver=got):
        function_events(env, 300, exact)  # 256 of them reach 262,144 bytes exactly
        function_events(env, 300, large)
        await anyio.sleep(0.001)
        # 44 * 1,024 + 217 * 1,000 = 262,056: a 218th event would not fit
        assert got.sizes() == [256, 44 + 217]
        sent = [sum(event_size(e["record"]) for e in batch) for batch in got.batches]
        assert sent == [262_144, 262_056]
    assert got.sizes() == [256, 261, 83]  # the rest, delivered on leaving the block


def replay(sizes: list[int], max_items: int, max_bytes: int) -> list[int]:
    """How many events each batch holds when AWS's rules are applied one event at a time."""
    batches: list[int] = []
    count = total = 0
    for size in sizes:
        if count and total + size > max_bytes:
            batches.append(count)
            count = total = 0
        count += 1
        total += size
        if count >= max_items or total >= max_bytes:
            batches.append(count)
            count = total = 0
    return batches + ([count] if count else [])


@pytest.mark.parametrize("max_items", [1000, 10_000])
async def test_invocations_fill_batches_exactly_as_event_by_event(max_items: int) -> None:
    # An invocation's events are kept as one run and measured without being built; the
    # batches must still split where adding the events one at a time would split them.
    env = Environment(EchoRuntime().participant())
    got = Collector()
    buffering = {"maxItems": max_items, "maxBytes": 262_144, "timeoutMs": 30_000}
    names = ["plain", 'with "quotes" and \\ back', "ünïcødé ☃", "tab\tand\nnewline", "x" * 90]
    async with env, subscribe_telemetry(env, ["platform"], buffering, deliver=got):
        for i in range(1200):
            rid = f"{names[i % len(names)]}-{i}"
            result = await env.invoke({}, request_id=rid, trace_id=f"Root=1-{i:08x}-{rid}")
            await result.report()
    batches = got.batches
    events = [event for batch in batches for event in batch]
    assert len(events) == 1 + 3 + 3600  # subscribed, the Init, then three per invocation
    sizes = [len(render_json_line(event).encode()) for event in events]
    held = replay(sizes, max_items, 262_144)
    assert [len(batch) for batch in batches][:-1] == held[:-1]  # the last: left on closing
    assert len(held) >= 3


async def test_an_event_larger_than_max_bytes_travels_alone() -> None:
    env = Environment(EchoRuntime().participant())
    got = Collector()
    async with env, subscribe_telemetry(env, ["function"], FAST, deliver=got):
        log_function_line(env, "small")
        log_function_line(env, "z" * 300_000)
        log_function_line(env, "small")
        await anyio.sleep(0.05)
    assert got.sizes() == [1, 1, 1]


async def test_timeout_runs_from_the_first_buffered_event() -> None:
    env = Environment(EchoRuntime().participant())
    got = Collector()
    async with env, subscribe_telemetry(env, ["function"], {"timeoutMs": 100}, deliver=got):
        t0 = anyio.current_time()
        log_function_line(env, "first")
        await anyio.sleep(0.06)
        log_function_line(env, "second")
        await anyio.sleep(0.06)
        log_function_line(env, "third")
        await anyio.sleep(0.2)
    assert got.sizes() == [2, 1]
    assert got.times == [pytest.approx(t0 + 0.1), pytest.approx(t0 + 0.22)]


async def test_leaving_the_block_delivers_what_is_buffered() -> None:
    env = Environment(EchoRuntime().participant())
    got = Collector()
    async with env:
        async with subscribe_telemetry(env, ["function"], {"timeoutMs": 30_000}, deliver=got):
            t0 = anyio.current_time()
            log_function_line(env, "pending")
        assert got.sizes() == [1]
        assert got.times == [t0]


async def test_init_events_wait_until_the_subscriber_listens() -> None:
    env = Environment(
        EchoRuntime().participant(),
        config=FunctionConfig(initialization_type="provisioned-concurrency"),
    )
    got = Collector()
    subscriber = subscribe_telemetry(env, ["platform"], {"timeoutMs": 100}, deliver=got)
    async with env:
        await env.init()
        await anyio.sleep(5)
        assert got.batches == []  # buffered, not delivered: nobody listens yet
        async with subscriber:
            t0 = anyio.current_time()
            await anyio.sleep(0.2)
            assert [e["type"] for e in got.events] == [
                "platform.telemetrySubscription",
                "platform.initStart",
                "platform.initRuntimeDone",
                "platform.initReport",
            ]
            assert got.times == [pytest.approx(t0 + 0.1)]  # the timer starts with listening


async def test_a_subscriber_that_falls_behind_gets_logs_dropped() -> None:
    env = Environment(EchoRuntime().participant())
    got = Collector(pause=10)
    subscriber = subscribe_telemetry(
        env, ["platform", "function"], FAST, deliver=got, max_backlog=3
    )
    async with env, subscriber:
        await anyio.sleep(0.03)  # the subscription record is being delivered, for 10 s
        function_events(env, 5, "lost?")  # 3 wait, 2 are dropped
        assert subscriber.buffered == 3
        await anyio.sleep(11)
        log_function_line(env, "after")
    dropped = [e for e in got.events if e["type"] == "platform.logsDropped"]
    assert [e["record"] for e in dropped] == [
        {
            "droppedBytes": 2 * event_size("lost?"),
            "droppedRecords": 2,
            "reason": dropped[0]["record"]["reason"],
        }
    ]
    types = [e["type"] for e in got.events]
    assert types == [
        "platform.telemetrySubscription",
        *["function"] * 3,
        "platform.logsDropped",
        "function",
    ]


async def test_nothing_listens_once_every_subscriber_is_closed() -> None:
    env = Environment(EchoRuntime().participant())
    first = subscribe_telemetry(env, ["function"], deliver=Collector())
    second = subscribe_telemetry(env, deliver=Collector())
    assert env._hub.listening
    first.close()
    assert env._hub.listening
    second.close()
    assert not env._hub.listening


async def test_a_subscriber_listens_once() -> None:
    env = Environment(EchoRuntime().participant())
    subscriber = subscribe_telemetry(env, deliver=Collector())
    async with subscriber:
        pass
    with pytest.raises(RuntimeError, match="cannot listen again"):
        async with subscriber:
            pass


# -- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("types", "buffering", "message"),
    [
        (
            ["platform"],
            {"maxItems": 999},
            "buffering.maxItems 999 is outside the allowed range 1000 to 10000",
        ),
        (["platform"], {"maxItems": 10_001}, "buffering.maxItems 10001 is outside"),
        (
            ["platform"],
            {"maxBytes": 262_143},
            "buffering.maxBytes 262143 is outside the allowed range 262144 to 1048576",
        ),
        (["platform"], {"maxBytes": 1_048_577}, "buffering.maxBytes 1048577"),
        (
            ["platform"],
            {"timeoutMs": 24},
            "buffering.timeoutMs 24 is outside the allowed range 25 to 30000",
        ),
        (["platform"], {"timeoutMs": 30_001}, "buffering.timeoutMs 30001"),
        (
            ["platform"],
            {"timeoutMs": "100"},
            "buffering.timeoutMs must be an integer from 25 to 30000, got '100'",
        ),
        (["platform"], {"maxItems": True}, "buffering.maxItems must be an integer"),
        (["platform"], {"maxItems": 1000.0}, "buffering.maxItems must be an integer"),
        (["platform"], {"maxEvents": 5}, "buffering has unknown field(s) maxEvents"),
        (["platform"], [1000], "buffering must be an object"),
        ([], None, "types must be a non-empty list"),
        ("platform", None, "types must be a non-empty list"),
        (
            ["platform", "logs"],
            None,
            "types has 'logs': each type must be one of platform, function, extension",
        ),
        (["platform", "platform"], None, "names a type twice"),
    ],
)
def test_bad_subscriptions_are_validation_errors(types: Any, buffering: Any, message: str) -> None:
    env = Environment(EchoRuntime().participant())
    with pytest.raises(APIError) as refused:
        subscribe_telemetry(env, types, buffering, deliver=Collector())
    assert (refused.value.status, refused.value.error_type) == (400, "ValidationError")
    assert message in refused.value.message
    assert refused.value.body() == {
        "errorMessage": refused.value.message,
        "errorType": "ValidationError",
    }
    assert not env._hub.listening  # nothing was attached


def test_buffering_defaults_and_limits_are_accepted() -> None:
    env = Environment(EchoRuntime().participant())
    default = subscribe_telemetry(env, deliver=Collector())
    assert default.buffering.to_request() == {
        "maxItems": 10_000,
        "maxBytes": 262_144,
        "timeoutMs": 1_000,
    }
    assert default.types == ("platform", "function", "extension")
    edges = subscribe_telemetry(
        env,
        ["extension"],
        {"maxItems": 1000, "maxBytes": 1_048_576, "timeoutMs": 25},
        deliver=Collector(),
    )
    assert edges.buffering.to_request() == {
        "maxItems": 1000,
        "maxBytes": 1_048_576,
        "timeoutMs": 25,
    }
    for subscriber in (default, edges):
        subscriber.close()
    assert isinstance(default, TelemetrySubscriber)

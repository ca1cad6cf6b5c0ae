"""The checker on our own output: every scenario's CloudWatch lines (current and older format,
JSON), its telemetry and the engine's own walk check clean against the spec."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest

from lambda_lifecycle.check import check_engine_events, check_inputs
from lambda_lifecycle.check.checker import CheckResult
from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.engine.clients import RuntimeClient, RuntimeEvent
from lambda_lifecycle.engine.environment import Environment
from lambda_lifecycle.engine.observe import LifecycleEvent
from lambda_lifecycle.sinks import attach_log_sink, subscribe_telemetry
from lambda_lifecycle.sinks.batch import TelemetryBatch
from lambda_lifecycle.specs import load_spec

from .support import VERSION, EchoRuntime, RecordingExtension

pytestmark = pytest.mark.looptime

Body = Callable[[Environment], Awaitable[None]]


@dataclass
class Recorded:
    """Everything one run wrote."""

    text: list[str] = field(default_factory=list)
    legacy: list[str] = field(default_factory=list)
    json: list[str] = field(default_factory=list)
    batches: list[list[dict[str, Any]]] = field(default_factory=list)
    events: list[LifecycleEvent] = field(default_factory=list)

    def files(self, directory: Path) -> dict[str, Path]:
        written = {
            "text": "\n".join(self.text),
            "legacy": "\n".join(self.legacy),
            "json": "\n".join(self.json),
            # one delivery per line, and the same deliveries as one indented document
            "telemetry-lines": "\n".join(json.dumps(batch) for batch in self.batches),
            "telemetry-document": json.dumps(self.batches, indent=2),
        }
        paths = {}
        for name, content in written.items():
            paths[name] = directory / f"{name}.log"
            paths[name].write_text(content + "\n", encoding="utf-8")
        return paths


async def record(
    runtime: EchoRuntime,
    body: Body,
    *,
    extensions: tuple[RecordingExtension, ...] = (),
    config: FunctionConfig | None = None,
) -> Recorded:
    out = Recorded()

    async def deliver(batch: TelemetryBatch) -> None:
        out.batches.append(list(batch))

    env = Environment(runtime.participant(), [e.participant() for e in extensions], config)
    events = env.subscribe()
    with (
        attach_log_sink(env, out.text.append),
        attach_log_sink(env, out.legacy.append, style="legacy"),
        attach_log_sink(env, out.json.append, log_format="json"),
    ):
        async with (
            env,
            subscribe_telemetry(env, ["platform"], {"timeoutMs": 25}, deliver=deliver),
        ):
            await body(env)
            await anyio.sleep(1)
    out.events = list(events.drain())
    return out


def invoking(*request_ids: str, init: bool = False) -> Body:
    async def body(env: Environment) -> None:
        if init:
            await env.init()
        for request_id in request_ids:
            await (await env.invoke({}, request_id=request_id)).report()

    return body


async def crash_first(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
    await anyio.sleep(0.1)
    if rt.inits == 1 and rt.counter == 2:
        raise SystemExit(1)
    return b"{}"


async def sleep_first(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
    await anyio.sleep(5 if rt.inits == 1 and rt.counter == 1 else 0.1)
    return b"{}"


async def sleep_briefly(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
    await anyio.sleep(0.5)
    return b"{}"


async def fail_handler(event: RuntimeEvent, rt: EchoRuntime) -> None:
    await anyio.sleep(0.02)
    clients[0].error(event.request_id, {"errorMessage": "bad", "errorType": "ValueError"})


clients: list[RuntimeClient] = []


async def grab(_: int, client: RuntimeClient) -> None:
    clients[:] = [client]
    await anyio.sleep(0.05)


async def slow_first_init(generation: int, _: RuntimeClient) -> None:
    await anyio.sleep(11 if generation == 1 else 2)


async def import_error(_: int, client: RuntimeClient) -> None:
    await anyio.sleep(0.03)
    client.init_error({"errorMessage": "no module", "errorType": "Runtime.ImportModuleError"})
    await anyio.sleep_forever()


async def hooks(_: int, client: RuntimeClient) -> None:
    await client.restore_next()
    await anyio.sleep(0.25)


async def hang_after_restore(_: int, client: RuntimeClient) -> None:
    await client.restore_next()
    await anyio.sleep(60)


SCENARIOS: dict[str, Callable[[], Awaitable[Recorded]]] = {
    "cold-warm-crash-suppressed-init": lambda: record(
        EchoRuntime(handler=crash_first, init_hook=grab),
        invoking("r1", "r2", "r3", "r4"),
        extensions=(RecordingExtension(work=0.05),),
        config=FunctionConfig(runtime_version=VERSION, memory_mb=512),
    ),
    "timeout-then-suppressed-init": lambda: record(
        EchoRuntime(handler=sleep_first),
        invoking("r1", "r2", "r3"),
        config=FunctionConfig(timeout=1),
    ),
    "handler-error-keeps-the-environment": lambda: record(
        EchoRuntime(handler=fail_handler, init_hook=grab), invoking("r1", "r2")
    ),
    "init-timeout-then-suppressed-init": lambda: record(
        EchoRuntime(init_hook=slow_first_init),
        invoking("r1", "r2"),
        config=FunctionConfig(timeout=5),
    ),
    "failed-suppressed-init": lambda: record(EchoRuntime(init_hook=import_error), invoking("r1")),
    "extension-crash": lambda: record(
        EchoRuntime(handler=sleep_briefly),
        invoking("r1", "r2"),
        extensions=(RecordingExtension(crash_on_invoke=True),),
    ),
    "provisioned-concurrency": lambda: record(
        EchoRuntime(init_hook=grab),
        invoking("r1", "r2", init=True),
        config=FunctionConfig(initialization_type="provisioned-concurrency"),
    ),
    "proactive-on-demand-init": lambda: record(EchoRuntime(), invoking("r1", "r2", init=True)),
    "snapstart-restore": lambda: record(
        EchoRuntime(init_hook=hooks),
        invoking("r1", "r2", init=True),
        config=FunctionConfig(initialization_type="snap-start", function_version="1"),
    ),
    "snapstart-restore-timeout": lambda: record(
        EchoRuntime(init_hook=hang_after_restore),
        invoking("r1"),
        config=FunctionConfig(initialization_type="snap-start", function_version="7", timeout=30),
    ),
}


def problems(result: CheckResult) -> list[str]:
    return [f"{f.file}:{f.line} {f.rule}: {f.message}" for f in result.findings if f.kind != "hint"]


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
async def test_our_output_checks_clean(tmp_path: Path, scenario: str) -> None:
    recorded = await SCENARIOS[scenario]()
    assert recorded.text and recorded.batches
    for name, path in recorded.files(tmp_path).items():
        result = check_inputs([str(path)], load_spec())
        assert problems(result) == [], (name, path.read_text())
        assert result.exit_status == 0, name
        assert result.summary.invokes >= 1, name
    assert check_engine_events(recorded.events, load_spec()) == []


async def test_the_summary_of_a_crash_and_its_suppressed_init(tmp_path: Path) -> None:
    recorded = await SCENARIOS["cold-warm-crash-suppressed-init"]()
    paths = recorded.files(tmp_path)
    text = check_inputs([str(paths["text"])], load_spec()).summary
    assert (text.invokes, text.cold_starts, text.suppressed_inits, text.resets) == (4, 1, 1, 1)
    assert dict(text.errors) == {"Runtime.ExitError": 1}
    telemetry = check_inputs([str(paths["telemetry-document"])], load_spec()).summary
    assert telemetry.transitions == text.transitions
    engine = [
        e.data["transition"]
        for e in recorded.events
        if e.type == "transition" and e.data["to_state"] != "Shutdown"  # logs show no spin-down
    ]
    assert sum(telemetry.transitions.values()) == len(engine)


async def test_a_tampered_engine_walk_is_caught() -> None:
    recorded = await SCENARIOS["timeout-then-suppressed-init"]()
    walk = [e for e in recorded.events if e.type == "transition"]
    assert check_engine_events(walk, load_spec()) == []
    skipped = walk[:2] + walk[3:]  # one step left out
    findings = check_engine_events(skipped, load_spec())
    assert findings and findings[0].rule == "transition"
    assert "but the environment was in" in findings[0].message


async def test_an_extension_crash_after_the_answer_is_a_reset_the_report_does_not_state(
    tmp_path: Path,
) -> None:
    """The engine resets the environment (invoke-extension-crash) when an extension crashes
    after the runtime answered, but its REPORT says success: the text log cannot show it, the
    telemetry can (a suppressed init follows a REPORT of success)."""
    recorded = await record(
        EchoRuntime(), invoking("r1", "r2"), extensions=(RecordingExtension(crash_on_invoke=True),)
    )
    assert "invoke-extension-crash" in [
        e.data["transition"] for e in recorded.events if e.type == "transition"
    ]
    paths = recorded.files(tmp_path)
    assert problems(check_inputs([str(paths["text"])], load_spec())) == []
    found = check_inputs([str(paths["telemetry-lines"])], load_spec()).of_kind("violation")
    assert [(f.rule, f.spec) for f in found] == [("transition", "suppressed-init")]
    assert "REPORT" in found[0].message

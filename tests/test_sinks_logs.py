"""The Logs API in process: its event shapes, its schema versions, the shared buffering rules.

Every event a test here receives is validated against the Logs API schemas in ``specs/logs``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.core.errors import APIError
from lambda_lifecycle.engine.clients import RuntimeEvent
from lambda_lifecycle.engine.environment import Environment
from lambda_lifecycle.formats.logsapi import LOGS_TYPES, logs_event
from lambda_lifecycle.formats.records import LegacyError, Report, RuntimeDone, Tracing
from lambda_lifecycle.sinks import attach_log_sink, log_function_line, subscribe_logs
from lambda_lifecycle.sinks.batch import TelemetryBatch

from .support import EchoRuntime, RecordingExtension

pytestmark = pytest.mark.looptime

LOGS_SPECS = Path(__file__).resolve().parent.parent / "specs" / "logs"
FAST = {"timeoutMs": 25}


@cache
def validator(event_type: str) -> jsonschema.protocols.Validator:
    schema = json.loads((LOGS_SPECS / f"{event_type}.schema.json").read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


class Collector:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    async def __call__(self, batch: TelemetryBatch) -> None:
        for event in batch:
            validator(event["type"]).validate(event)
        self.events.extend(batch)

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]


def test_there_is_a_schema_for_every_logs_api_type() -> None:
    assert sorted(p.name.removesuffix(".schema.json") for p in LOGS_SPECS.glob("*.json")) == sorted(
        LOGS_TYPES
    )
    for event_type in LOGS_TYPES:
        validator(event_type)


def test_the_records_as_the_logs_api_writes_them() -> None:
    trace = Tracing("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
    report = Report("r", "error", "Runtime.ExitError", 101.51, 102, 512, 33, 116.67, tracing=trace)
    assert logs_event(report, 0.123) == {
        "time": "1970-01-01T00:00:00.123Z",
        "type": "platform.report",
        "record": {
            "requestId": "r",
            "metrics": {
                "durationMs": 101.51,
                "billedDurationMs": 102,
                "memorySizeMB": 512,
                "maxMemoryUsedMB": 33,
                "initDurationMs": 116.67,
            },
            "tracing": {"type": "X-Amzn-Trace-Id", "value": trace.value},
        },
    }
    done = RuntimeDone("r", "error", "Runtime.ExitError", 5.0)
    assert logs_event(done, 0.0) is None  # not in the 2020-08-15 schema
    assert logs_event(done, 0.0, "2021-03-18") == {
        "time": "1970-01-01T00:00:00.000Z",
        "type": "platform.runtimeDone",
        "record": {"requestId": "r", "status": "failure"},
    }
    fault = logs_event(LegacyError("r", "Runtime exited with error: exit status 1", "X"), 0.0)
    assert fault is not None
    assert fault["record"] == "RequestId: r Error: Runtime exited with error: exit status 1"


async def _run(
    schema_version: str, *, answer: bytes | None = b"{}"
) -> tuple[Collector, list[str], str]:
    async def handler(event: RuntimeEvent, rt: EchoRuntime) -> bytes | None:
        log_function_line(env, "hello from the handler")
        return answer

    runtime = EchoRuntime(handler=handler)
    collector = Collector()
    env = Environment(runtime.participant(), [RecordingExtension().participant()], FunctionConfig())
    lines: list[str] = []
    with attach_log_sink(env, lines.append):
        async with env:
            subscription = subscribe_logs(
                env,
                ["platform", "function"],
                FAST,
                deliver=collector,
                name="logs-ext",
                schema_version=schema_version,  # type: ignore[arg-type]
            )
            async with subscription:
                result = await env.invoke({})
    return collector, lines, result.request_id


async def test_an_invocation_through_the_logs_api_2020_08_15() -> None:
    collector, _, request_id = await _run("2020-08-15")
    assert collector.types() == [
        "platform.logsSubscription",
        "platform.extension",  # the extension registered after the subscription, during Init
        "platform.start",
        "function",
        "platform.end",
        "platform.report",
    ]
    by_type = {e["type"]: e["record"] for e in collector.events}
    assert by_type["platform.logsSubscription"] == {
        "name": "logs-ext",
        "state": "Subscribed",
        "types": ["platform", "function"],
    }
    assert by_type["platform.start"] == {"requestId": request_id, "version": "$LATEST"}
    assert by_type["function"] == "hello from the handler"
    assert by_type["platform.end"] == {"requestId": request_id}
    assert list(by_type["platform.report"]) == ["requestId", "metrics", "tracing"]


async def test_schema_2021_03_18_adds_runtime_done() -> None:
    collector, _, request_id = await _run("2021-03-18")
    assert collector.types()[2:] == [
        "platform.start",
        "function",
        "platform.runtimeDone",
        "platform.end",
        "platform.report",
    ]
    done = next(e for e in collector.events if e["type"] == "platform.runtimeDone")
    assert done["record"] == {"requestId": request_id, "status": "success"}


async def test_a_logs_subscription_is_validated_like_a_telemetry_one() -> None:
    env = Environment(EchoRuntime().participant())
    with pytest.raises(APIError) as caught:
        subscribe_logs(env, ["platform"], {"maxItems": 10}, deliver=Collector())
    assert caught.value.error_type == "ValidationError"
    assert caught.value.status == 400
    with pytest.raises(APIError):
        subscribe_logs(env, [], deliver=Collector())

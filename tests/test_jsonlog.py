"""The Telemetry API envelope and the JSON log format."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from lambda_lifecycle.formats.jsonlog import (
    TelemetryEvent,
    envelope,
    function_log_record,
    parse_envelope,
    parse_function_log_record,
    parse_json_line,
    render_json_line,
)
from lambda_lifecycle.formats.records import (
    AppLog,
    ExtensionLog,
    FunctionLog,
    InitReport,
    InitStart,
    Report,
    RuntimeDone,
    Span,
    Start,
    TelemetryRecord,
    Tracing,
)

AT = datetime(2022, 10, 12, 0, 0, 15, 64_000, tzinfo=UTC)
TRACE = "Root=1-6720f1a0-0123456789abcdef01234567;Parent=1111111111111111;Sampled=1"

RECORDS: list[TelemetryRecord] = [
    InitStart("python:3.13.v14", None, "on-demand", "init", "orders", "$LATEST"),
    InitReport("snap-start", "init", "error", "Extension.Crash", 1236.04),
    Start("r-1", "$LATEST", Tracing(TRACE, span_id="54565fb41ac79632")),
    RuntimeDone("r-1", "success", None, 12.5, 42, (Span("responseLatency", AT, 1.25),)),
    Report("r-1", "timeout", None, 3016.78, 3101, 128, 31, init_duration_ms=84.0),
    FunctionLog("[INFO]\t2022-10-12T00:00:15.064Z\tr-1\thello\n"),
    ExtensionLog(AppLog(AT, "INFO", None, "subscribed")),
]


def test_envelope_shape() -> None:
    assert envelope(Start("r-1", "$LATEST"), AT) == {
        "time": "2022-10-12T00:00:15.064Z",
        "type": "platform.start",
        "record": {"requestId": "r-1", "version": "$LATEST"},
    }


def test_envelope_time_is_utc_with_milliseconds() -> None:
    record = Start("r-1")
    naive = datetime(2024, 3, 4, 17, 22, 38, 33_999)
    pacific = datetime(2024, 3, 4, 9, 22, 38, 33_000, tzinfo=timezone(timedelta(hours=-8)))
    assert envelope(record, naive)["time"] == "2024-03-04T17:22:38.033Z"
    assert envelope(record, pacific)["time"] == "2024-03-04T17:22:38.033Z"
    assert envelope(record, datetime(2024, 3, 4, tzinfo=UTC))["time"] == "2024-03-04T00:00:00.000Z"


@pytest.mark.parametrize("record", RECORDS, ids=lambda record: record.TYPE)
def test_envelope_round_trips(record: TelemetryRecord) -> None:
    data = json.loads(render_json_line(envelope(record, AT)))
    event = parse_envelope(data)
    assert event == TelemetryEvent(AT, record)
    assert event.type == record.TYPE
    assert event.to_envelope() == data


def test_parse_envelope_reads_other_offsets_as_utc() -> None:
    data = envelope(Start("r-1"), AT) | {"time": "2022-10-11T17:00:15.064-07:00"}
    assert parse_envelope(data).time == AT


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"time": "2022-10-12T00:00:15.064Z", "type": "platform.start"}, "envelope"),
        ({"time": 1, "type": "platform.start", "record": {}}, "strings"),
        ({"time": "yesterday", "type": "platform.start", "record": {}}, "ISO-8601"),
        ({"time": "2022-10-12T00:00:15.064Z", "type": "platform.nope", "record": {}}, "unknown"),
        ({"time": "2022-10-12T00:00:15.064Z", "type": "platform.start", "record": {}}, "requestId"),
        (
            {
                "time": "2022-10-12T00:00:15.064Z",
                "type": "platform.report",
                "record": {"requestId": "r", "status": "fine", "metrics": {}},
            },
            "status",
        ),
    ],
)
def test_parse_envelope_refuses_malformed_events(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_envelope(data)


def test_function_log_record_shape() -> None:
    assert function_log_record(AT, "INFO", "r-1", "hello") == {
        "timestamp": "2022-10-12T00:00:15.064Z",
        "level": "INFO",
        "requestId": "r-1",
        "message": "hello",
    }
    assert "requestId" not in function_log_record(AT, "INFO", None, "during init")


def test_application_record_keeps_the_runtimes_extra_keys() -> None:
    data = function_log_record(AT, "WARNING", "r-1", "careful") | {"logger": "root"}
    record = parse_function_log_record(data)
    assert record == AppLog(AT, "WARNING", "r-1", "careful", {"logger": "root"})
    assert record.to_record() == data
    assert hash(record) == hash(AppLog(AT, "WARNING", "r-1", "careful"))


def test_json_line_is_compact_and_keeps_non_ascii() -> None:
    line = render_json_line(function_log_record(AT, "INFO", "r-1", "こんにちは"))
    assert line == (
        '{"timestamp":"2022-10-12T00:00:15.064Z","level":"INFO","requestId":"r-1",'
        '"message":"こんにちは"}'
    )


def test_parse_json_line_tells_system_and_application_records_apart() -> None:
    system = parse_json_line(render_json_line(envelope(RECORDS[4], AT)))
    application = parse_json_line(render_json_line(function_log_record(AT, "INFO", "r", "hi")))
    assert system == TelemetryEvent(AT, RECORDS[4])
    assert application == AppLog(AT, "INFO", "r", "hi")


@pytest.mark.parametrize(
    "text",
    [
        "START RequestId: r Version: $LATEST",
        "[1, 2]",
        '"just a string"',
        '{"hello": "world"}',
        '{"time": "2022-10-12T00:00:15.064Z", "type": "platform.future", "record": {}}',
    ],
)
def test_parse_json_line_ignores_what_it_does_not_know(text: str) -> None:
    assert parse_json_line(text) is None


def test_parse_json_line_refuses_a_known_type_with_a_broken_record() -> None:
    with pytest.raises(ValueError, match="requestId"):
        parse_json_line('{"time":"2022-10-12T00:00:15.064Z","type":"platform.start","record":{}}')


def test_report_without_measured_memory_leaves_the_metric_out() -> None:
    record = Report("r", "success", None, 1.5, 2, 128, None)
    metrics = envelope(record, AT)["record"]["metrics"]
    assert metrics == {"durationMs": 1.5, "billedDurationMs": 2, "memorySizeMB": 128}
    assert parse_envelope(envelope(record, AT)).record == record


def test_billed_restore_duration_is_not_a_telemetry_metric() -> None:
    record = Report("r", "success", None, 1.5, 2, 512, 90, None, 300.0, 120)
    metrics = record.to_record()["metrics"]
    assert "billedRestoreDurationMs" not in metrics
    assert metrics["restoreDurationMs"] == 300.0


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (Report("r", None, None, 1.0, 1, 128, 40), "status"),
        (Report("r", "error", None, 1.0, 1, 128, 40), "errorType"),
        (RuntimeDone("r", "failure"), "errorType"),
        (RuntimeDone("r", "success", produced_bytes=10), "producedBytes"),
        (InitReport(None, "init", "timeout", None, 1.0), "initializationType"),
    ],
)
def test_envelope_refuses_what_aws_would_not_send(record: TelemetryRecord, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        envelope(record, AT)

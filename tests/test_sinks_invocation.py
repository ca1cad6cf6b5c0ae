"""An invocation's records, made in one place and rendered by the formats, are what Lambda writes.

:func:`~lambda_lifecycle.sinks.invocation.invocation_entries` makes the records of an
invocation (``START``, ``platform.runtimeDone``, the older format's notices, ``END``,
``REPORT``); the sinks render them with :mod:`lambda_lifecycle.formats`. These tests hold the
rendered output to text written out by hand: the plain-text lines of both styles, the
JSON-format lines (so the telemetry events, key order included) and their UTF-8 sizes, over
the kinds of invocation that write different records. A property test then checks, over every
kind of run hypothesis draws, that every event validates against its schema and that the text
lines read back into the same figures.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.engine.invocation import Invocation, InvokeResult
from lambda_lifecycle.formats import jsonlog
from lambda_lifecycle.formats.records import (
    End,
    LegacyError,
    LegacyTimeout,
    Report,
    RuntimeDone,
    Start,
    format_time,
    format_wall,
)
from lambda_lifecycle.formats.textlog import Style, parse_line
from lambda_lifecycle.sinks.cloudwatch import json_line, text_line
from lambda_lifecycle.sinks.entry import Entry
from lambda_lifecycle.sinks.invocation import invocation_entries

OFFSET = 1_764_374_400.0  # engine time 0 is 2025-11-29T00:00:00Z
CONFIG = FunctionConfig(timeout=3.0)
RID = "8f7e1c2a-1234-4abc-a123-0123456789ab"
UNSAMPLED = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"
SAMPLED = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
SPEC_DIR = Path(__file__).resolve().parent.parent / "specs" / "telemetry"


class _NoWaiter:
    def set(self) -> None:
        pass


def invocation(
    *,
    status: str = "success",
    error: dict[str, Any] | None = None,
    trace_id: str = UNSAMPLED,
    request_id: str = RID,
    started: float | None = 100.0,
    begun: float | None = 100.0,
    answered: float = 100.25,
    ended: float = 100.5,
    produced: int | None = 17,
    delivered: bool = True,
    memory: int | None = None,
    init_ms: float | None = None,
    restore_ms: float | None = None,
) -> Invocation:
    inv = Invocation(
        request_id,
        b"{}",
        "application/json",
        trace_id,
        None,
        None,
        _NoWaiter(),  # type: ignore[arg-type]
    )
    inv.result = InvokeResult(
        request_id, b"{}", "application/json", None if error is None else "Unhandled", error, inv
    )
    inv.status = status  # type: ignore[assignment]
    inv.started, inv.begun_at, inv.answered_at, inv.ended = started, begun, answered, ended
    inv.produced_bytes, inv.delivered = produced, delivered
    inv.memory_size_mb, inv.max_memory_used_mb = 512, memory
    inv.init_ms, inv.restore_ms = init_ms, restore_ms
    return inv


def whole(inv: Invocation, *, traced: bool = True) -> list[Entry]:
    start = inv.begun_at if inv.begun_at is not None else inv.answered_at
    return invocation_entries(
        inv, CONFIG, OFFSET, start_at=start, done=True, end=True, traced=traced
    )


def text(entries: list[Entry], style: Style) -> list[str]:
    return [line for e in entries if (line := text_line(e.record, style)) is not None]


def json_lines(entries: list[Entry]) -> list[str]:
    return [line for e in entries if (line := json_line(e)) is not None]


def tracing(value: str) -> str:
    return f'"tracing":{{"type":"X-Amzn-Trace-Id","value":"{value}"}}'


T0, T250, T500 = "2025-11-29T00:01:40.000Z", "2025-11-29T00:01:40.250Z", "2025-11-29T00:01:40.500Z"


# --- what each kind of invocation writes ---------------------------------------------------------


def test_a_warm_invocation_that_succeeded() -> None:
    entries = whole(invocation())
    report = (
        f"REPORT RequestId: {RID}\tDuration: 500.00 ms\tBilled Duration: 500 ms"
        "\tMemory Size: 512 MB\tMax Memory Used: - MB"
    )
    expected_text = [f"START RequestId: {RID} Version: $LATEST", f"END RequestId: {RID}", report]
    assert text(entries, "current") == expected_text
    assert text(entries, "legacy") == expected_text
    assert json_lines(entries) == [
        f'{{"time":"{T0}","type":"platform.start","record":{{"requestId":"{RID}",'
        f'"version":"$LATEST",{tracing(UNSAMPLED)}}}}}',
        f'{{"time":"{T250}","type":"platform.runtimeDone","record":{{"requestId":"{RID}",'
        '"status":"success","metrics":{"durationMs":250.0,"producedBytes":17},"spans":['
        f'{{"name":"responseLatency","start":"{T0}","durationMs":250.0}},'
        f'{{"name":"responseDuration","start":"{T250}","durationMs":0.0}},'
        f'{{"name":"runtimeOverhead","start":"{T250}","durationMs":0.0}}],'
        f"{tracing(UNSAMPLED)}}}}}",
        f'{{"time":"{T500}","type":"platform.report","record":{{"requestId":"{RID}",'
        '"status":"success","metrics":{"durationMs":500.0,"billedDurationMs":500,'
        '"memorySizeMB":512},"spans":['
        f'{{"name":"extensionOverhead","start":"{T250}","durationMs":250.0}}],'
        f"{tracing(UNSAMPLED)}}}}}",
    ]
    telemetry = [e for e in entries if e.stream == "platform"]
    assert [e.size() for e in telemetry] == [len(e.json_line().encode()) for e in telemetry]
    assert [e.envelope() for e in telemetry] == [json.loads(line) for line in json_lines(entries)]
    assert [e.time for e in entries] == [100.0, 100.25, 100.5, 100.5]


def test_a_timeout_writes_status_timeout_and_the_older_formats_notice() -> None:
    error = {"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out after 3.00 seconds"}
    inv = invocation(status="timeout", error=error, answered=103.0, ended=103.25, produced=None)
    entries = whole(inv)
    report = (
        f"REPORT RequestId: {RID}\tDuration: 3250.00 ms\tBilled Duration: 3250 ms"
        "\tMemory Size: 512 MB\tMax Memory Used: - MB"
    )
    start, end = f"START RequestId: {RID} Version: $LATEST", f"END RequestId: {RID}"
    assert text(entries, "current") == [start, end, f"{report}\tStatus: timeout"]
    notice = f"2025-11-29T00:01:43.000Z {RID} Task timed out after 3.00 seconds"
    assert text(entries, "legacy") == [start, notice, end, report]
    events = [json.loads(line) for line in json_lines(entries)]
    # No error type for a timeout; no spans when the platform answered for the runtime.
    assert events[1]["record"] == {
        "requestId": RID,
        "status": "timeout",
        "metrics": {"durationMs": 3000.0},
        "tracing": {"type": "X-Amzn-Trace-Id", "value": UNSAMPLED},
    }
    assert events[2]["record"]["status"] == "timeout"
    assert "errorType" not in events[2]["record"]
    assert events[2]["record"]["spans"] == [
        {"name": "extensionOverhead", "start": "2025-11-29T00:01:43.000Z", "durationMs": 250.0}
    ]


def test_a_runtime_crash_writes_its_error_type_and_the_two_line_notice() -> None:
    error = {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {RID} Error: Runtime exited with error: exit status 1",
    }
    entries = whole(invocation(status="error", error=error, produced=None))
    current = text(entries, "current")
    assert current[-1].endswith("\tStatus: error\tError Type: Runtime.ExitError")
    legacy = text(entries, "legacy")
    assert legacy[1] == (
        f"RequestId: {RID} Error: Runtime exited with error: exit status 1\nRuntime.ExitError"
    )
    assert "Status" not in legacy[-1]
    events = [json.loads(line) for line in json_lines(entries)]
    assert list(events[1]["record"]) == ["requestId", "status", "errorType", "metrics", "tracing"]
    assert events[1]["record"]["errorType"] == "Runtime.ExitError"
    assert list(events[2]["record"]) == [
        "requestId",
        "status",
        "errorType",
        "metrics",
        "spans",
        "tracing",
    ]


def test_a_failure_without_an_error_type_is_written_as_runtime_unknown() -> None:
    entries = whole(invocation(status="failure", error={"errorMessage": "no type"}, produced=None))
    assert text(entries, "current")[-1].endswith("\tStatus: failure\tError Type: Runtime.Unknown")
    assert len(text(entries, "legacy")) == 3  # the older format has no notice for it
    assert [json.loads(line)["record"].get("errorType") for line in json_lines(entries)] == [
        None,
        "Runtime.Unknown",
        "Runtime.Unknown",
    ]


def test_a_handler_error_answered_by_the_runtime_keeps_its_spans() -> None:
    error = {"errorType": "Runtime.HandlerError", "errorMessage": "boom"}
    entries = whole(invocation(status="error", error=error, produced=40))
    assert len(text(entries, "legacy")) == 3  # the runtime answered: no platform notice
    done = json.loads(json_lines(entries)[1])["record"]
    assert done["metrics"] == {"durationMs": 250.0, "producedBytes": 40}
    assert [span["name"] for span in done["spans"]] == [
        "responseLatency",
        "responseDuration",
        "runtimeOverhead",
    ]


def test_a_sampled_snapstart_invocation_with_measured_memory() -> None:
    inv = invocation(trace_id=SAMPLED, memory=64, init_ms=120.5, restore_ms=30.25)
    report = text(whole(inv), "current")[-1]
    assert report == (
        f"REPORT RequestId: {RID}\tDuration: 500.00 ms\tBilled Duration: 621 ms"
        "\tMemory Size: 512 MB\tMax Memory Used: 64 MB\tInit Duration: 120.50 ms"
        "\tRestore Duration: 30.25 ms\tBilled Restore Duration: 31 ms"
        "\nXRAY TraceId: 1-5759e988-bd862e3fe1be46a994272793\tSegmentId: 53995c3f42cd8ad8"
        "\tSampled: true"
    )
    metrics = json.loads(json_lines(whole(inv))[-1])["record"]["metrics"]
    assert metrics == {
        "durationMs": 500.0,
        "billedDurationMs": 621,
        "memorySizeMB": 512,
        "maxMemoryUsedMB": 64,
        "initDurationMs": 120.5,
        "restoreDurationMs": 30.25,
    }


def test_an_invocation_whose_invoke_phase_never_began_carries_no_tracing() -> None:
    error = {"errorType": "Runtime.ExitError", "errorMessage": "init failed"}
    inv = invocation(status="error", error=error, begun=None, produced=None, delivered=False)
    entries = whole(inv, traced=False)
    assert [type(e.record) for e in entries] == [Start, RuntimeDone, LegacyError, End, Report]
    events = [json.loads(line) for line in json_lines(entries)]
    assert all("tracing" not in event["record"] for event in events)
    assert "spans" not in events[2]["record"]  # the runtime was never reached
    assert events[0]["time"] == T250  # START written at the answer


@pytest.mark.parametrize(
    ("parts", "kinds"),
    [
        ((True, False, False), [Start]),
        ((True, True, False), [Start, RuntimeDone]),
        ((False, True, True), [RuntimeDone, End, Report]),
        ((False, False, True), [End, Report]),
    ],
)
def test_a_run_holds_only_its_own_records(
    parts: tuple[bool, bool, bool], kinds: list[type[Any]]
) -> None:
    start, done, end = parts
    entries = invocation_entries(
        invocation(), CONFIG, OFFSET, start_at=100.0 if start else None, done=done, end=end
    )
    assert [type(e.record) for e in entries] == kinds


def test_the_records_are_frozen_named_data() -> None:
    # Frozen dataclasses, or NamedTuples for the records made on every invocation (cheaper
    # to make); either way named fields that cannot be assigned.
    for entry in whole(invocation()):
        record = entry.record
        assert dataclasses.is_dataclass(record) or hasattr(type(record), "_fields")
        assert record.request_id
        with pytest.raises(AttributeError):
            record.request_id = "other"


# --- every kind of run ------------------------------------------------------------------------

ERRORS = [
    ("success", None),
    ("error", {"errorType": "Runtime.HandlerError", "errorMessage": "boom"}),
    ("error", {"errorType": "Runtime.ExitError", "errorMessage": "RequestId: r Error: exit 1"}),
    ("failure", {"errorType": "Extension.Crash", "errorMessage": "ext died"}),
    ("failure", {"errorMessage": "no type"}),
    ("timeout", {"errorType": "Sandbox.Timedout", "errorMessage": "timed out"}),
    ("timeout", {"errorType": "SnapStartTimeoutException", "errorMessage": "restore"}),
]
NAMES = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Z", "C")), min_size=1)


def _schemas() -> dict[str, Any]:
    return {
        path.name.removesuffix(".schema.json"): json.loads(path.read_text(encoding="utf-8"))
        for path in SPEC_DIR.glob("*.schema.json")
    }


SCHEMAS = _schemas()


@st.composite
def runs(draw: st.DrawFn) -> tuple[Invocation, dict[str, Any]]:
    status, error = draw(st.sampled_from(ERRORS))
    begun = draw(st.floats(0.0, 5000.0))
    answered = begun + draw(st.floats(0.0, 900.0))
    inv = invocation(
        status=status,
        error=error,
        request_id=draw(st.just(RID) | NAMES.filter(lambda s: s.strip() == s)),
        trace_id=draw(st.sampled_from([SAMPLED, UNSAMPLED])),
        started=begun,
        begun=begun,
        answered=answered,
        ended=answered + draw(st.floats(0.0, 10.0)),
        produced=draw(st.none() | st.integers(0, 6_291_456)) if status != "success" else 17,
        delivered=draw(st.booleans()),
        memory=draw(st.none() | st.integers(1, 10_240)),
        init_ms=draw(st.none() | st.floats(0.0, 10_000.0)),
        restore_ms=draw(st.none() | st.floats(0.0, 10_000.0)),
    )
    return inv, {"traced": draw(st.booleans())}


@settings(max_examples=300, deadline=None)
@given(runs())
def test_every_kind_of_run_is_valid_and_reads_back(run: tuple[Invocation, dict[str, Any]]) -> None:
    inv, options = run
    entries = whole(inv, **options)
    for entry in entries:
        if entry.stream is not None:
            event = entry.envelope()
            jsonschema.validate(event, SCHEMAS[event["type"]])
            assert entry.size() == len(entry.json_line().encode())
            assert json.loads(entry.json_line()) == event
    for style in ("current", "legacy"):
        for line in text(entries, style):  # type: ignore[arg-type]
            record = parse_line(line)
            assert record is not None, line
            assert getattr(record, "request_id", inv.request_id) == inv.request_id
            if isinstance(record, Report):
                report = entries[-1].record
                assert record.billed_duration_ms == report.billed_duration_ms
                assert record.max_memory_used_mb == report.max_memory_used_mb
                assert record.status == (report.status if style == "current" else None) or (
                    report.status == "success" and record.status is None
                )
            if isinstance(record, LegacyTimeout):
                assert record.timeout_s == CONFIG.timeout


# --- time formatting ----------------------------------------------------------------------------


@settings(max_examples=2000, deadline=None)
@given(st.floats(0.0, 4_102_444_800.0))
def test_format_wall_matches_format_time(wall: float) -> None:
    moment = datetime.fromtimestamp(wall, UTC)
    assert format_wall(wall) == format_time(moment)
    assert format_time(moment) == moment.replace(tzinfo=None).isoformat("T", "milliseconds") + "Z"


@pytest.mark.parametrize(
    "wall", [0.0, 1.9999996, 1_764_374_399.9995, 1_764_374_399.999, 1_876_570_094.5409997]
)
def test_format_wall_rounds_as_datetime_does(wall: float) -> None:
    assert format_wall(wall) == format_time(datetime.fromtimestamp(wall, UTC))


def test_format_time_of_a_naive_an_old_and_a_far_moment() -> None:
    assert format_time(datetime(2025, 11, 29, 0, 0, 0, 999_999)) == "2025-11-29T00:00:00.999Z"
    assert format_time(datetime(1960, 5, 1, 1, 2, 3, 4_000, UTC)) == "1960-05-01T01:02:03.004Z"
    assert format_time(datetime(2300, 1, 1, 0, 0, 0, 999_999, UTC)) == "2300-01-01T00:00:00.999Z"


@pytest.mark.parametrize("fast", [True, False])
def test_json_lines_and_sizes_are_the_same_with_or_without_orjson(
    fast: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not fast:
        monkeypatch.setattr(jsonlog, "_orjson", None)
    data = {"time": "2026-11-29T00:00:00.250Z", "type": "function", "record": 'héllo \u2603 "q"'}
    line = jsonlog.render_json_line(data)
    assert line == json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    assert jsonlog.json_size(data) == len(line.encode())
    assert jsonlog.json_size([data, data]) == 2 * len(line.encode()) + 3

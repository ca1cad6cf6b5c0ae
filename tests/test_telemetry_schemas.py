"""The telemetry JSON Schemas: shipping, validity, agreement with the records, and properties."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambda_lifecycle.formats import records, schemas
from lambda_lifecycle.formats.jsonlog import envelope, parse_envelope
from lambda_lifecycle.formats.records import (
    AppLog,
    ExtensionLog,
    ExtensionState,
    FunctionLog,
    InitReport,
    InitRuntimeDone,
    InitStart,
    LogsDropped,
    Report,
    RestoreReport,
    RestoreRuntimeDone,
    RestoreStart,
    RuntimeDone,
    Span,
    Start,
    TelemetryRecord,
    TelemetrySubscription,
    Tracing,
    record_from,
)
from lambda_lifecycle.formats.textlog import parse_line

SPEC_DIR = Path(__file__).resolve().parent.parent / "specs" / "telemetry"
SUFFIX = ".schema.json"
AT = datetime(2022, 10, 12, 0, 0, 15, 64_000, tzinfo=UTC)
TRACE = "Root=1-6720f1a0-0123456789abcdef01234567;Parent=1111111111111111;Sampled=1"

DOCUMENTED_TYPES = {
    "platform.initStart",
    "platform.initRuntimeDone",
    "platform.initReport",
    "platform.restoreStart",
    "platform.restoreRuntimeDone",
    "platform.restoreReport",
    "platform.start",
    "platform.runtimeDone",
    "platform.report",
    "platform.extension",
    "platform.telemetrySubscription",
    "platform.logsDropped",
    "function",
    "extension",
}

SPAN = Span("responseLatency", AT, 1.25)

# For every type, the smallest record and one with every optional field.
EXAMPLES: list[TelemetryRecord] = [
    InitStart(None, None, "on-demand", "init", "orders", "$LATEST"),
    InitStart("python:3.13.v14", "arn:x", "snap-start", "invoke", "orders", "3", "i-1", 3008),
    InitRuntimeDone("provisioned-concurrency", "init", "success"),
    InitRuntimeDone("on-demand", "invoke", "error", "Runtime.ExitError", (SPAN,)),
    InitReport("on-demand", "init", "timeout", None, 10_000.0),
    InitReport("snap-start", "init", "error", "Extension.Crash", 1236.04, (SPAN,)),
    RestoreStart(None, None, "orders", "3"),
    RestoreStart("java21.v9", "arn:x", "orders", "3", "i-1", 512),
    RestoreRuntimeDone("success"),
    RestoreRuntimeDone("failure", "Runtime.ExitError", (SPAN,)),
    RestoreReport("success", None, None),
    RestoreReport("error", "Runtime.ExitError", 1236.04, (SPAN,)),
    Start("r-1"),
    Start("r-1", "$LATEST", Tracing(TRACE, span_id="54565fb41ac79632")),
    RuntimeDone("r-1", "success"),
    RuntimeDone("r-1", "failure", "Function.Unhandled", 12.5, 42, (SPAN,), Tracing(TRACE)),
    Report("r-1", "success", None, 1.5, 2, 128, None),
    Report("r-1", "timeout", "Sandbox.Timedout", 3016.78, 3101, 128, 31, 84.0, None, None),
    Report("r-1", "error", "Runtime.ExitError", 20.0, 21, 512, 90, None, 311.5, None, (SPAN,)),
    ExtensionState("telemetry-ext", "Ready", ()),
    ExtensionState("telemetry-ext", "Ready", ("INVOKE", "SHUTDOWN"), "Extension.Crash"),
    TelemetrySubscription("telemetry-ext", "Subscribed", ("platform", "function", "extension")),
    LogsDropped(1024, 3, "Consumer seems to have fallen behind"),
    FunctionLog("[INFO]\t2022-10-12T00:00:15.064Z\tr-1\thello\n"),
    FunctionLog(AppLog(AT, "INFO", "r-1", "hello", MappingProxyType({"logger": "root"}))),
    ExtensionLog("starting"),
    ExtensionLog(AppLog(AT, "WARN", None, "during init")),
]


def validator(event_type: str) -> jsonschema.Draft202012Validator:
    schema = schemas.load_schema(event_type)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def assert_valid(event: dict[str, Any]) -> None:
    validator(event["type"]).validate(event)


def is_valid(event: dict[str, Any], event_type: str | None = None) -> bool:
    return validator(event_type or event["type"]).is_valid(event)


# --- shipping ---------------------------------------------------------------------------------


def test_the_loader_reads_the_spec_files_themselves() -> None:
    spec_names = sorted(path.name.removesuffix(SUFFIX) for path in SPEC_DIR.glob(f"*{SUFFIX}"))
    assert list(schemas.schema_types()) == spec_names
    for name in spec_names:
        assert schemas.schema_text(name) == (SPEC_DIR / f"{name}{SUFFIX}").read_text("utf-8")


def test_one_schema_per_documented_type() -> None:
    assert set(schemas.schema_types()) == DOCUMENTED_TYPES
    assert set(records.TELEMETRY_TYPES) == DOCUMENTED_TYPES


def test_loader_refuses_an_unknown_type() -> None:
    with pytest.raises(KeyError):
        schemas.load_schema("platform.nope")


# --- the schemas themselves -------------------------------------------------------------------


@pytest.mark.parametrize("event_type", sorted(DOCUMENTED_TYPES))
def test_schema_is_valid_draft_2020_12(event_type: str) -> None:
    schema = schemas.load_schema(event_type)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == event_type
    assert schema["$id"].endswith(f"/specs/telemetry/{event_type}{SUFFIX}")
    assert schema["properties"]["type"] == {"const": event_type}
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize(
    ("definition", "values"),
    [
        ("initializationType", records.INITIALIZATION_TYPES),
        ("phase", records.PHASES),
        ("status", records.STATUSES),
    ],
)
def test_schema_enums_match_the_record_types(definition: str, values: tuple[str, ...]) -> None:
    found = [
        schema["$defs"][definition]["enum"]
        for schema in schemas.load_schemas().values()
        if definition in schema.get("$defs", {})
    ]
    assert found
    assert all(enum == list(values) for enum in found)


def test_platform_records_forbid_unknown_fields() -> None:
    for event_type, schema in schemas.load_schemas().items():
        if event_type.startswith("platform."):
            assert schema["properties"]["record"]["additionalProperties"] is False, event_type


# --- examples ---------------------------------------------------------------------------------


@pytest.mark.parametrize("record", EXAMPLES, ids=lambda record: record.TYPE)
def test_example_validates_and_round_trips(record: TelemetryRecord) -> None:
    event = json.loads(json.dumps(envelope(record, AT)))
    assert_valid(event)
    assert parse_envelope(event).record == record
    assert record_from(record.TYPE, record.to_record()) == record


def test_every_type_has_an_example() -> None:
    assert {record.TYPE for record in EXAMPLES} == DOCUMENTED_TYPES


@pytest.mark.parametrize(
    "line",
    [
        "REPORT RequestId: r\tDuration: 133.61 ms\tBilled Duration: 214 ms\tMemory Size: 128 MB"
        "\tMax Memory Used: 31 MB\tInit Duration: 80.00 ms\tStatus: error"
        "\tError Type: Runtime.ExitError",
        "RESTORE_REPORT Restore Duration: 1236.04 ms\tStatus: timeout",
        "START RequestId: r Version: $LATEST",
    ],
)
def test_complete_records_parsed_from_text_validate(line: str) -> None:
    record = parse_line(line)
    assert isinstance(record, Report | RestoreReport | Start)
    assert_valid(envelope(record, AT))


def event_of(record: TelemetryRecord) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(envelope(record, AT)))
    return data


@pytest.mark.parametrize(
    ("event_type", "record"),
    [
        (
            "platform.report",
            {
                "requestId": "r",
                "status": "error",
                "metrics": {"durationMs": 1.0, "billedDurationMs": 1, "memorySizeMB": 128},
            },
        ),
        ("platform.runtimeDone", {"requestId": "r", "status": "failure"}),
        (
            "platform.initRuntimeDone",
            {"initializationType": "on-demand", "phase": "init", "status": "error"},
        ),
        (
            "platform.initReport",
            {
                "initializationType": "on-demand",
                "phase": "init",
                "status": "failure",
                "metrics": {"durationMs": 1.0},
            },
        ),
        ("platform.restoreReport", {"status": "error"}),
        ("platform.restoreRuntimeDone", {"status": "failure"}),
    ],
)
def test_failure_and_error_need_an_error_type(event_type: str, record: dict[str, Any]) -> None:
    event = {"time": "2022-10-12T00:00:15.064Z", "type": event_type, "record": record}
    assert not is_valid(event)
    assert is_valid(event | {"record": record | {"errorType": "Runtime.ExitError"}})
    assert is_valid(event | {"record": record | {"status": "timeout"}})


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda e: e["record"].update(color="blue"), "an unknown record field"),
        (lambda e: e.update(extra=1), "an unknown envelope field"),
        (lambda e: e["record"].update(initializationType="cold"), "an unknown initialization"),
        (lambda e: e["record"].update(phase="shutdown"), "an unknown phase"),
        (lambda e: e["record"].pop("functionName"), "a missing required field"),
        (lambda e: e.update(time="2022-10-12T00:00:15"), "a time without a zone"),
        (lambda e: e.update(type="platform.start"), "another type"),
        (lambda e: e["record"].update(instanceMaxMemory=1.5), "a fractional memory size"),
    ],
)
def test_schema_rejects(change: Any, why: str) -> None:
    event = event_of(EXAMPLES[1])
    change(event)
    assert not is_valid(event, "platform.initStart"), why


def test_report_schema_rejects_bad_metrics() -> None:
    event = event_of(EXAMPLES[17])
    event["record"]["metrics"]["billedDurationMs"] = 3100.78
    assert not is_valid(event)
    event = event_of(EXAMPLES[17])
    event["record"]["metrics"]["billedRestoreDurationMs"] = 120
    assert not is_valid(event)
    event = event_of(EXAMPLES[17])
    del event["record"]["metrics"]["memorySizeMB"]
    assert not is_valid(event)


def test_report_schema_documents_its_one_relaxation() -> None:
    metrics = schemas.load_schema("platform.report")["properties"]["record"]["properties"][
        "metrics"
    ]
    assert "maxMemoryUsedMB" in metrics["properties"]
    assert "maxMemoryUsedMB" not in metrics["required"]
    assert "maxMemoryUsedMB" in metrics["$comment"]


# --- properties -------------------------------------------------------------------------------

names = st.text(min_size=1, max_size=12)
optional_names = st.none() | names
durations = st.floats(0, 1e7, allow_nan=False, allow_infinity=False)
counts = st.integers(0, 2**40)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda moment: moment.replace(microsecond=moment.microsecond // 1000 * 1000))
spans = st.lists(st.builds(Span, names, moments, durations), max_size=3).map(tuple)
tracings = st.none() | st.builds(Tracing, names, optional_names)
initialization_types = st.sampled_from(records.INITIALIZATION_TYPES)
phases = st.sampled_from(records.PHASES)


@st.composite
def outcomes(draw: st.DrawFn) -> tuple[Any, str | None]:
    """A status and an error type that AWS could send together."""
    status = draw(st.sampled_from(records.STATUSES))
    needs_error_type = status in {"failure", "error"}
    error_type = draw(names if needs_error_type else optional_names)
    return status, error_type


def with_outcome(build: Any, *args: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``build(*outcome, *drawn)`` with an outcome drawn first."""
    return st.tuples(outcomes(), *args).map(lambda drawn: build(*drawn[0], *drawn[1:]))


app_logs = st.builds(
    AppLog,
    moments,
    names,
    optional_names,
    st.text(max_size=20),
    st.dictionaries(st.sampled_from(["logger", "location"]), st.text(max_size=8)).map(
        MappingProxyType
    ),
)
log_contents = st.text(max_size=30) | app_logs

telemetry_records: st.SearchStrategy[TelemetryRecord] = st.one_of(
    st.builds(
        InitStart,
        optional_names,
        optional_names,
        initialization_types,
        phases,
        names,
        names,
        optional_names,
        st.none() | counts,
    ),
    st.tuples(initialization_types, phases, outcomes(), spans).map(
        lambda d: InitRuntimeDone(d[0], d[1], d[2][0], d[2][1], d[3])
    ),
    st.tuples(initialization_types, phases, outcomes(), durations, spans).map(
        lambda d: InitReport(d[0], d[1], d[2][0], d[2][1], d[3], d[4])
    ),
    st.builds(RestoreStart, optional_names, optional_names, names, names, optional_names),
    with_outcome(RestoreRuntimeDone, spans),
    with_outcome(RestoreReport, st.none() | durations, spans),
    st.builds(Start, names, optional_names, tracings),
    st.tuples(names, outcomes(), st.none() | st.tuples(durations, st.none() | counts)).flatmap(
        lambda d: st.builds(
            RuntimeDone,
            st.just(d[0]),
            st.just(d[1][0]),
            st.just(d[1][1]),
            st.just(None if d[2] is None else d[2][0]),
            st.just(None if d[2] is None else d[2][1]),
            spans,
            tracings,
        )
    ),
    st.tuples(names, outcomes()).flatmap(
        lambda d: st.builds(
            Report,
            st.just(d[0]),
            st.just(d[1][0]),
            st.just(d[1][1]),
            durations,
            counts,
            st.integers(128, 10_240),
            st.none() | counts,
            st.none() | durations,
            st.none() | durations,
            st.none(),
            spans,
            tracings,
        )
    ),
    st.builds(
        ExtensionState,
        names,
        names,
        st.lists(st.sampled_from(records.EXTENSION_EVENTS), unique=True).map(tuple),
        optional_names,
    ),
    st.builds(
        TelemetrySubscription,
        names,
        names,
        st.lists(st.sampled_from(records.TELEMETRY_STREAMS), unique=True).map(tuple),
    ),
    st.builds(LogsDropped, counts, counts, names),
    st.builds(FunctionLog, log_contents),
    st.builds(ExtensionLog, log_contents),
)


@given(telemetry_records, moments)
def test_any_record_validates_and_round_trips(record: TelemetryRecord, moment: datetime) -> None:
    event = json.loads(json.dumps(envelope(record, moment)))
    assert_valid(event)
    assert record_from(record.TYPE, record.to_record()) == record
    parsed = parse_envelope(event)
    assert (parsed.time, parsed.record) == (moment, record)

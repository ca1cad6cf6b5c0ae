"""CloudWatch plain-text lines: golden examples from AWS's pages, billing, and round trips.

The golden lines are kept here as literals. Each pair is (as the page prints it, as the wire
carries it): the source document prints every separator as a space, the wire separates fields
after the first with tabs. Console timestamps in front of a line belong to the CloudWatch
event, not to its message, and are left out.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambda_lifecycle.core import deadlines
from lambda_lifecycle.formats import records, textlog
from lambda_lifecycle.formats.records import (
    End,
    InitReport,
    InitStart,
    LegacyError,
    LegacyTimeout,
    Report,
    RestoreReport,
    Start,
    Tracing,
)
from lambda_lifecycle.formats.textlog import (
    TextRecord,
    follows_current_billing,
    parse_line,
    render_end,
    render_init_report,
    render_init_start,
    render_legacy_error,
    render_legacy_timeout,
    render_line,
    render_report,
    render_restore_report,
    render_start,
)

CRASH_ID = "c3252230-c73d-49f6-8844-968c01d1e2e1"
OLD_TIMEOUT_ID = "b70435cc-261c-4438-b9b6-efe4c8f04b21"
NEW_CRASH_ID = "5b866fb1-7154-4af6-8078-6ef6ca4c2ddd"
NEW_TIMEOUT_ID = "527cb862-4f5e-49a9-9ae4-a7edc90f0fda"

# Source document (Japanese edition of "Understanding the Lambda execution environment
# lifecycle"): every example line, as printed and as on the wire.
SOURCE_DOCUMENT_LINES: list[tuple[str, str]] = [
    # Init failures.
    (
        "INIT_REPORT Init Duration: 1236.04 ms Phase: init Status: timeout",
        "INIT_REPORT Init Duration: 1236.04 ms\tPhase: init\tStatus: timeout",
    ),
    (
        "INIT_REPORT Init Duration: 1236.04 ms Phase: init Status: error "
        "Error Type: Extension.Crash",
        "INIT_REPORT Init Duration: 1236.04 ms\tPhase: init\tStatus: error"
        "\tError Type: Extension.Crash",
    ),
    # Restore failures.
    (
        "RESTORE_REPORT Restore Duration: 1236.04 ms Status: timeout",
        "RESTORE_REPORT Restore Duration: 1236.04 ms\tStatus: timeout",
    ),
    (
        "RESTORE_REPORT Restore Duration: 1236.04 ms Status: error Error Type: Runtime.ExitError",
        "RESTORE_REPORT Restore Duration: 1236.04 ms\tStatus: error\tError Type: Runtime.ExitError",
    ),
    # Runtime or extension crash, older format.
    (
        f"START RequestId: {CRASH_ID} Version: $LATEST",
        f"START RequestId: {CRASH_ID} Version: $LATEST",
    ),
    (
        f"RequestId: {CRASH_ID} Error: Runtime exited without providing a reason\n"
        "Runtime.ExitError",
        f"RequestId: {CRASH_ID} Error: Runtime exited without providing a reason\n"
        "Runtime.ExitError",
    ),
    (f"END RequestId: {CRASH_ID}", f"END RequestId: {CRASH_ID}"),
    (
        f"REPORT RequestId: {CRASH_ID} Duration: 933.59 ms Billed Duration: 934 ms "
        "Memory Size: 128 MB Max Memory Used: 9 MB",
        f"REPORT RequestId: {CRASH_ID}\tDuration: 933.59 ms\tBilled Duration: 934 ms"
        "\tMemory Size: 128 MB\tMax Memory Used: 9 MB",
    ),
    # Function timeout, older format.
    (
        f"START RequestId: {OLD_TIMEOUT_ID} Version: $LATEST",
        f"START RequestId: {OLD_TIMEOUT_ID} Version: $LATEST",
    ),
    (
        f"2024-03-04T17:22:38.033Z {OLD_TIMEOUT_ID} Task timed out after 3.00 seconds",
        f"2024-03-04T17:22:38.033Z {OLD_TIMEOUT_ID} Task timed out after 3.00 seconds",
    ),
    (f"END RequestId: {OLD_TIMEOUT_ID}", f"END RequestId: {OLD_TIMEOUT_ID}"),
    (
        f"REPORT RequestId: {OLD_TIMEOUT_ID} Duration: 3004.92 ms Billed Duration: 3000 ms "
        "Memory Size: 128 MB Max Memory Used: 33 MB Init Duration: 111.23 ms",
        f"REPORT RequestId: {OLD_TIMEOUT_ID}\tDuration: 3004.92 ms\tBilled Duration: 3000 ms"
        "\tMemory Size: 128 MB\tMax Memory Used: 33 MB\tInit Duration: 111.23 ms",
    ),
    # Runtime or extension crash, newer format.
    (
        f"START RequestId: {NEW_CRASH_ID} Version: $LATEST",
        f"START RequestId: {NEW_CRASH_ID} Version: $LATEST",
    ),
    (f"END RequestId: {NEW_CRASH_ID}", f"END RequestId: {NEW_CRASH_ID}"),
    (
        f"REPORT RequestId: {NEW_CRASH_ID} Duration: 133.61 ms Billed Duration: 133 ms "
        "Memory Size: 128 MB Max Memory Used: 31 MB Init Duration: 80.00 ms Status: error "
        "Error Type: Runtime.ExitError",
        f"REPORT RequestId: {NEW_CRASH_ID}\tDuration: 133.61 ms\tBilled Duration: 133 ms"
        "\tMemory Size: 128 MB\tMax Memory Used: 31 MB\tInit Duration: 80.00 ms\tStatus: error"
        "\tError Type: Runtime.ExitError",
    ),
    # Function timeout, newer format.
    (
        f"START RequestId: {NEW_TIMEOUT_ID} Version: $LATEST",
        f"START RequestId: {NEW_TIMEOUT_ID} Version: $LATEST",
    ),
    (f"END RequestId: {NEW_TIMEOUT_ID}", f"END RequestId: {NEW_TIMEOUT_ID}"),
    (
        f"REPORT RequestId: {NEW_TIMEOUT_ID} Duration: 3016.78 ms Billed Duration: 3016 ms "
        "Memory Size: 128 MB Max Memory Used: 31 MB Init Duration: 84.00 ms Status: timeout",
        f"REPORT RequestId: {NEW_TIMEOUT_ID}\tDuration: 3016.78 ms\tBilled Duration: 3016 ms"
        "\tMemory Size: 128 MB\tMax Memory Used: 31 MB\tInit Duration: 84.00 ms\tStatus: timeout",
    ),
    # Suppressed init (console timestamps removed).
    ("START RequestId: XXX Version: $LATEST", "START RequestId: XXX Version: $LATEST"),
    ("END RequestId: XXX", "END RequestId: XXX"),
    (
        "REPORT RequestId: XXX Duration: 3022.91 ms Billed Duration: 3000 ms Memory Size: 512 MB "
        "Max Memory Used: 157 MB",
        "REPORT RequestId: XXX\tDuration: 3022.91 ms\tBilled Duration: 3000 ms"
        "\tMemory Size: 512 MB\tMax Memory Used: 157 MB",
    ),
]

# Facts, section 6: the lines as the project's reference prints them (already tab-separated),
# and the current page's billing examples (Billed Duration = ceil(Duration + Init Duration)).
FACTS_LINES: list[str] = [
    "INIT_START Runtime Version: python:3.13.v14"
    "\tRuntime Version ARN: arn:aws:lambda:us-east-1::runtime:<sha256>",
    "START RequestId: <id> Version: $LATEST",
    "END RequestId: <id>",
    "REPORT RequestId: <id>\tDuration: 133.61 ms\tBilled Duration: 214 ms\tMemory Size: 128 MB"
    "\tMax Memory Used: 31 MB\tInit Duration: 80.00 ms\tStatus: error"
    "\tError Type: Runtime.ExitError",
    "INIT_REPORT Init Duration: 1236.04 ms\tPhase: init\tStatus: timeout",
    "INIT_REPORT Init Duration: 1236.04 ms\tPhase: init\tStatus: error"
    "\tError Type: Extension.Crash",
    "RESTORE_REPORT Restore Duration: 1236.04 ms\tStatus: timeout",
    "RESTORE_REPORT Restore Duration: 1236.04 ms\tStatus: error\tError Type: Runtime.ExitError",
    f"REPORT RequestId: {NEW_TIMEOUT_ID}\tDuration: 3016.78 ms\tBilled Duration: 3101 ms"
    "\tMemory Size: 128 MB\tMax Memory Used: 31 MB\tInit Duration: 84.00 ms\tStatus: timeout",
    f"REPORT RequestId: {OLD_TIMEOUT_ID}\tDuration: 3004.92 ms\tBilled Duration: 3117 ms"
    "\tMemory Size: 128 MB\tMax Memory Used: 33 MB\tInit Duration: 111.23 ms",
]

ARN = "arn:aws:lambda:us-east-1::runtime:" + "5eaca0ec" * 8


def doc_line(fragment: str) -> str:
    """The wire form of the one source-document line that contains ``fragment``."""
    matches = [wire for _, wire in SOURCE_DOCUMENT_LINES if fragment in wire]
    assert len(matches) == 1, f"{fragment!r} names {len(matches)} lines"
    return matches[0]


def parsed(text: str) -> TextRecord:
    record = parse_line(text)
    assert record is not None, f"not recognised: {text!r}"
    return record


def as_report(text: str) -> Report:
    record = parsed(text)
    assert isinstance(record, Report)
    return record


# --- golden lines -------------------------------------------------------------------------------


@pytest.mark.parametrize(("printed", "wire"), SOURCE_DOCUMENT_LINES)
def test_source_document_line_round_trips(printed: str, wire: str) -> None:
    assert parsed(printed) == parsed(wire)
    assert render_line(parsed(wire)) == wire
    assert render_line(parsed(printed)) == wire


@pytest.mark.parametrize("wire", FACTS_LINES)
def test_facts_line_round_trips(wire: str) -> None:
    assert render_line(parsed(wire)) == wire
    assert parsed(wire.replace("\t", " ")) == parsed(wire)


# --- the seed examples, field by field ------------------------------------------------------------


def test_report_with_init_duration() -> None:
    record = as_report(doc_line("Duration: 3004.92"))
    assert record == Report(
        request_id=OLD_TIMEOUT_ID,
        status=None,
        error_type=None,
        duration_ms=3004.92,
        billed_duration_ms=3000,
        memory_size_mb=128,
        max_memory_used_mb=33,
        init_duration_ms=111.23,
    )


def test_report_with_status_timeout() -> None:
    record = as_report(doc_line("Duration: 3016.78"))
    assert (record.status, record.error_type, record.init_duration_ms) == ("timeout", None, 84.0)


def test_report_with_error_type() -> None:
    record = as_report(doc_line("Duration: 133.61"))
    assert (record.status, record.error_type) == ("error", "Runtime.ExitError")
    assert (record.duration_ms, record.billed_duration_ms, record.max_memory_used_mb) == (
        133.61,
        133,
        31,
    )


def test_init_report_timeout_and_extension_crash() -> None:
    timeout = parsed(doc_line("Phase: init\tStatus: timeout"))
    crash = parsed(doc_line("Extension.Crash"))
    assert timeout == InitReport(None, "init", "timeout", None, 1236.04)
    assert crash == InitReport(None, "init", "error", "Extension.Crash", 1236.04)


def test_restore_report_timeout_and_error() -> None:
    assert parsed(
        doc_line("RESTORE_REPORT Restore Duration: 1236.04 ms\tStatus: timeout")
    ) == RestoreReport("timeout", None, 1236.04)
    assert parsed(
        doc_line("RESTORE_REPORT Restore Duration: 1236.04 ms\tStatus: error")
    ) == RestoreReport("error", "Runtime.ExitError", 1236.04)


def test_init_start_with_runtime_version_and_arn() -> None:
    line = f"INIT_START Runtime Version: python:3.13.v14\tRuntime Version ARN: {ARN}"
    record = parsed(line)
    assert record == InitStart("python:3.13.v14", ARN, None, None, None, None)
    assert render_init_start(InitStart("python:3.13.v14", ARN, "on-demand", "init", "f", "1")) == (
        line
    )


def test_start_with_latest() -> None:
    assert parsed(doc_line(f"START RequestId: {CRASH_ID}")) == Start(CRASH_ID, "$LATEST")
    assert render_start(Start("abc", "$LATEST")) == "START RequestId: abc Version: $LATEST"
    assert render_start(Start("abc", "7")) == "START RequestId: abc Version: 7"


def test_end() -> None:
    assert render_end(End("abc")) == "END RequestId: abc"
    assert parsed("END RequestId: abc") == End("abc")


# --- billing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("duration", "init", "billed"),
    [(133.61, 80.00, 214), (3016.78, 84.00, 3101), (3004.92, 111.23, 3117)],
)
def test_billing_since_2025_08_01(duration: float, init: float, billed: int) -> None:
    assert textlog.billed_duration_ms(duration, init) == billed
    record = Report("r", "timeout", None, duration, billed, 128, 31, init_duration_ms=init)
    line = render_report(record)
    assert f"\tBilled Duration: {billed} ms\t" in line
    assert follows_current_billing(as_report(line))


@pytest.mark.parametrize(
    ("fragment", "billed"),
    [
        ("Duration: 3004.92", 3000),
        ("Duration: 133.61", 133),
        ("Duration: 3016.78", 3016),
        ("Duration: 3022.91", 3000),
    ],
)
def test_older_billing_is_read_as_written(fragment: str, billed: int) -> None:
    record = as_report(doc_line(fragment))
    assert record.billed_duration_ms == billed
    assert not follows_current_billing(record)


def test_billing_without_init_agrees_under_both_rules() -> None:
    assert follows_current_billing(as_report(doc_line("Duration: 933.59")))  # 933.59 -> 934


def test_the_billing_helper_is_the_cores_own() -> None:
    assert textlog.billed_duration_ms is deadlines.billed_duration_ms


# --- decisions: unknown memory, status, style ---------------------------------------------------


def test_unknown_max_memory_is_a_dash_that_no_number_reader_mistakes() -> None:
    record = Report("r", None, None, 12.5, 13, 256, None)
    line = render_report(record)
    assert line == (
        "REPORT RequestId: r\tDuration: 12.50 ms\tBilled Duration: 13 ms"
        "\tMemory Size: 256 MB\tMax Memory Used: - MB"
    )
    assert re.search(r"Max Memory Used: (\d+) MB", line) is None
    assert as_report(line).max_memory_used_mb is None
    assert as_report(line.replace("\t", " ")) == record


def test_status_is_printed_only_when_the_invocation_did_not_succeed() -> None:
    success = Report("r", "success", None, 1.0, 1, 128, 40)
    failure = Report("r", "failure", "Function.Unhandled", 1.0, 1, 128, 40)
    assert "Status" not in render_report(success)
    assert render_report(failure).endswith("\tStatus: failure\tError Type: Function.Unhandled")
    assert as_report(render_report(success)).status is None


def test_init_and_restore_reports_always_state_their_status() -> None:
    init = InitReport("snap-start", "init", "success", None, 412.3)
    restore = RestoreReport("success", None, 88.1)
    assert (
        render_init_report(init)
        == "INIT_REPORT Init Duration: 412.30 ms\tPhase: init\tStatus: success"
    )
    assert (
        render_restore_report(restore)
        == "RESTORE_REPORT Restore Duration: 88.10 ms\tStatus: success"
    )


def test_legacy_style_leaves_out_status_and_error_type() -> None:
    record = Report(CRASH_ID, "error", "Runtime.ExitError", 933.59, 934, 128, 9)
    assert render_report(record, style="legacy") == doc_line("Duration: 933.59")
    assert render_line(record, style="legacy") == doc_line("Duration: 933.59")
    assert render_report(record).endswith("\tStatus: error\tError Type: Runtime.ExitError")


def test_snapstart_report_fields_in_order() -> None:
    record = Report("r", "error", "Runtime.ExitError", 20.0, 21, 512, 90, None, 311.5, 120)
    line = render_report(record)
    assert line == (
        "REPORT RequestId: r\tDuration: 20.00 ms\tBilled Duration: 21 ms\tMemory Size: 512 MB"
        "\tMax Memory Used: 90 MB\tRestore Duration: 311.50 ms\tBilled Restore Duration: 120 ms"
        "\tStatus: error\tError Type: Runtime.ExitError"
    )
    assert parsed(line) == record


# --- the older format's notices ---------------------------------------------------------------


def test_legacy_runtime_exit_notice() -> None:
    record = LegacyError(CRASH_ID, textlog.RUNTIME_EXIT_REASON, "Runtime.ExitError")
    assert render_legacy_error(record) == doc_line("Error: Runtime exited")
    first_line_only = f"RequestId: {CRASH_ID} Error: {textlog.RUNTIME_EXIT_REASON}"
    assert parsed(first_line_only) == LegacyError(CRASH_ID, textlog.RUNTIME_EXIT_REASON, None)
    assert render_line(parsed(first_line_only)) == first_line_only


def test_legacy_exit_notice_with_an_exit_status() -> None:
    text = "RequestId: abc Error: Runtime exited with error: exit status 127\nRuntime.ExitError"
    assert parsed(text) == LegacyError(
        "abc", "Runtime exited with error: exit status 127", "Runtime.ExitError"
    )


def test_legacy_timeout_notice() -> None:
    moment = datetime(2024, 3, 4, 17, 22, 38, 33_000, tzinfo=UTC)
    record = LegacyTimeout(moment, OLD_TIMEOUT_ID, 3.0)
    assert render_legacy_timeout(record) == doc_line("Task timed out")
    assert parsed(doc_line("Task timed out")) == record
    tabbed = f"2024-03-04T17:22:38.033Z\t{OLD_TIMEOUT_ID}\tTask timed out after 3.00 seconds"
    assert parsed(tabbed) == record


# --- X-Ray and the wire's extra whitespace --------------------------------------------------------

TRACE_ROOT = "1-6720f1a0-0123456789abcdef01234567"
SEGMENT = "0a1b2c3d4e5f6789"


def test_traced_report_puts_xray_on_a_second_line() -> None:
    tracing = Tracing(f"Root={TRACE_ROOT};Parent=1111111111111111;Sampled=1", span_id=SEGMENT)
    record = Report("r", None, None, 2.25, 3, 128, 39, 140.63, tracing=tracing)
    line = render_report(record)
    assert line.endswith(
        f"\tInit Duration: 140.63 ms\nXRAY TraceId: {TRACE_ROOT}\tSegmentId: {SEGMENT}"
        "\tSampled: true"
    )
    back = as_report(line)
    assert back.tracing == Tracing(f"Root={TRACE_ROOT};Sampled=1", span_id=SEGMENT)
    assert render_report(back) == line


def test_xray_segment_falls_back_to_the_parent_and_sampled_false_is_kept() -> None:
    tracing = Tracing(f"Root={TRACE_ROOT};Parent={SEGMENT};Sampled=0")
    line = render_report(Report("r", None, None, 1.0, 1, 128, 39, tracing=tracing))
    assert line.endswith(f"SegmentId: {SEGMENT}\tSampled: false")


def test_xray_needs_a_root() -> None:
    with pytest.raises(ValueError, match="Root"):
        render_report(Report("r", None, None, 1.0, 1, 128, 39, tracing=Tracing("Sampled=1")))


def test_recorded_event_shape_with_trailing_tabs_and_newline() -> None:
    event = (
        "REPORT RequestId: r\tDuration: 2.25 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB"
        f"\tMax Memory Used: 39 MB\tInit Duration: 140.63 ms\t\nXRAY TraceId: {TRACE_ROOT}"
        f"\tSegmentId: {SEGMENT}\tSampled: true\t\n"
    )
    record = as_report(event)
    assert record.tracing is not None and record.tracing.span_id == SEGMENT
    same_line = event.replace("\t\nXRAY", "\tXRAY")
    assert parsed(same_line) == record
    assert parsed("END RequestId: r\n") == End("r")


# --- what is not a platform line --------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "START of the nightly batch",
        "REPORT",
        "2024-03-04T17:22:38.033Z\tabc\tINFO\tstarting",
        "[INFO]\t2024-03-04T17:22:38.033Z\tabc\tFound credentials",
        "2022-12-20T01:00:00.000-08:00 START RequestId: XXX Version: $LATEST",
        "REPORT RequestId: r\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB",
        "REPORT RequestId: r\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB"
        "\tMax Memory Used: 39 MB\tSomeFutureField: 42 units",
        "INIT_REPORT Init Duration: 1.00 ms\tPhase: later\tStatus: timeout",
        "RESTORE_REPORT Restore Duration: 1.00 ms\tStatus: weird",
    ],
)
def test_other_lines_are_not_recognised(text: str) -> None:
    assert parse_line(text) is None


def test_a_notice_with_an_impossible_time_is_an_error() -> None:
    with pytest.raises(ValueError, match="ISO-8601"):
        parse_line("2024-13-04T17:22:38.033Z abc Task timed out after 3.00 seconds")


# --- what a line cannot say -------------------------------------------------------------------


def test_records_from_text_refuse_to_become_telemetry_they_cannot_fill() -> None:
    init_start = parsed(FACTS_LINES[0])
    assert isinstance(init_start, InitStart)
    with pytest.raises(ValueError, match="initializationType"):
        init_start.to_record()
    with pytest.raises(ValueError, match="status"):
        as_report(doc_line("Duration: 933.59")).to_record()


def test_a_restore_report_line_needs_its_duration() -> None:
    with pytest.raises(ValueError, match="Restore Duration"):
        render_restore_report(RestoreReport("success", None, None))


# --- properties -------------------------------------------------------------------------------

hundredths = st.integers(0, 10**8).map(lambda n: n / 100)
request_ids = st.uuids().map(str)
error_types = st.from_regex(r"[A-Z][a-z]{2,9}\.[A-Z][A-Za-z]{2,12}", fullmatch=True)
hex_ids = st.from_regex(r"[0-9a-f]{16}", fullmatch=True)
trace_roots = st.from_regex(r"1-[0-9a-f]{8}-[0-9a-f]{24}", fullmatch=True)
tokens = st.from_regex(r"[A-Za-z0-9:._$-]{1,30}", fullmatch=True)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda moment: moment.replace(microsecond=moment.microsecond // 1000 * 1000))

xray_tracing = st.builds(
    lambda root, sampled, segment: Tracing(f"Root={root};Sampled={sampled}", span_id=segment),
    trace_roots,
    st.sampled_from(["0", "1"]),
    hex_ids,
)

text_reports = st.builds(
    Report,
    request_id=request_ids,
    status=st.sampled_from([None, "failure", "error", "timeout"]),
    error_type=st.none() | error_types,
    duration_ms=hundredths,
    billed_duration_ms=st.integers(0, 10**6),
    memory_size_mb=st.integers(128, 10_240),
    max_memory_used_mb=st.none() | st.integers(0, 10_240),
    init_duration_ms=st.none() | hundredths,
    restore_duration_ms=st.none() | hundredths,
    billed_restore_duration_ms=st.none() | st.integers(0, 10**6),
    spans=st.just(()),  # plain text carries no spans
    tracing=st.none() | xray_tracing,
)

text_records: st.SearchStrategy[TextRecord] = st.one_of(
    text_reports,
    st.builds(
        InitStart,
        runtime_version=st.none() | tokens,
        runtime_version_arn=st.none() | tokens,
        initialization_type=st.none(),
        phase=st.none(),
        function_name=st.none(),
        function_version=st.none(),
    ),
    st.builds(Start, request_id=request_ids, version=st.none() | tokens, tracing=st.none()),
    st.builds(End, request_id=request_ids),
    st.builds(
        InitReport,
        initialization_type=st.none(),
        phase=st.sampled_from(["init", "invoke"]),
        status=st.sampled_from(["success", "failure", "error", "timeout"]),
        error_type=st.none() | error_types,
        duration_ms=hundredths,
    ),
    st.builds(
        RestoreReport,
        status=st.sampled_from(["success", "failure", "error", "timeout"]),
        error_type=st.none() | error_types,
        duration_ms=hundredths,
    ),
    st.builds(
        LegacyError,
        request_id=request_ids,
        message=st.from_regex(r"[A-Za-z][A-Za-z :.,]{0,40}[A-Za-z.]", fullmatch=True),
        error_type=st.none() | error_types,
    ),
    st.builds(LegacyTimeout, time=moments, request_id=request_ids, timeout_s=hundredths),
)


@given(text_records)
def test_parse_inverts_render(record: TextRecord) -> None:
    line = render_line(record)
    assert parse_line(line) == record
    assert parse_line(line.replace("\t", " ")) == record


@given(
    text_reports,
    st.floats(0, 1e6, allow_nan=False),
    st.sampled_from(["current", "legacy"]),
)
def test_rendering_is_a_fixed_point_for_any_duration(
    record: Report, duration: float, style: textlog.Style
) -> None:
    line = render_report(record._replace(duration_ms=duration), style)
    assert render_report(as_report(line), style) == line


def test_extension_and_telemetry_lines_as_aws_writes_them() -> None:
    # As recorded CloudWatch streams show them: a tab after the keyword too, ", " in lists.
    render_extension = textlog.render_extension
    render_telemetry_subscription = textlog.render_telemetry_subscription
    record = records.ExtensionState("AppConfigAgent", "Ready", ("INVOKE", "SHUTDOWN"))
    assert render_extension(record) == (
        "EXTENSION\tName: AppConfigAgent\tState: Ready\tEvents: [INVOKE, SHUTDOWN]"
    )
    assert render_extension(records.ExtensionState("lambda-adapter", "Ready", ())) == (
        "EXTENSION\tName: lambda-adapter\tState: Ready\tEvents: []"
    )
    subscription = records.TelemetrySubscription("agent", "Subscribed", ("platform", "function"))
    assert render_telemetry_subscription(subscription) == (
        "TELEMETRY\tName: agent\tState: Subscribed\tTypes: [Platform, Function]"
    )

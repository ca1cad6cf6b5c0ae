"""`lambda-lifecycle check`: the source document's examples check clean, and a hand-made log of
each kind of violation is reported under the right rule."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from lambda_lifecycle.check import check_inputs
from lambda_lifecycle.check.checker import CheckResult
from lambda_lifecycle.specs import load_spec
from lambda_lifecycle.tools.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "check"
SOURCE_EXAMPLES = sorted((FIXTURES / "source-document").glob("*.log"))

R1 = "11111111-1111-1111-1111-111111111111"
R2 = "22222222-2222-2222-2222-222222222222"


def report(
    request_id: str = R1,
    duration: str = "100.00",
    billed: int = 100,
    *extra: str,
    memory: int = 128,
    used: int = 60,
) -> str:
    fields = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration} ms",
        f"Billed Duration: {billed} ms",
        f"Memory Size: {memory} MB",
        f"Max Memory Used: {used} MB",
        *extra,
    ]
    return "\t".join(fields)


def invocation(request_id: str = R1, *report_fields: str, **kwargs: int) -> list[str]:
    duration, billed, *extra = report_fields or ("100.00", "100")
    return [
        f"START RequestId: {request_id} Version: $LATEST",
        f"END RequestId: {request_id}",
        report(request_id, duration, int(billed), *extra, **kwargs),
    ]


def check_lines(
    tmp_path: Path, lines: list[str], name: str = "x.log", **kwargs: int
) -> CheckResult:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return check_inputs([str(path)], load_spec(), **kwargs)


def rules_of(result: CheckResult, kind: str = "violation") -> list[str]:
    return [f.rule for f in result.findings if f.kind == kind]


# --- the source document -----------------------------------------------------------------------


def test_every_example_of_the_source_document_is_there() -> None:
    assert len(SOURCE_EXAMPLES) == 9


@pytest.mark.parametrize("example", SOURCE_EXAMPLES, ids=lambda p: p.stem)
def test_source_document_example_checks_clean(example: Path) -> None:
    result = check_inputs([str(example)], load_spec())
    assert result.findings == []
    assert result.exit_status == 0


def test_the_suppressed_init_example_is_seen_as_one() -> None:
    result = check_inputs([str(FIXTURES / "source-document" / "suppressed-init.log")], load_spec())
    assert result.summary.suppressed_inits == 1
    assert result.summary.billed_ms == 3000


def test_all_examples_together_through_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", *map(str, SOURCE_EXAMPLES)]) == 0
    out = capsys.readouterr().out
    assert "environments      9" in out
    assert out.endswith("result: conforms to the spec\n")


# --- one hand-made log per violation --------------------------------------------------------------

INIT = "INIT_START Runtime Version: python:3.13.v14\tRuntime Version ARN: arn:aws:lambda:x"
COLD = ("150.00", "400", "Init Duration: 250.00 ms")

VIOLATIONS: dict[str, tuple[list[str], str, str]] = {
    "start-while-invoking": (
        [INIT, f"START RequestId: {R1} Version: $LATEST", *invocation(R2)],
        "transition",
        "invoke-complete",
    ),
    "init-start-while-frozen": (
        [INIT, *invocation(R1, *COLD), INIT, *invocation(R2, *COLD)],
        "transition",
        "thaw-invoke",
    ),
    "duration-over-the-spec-maximum": (
        [*invocation(R1, "901000.00", "901000")],
        "deadline",
        "deadlines.invoke",
    ),
    "on-demand-init-over-10-s": (
        [INIT, *invocation(R1, "100.00", "12100", "Init Duration: 12000.00 ms")],
        "deadline",
        "deadlines.init",
    ),
    "failed-init-without-init-report": (
        [INIT, *invocation(R1)],
        "init-report",
        "init-error",
    ),
    "successful-suppressed-init-logged": (
        ["INIT_REPORT Init Duration: 20.00 ms\tPhase: invoke\tStatus: success"],
        "init-report",
        "suppressed-init",
    ),
    "init-duration-on-a-warm-report": (
        [INIT, *invocation(R1, *COLD), *invocation(R2, *COLD)],
        "init-duration",
        "init",
    ),
    "init-duration-after-a-provisioned-init": (
        [
            INIT,
            "INIT_REPORT Init Duration: 250.00 ms\tPhase: init\tStatus: success",
            *invocation(R1, *COLD),
        ],
        "init-duration",
        "init",
    ),
    "init-duration-after-a-suppressed-init": (
        [
            INIT,
            *invocation(R1, *COLD, "Status: timeout"),
            *invocation(R2, *COLD),
        ],
        "init-duration",
        "init",
    ),
    "request-started-twice": (
        [INIT, *invocation(R1, *COLD), *invocation(R1)],
        "request-once",
        "",
    ),
    "report-before-end": (
        [INIT, f"START RequestId: {R1} Version: $LATEST", report(R1, *COLD[:1], 400, COLD[2])],
        "request-order",
        "",
    ),
    "end-of-another-request": (
        [INIT, f"START RequestId: {R1} Version: $LATEST", f"END RequestId: {R2}"],
        "request-order",
        "",
    ),
    "error-without-error-type": (
        [INIT, *invocation(R1, *COLD, "Status: error")],
        "status",
        "",
    ),
    "timeout-with-error-type": (
        [INIT, *invocation(R1, *COLD, "Status: timeout", "Error Type: Runtime.ExitError")],
        "status",
        "",
    ),
    "notice-and-status-disagree": (
        [
            f"START RequestId: {R1} Version: $LATEST",
            f"2024-03-04T17:22:38.033Z {R1} Task timed out after 3.00 seconds",
            f"END RequestId: {R1}",
            report(R1, "3004.92", 3000, "Status: error", "Error Type: Runtime.ExitError"),
        ],
        "status",
        "",
    ),
    "init-not-billed-after-august-2025": (
        [
            f"2025-09-01T10:00:00.000Z {INIT}",
            f"2025-09-01T10:00:00.250Z START RequestId: {R1} Version: $LATEST",
            f"2025-09-01T10:00:00.400Z END RequestId: {R1}",
            f"2025-09-01T10:00:00.400Z {report(R1, '150.00', 150, 'Init Duration: 250.00 ms')}",
        ],
        "billing",
        "",
    ),
    "init-billed-before-august-2025": (
        [
            f"2024-09-01T10:00:00.000Z {INIT}",
            f"2024-09-01T10:00:00.250Z START RequestId: {R1} Version: $LATEST",
            f"2024-09-01T10:00:00.400Z END RequestId: {R1}",
            f"2024-09-01T10:00:00.400Z {report(R1, '150.00', 400, 'Init Duration: 250.00 ms')}",
        ],
        "billing",
        "",
    ),
    "suppressed-init-of-a-frozen-environment": (
        [
            f"2024-09-01T10:00:00.000Z {INIT}",
            f"2024-09-01T10:00:00.250Z START RequestId: {R1} Version: $LATEST",
            f"2024-09-01T10:00:00.400Z END RequestId: {R1}",
            f"2024-09-01T10:00:00.400Z {report(R1, '150.00', 150, 'Init Duration: 250.00 ms')}",
            f"2024-09-01T10:01:00.000Z START RequestId: {R2} Version: $LATEST",
            f"2024-09-01T10:01:00.100Z END RequestId: {R2}",
            f"2024-09-01T10:01:00.100Z {report(R2, '900.00', 900)}",
        ],
        "transition",
        "suppressed-init",
    ),
}


@pytest.mark.parametrize("case", sorted(VIOLATIONS))
def test_each_violation_is_reported_under_its_rule(tmp_path: Path, case: str) -> None:
    lines, rule, spec_ref = VIOLATIONS[case]
    result = check_lines(tmp_path, lines)
    violations = result.of_kind("violation")
    assert [v.rule for v in violations] == [rule], [v.message for v in violations]
    assert spec_ref in violations[0].spec
    assert violations[0].line > 0 and violations[0].file.endswith("x.log")
    assert result.exit_status == 1


def test_a_timeout_before_the_function_timeout(tmp_path: Path) -> None:
    lines = [
        INIT,
        *invocation(R1, "1200.00", "1450", "Init Duration: 250.00 ms", "Status: timeout"),
    ]
    result = check_lines(tmp_path, lines, timeout_ms=3000)
    assert rules_of(result) == ["deadline"]
    assert result.findings[0].spec == "deadlines.invoke"
    # Without the timeout, nothing says it came early.
    assert check_lines(tmp_path, lines).findings == []


def test_an_invoke_past_the_given_timeout(tmp_path: Path) -> None:
    lines = [INIT, *invocation(R1, "4000.00", "4250", "Init Duration: 250.00 ms")]
    assert rules_of(check_lines(tmp_path, lines, timeout_ms=3000)) == ["deadline"]


# --- what is fine ---------------------------------------------------------------------------------


def test_a_cold_start_then_warm_invokes_conform(tmp_path: Path) -> None:
    lines = [INIT, *invocation(R1, *COLD), *invocation(R2), "some output of the function"]
    result = check_lines(tmp_path, lines)
    assert result.findings == []
    s = result.summary
    assert (s.environments, s.invokes, s.cold_starts, s.billed_ms) == (1, 2, 1, 500)
    assert s.transitions == {
        "init": 1,
        "init-complete-invoke": 1,
        "thaw-invoke": 1,
        "invoke-complete": 2,
    }


def test_a_retried_failed_request_may_start_again(tmp_path: Path) -> None:
    lines = [
        INIT,
        *invocation(R1, *COLD, "Status: error", "Error Type: ValueError"),
        *invocation(R1),
    ]
    assert check_lines(tmp_path, lines).findings == []


def test_memory_hint_is_not_a_violation(tmp_path: Path) -> None:
    result = check_lines(tmp_path, [INIT, *invocation(R1, *COLD, used=128)])
    assert rules_of(result, "hint") == ["memory"]
    assert result.exit_status == 0


def test_proactive_init_hint(tmp_path: Path) -> None:
    lines = [
        f"2025-09-01T10:00:00.000Z {INIT}",
        f"2025-09-01T10:00:05.000Z START RequestId: {R1} Version: $LATEST",
        f"2025-09-01T10:00:05.150Z END RequestId: {R1}",
        f"2025-09-01T10:00:05.150Z {report(R1, *COLD[:1], 400, COLD[2])}",
    ]
    result = check_lines(tmp_path, lines)
    assert rules_of(result, "hint") == ["proactive-init"]
    assert result.exit_status == 0


def test_aws_logs_tail_lines_name_their_stream(tmp_path: Path) -> None:
    a = "2025/09/01/[$LATEST]0123456789abcdef0123456789abcdef"
    b = "2025/09/01/[$LATEST]fedcba9876543210fedcba9876543210"
    times = ("00.000", "00.250", "00.400", "00.400")
    lines = [
        f"2025-09-01T10:00:{at}000+00:00 {stream} {line}"
        for stream, request_id in ((a, R1), (b, R2))
        for at, line in zip(times, [INIT, *invocation(request_id, *COLD)], strict=True)
    ]
    result = check_lines(tmp_path, lines)
    assert result.findings == []
    assert result.summary.environments == 2
    assert result.summary.cold_starts == 2


# --- other formats --------------------------------------------------------------------------------


def test_aws_cli_export_with_several_streams(tmp_path: Path) -> None:
    def events(stream: str, request_id: str, start: int) -> list[dict[str, object]]:
        lines = [INIT, *invocation(request_id, *COLD)]
        return [
            {"logStreamName": stream, "timestamp": start + at, "message": line + "\n"}
            for at, line in zip((0, 250, 400, 400), lines, strict=True)
        ]

    export = {
        "events": events("2025/09/01/[$LATEST]aa", R1, 1756720800000)
        + events("2025/09/01/[$LATEST]bb", R2, 1756720800100),
        "searchedLogStreams": [],
    }
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export, indent=4), encoding="utf-8")
    result = check_inputs([str(path)], load_spec())
    assert result.findings == []
    assert (result.summary.environments, result.summary.invokes) == (2, 2)


def test_aws_cli_export_breaking_off_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text('{\n  "events": [\n    {"message": "START RequestId: x"},\n    {"mess', "utf-8")
    result = check_inputs([str(path)], load_spec())
    assert result.exit_status == 2
    assert "export.json" in result.unreadable[0]


def envelope(kind: str, record: dict[str, object], second: int = 0) -> dict[str, object]:
    return {"time": f"2025-09-01T10:00:{second:02d}.000Z", "type": kind, "record": record}


def telemetry_invocation(
    request_id: str, second: int, init: float | None = None
) -> list[dict[str, object]]:
    metrics: dict[str, object] = {"durationMs": 10.0, "billedDurationMs": 10, "memorySizeMB": 128}
    if init is not None:
        metrics = {**metrics, "initDurationMs": init, "billedDurationMs": 10 + int(init)}
    return [
        envelope("platform.start", {"requestId": request_id}, second),
        envelope("platform.runtimeDone", {"requestId": request_id, "status": "success"}, second),
        envelope(
            "platform.report",
            {"requestId": request_id, "status": "success", "metrics": metrics},
            second,
        ),
    ]


INIT_EVENTS = [
    envelope(
        "platform.initStart",
        {
            "initializationType": "on-demand",
            "phase": "init",
            "functionName": "f",
            "functionVersion": "$LATEST",
        },
    ),
    envelope(
        "platform.initRuntimeDone",
        {"initializationType": "on-demand", "phase": "init", "status": "success"},
    ),
    envelope(
        "platform.initReport",
        {
            "initializationType": "on-demand",
            "phase": "init",
            "status": "success",
            "metrics": {"durationMs": 5.0},
        },
    ),
]


def test_telemetry_deliveries_as_arrays(tmp_path: Path) -> None:
    first, second = R1, R2
    deliveries = [
        INIT_EVENTS + telemetry_invocation(first, 0, 5.0)[:2],
        telemetry_invocation(first, 0, 5.0)[2:],
    ]
    deliveries.append(telemetry_invocation(second, 1))
    path = tmp_path / "capture.json"
    path.write_text(json.dumps(deliveries, indent=2), encoding="utf-8")
    result = check_inputs([str(path)], load_spec())
    assert result.findings == []
    assert result.summary.invokes == 2


def test_telemetry_ndjson_out_of_order(tmp_path: Path) -> None:
    start, runtime_done, report_event = telemetry_invocation(R1, 0, 5.0)
    events = [*INIT_EVENTS, start, report_event, runtime_done]
    path = tmp_path / "capture.ndjson"
    path.write_text("\n".join(json.dumps(e) for e in events) + "\n", encoding="utf-8")
    result = check_inputs([str(path)], load_spec())
    assert "telemetry-order" in rules_of(result)


# --- malformed input and exit codes ---------------------------------------------------------------


def test_malformed_lines_are_reported_and_reading_goes_on(tmp_path: Path) -> None:
    lines = [
        INIT,
        f"REPORT RequestId: {R1} Duration: soon",
        '{"time": "2025-',
        *invocation(R1, *COLD),
    ]
    result = check_lines(tmp_path, lines)
    assert [(f.rule, f.line) for f in result.findings] == [("malformed", 2), ("malformed", 3)]
    assert result.summary.invokes == 1
    assert result.exit_status == 1


def test_a_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path / "nope.log")]) == 2
    assert "nope.log" in capsys.readouterr().err


def test_violations_exit_1_and_json_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.log"
    path.write_text("\n".join([INIT, *invocation(R1)]) + "\n", encoding="utf-8")
    assert main(["check", "--format", "json", str(path)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["exit"] == 1
    assert data["counts"]["violation"] == 1
    assert data["findings"][0]["rule"] == "init-report"
    assert data["findings"][0]["line"] == 4


def test_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    text = "\n".join([INIT, *invocation(R1, *COLD)]) + "\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    assert main(["check", "-"]) == 0
    assert "invokes           1" in capsys.readouterr().out


def test_garbage_never_crashes_the_checker(tmp_path: Path) -> None:
    import random  # noqa: PLC0415

    pieces = [
        "START RequestId: ",
        "END RequestId: ",
        "REPORT RequestId: ",
        "INIT_START",
        "INIT_REPORT Init Duration: ",
        "RESTORE_REPORT ",
        "RESTORE_START",
        "RequestId: ",
        " Error: ",
        "Runtime.ExitError",
        "\tDuration: 1.00 ms",
        "\tBilled Duration: 1 ms",
        "\tMemory Size: 128 MB",
        "\tMax Memory Used: 128 MB",
        "\tInit Duration: 5.00 ms",
        "\tStatus: timeout",
        "\tStatus: error",
        "\tError Type: X.Y",
        "2024-03-04T17:22:38.033Z ",
        "2025-13-45T99:99:99.000Z ",
        " Task timed out after 3.00 seconds",
        R1,
        R2,
        '{"time": "2025-09-01T10:00:00.000Z", "type": "platform.start", "record": {}}',
        '[{"time": "x", "type": "platform.report", "record": {"requestId": 1}}]',
        "\x00\xff",
        " Version: $LATEST",
        "Phase: invoke",
        "\tPhase: init\tStatus: success",
    ]
    rng = random.Random(13)
    lines = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 6))) for _ in range(3000)]
    path = tmp_path / "garbage.log"
    path.write_text("\n".join(lines), encoding="utf-8", errors="surrogateescape")
    result = check_inputs([str(path)], load_spec())
    assert result.exit_status in (0, 1)
    (tmp_path / "bytes.log").write_bytes(bytes(rng.randrange(256) for _ in range(20000)))
    assert check_inputs([str(tmp_path / "bytes.log")], load_spec()).exit_status in (0, 1)


def test_check_imports_no_engine_and_other_commands_do_not_import_check() -> None:
    import subprocess  # noqa: PLC0415

    code = (
        "import sys\n"
        "from lambda_lifecycle.tools import cli\n"
        "cli.build_parser(only='spec')\n"
        "assert 'lambda_lifecycle.check' not in sys.modules\n"
        "cli.main(['check', '--help'])\n"
        "import lambda_lifecycle.check.command\n"
        "heavy = [m for m in ('anyio', 'lambda_lifecycle.engine') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=60)


def test_json_log_format_at_the_info_level_has_no_runtime_done(tmp_path: Path) -> None:
    events = [
        e
        for e in INIT_EVENTS + telemetry_invocation(R1, 0, 5.0) + telemetry_invocation(R2, 1)
        if not e["type"].endswith("RuntimeDone")
    ]
    lines = [json.dumps(e) for e in events]
    lines.insert(4, '{"timestamp": "2025-09-01T10:00:00Z", "level": "INFO", "message": "hi"}')
    lines.insert(5, "a print() line")
    result = check_lines(tmp_path, lines)
    assert result.findings == []
    assert result.summary.invokes == 2


def test_a_stream_that_begins_with_a_restore_counts_a_cold_start_and_a_restore(
    tmp_path: Path,
) -> None:
    # An environment made from a SnapStart snapshot writes no Init lines of its own: its stream
    # begins with the first invocation, whose REPORT carries the Restore Duration.
    restored = invocation(
        R1, "100.00", "100", "Restore Duration: 250.50 ms", "Billed Restore Duration: 251 ms"
    )
    result = check_lines(tmp_path, [*restored, *invocation(R2)])
    assert result.findings == []
    assert (result.summary.cold_starts, result.summary.restores) == (1, 1)


def test_a_cut_stream_whose_first_report_has_init_duration_counts_a_cold_start(
    tmp_path: Path,
) -> None:
    first = invocation(R1, "100.00", "180", "Init Duration: 80.00 ms")
    result = check_lines(tmp_path, [*first, *invocation(R2)])
    assert result.findings == []
    assert (result.summary.cold_starts, result.summary.restores) == (1, 0)

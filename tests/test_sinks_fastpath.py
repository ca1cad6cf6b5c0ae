"""An invocation's records, built straight from the invocation, equal what the records build.

:class:`~lambda_lifecycle.sinks.invoke_records.InvokeRecords` writes ``START``, the older
format's notices, ``END``, ``REPORT`` and the ``platform.start``, ``platform.runtimeDone`` and
``platform.report`` events without going through :mod:`lambda_lifecycle.formats.records`, and
measures the events' JSON size without building them. These tests rebuild every run the slow
way, from record objects rendered by :mod:`lambda_lifecycle.formats`, over every kind of run
(hypothesis draws the invocations), and require the same text, the same events (key order
included), the same sizes, and the same events again from what a telemetry batch keeps.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.core.deadlines import billed_duration_ms
from lambda_lifecycle.engine.invocation import Invocation, InvokeResult
from lambda_lifecycle.formats import jsonlog
from lambda_lifecycle.formats.jsonlog import envelope, render_json_line
from lambda_lifecycle.formats.records import (
    End,
    LegacyError,
    LegacyTimeout,
    Report,
    RuntimeDone,
    Span,
    Start,
    Tracing,
    format_time,
    format_wall,
)
from lambda_lifecycle.formats.textlog import (
    Style,
    render_end,
    render_legacy_error,
    render_legacy_timeout,
    render_report,
    render_start,
)
from lambda_lifecycle.sinks.invoke_records import InvokeRecords, build_events

OFFSET = 1_764_374_400.0
CONFIG = FunctionConfig(timeout=3.0)
CRASHES = {"Runtime.ExitError", "Extension.Crash"}


class _NoWaiter:
    def set(self) -> None:
        pass


def at(engine_time: float) -> datetime:
    return datetime.fromtimestamp(engine_time + OFFSET, UTC)


def make_invocation(
    *,
    request_id: str,
    trace_id: str,
    status: str,
    error: dict[str, Any] | None,
    started: float | None,
    begun: float | None,
    answered: float,
    ended: float,
    produced: int | None,
    delivered: bool,
    memory: int | None,
    init_ms: float | None,
    restore_ms: float | None,
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
    inv.memory_size_mb, inv.max_memory_used_mb = CONFIG.memory_mb, memory
    inv.init_ms, inv.restore_ms = init_ms, restore_ms
    return inv


def reference(
    inv: Invocation, *, start_at: float | None, done: bool, end: bool, traced: bool
) -> tuple[dict[str, list[str]], list[dict[str, Any]]]:
    """The run the slow way: records, rendered by the formats modules."""
    assert inv.result is not None
    assert inv.answered_at is not None
    assert inv.ended is not None
    rid = inv.request_id
    status = inv.status
    error_type = inv.result.error_type
    if status == "timeout":
        error_type = None
    elif status in ("error", "failure") and error_type is None:
        error_type = "Runtime.Unknown"
    tracing = Tracing(inv.trace_id) if traced else None
    started = inv.started
    answered, ended = inv.answered_at, inv.ended
    latency = 0.0 if started is None else (answered - started) * 1000
    duration = 0.0 if started is None else (ended - started) * 1000
    text: dict[str, list[str]] = {"current": [], "legacy": []}
    events: list[dict[str, Any]] = []
    if start_at is not None:
        start = Start(rid, CONFIG.function_version, tracing)
        events.append(envelope(start, at(start_at)))
        for lines in text.values():
            lines.append(render_start(start))
    if done:
        spans: tuple[Span, ...] = ()
        if inv.produced_bytes is not None:
            spans = (
                Span("responseLatency", at(answered if started is None else started), latency),
                Span("responseDuration", at(answered), 0.0),
                Span("runtimeOverhead", at(answered), 0.0),
            )
        done_record = RuntimeDone(
            rid, status, error_type, latency, inv.produced_bytes, spans, tracing
        )
        events.append(envelope(done_record, at(answered)))
        if inv.produced_bytes is None and inv.result.error_type == "Sandbox.Timedout":
            notice = render_legacy_timeout(LegacyTimeout(at(answered), rid, CONFIG.timeout))
            text["legacy"].append(notice)
        elif inv.produced_bytes is None and status != "success" and error_type in CRASHES:
            message = str((inv.result.error or {}).get("errorMessage") or "")
            message = message.removeprefix(f"RequestId: {rid} Error: ")
            text["legacy"].append(render_legacy_error(LegacyError(rid, message, error_type)))
    if end:
        overhead = max(0.0, (ended - answered) * 1000)
        restore = inv.restore_ms
        report = Report(
            rid,
            status,
            error_type,
            duration,
            billed_duration_ms(duration, inv.init_ms),
            CONFIG.memory_mb,
            inv.max_memory_used_mb,
            inv.init_ms,
            restore,
            None if restore is None else billed_duration_ms(restore),
            (Span("extensionOverhead", at(answered), overhead),) if inv.delivered else (),
            tracing,
        )
        events.append(envelope(report, at(ended)))
        sampled = traced and "Sampled=1" in inv.trace_id.split(";")
        for style, lines in text.items():
            lines.append(render_end(End(rid)))
            shown = dataclasses.replace(report, tracing=tracing if sampled else None)
            lines.append(render_report(shown, style))  # type: ignore[arg-type]
    return text, events


ERRORS = [
    ("success", None),
    ("error", {"errorType": "Runtime.HandlerError", "errorMessage": "boom"}),
    ("error", {"errorType": "Runtime.ExitError", "errorMessage": "RequestId: r Error: exit 1"}),
    ("failure", {"errorType": "Extension.Crash", "errorMessage": "ext died"}),
    ("failure", {"errorMessage": "no type"}),
    ("timeout", {"errorType": "Sandbox.Timedout", "errorMessage": "timed out"}),
    ("timeout", {"errorType": "SnapStartTimeoutException", "errorMessage": "restore"}),
]
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)


@st.composite
def runs(draw: st.DrawFn) -> dict[str, Any]:
    status, error = draw(st.sampled_from(ERRORS))
    begun = draw(st.floats(0.0, 5000.0))
    suppressed = draw(st.booleans())
    started = draw(st.sampled_from([None, begun, begun - 1.234] if suppressed else [begun]))
    latency = draw(st.floats(0.0, 900.0))
    overhead = draw(st.floats(0.0, 10.0))
    answered = begun + latency
    inv = make_invocation(
        request_id=draw(st.sampled_from(["8f7e1c2a-1234-4abc-a123-0123456789ab"]) | TEXT),
        trace_id=draw(
            st.sampled_from(
                [
                    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0",
                    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
                ]
            )
        ),
        status=status,
        error=error,
        started=started,
        begun=begun,
        answered=answered,
        ended=answered + overhead,
        produced=draw(st.none() | st.integers(0, 6_291_456)) if status != "success" else 17,
        delivered=draw(st.booleans()),
        memory=draw(st.none() | st.integers(1, 10_240)),
        init_ms=draw(st.none() | st.floats(0.0, 10_000.0)),
        restore_ms=draw(st.none() | st.floats(0.0, 10_000.0)),
    )
    parts = draw(
        st.sampled_from(
            [
                (True, True, True),
                (True, False, False),
                (True, True, False),
                (False, True, True),
                (False, False, True),
            ]
        )
    )
    return {
        "inv": inv,
        "start_at": begun if parts[0] else None,
        "done": parts[1],
        "end": parts[2],
        "traced": draw(st.booleans()),
    }


def usual() -> dict[str, Any]:
    """The run the invoke path makes most: a whole warm invocation that succeeded."""
    inv = make_invocation(
        request_id="8f7e1c2a-1234-4abc-a123-0123456789ab",
        trace_id="Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0",
        status="success",
        error=None,
        started=100.0,
        begun=100.0,
        answered=100.012345,
        ended=100.0131,
        produced=17,
        delivered=True,
        memory=None,
        init_ms=None,
        restore_ms=None,
    )
    return {"inv": inv, "start_at": 100.0, "done": True, "end": True, "traced": True}


def records_of(run: dict[str, Any], *, text: bool = False, platform: bool = False) -> InvokeRecords:
    parts = {key: value for key, value in run.items() if key != "inv"}
    return InvokeRecords(run["inv"], CONFIG, OFFSET, **parts, text=text, platform=platform)


def check(run: dict[str, Any]) -> None:
    text, events = reference(**run)

    # Once as a sink with both audiences makes it (the usual run's path, when it is one),
    # once with neither (everything on demand).
    for audience in (True, False):
        records = records_of(run, text=audience, platform=audience)
        for style in ("current", "legacy"):
            lines = records.text(style)  # type: ignore[arg-type]
            assert lines == text[style]
            block = records.text_block(style)  # type: ignore[arg-type]
            assert block == "".join(f"{line}\n" for line in lines)
        assert [render_json_line(e) for e in records.events()] == [
            render_json_line(e) for e in events
        ]
        assert records.json_lines() == [render_json_line(e) for e in events]
        sizes = [len(render_json_line(e).encode()) for e in events]
        assert records.sizes() == sizes
        assert records.count == len(events)
        kept = records.kept()
        assert json.loads(json.dumps(kept)) == list(kept)  # plain values only
        assert build_events(kept) == events
        # The size measured without building, for a fresh run of the same kind (the fixed part
        # of each kind is learnt from the first).
        fresh = records_of(run, platform=audience)
        assert fresh.size() == sum(sizes)


@settings(max_examples=400, deadline=None)
@given(runs())
def test_every_kind_of_run_equals_the_records(run: dict[str, Any]) -> None:
    check(run)


def test_the_usual_run_equals_the_records() -> None:
    check(usual())
    records = records_of(usual(), text=True, platform=True)
    assert records.kept()[0] == "usual"  # it took the usual path


@pytest.mark.parametrize("style", ["current", "legacy"])
def test_a_stream_block_is_the_lines_each_with_a_newline(style: Style) -> None:
    records = records_of(usual(), text=True)
    assert records.text_block(style).splitlines() == records.text(style)


@settings(max_examples=2000, deadline=None)
@given(st.floats(0.0, 4_102_444_800.0))
def test_format_wall_matches_format_time(wall: float) -> None:
    assert format_wall(wall) == format_time(datetime.fromtimestamp(wall, UTC))


@pytest.mark.parametrize(
    "wall", [0.0, 1.9999996, 1_764_374_399.9995, 1_764_374_399.999, 1_876_570_094.5409997]
)
def test_format_wall_rounds_as_datetime_does(wall: float) -> None:
    assert format_wall(wall) == format_time(datetime.fromtimestamp(wall, UTC))


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


def test_a_kept_run_holds_no_invocation() -> None:
    for audience in (True, False):
        kept = records_of(usual(), platform=audience).kept()
        assert all(isinstance(v, str | int | float | bool | None) for v in kept)

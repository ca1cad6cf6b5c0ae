"""The invoke path's telemetry events, built directly, equal what the records build.

The bridge builds ``platform.start``, ``platform.runtimeDone`` and ``platform.report`` without
going through :mod:`lambda_lifecycle.formats.records` (see the bridge's comment); these tests
prove the objects are the ones the records' ``to_record()`` and :func:`envelope` would give,
over every combination of the optional fields, and that ``format_wall`` writes times as
``format_time`` does.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from lambda_lifecycle.engine.observe import LifecycleEvent
from lambda_lifecycle.formats import jsonlog
from lambda_lifecycle.formats.jsonlog import envelope, json_size
from lambda_lifecycle.formats.records import (
    Report,
    RuntimeDone,
    Span,
    Start,
    Tracing,
    format_time,
    format_wall,
)
from lambda_lifecycle.sinks.bridge import _report_event, _runtime_done_event, _start_event

WALL = 1_764_374_400.25  # exact in binary: no rounding differences between the two paths
TRACES = [None, Tracing("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"), Tracing("x", "s1")]


def at(wall: float) -> datetime:
    return datetime.fromtimestamp(wall, UTC)


@pytest.mark.parametrize("wall", [WALL, 0.0, 1_700_000_000.5, 1_764_374_399.999])
def test_format_wall_matches_format_time(wall: float) -> None:
    assert format_wall(wall) == format_time(at(wall))


@pytest.mark.parametrize(("version", "tracing"), list(itertools.product([None, "$LATEST"], TRACES)))
def test_start_event(version: str | None, tracing: Tracing | None) -> None:
    record = Start("rid", version, tracing)
    assert _start_event(WALL, record) == envelope(record, at(WALL))


@pytest.mark.parametrize(
    ("status", "error_type", "produced", "tracing"),
    [
        (s, e, p, t)
        for (s, e), p, t in itertools.product(
            [("success", None), ("error", "Runtime.ExitError"), ("timeout", None)],
            [None, 17],
            TRACES,
        )
    ],
)
def test_runtime_done_event(
    status: str, error_type: str | None, produced: int | None, tracing: Tracing | None
) -> None:
    duration = 250.0
    event = LifecycleEvent(
        "runtime_done",
        "env",
        1.0,
        WALL,
        {
            "request_id": "rid",
            "status": status,
            "error_type": error_type,
            "duration_ms": duration,
            "produced_bytes": produced,
        },
    )
    spans = (
        ()
        if produced is None
        else (
            Span("responseLatency", at(WALL - duration / 1000), duration),
            Span("responseDuration", at(WALL), 0.0),
            Span("runtimeOverhead", at(WALL), 0.0),
        )
    )
    record = RuntimeDone("rid", status, error_type, duration, produced, spans, tracing)  # type: ignore[arg-type]
    built = _runtime_done_event(event, tracing)
    assert built == envelope(record, at(WALL))
    assert json_size(built) == len(json.dumps(built, separators=(",", ":")).encode())


@pytest.mark.parametrize(
    ("reached", "memory", "init", "restore", "tracing"),
    list(itertools.product([False, True], [None, 64], [None, 80.0], [None, 12.5], TRACES)),
)
def test_report_event(
    reached: bool,
    memory: int | None,
    init: float | None,
    restore: float | None,
    tracing: Tracing | None,
) -> None:
    data: dict[str, Any] = {
        "request_id": "rid",
        "status": "success",
        "error_type": None,
        "duration_ms": 500.0,
        "billed_duration_ms": 500,
        "memory_size_mb": 128,
        "max_memory_used_mb": memory,
        "init_duration_ms": init,
        "restore_duration_ms": restore,
        "response_latency_ms": 250.0 if reached else None,
        "extension_overhead_ms": 125.0,
        "suppressed_init": False,
    }
    spans = (Span("extensionOverhead", at(WALL - 0.125), 125.0),) if reached else ()
    record = Report(
        "rid", "success", None, 500.0, 500, 128, memory, init, restore, None, spans, tracing
    )
    built = _report_event(LifecycleEvent("invoke_end", "env", 1.0, WALL, data), tracing)
    assert built == envelope(record, at(WALL))


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

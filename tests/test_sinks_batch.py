"""What a telemetry subscriber is handed, and the cheap paths an invocation's records take.

A batch is its events' JSON (the body Lambda POSTs) and, read as a sequence, the events decoded
from it; the engine's spans carry Unix times and must read exactly as spans with a ``datetime``
do; the remembered time texts and the billing arithmetic must give what the plain formulas give;
a log file gets every byte even when the kernel takes a write in pieces.
"""

from __future__ import annotations

import json
import math
import os
import random
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import pytest

from lambda_lifecycle.core.deadlines import billed_duration_ms
from lambda_lifecycle.engine.environment import Environment
from lambda_lifecycle.formats import records
from lambda_lifecycle.formats.jsonlog import encode_json, envelope
from lambda_lifecycle.formats.records import Report, RuntimeDone, Span, Tracing, format_time
from lambda_lifecycle.sinks import attach_log_sink, subscribe_telemetry
from lambda_lifecycle.sinks.batch import TelemetryBatch

from .support import EchoRuntime

EVENTS = [
    {"time": "2026-12-02T00:00:00.001Z", "type": "platform.start", "record": {"requestId": "a"}},
    {"time": "2026-12-02T00:00:00.002Z", "type": "function", "record": "héllo\n"},
    {"time": "2026-12-02T00:00:00.003Z", "type": "platform.start", "record": {"requestId": "b"}},
]


def _batch(groups: Sequence[Sequence[dict[str, Any]]]) -> TelemetryBatch:
    """A batch made as a subscriber makes one: chunks of one or more encoded events."""
    chunks = [encode_json(list(group))[1:-1] for group in groups]
    return TelemetryBatch(chunks, sum(len(group) for group in groups))


def test_a_batch_is_the_json_array_of_its_events_and_reads_as_them() -> None:
    batch = _batch([EVENTS[:2], EVENTS[2:]])
    assert batch.json == encode_json(EVENTS)
    assert json.loads(batch.json) == EVENTS
    assert len(batch) == 3
    assert list(batch) == EVENTS
    assert batch[0] == EVENTS[0]
    assert batch[1:] == EVENTS[1:]
    assert batch == EVENTS
    assert batch == _batch([EVENTS[:1], EVENTS[1:]])  # the same events, chunked otherwise
    assert batch != EVENTS[:2]
    assert batch.events is batch.events  # decoded once
    assert repr(batch) == "TelemetryBatch(3 events)"


def test_an_empty_batch_is_an_empty_array() -> None:
    batch = TelemetryBatch([], 0)
    assert batch.json == b"[]"
    assert len(batch) == 0
    assert list(batch) == []


@pytest.mark.looptime
async def test_a_delivered_batch_is_the_json_of_what_was_buffered() -> None:
    got: list[TelemetryBatch] = []

    async def deliver(batch: TelemetryBatch) -> None:
        got.append(batch)

    env = Environment(EchoRuntime().participant())
    async with env, subscribe_telemetry(env, ["platform"], {"timeoutMs": 25}, deliver=deliver):
        for _ in range(3):
            await (await env.invoke({})).report()
        await anyio.sleep(0.1)
    events = [event for batch in got for event in batch]
    types = [event["type"] for event in events]
    assert types.count("platform.start") == types.count("platform.report") == 3
    for batch in got:
        assert json.loads(batch.json) == list(batch)
        assert batch.json == encode_json(list(batch))  # compact, in order, nothing re-encoded


@pytest.mark.parametrize("seed", range(3))
def test_a_span_that_starts_at_a_unix_time_reads_as_one_that_starts_at_a_datetime(
    seed: int,
) -> None:
    rng = random.Random(seed)
    walls = [rng.uniform(0, 4e9) for _ in range(2_000)]
    # Milliseconds a hair either side of a boundary, where rounding decides.
    walls += [
        s + ms / 1000 + d for s in (1.7e9, 1.7e9 + 59) for ms in (0, 999) for d in (-4e-7, 4e-7)
    ]
    for wall in walls:
        moment = datetime.fromtimestamp(wall, UTC)
        by_wall = Span("responseLatency", wall, 1.5).to_record()
        by_datetime = Span("responseLatency", moment, 1.5).to_record()
        assert by_wall == by_datetime, wall
        assert (
            by_wall["start"] == moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
        )


def test_remembered_times_give_what_formatting_each_anew_gives() -> None:
    rng = random.Random(7)
    walls = [rng.uniform(1.6e9, 1.8e9) for _ in range(200)]
    for wall in [w for w in walls for _ in range(3)] + walls[::-1]:  # hits, misses, clears
        assert records.format_wall(wall) == format_time(datetime.fromtimestamp(wall, UTC))


def test_records_with_unix_time_spans_render_as_before() -> None:
    wall = 1_764_633_600.123456
    at = datetime.fromtimestamp(wall, UTC)
    tracing = Tracing("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
    done = RuntimeDone(
        "r", "success", None, 2.0, 12, (Span("responseLatency", wall, 2.0),), tracing
    )
    same = done._replace(spans=(Span("responseLatency", at, 2.0),))
    assert envelope(done, wall) == envelope(same, wall)
    report = Report(
        "r", "error", "Runtime.ExitError", 3.0, 3, 128, None, spans=(Span("x", wall, 1.0),)
    )
    assert report.to_record()["spans"] == [
        {"name": "x", "start": format_time(at), "durationMs": 1.0}
    ]


def test_billing_rounds_up_but_not_float_noise() -> None:
    rng = random.Random(11)
    totals = [rng.uniform(0, 10_000) for _ in range(20_000)]
    totals += [n + d for n in range(0, 3_000, 7) for d in (-2e-6, -4e-7, 0.0, 4e-7, 6e-7, 2e-6)]
    totals += [n * 0.01 for n in range(100_000)]  # every two-decimal duration up to 1 s
    for total in totals:
        if total >= 0:
            assert billed_duration_ms(total) == math.ceil(round(total, 6)), total


@pytest.mark.looptime
async def test_a_log_file_gets_every_byte_when_the_kernel_takes_them_in_pieces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write
    sizes: list[int] = []

    def dribble(fd: int, data: bytes) -> int:
        written = real_write(fd, data[:7])  # a short write, as a full disk or a signal can cause
        sizes.append(written)
        return written

    monkeypatch.setattr(os, "write", dribble)
    log = tmp_path / "function.log"
    env = Environment(EchoRuntime().participant())
    with attach_log_sink(env, log):
        async with env:
            answer = await env.invoke({})
            await answer.report()
    monkeypatch.undo()
    text = log.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert [
        line.split(" ")[0] for line in lines if line.startswith(("START", "END", "REPORT"))
    ] == [
        "START",
        "END",
        "REPORT",
    ]
    assert text.endswith("\n")
    assert max(sizes) <= 7 and len(sizes) > 10

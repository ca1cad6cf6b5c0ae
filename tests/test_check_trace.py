"""`lambda-lifecycle trace`: the sequence diagram, the timeline of phases, and the HTML page
(opened in a real headless Chromium when one is installed)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from lambda_lifecycle.check.pictures import to_html, to_mermaid_sequence, to_mermaid_timeline
from lambda_lifecycle.check.sources import read_input
from lambda_lifecycle.check.timeline import EnvironmentTrace, TraceBuilder
from lambda_lifecycle.check.trace_command import TRACE_TYPES
from lambda_lifecycle.tools.cli import main

from .test_check_golden import INIT_EVENTS, envelope, telemetry_invocation

EXAMPLE = Path(__file__).parent / "fixtures" / "check" / "example.log"


def traces_of(path: Path) -> list[EnvironmentTrace]:
    return TraceBuilder().build(read_input(str(path), lambda _: None, TRACE_TYPES))


def capture(tmp_path: Path) -> Path:
    extension = envelope(
        "platform.extension", {"name": "otel", "state": "Ready", "events": ["INVOKE", "SHUTDOWN"]}
    )
    events = [INIT_EVENTS[0], extension, *INIT_EVENTS[1:], *telemetry_invocation("r1", 1, 5.0)]
    path = tmp_path / "capture.json"
    path.write_text(json.dumps([events]), encoding="utf-8")
    return path


def test_the_timeline_of_a_text_log_with_times() -> None:
    (env,) = traces_of(EXAMPLE)
    assert [span.phase for span in env.spans] == [
        "Init",
        "Invoke",
        "Frozen",
        "Invoke",
        "Reset",
        "Invoke",
        "Frozen",
        "Invoke",
    ]
    assert not env.synthetic
    gantt = to_mermaid_timeline([env])
    assert gantt.startswith("gantt\n")
    assert "Reset (timeout) :crit, " in gantt


def test_the_sequence_of_a_telemetry_capture(tmp_path: Path) -> None:
    (env,) = traces_of(capture(tmp_path))
    assert env.participants() == ["Platform", "Runtime", "otel"]
    text = to_mermaid_sequence([env])
    assert "participant P2 as otel" in text
    assert "P0->>P2: INVOKE r1" in text
    assert "P1->>P0: response r1 (success)" in text
    assert text.index("P0->>P1: INVOKE r1") < text.index("P2->>P0: next")


def test_a_log_without_times_is_laid_out_from_durations(tmp_path: Path) -> None:
    path = tmp_path / "plain.log"
    path.write_text(
        "INIT_START\nSTART RequestId: r1 Version: $LATEST\nEND RequestId: r1\n"
        "REPORT RequestId: r1\tDuration: 100.00 ms\tBilled Duration: 350 ms\tMemory Size: 128 MB"
        "\tMax Memory Used: 30 MB\tInit Duration: 250.00 ms\n",
        encoding="utf-8",
    )
    (env,) = traces_of(path)
    assert env.synthetic
    lengths = [(s.phase, (s.end - s.start).total_seconds() * 1000) for s in env.spans]
    assert lengths == [("Init", 250.0), ("Invoke", 100.0)]


def test_the_html_page_needs_nothing_else(tmp_path: Path) -> None:
    traces = traces_of(EXAMPLE) + traces_of(capture(tmp_path))
    page = to_html(traces)
    assert "<script" not in page
    assert set(re.findall(r"https?://[^\"]+", page)) == {"http://www.w3.org/2000/svg"}
    assert page.count('class="phase ') == sum(len(t.spans) for t in traces)


def test_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "trace.html"
    assert main(["trace", "-f", "html", "-o", str(out), str(EXAMPLE)]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert main(["trace", str(EXAMPLE)]) == 0
    assert capsys.readouterr().out.startswith("sequenceDiagram\n")
    assert main(["trace", str(tmp_path / "missing.log")]) == 2


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.processes
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_the_html_page_in_a_headless_browser(tmp_path: Path) -> None:
    assert CHROMIUM is not None
    traces = traces_of(EXAMPLE) + traces_of(capture(tmp_path))
    page = tmp_path / "trace.html"
    page.write_text(to_html(traces), encoding="utf-8")
    command = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"]
    dom = subprocess.run(
        [*command, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert dom.count('class="phase ') == sum(len(t.spans) for t in traces)
    assert dom.count("<svg") == 1 + len(traces)
    shot = tmp_path / "trace.png"
    subprocess.run(
        [*command, f"--screenshot={shot}", "--window-size=1200,800", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

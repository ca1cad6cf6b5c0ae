"""The main job, ``lambda-lifecycle demo``, in virtual time."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from lambda_lifecycle.tools.cli import main
from lambda_lifecycle.tools.demo import tour

pytestmark = pytest.mark.looptime


async def test_the_tour_walks_the_documented_lifecycle() -> None:
    out = io.StringIO()
    await tour(1.0, out)
    text = out.getvalue()
    for expected in [
        "Uninitialized -> Init          init             (spec row init)",
        "| INIT_START Runtime Version: python:3.13.v14",
        'caller got {"count": 2}',
        "Invoke -> Reset         invoke_timeout",
        '"errorType":"Sandbox.Timedout"',
        "Status: timeout",
        "(spec row suppressed-init)",
        'caller got {"count": 1}',
        "Frozen -> Shutdown      shutdown",
        "SHUTDOWN  timeout (the answer to its next call: it was still busy with INVOKE)",
        "SHUTDOWN  spindown",
        "legend: ",
        "every one legal, ending in Shutdown",
    ]:
        assert expected in text, expected
    assert text.index("SHUTDOWN  timeout") < text.index("SHUTDOWN  spindown")


async def test_the_tour_ends_with_concurrent_invokes_in_a_pool() -> None:
    out = io.StringIO()
    await tour(1.0, out)
    text = out.getvalue()
    pool = text[text.index("== concurrent invokes") :]
    assert pool.count("cold start") == 3 and pool.count("warm (reused)") == 3
    assert "3 environments served 6 invocations" in pool
    assert pool.count("shut down (SHUTDOWN spindown)") == 3


@pytest.mark.processes  # real time: the demo runs on anyio.run with its real clock
def test_the_demo_draws_the_run_with_pictures(tmp_path: Path) -> None:
    picture = tmp_path / "run.html"
    assert main(["demo", "--pictures", str(picture)]) == 0
    html = picture.read_text()
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html
    assert "shut down (timeout)" in html and "Init phase=invoke" in html

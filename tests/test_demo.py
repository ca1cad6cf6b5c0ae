"""The main job, ``lambda-lifecycle demo``, in virtual time."""

from __future__ import annotations

import io

import pytest

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

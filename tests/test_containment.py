"""No process outlives its environment: strays that left the group, and an emulator killed hard.

Real processes, real time: a standard-library runtime (``tests/fixtures/runtimes/spawner.py``)
that starts a ``sleep`` in a session of its own, and ``serve`` killed with SIGKILL. Every wait
is a bounded poll of ``/proc``.
"""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request

import httpx
import pytest

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.processes import ProcessRuntime
from lambda_lifecycle.processes.containment import descendants
from lambda_lifecycle.server import Emulator
from tests.fixtures.helpers import FIXTURES, PYTHON, alive, until
from tests.test_cli_serve import RECORDER, served

pytestmark = pytest.mark.processes

SPAWNER = FIXTURES / "runtimes" / "spawner.py"


async def test_a_child_that_left_the_group_ends_with_the_reset_and_with_the_emulator() -> None:
    emulator = Emulator(
        ProcessRuntime([PYTHON, str(SPAWNER)]),
        (),
        FunctionConfig(function_name="fn", timeout=5),
        runtime_api=("127.0.0.1", 0),
        invoke=("127.0.0.1", 0),
    )
    async with emulator, httpx.AsyncClient(timeout=20) as http:
        first = await http.post(emulator.invoke_url, json={"spawn": True})
        daemon = first.json()["pid"]
        assert alive(daemon)
        crash = await http.post(emulator.invoke_url, json={"crash": True})
        assert crash.json()["errorType"] == "Runtime.ExitError"
        await until(lambda: not alive(daemon), within=10)  # the runtime had exited first
        second = await http.post(emulator.invoke_url, json={"spawn": True})
        daemon = second.json()["pid"]
        assert alive(daemon)
    await until(lambda: not alive(daemon), within=10)  # the runtime was still running


def test_a_killed_serve_leaves_no_participant_behind(tmp_path: os.PathLike[str]) -> None:
    folder = os.path.join(tmp_path, "extensions")
    os.mkdir(folder)
    wrapper = os.path.join(folder, "recorder")
    with open(wrapper, "w") as file:
        file.write(f'#!/bin/sh\nexec "{PYTHON}" "{RECORDER}" recorder\n')
    os.chmod(wrapper, 0o755)
    with served(
        "--extensions-dir", folder, "--", PYTHON, str(SPAWNER), env={"RECORDER_DIR": folder}
    ) as (url, process):
        request = urllib.request.Request(url, data=json.dumps({}).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=20) as answer:
            assert answer.status == 200
            assert answer.headers["X-Amz-Function-Error"] is None
        participants = descendants(process.pid)
        assert len(participants) >= 2  # the runtime and the extension (frozen now)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in participants) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not [pid for pid in participants if alive(pid)]

"""The fault matrix with real processes over HTTP, in real time: a representative subset.

Every fault of ``tests/test_fault_matrix.py`` strikes at least once for each participant kind
that can have it: the runtime (a custom runtime speaking the Runtime API), an internal
extension (registered from inside the runtime's process), an external extension subscribed to
SHUTDOWN and one that is not. The participants are ``tests/fixtures/faulty.py``. Each cell
checks the first answer's error type over the invoke API, that the next invocation recovers,
the SHUTDOWN reasons, that a cleanup inside the budget finished and one over it was killed,
that every Reset and Shutdown kept its budget, that the engine's transitions are a walk of the
spec, and (through ``serving``) that no process outlives the emulator.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.core.walk import Step, walk_violations
from lambda_lifecycle.engine.observe import LifecycleEvent
from lambda_lifecycle.processes import ProcessRuntime, discover_extensions
from lambda_lifecycle.server import Emulator
from lambda_lifecycle.specs import load_spec
from tests.fixtures.helpers import FIXTURES, PYTHON, children_of

pytestmark = pytest.mark.processes

FAULTY = FIXTURES / "faulty.py"
TIMEOUT = 3.0  # room for a suppressed init (real processes start) inside it
SLACK = 0.3  # seconds of real-time slack on the budgets

# (who, phase, kind, the first answer's errorType or None for success)
CELLS: list[tuple[str, str, str, str | None]] = [
    ("runtime", "init", "crash", None),  # a failed first Init is retried at that invocation
    ("runtime", "invoke-before-answer", "exit0", "Runtime.ExitError"),
    ("runtime", "invoke-before-answer", "killed", "Runtime.ExitError"),
    ("runtime", "invoke-before-answer", "hang", "Sandbox.Timedout"),
    ("runtime", "invoke-after-answer", "bad_call", None),
    ("runtime", "reset", "sigterm_next", "Sandbox.Timedout"),
    ("runtime", "shutdown", "hang", None),
    ("internal", "invoke-before-answer", "hang", None),
    ("internal", "init", "bad_call", None),
    ("ext-shutdown", "invoke-before-answer", "crash", "Extension.Crash"),
    ("ext-shutdown", "init", "exit0", None),
    ("ext-shutdown", "invoke-after-answer", "killed", None),
    ("ext-shutdown", "reset", "busy", "Sandbox.Timedout"),
    ("ext-shutdown", "reset", "slow_overrun", "Sandbox.Timedout"),
    ("ext-shutdown", "shutdown", "slow_ok", None),
    ("ext-plain", "invoke-before-answer", "crash", "Extension.Crash"),
    ("ext-plain", "invoke-after-answer", "hang", None),
    ("listener", "invoke", "raises", None),
]


def lines(directory: Path, who: str) -> list[dict[str, Any]]:
    path = directory / f"{who}.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def extension_wrappers(directory: Path, plain: bool) -> Path:
    folder = directory / "extensions"
    folder.mkdir()
    wanted = [("ext-shutdown", "INVOKE,SHUTDOWN")] + ([("ext-plain", "INVOKE")] if plain else [])
    for name, events in wanted:
        wrapper = folder / name
        wrapper.write_text(f'#!/bin/sh\nexec "{PYTHON}" "{FAULTY}" extension {name} {events}\n')
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    return folder


def walk(events: list[LifecycleEvent]) -> None:
    steps = [Step.of(e.data) for e in events if e.type == "transition"]
    assert walk_violations(load_spec(), steps, end="Shutdown") == []


@pytest.mark.parametrize(
    ("who", "phase", "kind", "expected"), CELLS, ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CELLS]
)
async def test_fault_matrix_cell_with_real_processes(
    tmp_path: Path, who: str, phase: str, kind: str, expected: str | None
) -> None:
    output: list[tuple[str, str]] = []
    runtime = ProcessRuntime(
        [PYTHON, str(FAULTY), "runtime"], output=lambda n, t: output.append((n, t))
    )
    extensions = discover_extensions(
        extension_wrappers(tmp_path, plain=who == "ext-plain"),
        output=lambda n, t: output.append((n, t)),
    )
    variables = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "FAULT": f"{who}:{phase}:{kind}",
        "FAULT_DIR": str(tmp_path),
        "FAULT_TIMEOUT": str(TIMEOUT),
        **({"FAULT_INTERNAL": "1"} if who == "internal" else {}),
    }
    config = FunctionConfig(function_name="fn", timeout=TIMEOUT)
    emulator = Emulator(
        runtime,
        extensions,
        config,
        runtime_api=("127.0.0.1", 0),
        invoke=("127.0.0.1", 0),
        variables=variables,
    )
    raised: list[str] = []

    def listener(event: LifecycleEvent) -> None:
        if who == "listener" and event.type == "invoke_start" and not raised:
            raised.append(event.type)
            raise RuntimeError("a listener's bug")

    async with emulator, httpx.AsyncClient(timeout=30) as http:
        with emulator.env.subscribe() as sub:
            emulator.env.listen(listener)
            first = await http.post(emulator.invoke_url, content=b"{}")
            second = await http.post(emulator.invoke_url, content=b"{}")
            await emulator.env.shutdown()
            events = sub.drain()
    assert children_of(os.getpid()) == []

    error = first.json().get("errorType") if "x-amz-function-error" in first.headers else None
    assert error == expected, (first.text, output)
    assert second.status_code == 200 and "x-amz-function-error" not in second.headers, (
        second.text,
        output,
    )
    walk(events)
    struck = [
        x
        for w in ("runtime", "internal", "ext-shutdown", "ext-plain")
        for x in lines(tmp_path, w)
        if x["kind"] == "strike"
    ]
    assert struck or who == "listener", output
    for w in ("runtime", "internal", "ext-shutdown", "ext-plain"):
        unexpected = [x for x in lines(tmp_path, w) if x["kind"] == "unexpected"]
        assert unexpected == [], unexpected
    if kind == "bad_call":
        refused = [x for x in lines(tmp_path, who) if x["kind"] == "refused"]
        assert [x["status"] for x in refused] in ([400], [403])

    resets = [e.data["reason"] for e in events if e.type == "reset_start"]
    shutdowns = [x["reason"] for x in lines(tmp_path, "ext-shutdown") if x["kind"] == "shutdown"]
    if who != "ext-shutdown" or phase in ("reset", "shutdown"):
        assert shutdowns == [*resets, "spindown"], (
            shutdowns,
            resets,
            [
                (round(e.time, 2), e.type, e.data)
                for e in events
                if e.type in ("transition", "process_exit", "extension_registered")
            ],
        )
    start = budget = None
    for e in events:
        if e.type == "shutdown_start":
            start, budget = e.time, e.data["budget_ms"] / 1000
        elif e.type in ("reset_end", "shutdown_end") and start is not None:
            assert budget is not None
            assert e.time - start <= budget + SLACK, (e.type, e.time - start)
            start = None
    exits = {(e.data["name"], e.data["signal"]) for e in events if e.type == "process_exit"}
    if kind in ("busy", "slow_ok"):
        assert [x["kind"] for x in lines(tmp_path, who)].count("cleaned") == 1
        assert ("ext-shutdown", "killed") not in exits
    if kind == "slow_overrun":
        assert ("ext-shutdown", "killed") in exits
    if who == "listener":
        assert raised == ["invoke_start"]

"""The fault matrix: participant x phase x fault, each cell a whole lifecycle in virtual time.

Every environment here has the four kinds of participant: the runtime, an internal extension
(INVOKE), an external extension subscribed to INVOKE and SHUTDOWN, and one subscribed to INVOKE
only. In each cell one of them (or a listener of the engine's events) misbehaves once, at one
point of the lifecycle, in one way. Every cell asserts the engine's promises:

- the first invocation got exactly one answer, with AWS's error type for that fault;
- the external extension subscribed to SHUTDOWN got it, with the reason of each Reset and then
  ``spindown``, and one whose cleanup fits the budget finished it;
- every Reset and Shutdown kept its budget (2,000 ms with an external extension);
- the next invocation recovers (a fresh init where the fault reset the environment);
- the engine's transitions are a walk of the spec, and no participant saw an unexpected error;
- no task is left behind.

The cells are generated from the table below; the participant kinds and faults that make no
sense at a point (an internal extension never receives SHUTDOWN) are left out by the table,
not by hand.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.core.errors import APIError
from lambda_lifecycle.core.walk import Step, walk_violations
from lambda_lifecycle.engine.clients import ExtensionClient, RuntimeClient, RuntimeEvent
from lambda_lifecycle.engine.environment import Environment
from lambda_lifecycle.engine.inprocess import InProcessExtension, InProcessRuntime
from lambda_lifecycle.engine.observe import LifecycleEvent
from lambda_lifecycle.specs import load_spec

pytestmark = pytest.mark.looptime

RUNTIME = "runtime"
INTERNAL = "internal"
EXTERNAL = "external"  # INVOKE and SHUTDOWN
PLAIN = "external-no-shutdown"  # INVOKE only
LISTENER = "listener"
EXTENSIONS = (INTERNAL, EXTERNAL, PLAIN)

DEATHS = ("crash", "exit0", "killed")
# phase -> who -> faults
TABLE: dict[str, dict[str, tuple[str, ...]]] = {
    "init": {
        RUNTIME: (*DEATHS, "hang", "bad_call"),
        **dict.fromkeys(EXTENSIONS, (*DEATHS, "hang", "bad_call")),
        LISTENER: ("raises",),
    },
    "invoke-before-answer": {
        RUNTIME: (*DEATHS, "hang", "bad_call"),
        **dict.fromkeys(EXTENSIONS, (*DEATHS, "hang", "bad_call")),
        LISTENER: ("raises",),
    },
    "invoke-after-answer": {
        RUNTIME: (*DEATHS, "hang", "bad_call"),
        **dict.fromkeys(EXTENSIONS, (*DEATHS, "hang", "bad_call")),
    },
    "frozen": dict.fromkeys((RUNTIME, *EXTENSIONS), ("killed",)),
    "restore": {RUNTIME: (*DEATHS, "hang", "bad_call")},
    "reset": {
        RUNTIME: ("crash", "exit0", "hang", "sigterm_next", "bad_call"),
        EXTERNAL: ("crash", "exit0", "hang", "slow_ok", "slow_overrun", "busy", "bad_call"),
        LISTENER: ("raises",),
    },
    "shutdown": {
        RUNTIME: ("crash", "exit0", "hang", "sigterm_next", "bad_call"),
        EXTERNAL: ("crash", "exit0", "hang", "slow_ok", "slow_overrun", "bad_call"),
        LISTENER: ("raises",),
    },
}
CELLS = [
    (who, phase, fault)
    for phase, row in TABLE.items()
    for who, faults in row.items()
    for fault in faults
]
LISTENER_EVENT = {
    "init": "init_start",
    "invoke-before-answer": "invoke_start",
    "reset": "reset_start",
    "shutdown": "shutdown_start",
}
TIMEOUT = 3.0
BUDGET = 2.0
EPS = 0.002


def expected_first_error(who: str, phase: str, fault: str) -> str | None:
    """The error type the first invocation is answered with (None: success)."""
    if phase == "reset":
        return "Sandbox.Timedout"  # the Reset is made by a runtime that overruns its timeout
    if fault in ("bad_call", "raises") or phase in ("init", "invoke-after-answer", "frozen"):
        return None  # a failed first Init is retried once, at this invocation
    if phase == "invoke-before-answer":
        if who == RUNTIME:
            return "Sandbox.Timedout" if fault == "hang" else "Runtime.ExitError"
        return None if fault == "hang" else "Extension.Crash"
    if phase == "restore":
        return "SnapStartTimeoutException" if fault == "hang" else "Runtime.ExitError"
    return None  # shutdown: the invocations are over


@dataclass
class Cell:
    who: str
    phase: str
    fault: str
    env: Environment | None = None
    api_errors: list[tuple[str, str]] = field(default_factory=list)  # unexpected refusals
    bad_calls: list[str] = field(default_factory=list)  # the deliberate ones, refused
    shutdowns: list[str] = field(default_factory=list)  # the SHUTDOWN reasons EXTERNAL got
    cleaned: list[str] = field(default_factory=list)
    struck: bool = False

    def strikes(self, who: str, phase: str) -> bool:
        """Whether the fault happens to ``who`` now (once, in the first generation, except at
        the final spin-down)."""
        if self.struck or who != self.who or phase != self.phase:
            return False
        env = self.env
        assert env is not None
        if phase != "shutdown" and env.generation != 1:
            return False
        self.struck = True
        return True

    def kill_self(self, client: RuntimeClient | ExtensionClient) -> None:
        env = self.env
        assert env is not None
        started = next(p for p in env.procs.entries if p.client is client)
        assert started.process is not None
        started.process.kill()

    async def strike(self, client: RuntimeClient | ExtensionClient) -> None:
        """Misbehave; returns only for the faults after which the participant carries on."""
        fault = self.fault
        if fault == "crash":
            raise SystemExit(3)
        if fault == "exit0":
            raise SystemExit(0)
        if fault == "killed":
            self.kill_self(client)
            await anyio.sleep_forever()
        if fault in ("hang", "slow_overrun"):
            await anyio.sleep(3600)
        if fault in ("slow_ok", "busy"):
            await anyio.sleep(1.0)  # 0.5 s runtime share + 1.0 s: inside the 2 s budget
            self.cleaned.append(self.who)
            raise SystemExit(0)
        if fault == "bad_call":
            try:
                if isinstance(client, RuntimeClient):
                    client.respond("not-the-current-request", b"{}")
                else:
                    client.register(["INVOKE"])  # a second registration
            except APIError as err:
                self.bad_calls.append(err.error_type)
            return
        if fault == "sigterm_next":
            assert isinstance(client, RuntimeClient)
            await self.next(client, RUNTIME)  # held until the process is stopped
        raise AssertionError(f"unknown fault {fault}")

    async def next(self, client: Any, who: str) -> Any:
        try:
            return await client.next()
        except APIError as err:
            self.api_errors.append((who, err.error_type))
            raise


def runtime_main(cell: Cell, snap_start: bool) -> Callable[[RuntimeClient], Any]:
    async def main(client: RuntimeClient) -> None:
        env = cell.env
        assert env is not None
        sigterm = anyio.Event()
        acting_at_stop = cell.who == RUNTIME and cell.phase in ("reset", "shutdown")
        if acting_at_stop:
            client.on_sigterm(sigterm.set)
        if cell.strikes(RUNTIME, "init"):
            await cell.strike(client)
        if snap_start:
            await client.restore_next()
            if cell.strikes(RUNTIME, "restore"):
                await cell.strike(client)
        while True:
            event: RuntimeEvent | None = None
            async with anyio.create_task_group() as tg:

                async def interrupt(scope: anyio.CancelScope = tg.cancel_scope) -> None:
                    await sigterm.wait()
                    scope.cancel()

                tg.start_soon(interrupt)
                event = await cell.next(client, RUNTIME)
                tg.cancel_scope.cancel()
            if sigterm.is_set():  # SIGTERM while waiting in next: the spin-down
                if cell.strikes(RUNTIME, "shutdown"):
                    await cell.strike(client)
                return
            assert event is not None
            if cell.phase == "reset" and env.generation == 1:
                # overrun the timeout: the Reset follows
                if acting_at_stop:
                    await sigterm.wait()
                    if cell.strikes(RUNTIME, "reset"):
                        await cell.strike(client)
                    return
                await anyio.sleep(3600)
            if cell.strikes(RUNTIME, "invoke-before-answer"):
                await cell.strike(client)
            await anyio.sleep(0.2)
            client.respond(event.request_id, b'{"ok": true}')
            if cell.strikes(RUNTIME, "invoke-after-answer"):
                await cell.strike(client)

    return main


def extension_main(cell: Cell, who: str, events: list[str]) -> Callable[[ExtensionClient], Any]:
    async def main(client: ExtensionClient) -> None:
        client.register(events)
        if cell.strikes(who, "init"):
            await cell.strike(client)
        while True:
            event = await cell.next(client, who)
            if event["eventType"] == "SHUTDOWN":
                reason = event["shutdownReason"]
                cell.shutdowns.append(reason)
                if cell.strikes(who, "shutdown" if reason == "spindown" else "reset"):
                    await cell.strike(client)
                return
            env = cell.env
            assert env is not None
            if (cell.who, cell.phase, cell.fault) == (who, "reset", "busy") and env.generation == 1:
                # still working on INVOKE when the timeout resets the environment: its next
                # call is answered with SHUTDOWN, and the rest of the budget is its own
                await anyio.sleep(TIMEOUT + 0.2)
            await anyio.sleep(0.1)
            if cell.strikes(who, "invoke-before-answer"):
                await cell.strike(client)
            await anyio.sleep(0.2)  # the runtime answered at 0.2 s
            if cell.strikes(who, "invoke-after-answer"):
                await cell.strike(client)

    return main


def assert_walk_of_the_spec(events: list[LifecycleEvent]) -> None:
    steps = [Step.of(e.data) for e in events if e.type == "transition"]
    assert walk_violations(load_spec(), steps, end="Shutdown") == []


def assert_budgets_kept(events: list[LifecycleEvent]) -> None:
    start: float | None = None
    for e in events:
        if e.type == "shutdown_start":
            start = e.time
            budget = e.data["budget_ms"] / 1000
        elif e.type in ("reset_end", "shutdown_end") and start is not None:
            assert e.time - start <= budget + EPS, f"{e.type} after {e.time - start:.3f} s"
            start = None


@pytest.mark.parametrize(("who", "phase", "fault"), CELLS, ids=["-".join(c) for c in CELLS])
async def test_fault_matrix_cell(who: str, phase: str, fault: str) -> None:
    baseline = set(asyncio.all_tasks())
    cell = Cell(who, phase, fault)
    snap_start = phase == "restore"
    config = FunctionConfig(
        timeout=TIMEOUT,
        initialization_type="snap-start" if snap_start else "on-demand",
        function_version="1" if snap_start else "$LATEST",
    )
    runtime = InProcessRuntime(runtime_main(cell, snap_start), name=RUNTIME)
    extensions = [
        InProcessExtension(extension_main(cell, INTERNAL, ["INVOKE"]), INTERNAL, "internal"),
        InProcessExtension(extension_main(cell, EXTERNAL, ["INVOKE", "SHUTDOWN"]), EXTERNAL),
        InProcessExtension(extension_main(cell, PLAIN, ["INVOKE"]), PLAIN),
    ]
    env = cell.env = Environment(runtime, extensions, config)
    raised: list[str] = []

    def listener(event: LifecycleEvent) -> None:
        if who == LISTENER and event.type == LISTENER_EVENT[phase] and not raised:
            raised.append(event.type)
            raise RuntimeError("a listener's bug")

    async with env:
        sub = env.subscribe()
        env.listen(listener)
        first = await env.invoke({"n": 1})
        await first.report()
        if phase == "frozen":
            assert env.state == "Frozen"
            started = next(p for p in env.procs.entries if p.name == who or p.kind == who)
            assert started.process is not None
            with env.subscribe() as watch, anyio.fail_after(5):
                started.process.kill()
                cell.struck = True
                async for e in watch:  # the exit is heard, and the Reset runs, while frozen
                    if e.type == "reset_end":
                        break
        second = await env.invoke({"n": 2})
        await second.report()
        third = await env.invoke({"n": 3})
    events = sub.drain()

    expected = expected_first_error(who, phase, fault)
    assert first.error_type == expected, first.body
    assert second.ok, second.body
    assert third.ok, third.body
    done = [e.data["request_id"] for e in events if e.type == "runtime_done"]
    assert sorted(done) == sorted({first.request_id, second.request_id, third.request_id})
    assert cell.struck or who == LISTENER, "the fault never happened"
    assert cell.api_errors == [], cell.api_errors
    if fault == "bad_call":
        assert cell.bad_calls in (["InvalidRequestID"], ["Extension.InvalidExtensionState"])
    assert_walk_of_the_spec(events)
    assert_budgets_kept(events)

    # SHUTDOWN: the subscribed external extension got one per Reset it lived through, with
    # the Reset's reason, and the spin-down's at the end.
    reasons = [e.data["reason"] for e in events if e.type == "reset_start"]
    if who != EXTERNAL or phase in ("reset", "shutdown"):
        assert cell.shutdowns == [*reasons, "spindown"]
    if phase == "reset":
        assert reasons[0] == "timeout"
    exits = {(e.data["name"], e.data["signal"]) for e in events if e.type == "process_exit"}
    if fault in ("slow_ok", "busy"):
        assert cell.cleaned == [EXTERNAL]
        assert (EXTERNAL, "killed") not in exits
    if fault in ("slow_overrun", "hang") and phase in ("reset", "shutdown"):
        assert (who, "killed") in exits
    if who == LISTENER:
        assert raised == [LISTENER_EVENT[phase]]

    leftovers = set(asyncio.all_tasks()) - baseline - {asyncio.current_task()}
    assert not leftovers, leftovers


def test_the_matrix_covers_every_fault_for_every_participant_kind() -> None:
    seen = {(who, fault) for who, _, fault in CELLS}
    for who in (RUNTIME, *EXTENSIONS):
        for fault in (*DEATHS, "hang", "bad_call"):
            assert (who, fault) in seen
    assert {phase for _, phase, _ in CELLS} == set(TABLE)
    assert len(CELLS) >= 70

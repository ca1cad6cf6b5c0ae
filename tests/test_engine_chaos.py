"""Randomly misbehaving participants, driven by hypothesis, in virtual time.

Each example builds an environment whose runtime and extensions misbehave as hypothesis
decides (crash, hang, answer twice, call next before answering, fail or stall their Init), runs
a sequence of invocations and a shutdown under looptime's virtual clock, and checks the engine's
promises: the state path is a walk of the spec, every invocation got exactly one result, no
phase outlived its deadline, and no task is left behind.

hypothesis has no async tests, so each example runs its own event loop (``anyio.run`` with a
looptime loop): virtual time needs no real process here, everything is in-process.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import anyio
import looptime
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambda_lifecycle import (
    APIError,
    Environment,
    ExtensionClient,
    FunctionConfig,
    InProcessExtension,
    InProcessRuntime,
    InvokeResult,
    LifecycleEvent,
    RuntimeClient,
)
from lambda_lifecycle.core.walk import Step, walk_violations
from lambda_lifecycle.specs import load_spec

RUNTIME_MOVES = ["ok", "error", "raise", "exit0", "hang", "slow", "twice", "early"]
EXTENSION_MOVES = ["ok", "slow", "crash", "hang"]
INIT_MOVES = ["ok", "ok", "ok", "init_error", "crash", "stall"]
EPS = 0.002  # seconds of slack on virtual-time deadlines


@dataclass
class Scenario:
    timeout: int
    init_type: str
    extensions: int
    init_moves: list[str]
    invokes: list[tuple[str, list[str], float]]  # runtime move, extension moves, pause after


scenarios = st.builds(
    Scenario,
    timeout=st.integers(1, 20),
    init_type=st.sampled_from(["on-demand", "provisioned-concurrency"]),
    extensions=st.integers(0, 2),
    init_moves=st.lists(st.sampled_from(INIT_MOVES), min_size=1, max_size=6),
    invokes=st.lists(
        st.tuples(
            st.sampled_from(RUNTIME_MOVES),
            st.lists(st.sampled_from(EXTENSION_MOVES), min_size=2, max_size=2),
            st.sampled_from([0.0, 0.5, 30.0]),
        ),
        min_size=1,
        max_size=6,
    ),
)


@dataclass
class Run:
    scenario: Scenario
    plans: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    generation: int = 0
    results: list[InvokeResult] = field(default_factory=list)
    events: list[LifecycleEvent] = field(default_factory=list)
    refusals: list[tuple[str, int, str]] = field(default_factory=list)

    def init_move(self) -> str:
        moves = self.scenario.init_moves
        self.generation += 1
        return moves[(self.generation - 1) % len(moves)]

    async def runtime(self, client: RuntimeClient) -> None:
        move = self.init_move()
        if move == "init_error":
            client.init_error({"errorType": "Runtime.ImportModuleError", "errorMessage": "x"})
            await anyio.sleep_forever()
        if move == "crash":
            raise RuntimeError("init crash")
        if move == "stall":
            await anyio.sleep(200)  # past every Init limit
        timeout = self.scenario.timeout
        while True:
            event = await client.next()
            plan, _ = self.plans[event.request_id]
            if plan == "error":
                client.error(event.request_id, {"errorType": "E", "errorMessage": "m"})
            elif plan == "raise":
                raise RuntimeError("handler crash")
            elif plan == "exit0":
                raise SystemExit(0)
            elif plan == "hang":
                await anyio.sleep_forever()
            elif plan == "slow":
                await anyio.sleep(timeout * 0.5)
                client.respond(event.request_id, b"{}")
            elif plan == "twice":
                client.respond(event.request_id, b"{}")
                try:
                    client.respond(event.request_id, b"{}")
                except APIError as err:
                    self.refusals.append((plan, err.status, err.error_type))
                else:
                    self.refusals.append((plan, 0, "accepted a second answer"))
            elif plan == "early":
                try:
                    await client.next()
                except APIError as err:
                    self.refusals.append((plan, err.status, err.error_type))
                else:
                    self.refusals.append((plan, 0, "next accepted before the answer"))
                client.respond(event.request_id, b"{}")
            else:
                client.respond(event.request_id, b"{}")

    def extension(self, index: int) -> Any:
        async def main(client: ExtensionClient) -> None:
            client.register(["INVOKE", "SHUTDOWN"])
            while True:
                event = await client.next()
                if event["eventType"] == "SHUTDOWN":
                    return
                _, moves = self.plans[event["requestId"]]
                move = moves[index]
                if move == "crash":
                    raise RuntimeError("extension crash")
                if move == "hang":
                    await anyio.sleep_forever()
                if move == "slow":
                    await anyio.sleep(self.scenario.timeout * 0.3)

        return main

    async def play(self) -> None:
        s = self.scenario
        config = FunctionConfig(
            timeout=s.timeout,
            initialization_type=s.init_type,  # type: ignore[arg-type]
        )
        exts = [InProcessExtension(self.extension(i), f"ext{i}") for i in range(s.extensions)]
        async with Environment(InProcessRuntime(self.runtime), exts, config) as env:
            sub = env.subscribe()
            if s.init_type == "provisioned-concurrency":
                await env.init()
            for n, (move, ext_moves, pause) in enumerate(s.invokes):
                rid = f"req-{n}"
                self.plans[rid] = (move, ext_moves)
                result = await env.invoke({}, request_id=rid)
                self.results.append(result)
                await result.report()
                await anyio.sleep(pause)
            await env.shutdown()
            await anyio.lowlevel.checkpoint()
            self.events = sub.drain()
        leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert leftovers == [], f"tasks left behind: {leftovers}"


def check_walk(events: list[LifecycleEvent]) -> None:
    steps = [Step.of(e.data) for e in events if e.type == "transition"]
    assert walk_violations(load_spec(), steps, end="Shutdown") == []


def check_one_result_each(run: Run, events: list[LifecycleEvent]) -> None:
    assert len(run.results) == len(run.scenario.invokes)
    for n, result in enumerate(run.results):
        assert result.request_id == f"req-{n}"
    ends = [e.data["request_id"] for e in events if e.type == "invoke_end"]
    assert ends == [f"req-{n}" for n in range(len(run.scenario.invokes))]
    answered = [e.data["request_id"] for e in events if e.type == "runtime_done"]
    assert len(answered) == len(set(answered)), "an invocation was answered twice"


def check_deadlines(run: Run, events: list[LifecycleEvent]) -> None:
    s = run.scenario
    for e in events:
        d = e.data
        if e.type == "invoke_end":
            assert d["duration_ms"] <= s.timeout * 1000 + EPS * 1000, d
        if e.type == "init_end":
            if d["phase"] == "invoke":
                limit = s.timeout
            elif s.init_type == "on-demand":
                limit = 10
            else:
                limit = max(130, s.timeout)
            assert d["duration_ms"] <= limit * 1000 + EPS * 1000, d
    budgets = [e for e in events if e.type == "shutdown_start"]
    for start in budgets:
        later = [e for e in events if e.time >= start.time and e.type == "process_exit"]
        for exit_event in later[: s.extensions + 1]:
            assert exit_event.time - start.time <= start.data["budget_ms"] / 1000 + EPS


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(scenario=scenarios)
def test_misbehaving_participants_never_break_the_engines_promises(scenario: Scenario) -> None:
    run = Run(scenario)
    loop_factory = lambda: looptime.new_event_loop(start=0, _enabled=True)  # noqa: E731
    anyio.run(run.play, backend="asyncio", backend_options={"loop_factory": loop_factory})
    check_walk(run.events)
    check_one_result_each(run, run.events)
    check_deadlines(run, run.events)
    assert all(r[1:] == (403, "InvalidStateTransition") for r in run.refusals), run.refusals

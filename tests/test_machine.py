"""The state machine built from the spec: identical to the spec, and every cell of the matrix.

The plain-dict model used here is read from the raw JSON document, not through the parser the
machine is built from, so a bug in :mod:`lambda_lifecycle.core.spec` cannot hide itself.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from transitions import Machine, MachineError

from lambda_lifecycle.core.errors import TransitionRefused
from lambda_lifecycle.core.machine import LifecycleMachine
from lambda_lifecycle.core.spec import Spec
from lambda_lifecycle.specs import lifecycle_machine

from .support import GuardModel

ROOT = Path(__file__).resolve().parent.parent
DOC: dict[str, Any] = json.loads((ROOT / "specs" / "lifecycle.json").read_text(encoding="utf-8"))
STATES = sorted(DOC["states"])
EVENTS = sorted(DOC["events"])
GUARD_VALUES = list(itertools.product([False, True], repeat=2))


Env = GuardModel


def expected(state: str, event: str, pending: bool, snapshot: bool) -> str | None:
    """The target the raw spec gives for this cell and these guard values, or None."""
    truth = {
        "invoke_pending": pending,
        "no_invoke_pending": not pending,
        "snapshot_pending": snapshot,
        "no_snapshot_pending": not snapshot,
    }
    targets = [
        row["to"]
        for row in DOC["transitions"]
        if row["from"] == state
        and row["event"] == event
        and ("guard" not in row or truth[row["guard"]])
    ]
    assert len(targets) <= 1, f"spec is not deterministic in {state}/{event}"
    return targets[0] if targets else None


def test_machine_is_identical_to_the_spec(machine: LifecycleMachine, spec: Spec) -> None:
    built = machine.machine
    assert set(built.states) == set(DOC["states"])
    assert built.initial == spec.initial_state
    assert set(built.events) == {row["event"] for row in DOC["transitions"]}
    from_machine = set()
    for name, event in built.events.items():
        for source, transitions in event.transitions.items():
            for t in transitions:
                conditions = tuple((c.func, c.target) for c in t.conditions)
                from_machine.add((source, name, t.dest, conditions))
    from_spec = {
        (row["from"], row["event"], row["to"], ((row["guard"], True),) if "guard" in row else ())
        for row in DOC["transitions"]
    }
    assert from_machine == from_spec
    assert len(DOC["transitions"]) == len(from_spec)


def test_no_auto_transitions(machine: LifecycleMachine) -> None:
    assert not any(name.startswith("to_") for name in machine.machine.events)


@pytest.mark.parametrize(("state", "event"), list(itertools.product(STATES, EVENTS)))
def test_every_cell_of_the_matrix(machine: LifecycleMachine, state: str, event: str) -> None:
    for pending, snapshot in GUARD_VALUES:
        env = Env(state, pending, snapshot)
        target = expected(state, event, pending, snapshot)
        assert machine.can_fire(env, event) == (target is not None)
        if target is None:
            with pytest.raises(TransitionRefused) as refused:
                machine.fire(env, event)
            assert env.state == state, "a refused event must leave the state unchanged"
            err = refused.value
            assert (err.state, err.event) == (state, event)
            assert repr(state) in str(err)
            assert repr(event) in str(err)
            assert err.allowed == machine.allowed_events(state)
        else:
            row = machine.fire(env, event)
            assert env.state == target
            assert (row.source, row.event, row.dest) == (state, event, target)


def test_refusal_lists_the_events_allowed_there(machine: LifecycleMachine) -> None:
    env = Env("Shutdown")
    with pytest.raises(TransitionRefused, match="events allowed in 'Shutdown': none"):
        machine.fire(env, "invoke")
    env = Env("Frozen", snapshot=False)
    with pytest.raises(TransitionRefused, match=r"guard is false now \(snapshot_pending\)"):
        machine.fire(env, "restore")
    assert env.state == "Frozen"


def test_one_machine_serves_many_environments(machine: LifecycleMachine) -> None:
    a, b = Env("Uninitialized"), Env("Uninitialized")
    machine.fire(a, "init")
    assert (a.state, b.state) == ("Init", "Uninitialized")
    assert machine.machine.models == []


class MachineAgainstDictModel(RuleBasedStateMachine):
    """Drive the machine and a plain-dict reading of the spec side by side."""

    def __init__(self) -> None:
        super().__init__()
        self.machine = lifecycle_machine()
        self.env = Env(DOC_INITIAL)
        self.model_state = DOC_INITIAL
        self.visited = {DOC_INITIAL}

    @rule(pending=st.booleans(), snapshot=st.booleans())
    def change_guards(self, pending: bool, snapshot: bool) -> None:
        self.env.pending, self.env.snapshot = pending, snapshot

    @rule(event=st.sampled_from(EVENTS))
    def fire(self, event: str) -> None:
        target = expected(self.model_state, event, self.env.pending, self.env.snapshot)
        if target is None:
            with pytest.raises(TransitionRefused):
                self.machine.fire(self.env, event)
        else:
            self.machine.fire(self.env, event)
            self.model_state = target
            self.visited.add(target)

    @invariant()
    def same_state(self) -> None:
        assert self.env.state == self.model_state


DOC_INITIAL = next(name for name, s in DOC["states"].items() if s["kind"] == "initial")
MachineAgainstDictModel.TestCase.settings = settings(max_examples=200, stateful_step_count=40)
TestMachineAgainstDictModel = MachineAgainstDictModel.TestCase


def test_fire_agrees_with_a_stock_transitions_trigger(machine: LifecycleMachine) -> None:
    """fire() runs the cell's transitions without the event dispatch; on every cell and guard
    value it must do what a stock Machine's trigger does."""
    stock = Machine(
        model=None,
        states=list(DOC["states"]),
        initial=DOC_INITIAL,
        transitions=[
            {
                "trigger": row["event"],
                "source": row["from"],
                "dest": row["to"],
                "conditions": [row["guard"]] if "guard" in row else [],
            }
            for row in DOC["transitions"]
        ],
        auto_transitions=False,
    )
    for state, event in itertools.product(STATES, EVENTS):
        for pending, snapshot in GUARD_VALUES:
            a, b = Env(state, pending, snapshot), Env(state, pending, snapshot)
            try:
                stock_ok: bool | str = (
                    stock.events[event].trigger(a) if event in stock.events else "refused"
                )
            except MachineError:
                stock_ok = "refused"
            if stock_ok is False:  # declared here, every guard false: fire() refuses that too
                stock_ok = "refused"
            try:
                row = machine.fire(b, event)
                lean_ok: bool | str = True
                assert (row.source, row.event, row.dest) == (state, event, b.state)
            except TransitionRefused:
                lean_ok = "refused"
            assert (lean_ok, b.state) == (stock_ok, a.state), (state, event, pending, snapshot)

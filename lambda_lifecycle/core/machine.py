"""The lifecycle state machine, built from the spec with ``transitions``.

One synchronous :class:`transitions.Machine` (``auto_transitions=False``) is built per spec and
shared by every environment: an environment's bookkeeping object is the *model* whose ``state``
attribute the machine moves, and whose properties named after the spec's guards are the guards.
Models are not registered with the machine (``add_model`` is quadratic in the number of models
and keeps every model alive), so triggering goes through :meth:`LifecycleMachine.fire`, which
looks the event up first and refuses an undeclared one with :class:`TransitionRefused` naming
the state, the event and the events allowed there. The state is never changed by a refusal.

The machine performs no I/O and knows nothing about time: each call is one atomic step, and the
scheduler decides when to take it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from transitions import Machine, State
from transitions import Transition as MachineTransition
from transitions.core import EventData

from .errors import TransitionRefused
from .spec import Spec, Transition


class LifecycleModel(Protocol):
    """What the machine needs of a model: its state (guards are looked up by name)."""

    state: str


class LifecycleMachine:
    """The spec's transition table as an executable state machine."""

    __slots__ = ("_allowed", "_cells", "_events", "_fast", "machine", "spec")

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.machine = Machine(
            model=None,
            states=list(spec.states),
            initial=spec.initial_state,
            transitions=[
                {
                    "trigger": row.event,
                    "source": row.source,
                    "dest": row.dest,
                    "conditions": [row.guard] if row.guard else [],
                }
                for row in spec.transitions
            ],
            auto_transitions=False,
            ignore_invalid_triggers=False,
            queued=False,
            send_event=False,
        )
        self._assert_callback_free()
        self._events = self.machine.events
        cells: dict[tuple[str, str], tuple[Transition, ...]] = {}
        for row in spec.transitions:
            cells[(row.source, row.event)] = (*cells.get((row.source, row.event), ()), row)
        self._cells: Mapping[tuple[str, str], tuple[Transition, ...]] = cells
        self._allowed = {state: spec.events_allowed_in(state) for state in spec.states}
        fast: dict[tuple[str, str], tuple[tuple[Transition, MachineTransition, State], ...]] = {}
        for (source, event), rows in cells.items():
            built = self._events[event].transitions[source]
            fast[(source, event)] = tuple(
                (row, _built(built, row), self.machine.states[row.dest]) for row in rows
            )
        self._fast = fast

    def _assert_callback_free(self) -> None:
        machine = self.machine
        hooks = [
            machine.prepare_event,
            machine.before_state_change,
            machine.after_state_change,
            machine.finalize_event,
            machine.on_exception,
            machine.on_final,
        ]
        hooks += [cb for state in machine.states.values() for cb in (state.on_enter, state.on_exit)]
        if any(hooks):
            raise AssertionError("the lifecycle machine must have no callbacks")

    @property
    def initial_state(self) -> str:
        """The state every new environment starts in."""
        return self.spec.initial_state

    def allowed_events(self, state: str) -> tuple[str, ...]:
        """The events the spec declares for ``state`` (their guards may still be false)."""
        return self._allowed[state]

    def can_fire(self, model: LifecycleModel, event: str) -> bool:
        """Whether ``event`` would be accepted now; evaluates guards, changes nothing."""
        rows = self._cells.get((model.state, event))
        return rows is not None and any(
            row.guard is None or bool(getattr(model, row.guard)) for row in rows
        )

    def fire(self, model: LifecycleModel, event: str) -> Transition:
        """Take the transition for ``event`` from the model's state and return its spec row.

        Raises :class:`TransitionRefused` if the spec declares no row for this state and event,
        or if every row's guard is false; the model's state is then unchanged.

        The cell's ``transitions`` transitions are looked up once, when the machine is built;
        firing runs their conditions (the spec's guards) and sets the state through the
        machine. The machine has no callbacks (it refuses to be built with any), so the event
        dispatch around them, which costs more than the rest of a trigger on the invoke path,
        is skipped; a test proves this agrees with a stock trigger on every cell.
        """
        state = model.state
        cell = self._fast.get((state, event))
        if cell is None:
            raise TransitionRefused(state, event, self._allowed[state])
        for row, transition, dest in cell:
            if transition.conditions and not transition._eval_conditions(
                EventData(None, self._events[event], self.machine, model, (), {})
            ):
                continue
            self.machine.set_state(dest, model)
            return row
        raise TransitionRefused(
            state, event, self._allowed[state], [row.guard for row, _, _ in cell if row.guard]
        )


def _built(built: list[MachineTransition], row: Transition) -> MachineTransition:
    """The ``transitions`` transition that was built from ``row``."""
    guards = [row.guard] if row.guard else []
    return next(t for t in built if t.dest == row.dest and [c.func for c in t.conditions] == guards)

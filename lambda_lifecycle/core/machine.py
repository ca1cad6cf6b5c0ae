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

from transitions import Machine

from .errors import TransitionRefused
from .spec import Spec, Transition


class LifecycleModel(Protocol):
    """What the machine needs of a model: its state (guards are looked up by name)."""

    state: str


class LifecycleMachine:
    """The spec's transition table as an executable state machine."""

    __slots__ = ("_allowed", "_cells", "_events", "machine", "spec")

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
            send_event=False,
        )
        self._events = self.machine.events
        cells: dict[tuple[str, str], tuple[Transition, ...]] = {}
        for row in spec.transitions:
            cells[(row.source, row.event)] = (*cells.get((row.source, row.event), ()), row)
        self._cells: Mapping[tuple[str, str], tuple[Transition, ...]] = cells
        self._allowed = {state: spec.events_allowed_in(state) for state in spec.states}

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
        """
        state = model.state
        rows = self._cells.get((state, event))
        if rows is None:
            raise TransitionRefused(state, event, self._allowed[state])
        if not self._events[event].trigger(model):
            raise TransitionRefused(
                state, event, self._allowed[state], [r.guard for r in rows if r.guard]
            )
        if len(rows) == 1:
            return rows[0]
        # Two guarded rows of one cell: the one that fired is the one whose guard holds (the
        # spec guarantees the two guards are a predicate and its negation; guards are pure).
        return next(row for row in rows if row.guard is None or getattr(model, row.guard))

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

from transitions import Event as MachineEvent
from transitions import Machine
from transitions import Transition as MachineTransition
from transitions.core import EventData

from .errors import TransitionRefused
from .spec import Spec, Transition


class SpecTransition(MachineTransition):
    """A ``transitions`` transition of a machine that has no callbacks at all.

    The lifecycle machine is pure: it is built with no state, transition or machine callbacks
    (the scheduler, not the machine, acts on a transition), and :class:`LifecycleMachine`
    refuses to exist otherwise. Its transitions can therefore skip the callback dispatch and the
    debug logging of :meth:`transitions.Transition.execute`, which cost more than half of a
    trigger on the invoke path; the conditions (the spec's guards) and the state change are
    ``transitions``' own. A test proves this machine and a stock ``Machine`` agree on every cell.
    """

    def execute(self, event_data: EventData) -> bool:
        if not self._eval_conditions(event_data):
            return False
        machine = event_data.machine
        assert self.dest is not None  # the spec has no internal (dest-less) transitions
        machine.set_state(self.dest, event_data.model)
        event_data.update(getattr(event_data.model, machine.model_attribute))
        return True


class SpecEvent(MachineEvent):
    """A ``transitions`` event of a machine without callbacks: no prepare, finalize or
    exception callback dispatch (an exception simply propagates)."""

    def trigger(self, model: object, *args: object, **kwargs: object) -> bool:
        # The machine is built unqueued and without callbacks: no queue to go through.
        return self._trigger(EventData(None, self, self.machine, model, args=args, kwargs=kwargs))

    def _trigger(self, event_data: EventData) -> bool:
        event_data.state = self.machine.get_model_state(event_data.model)
        if self._is_valid_source(event_data.state):
            self._process(event_data)
        return bool(event_data.result)

    def _process(self, event_data: EventData) -> bool:
        for transition in self.transitions[event_data.state.name]:
            event_data.transition = transition
            if transition.execute(event_data):
                event_data.result = True
                return True
        return False


class SpecMachine(Machine):
    """``transitions.Machine`` with the callback-free :class:`SpecEvent` and
    :class:`SpecTransition` as its event and transition classes."""

    event_cls = SpecEvent
    transition_cls = SpecTransition


class LifecycleModel(Protocol):
    """What the machine needs of a model: its state (guards are looked up by name)."""

    state: str


class LifecycleMachine:
    """The spec's transition table as an executable state machine."""

    __slots__ = ("_allowed", "_cells", "_events", "machine", "spec")

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.machine = SpecMachine(
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

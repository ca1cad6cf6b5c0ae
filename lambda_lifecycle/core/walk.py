"""Is a recorded sequence of transitions a walk of the spec?

The engine publishes every step it takes as a ``transition`` event (the spec row's id, the
states before and after, the event that fired). :func:`walk_violations` checks such a sequence
against the spec: every step is a row of the spec, recorded as the spec writes it, and taken
from the state the previous step left (the first from the spec's initial state, or ``start``).
It returns what is wrong, in words, so that a test, the demo or a checker can say it; an empty
list means the walk is legal. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .spec import Spec


@dataclass(frozen=True, slots=True)
class Step:
    """One recorded transition: the spec row's id, the states before and after, the event."""

    row: str
    from_state: str
    event: str
    to_state: str

    @classmethod
    def of(cls, data: dict[str, object]) -> Step:
        """The step of an engine ``transition`` event's data."""
        return cls(
            str(data["transition"]),
            str(data["from_state"]),
            str(data["event"]),
            str(data["to_state"]),
        )


def walk_violations(
    spec: Spec, steps: Iterable[Step], *, start: str | None = None, end: str | None = None
) -> list[str]:
    """What makes ``steps`` not a walk of ``spec`` (empty: it is one).

    ``end``, when given, is the state the walk must finish in (``Shutdown`` for an environment
    that was shut down).
    """
    rows = {row.id: row for row in spec.transitions}
    state = start if start is not None else spec.initial_state
    problems: list[str] = []
    for n, step in enumerate(steps, 1):
        row = rows.get(step.row)
        if row is None:
            problems.append(f"step {n}: {step.row!r} is not a row of the spec")
            state = step.to_state
            continue
        if (row.source, row.event, row.dest) != (step.from_state, step.event, step.to_state):
            problems.append(
                f"step {n}: {step.row!r} recorded as {step.from_state} --{step.event}--> "
                f"{step.to_state}; the spec says {row.source} --{row.event}--> {row.dest}"
            )
        if row.source != state:
            problems.append(f"step {n}: {step.row!r} taken in state {state}, not {row.source}")
        state = row.dest
    if end is not None and state != end:
        problems.append(f"the walk ends in {state}, not {end}")
    return problems

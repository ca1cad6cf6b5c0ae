"""The engine checks itself: an environment's own event stream walked against the spec.

``Environment.subscribe()`` gives every :class:`~lambda_lifecycle.engine.observe.LifecycleEvent`
of a run; the ``transition`` ones carry ``from_state``, ``to_state``, ``event`` and the spec row
id as ``transition``. :func:`check_engine_events` verifies that each one is a row of the spec
with those very states and event, that each environment's walk begins in the initial state and
goes on from where the previous step left it, and that nothing follows a final state. The
scenario tests run it on their own walks (as trace validation does for other state machines).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from ..core.spec import Spec
from . import rules
from .model import Finding

__all__ = ["EngineEvent", "check_engine_events"]


class EngineEvent(Protocol):
    """What is read of an engine event."""

    @property
    def type(self) -> str: ...

    @property
    def environment_id(self) -> str: ...

    @property
    def data(self) -> Any: ...


def check_engine_events(events: Iterable[EngineEvent], spec: Spec) -> list[Finding]:
    """Every violation of the spec in the ``transition`` events of ``events`` (empty: the walk
    was legal). A finding's ``line`` is the event's position in ``events``, from 1."""
    rows = {row.id: row for row in spec.transitions}
    final = set(spec.final_states)
    where: dict[str, str] = {}
    findings: list[Finding] = []

    def violation(index: int, environment: str, spec_ref: str, message: str) -> None:
        findings.append(
            Finding(
                "violation", "<engine>", index, environment, rules.TRANSITION, spec_ref, message
            )
        )

    for index, event in enumerate(events, 1):
        if event.type != "transition":
            continue
        data = event.data
        environment = event.environment_id
        source, dest = data.get("from_state"), data.get("to_state")
        row_id, name = data.get("transition"), data.get("event")
        row = rows.get(str(row_id))
        if row is None:
            violation(index, environment, "", f"transition {row_id!r} is not a row of the spec")
        elif (row.source, row.event, row.dest) != (source, name, dest):
            violation(
                index,
                environment,
                row.id,
                f"{source} --{name}--> {dest} does not match row {row.id}"
                f" ({row.source} --{row.event}--> {row.dest})",
            )
        current = where.get(environment, spec.initial_state)
        if current in final:
            violation(index, environment, "", f"a step after the final state {current}")
        elif source != current:
            violation(
                index,
                environment,
                str(row_id),
                f"the step leaves {source}, but the environment was in {current}",
            )
        where[environment] = str(dest)
    return findings

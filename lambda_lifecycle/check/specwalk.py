"""The spec's transition table as the checker consults it: rows by state and event.

An observed step names an event (``invoke``, ``phase_complete``, ``runtime_exit``, …) and, where
the spec has two rows for one cell, which guard held; :meth:`SpecTable.row` finds the one row
that fires, or None when no row of the spec leaves that state on that event, which is a
violation the checker reports with the rows that *would* have been legal
(:meth:`SpecTable.allowed`).
"""

from __future__ import annotations

from ..core.spec import Spec, Transition

__all__ = ["SpecTable"]


class SpecTable:
    """Lookups on the spec's transitions."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self._cells: dict[tuple[str, str], list[Transition]] = {}
        for row in spec.transitions:
            self._cells.setdefault((row.source, row.event), []).append(row)
        self._allowed = {
            state: ", ".join(row.id for row in spec.rows_from(state)) for state in spec.states
        }
        thaw = self.row("Frozen", "invoke", "no_snapshot_pending")
        complete = self.row("Invoke", "phase_complete")
        self.warm_rows: tuple[Transition, Transition] | None = (
            (thaw, complete)
            if thaw is not None
            and complete is not None
            and thaw.dest == "Invoke"
            and complete.dest == "Frozen"
            else None
        )
        """The rows of a plain warm invocation (``thaw-invoke``, ``invoke-complete``), which
        :mod:`.warmpath` counts in bulk; None if the spec has no such pair."""

    def row(self, state: str, event: str, guard: str | None = None) -> Transition | None:
        """The row leaving ``state`` on ``event`` whose guard is ``guard`` (or unguarded)."""
        cell = self._cells.get((state, event))
        if not cell:
            return None
        for row in cell:
            if row.guard is None or row.guard == guard:
                return row
        return cell[0] if guard is None else None

    def any_row(self, event: str, guard: str | None = None) -> Transition | None:
        """A row on ``event`` from any state: where a step leads when the state is unknown."""
        for (_, cell_event), cell in self._cells.items():
            if cell_event == event:
                for row in cell:
                    if row.guard is None or row.guard == guard:
                        return row
        return None

    def allowed(self, state: str) -> str:
        """The ids of the rows leaving ``state``, for a message."""
        return self._allowed.get(state, "")

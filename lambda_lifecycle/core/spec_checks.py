"""Whole-graph checks of the lifecycle model.

:func:`lambda_lifecycle.core.spec.parse_spec` refuses documents whose names do not resolve; the
checks here look at the transition graph as a whole: every state can be reached from the initial
state, and no state other than a final one is a trap (a state from which no final state can be
reached, or that has no way out at all). They return the problems as sentences instead of
raising, so a test or a command can show all of them at once.
"""

from __future__ import annotations

from collections.abc import Iterable

from .spec import Spec


def reachable_from(spec: Spec, start: str) -> frozenset[str]:
    """Every state reachable from ``start`` through the transition table (guards ignored)."""
    edges: dict[str, set[str]] = {}
    for row in spec.transitions:
        edges.setdefault(row.source, set()).add(row.dest)
    seen = {start}
    todo = [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return frozenset(seen)


def structural_problems(spec: Spec) -> list[str]:
    """Sentences describing every structural problem of the graph; empty when it is sound."""
    problems: list[str] = []
    reachable = reachable_from(spec, spec.initial_state)
    problems.extend(
        f"state {name!r} cannot be reached from {spec.initial_state!r}"
        for name in spec.states
        if name not in reachable
    )
    finals = set(spec.final_states)
    if not finals:
        problems.append("the spec declares no final state")
    for name in spec.states:
        if name in finals:
            continue
        if not spec.rows_from(name):
            problems.append(f"state {name!r} is a trap: no transition leaves it")
        elif not finals & reachable_from(spec, name):
            problems.append(f"state {name!r} is a trap: no final state can be reached from it")
    problems.extend(_uncited_sources(spec))
    return problems


def _uncited_sources(spec: Spec) -> Iterable[str]:
    cited = {c.source for row in spec.transitions for c in row.cite}
    cited |= {c.source for cites in spec.deadlines.cite.values() for c in cites}
    cited |= {c.source for cites in spec.limits.cite.values() for c in cites}
    return (f"source {s!r} is declared but never cited" for s in spec.sources if s not in cited)

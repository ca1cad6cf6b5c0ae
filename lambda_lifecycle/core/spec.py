"""The lifecycle spec as typed, immutable records.

``specs/lifecycle.json`` is the single source of truth of lambda-lifecycle: the state machine,
the deadlines, the configuration's ranges, the diagrams and the documentation are all derived
from it. This module turns the
parsed JSON document into frozen dataclasses and refuses a document whose names do not resolve
(a transition from an undeclared state, a citation of an undeclared source, two rows for the same
state, event and guard, ...). JSON Schema validation of the document's shape is done in the test
suite with the ``jsonschema`` package; the checks here are the ones the engine relies on at run
time, so they cost nothing extra to keep in the core.

Loading the file is :func:`lambda_lifecycle.specs.load_spec`; this module does no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from .errors import SpecError

Basis = Literal["documented", "observed", "assumed"]
StateKind = Literal["initial", "normal", "final"]

REQUIRED_STATES = ("Uninitialized", "Init", "Frozen", "Invoke", "Restore", "Reset", "Shutdown")


@dataclass(frozen=True, slots=True)
class Source:
    """An AWS page that the spec cites."""

    id: str
    url: str
    title: str


@dataclass(frozen=True, slots=True)
class Citation:
    """The sentence of an AWS page that justifies a rule."""

    source: str
    quote: str


@dataclass(frozen=True, slots=True)
class State:
    """A state of an execution environment."""

    name: str
    kind: StateKind
    phase: str | None
    description: str


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happens to an environment, and where it comes from."""

    name: str
    origin: tuple[str, ...]
    description: str


@dataclass(frozen=True, slots=True)
class Guard:
    """A named predicate on the environment, and the guard that is its negation."""

    name: str
    negation: str
    description: str


@dataclass(frozen=True, slots=True)
class Transition:
    """One row of the transition table: ``source --event [guard]--> dest``."""

    id: str
    source: str
    event: str
    dest: str
    guard: str | None
    deadline: str | None
    basis: Basis
    cite: tuple[Citation, ...]
    note: str | None


@dataclass(frozen=True, slots=True)
class Deadlines:
    """The time limits of the phases, in milliseconds, as the spec states them."""

    init_on_demand_ms: int
    init_provisioned_floor_ms: int
    restore_ms: int
    invoke_min_ms: int
    invoke_max_ms: int
    invoke_default_ms: int
    shutdown_no_extensions_ms: int
    shutdown_internal_only_ms: int
    shutdown_external_ms: int
    shutdown_runtime_share_ms: int
    shutdown_runtime_share_with_internal_ms: int
    rules: Mapping[str, str]
    cite: Mapping[str, tuple[Citation, ...]]


@dataclass(frozen=True, slots=True)
class Limits:
    """The ranges of a function's configuration that the lifecycle depends on, as the spec
    states them (the function timeout's range is in :class:`Deadlines`)."""

    memory_min_mb: int
    memory_max_mb: int
    memory_default_mb: int
    ephemeral_storage_min_mb: int
    ephemeral_storage_max_mb: int
    ephemeral_storage_default_mb: int
    max_extensions: int
    rules: Mapping[str, str]
    cite: Mapping[str, tuple[Citation, ...]]


@dataclass(frozen=True, slots=True)
class Spec:
    """The whole lifecycle model."""

    title: str
    version: str
    sources: Mapping[str, Source]
    states: Mapping[str, State]
    events: Mapping[str, Event]
    guards: Mapping[str, Guard]
    transitions: tuple[Transition, ...]
    deadlines: Deadlines
    limits: Limits

    @property
    def initial_state(self) -> str:
        """The name of the one state of kind ``initial``."""
        return next(s.name for s in self.states.values() if s.kind == "initial")

    @property
    def final_states(self) -> tuple[str, ...]:
        """The names of the states of kind ``final``."""
        return tuple(s.name for s in self.states.values() if s.kind == "final")

    def rows_from(self, state: str) -> tuple[Transition, ...]:
        """The transitions whose source is ``state``, in spec order."""
        return tuple(t for t in self.transitions if t.source == state)

    def events_allowed_in(self, state: str) -> tuple[str, ...]:
        """The events declared for ``state``, in spec order, without repeats."""
        return tuple(dict.fromkeys(t.event for t in self.rows_from(state)))


def _citations(raw: Any, where: str, sources: Mapping[str, Source]) -> tuple[Citation, ...]:
    cites = tuple(Citation(source=c["source"], quote=c["quote"]) for c in raw)
    if not cites:
        raise SpecError(f"{where}: at least one citation is required")
    for c in cites:
        if c.source not in sources:
            raise SpecError(f"{where}: citation of undeclared source {c.source!r}")
    return cites


def parse_spec(data: Mapping[str, Any]) -> Spec:
    """Build a :class:`Spec` from the parsed JSON document, checking every reference.

    Raises :class:`SpecError` naming the first problem found.
    """
    try:
        return _parse(data)
    except (KeyError, TypeError) as exc:
        raise SpecError(f"malformed lifecycle spec: missing or mistyped field {exc}") from exc


def _parse(data: Mapping[str, Any]) -> Spec:
    sources = {k: Source(id=k, url=v["url"], title=v["title"]) for k, v in data["sources"].items()}
    states = {
        k: State(name=k, kind=v["kind"], phase=v["phase"], description=v["description"])
        for k, v in data["states"].items()
    }
    missing = [s for s in REQUIRED_STATES if s not in states]
    if missing:
        raise SpecError(f"states missing from the spec: {', '.join(missing)}")
    initial = [s.name for s in states.values() if s.kind == "initial"]
    if len(initial) != 1:
        raise SpecError(f"exactly one initial state is required, found {initial}")
    events = {
        k: Event(name=k, origin=tuple(v["origin"]), description=v["description"])
        for k, v in data["events"].items()
    }
    guards = {
        k: Guard(name=k, negation=v["negation"], description=v["description"])
        for k, v in data["guards"].items()
    }
    for g in guards.values():
        other = guards.get(g.negation)
        if other is None or other.negation != g.name:
            raise SpecError(f"guard {g.name!r}: its negation {g.negation!r} must name it back")

    rows: list[Transition] = []
    seen_ids: set[str] = set()
    for raw in data["transitions"]:
        where = f"transition {raw.get('id')!r}"
        row = Transition(
            id=raw["id"],
            source=raw["from"],
            event=raw["event"],
            dest=raw["to"],
            guard=raw.get("guard"),
            deadline=raw.get("deadline"),
            basis=cast(Basis, raw["basis"]),
            cite=_citations(raw["cite"], where, sources),
            note=raw.get("note"),
        )
        if row.id in seen_ids:
            raise SpecError(f"{where}: duplicate id")
        seen_ids.add(row.id)
        for end in (row.source, row.dest):
            if end not in states:
                raise SpecError(f"{where}: undeclared state {end!r}")
        if row.event not in events:
            raise SpecError(f"{where}: undeclared event {row.event!r}")
        if row.guard is not None and row.guard not in guards:
            raise SpecError(f"{where}: undeclared guard {row.guard!r}")
        if row.deadline is not None and row.deadline not in data["deadlines"]:
            raise SpecError(f"{where}: undeclared deadline {row.deadline!r}")
        if states[row.source].kind == "final":
            raise SpecError(f"{where}: no transition may leave the final state {row.source!r}")
        rows.append(row)
    _check_deterministic(rows, guards)

    d = data["deadlines"]
    deadlines = Deadlines(
        init_on_demand_ms=d["init"]["on_demand_ms"],
        init_provisioned_floor_ms=d["init"]["provisioned_floor_ms"],
        restore_ms=d["restore"]["fixed_ms"],
        invoke_min_ms=d["invoke"]["min_ms"],
        invoke_max_ms=d["invoke"]["max_ms"],
        invoke_default_ms=d["invoke"]["default_ms"],
        shutdown_no_extensions_ms=d["shutdown"]["no_extensions_ms"],
        shutdown_internal_only_ms=d["shutdown"]["internal_only_ms"],
        shutdown_external_ms=d["shutdown"]["external_ms"],
        shutdown_runtime_share_ms=d["shutdown"]["runtime_share_ms"],
        shutdown_runtime_share_with_internal_ms=d["shutdown"]["runtime_share_with_internal_ms"],
        rules={k: v["rule"] for k, v in d.items()},
        cite={k: _citations(v["cite"], f"deadline {k!r}", sources) for k, v in d.items()},
    )
    lim = data["limits"]
    limits = Limits(
        memory_min_mb=lim["memory"]["min_mb"],
        memory_max_mb=lim["memory"]["max_mb"],
        memory_default_mb=lim["memory"]["default_mb"],
        ephemeral_storage_min_mb=lim["ephemeral_storage"]["min_mb"],
        ephemeral_storage_max_mb=lim["ephemeral_storage"]["max_mb"],
        ephemeral_storage_default_mb=lim["ephemeral_storage"]["default_mb"],
        max_extensions=lim["extensions"]["max"],
        rules={k: v["rule"] for k, v in lim.items()},
        cite={k: _citations(v["cite"], f"limit {k!r}", sources) for k, v in lim.items()},
    )
    _check_ranges(deadlines, limits)
    return Spec(
        title=data["title"],
        version=data["version"],
        sources=sources,
        states=states,
        events=events,
        guards=guards,
        transitions=tuple(rows),
        deadlines=deadlines,
        limits=limits,
    )


def _check_ranges(deadlines: Deadlines, limits: Limits) -> None:
    """Every range holds its default: ``min <= default <= max``."""
    ranges = {
        "deadlines.invoke": (
            deadlines.invoke_min_ms,
            deadlines.invoke_default_ms,
            deadlines.invoke_max_ms,
        ),
        "limits.memory": (
            limits.memory_min_mb,
            limits.memory_default_mb,
            limits.memory_max_mb,
        ),
        "limits.ephemeral_storage": (
            limits.ephemeral_storage_min_mb,
            limits.ephemeral_storage_default_mb,
            limits.ephemeral_storage_max_mb,
        ),
    }
    for where, (low, default, high) in ranges.items():
        if not low <= default <= high:
            raise SpecError(f"{where}: the default {default} is outside {low} to {high}")


def _check_deterministic(rows: list[Transition], guards: Mapping[str, Guard]) -> None:
    """Rows sharing ``(from, event)`` must be exactly a guard and its negation.

    That makes every ``(state, event)`` cell deterministic (at most one row can fire) and total
    (exactly one row fires whatever the guards' values), which a model checker would otherwise
    have to prove.
    """
    cells: dict[tuple[str, str], list[Transition]] = {}
    for row in rows:
        cells.setdefault((row.source, row.event), []).append(row)
    for (state, event), cell in cells.items():
        if len(cell) == 1:
            continue
        names = sorted(str(r.guard) for r in cell)
        first = cell[0].guard
        if len(cell) != 2 or first is None or sorted([first, guards[first].negation]) != names:
            raise SpecError(
                f"state {state!r}, event {event!r}: rows {[r.id for r in cell]} are not "
                f"deterministic; several rows for one cell must carry a guard and its negation"
            )

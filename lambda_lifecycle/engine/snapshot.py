"""SnapStart's snapshot: taken at the end of a publish-time Init, restored into new environments.

On Lambda a SnapStart version is initialized once, when it is published, and a snapshot of the
initialized environment's memory and disk is taken; every new environment resumes from it and
runs only the Restore phase. Locally there is no snapshot of a process, so a snapshot is what
the participants can give: their *state*, copied.

The protocol (docs/engine.md, "SnapStart across the pool", says the same and no more):

- A participant (runtime or extension) can be snapshotted when it has
  ``async resume(client, ctx, state) -> Process``, and the process its ``start`` returned has
  ``snapshot_state() -> object``.
- At the end of the publish-time Init (:func:`capture`), each participant's
  ``snapshot_state()`` is deep-copied (:func:`copy.deepcopy`) into the :class:`Snapshot`, with
  the extensions' registrations and the values marked unique during that Init.
- An environment made from the snapshot (:func:`materialize`, when it is entered) takes the
  spec's ``load-snapshot`` row (Frozen, a Restore pending) and starts each participant with
  ``resume(client, ctx, deepcopy(state))``: every environment gets a copy of its own. The
  runtime's client starts as if it were waiting in ``restore/next``; the Restore phase of its
  first invocation releases it.

A participant that cannot be snapshotted, or a state that cannot be copied, gives a
:class:`SnapshotError` naming it; nothing else fails (the publishing environment itself still
restores from its own processes, as a single environment always does).
"""

from __future__ import annotations

import copy
import dataclasses
import types
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, cast

from ..core.environment import ExtensionKind, ExtensionRecord
from ..core.errors import ConfigurationError
from .clients import ExtensionClient, RuntimeClient
from .launch import start_participant
from .participant import ProcessHandle, StartContext
from .process_table import Started
from .uniqueness import UniqueMark

if TYPE_CHECKING:
    from .environment import Environment


class Resumable(Protocol):
    """A participant that can be snapshotted: it can start from a copy of its state."""

    name: str

    async def resume(self, client: Any, ctx: StartContext, state: Any) -> object:
        """Start as the snapshot holds it, with ``state`` (a copy of its own)."""
        ...


RUNTIME_KEY = "runtime"
"""The key of the runtime's state in :attr:`Snapshot.states` (extensions use their names)."""


class SnapshotError(ConfigurationError):
    """No snapshot can be taken, or an environment cannot be made from the one given."""


@dataclasses.dataclass(frozen=True, slots=True)
class SnapshotExtension:
    """An extension as it was registered when the snapshot was taken."""

    id: str
    name: str
    kind: ExtensionKind
    events: frozenset[str]


@dataclasses.dataclass(frozen=True, slots=True)
class Snapshot:
    """A SnapStart snapshot: the participants' state at the end of a publish-time Init.

    ``name`` identifies it (function, version, the publishing environment); ``taken_at`` is
    Unix time. ``states`` maps ``"runtime"`` and each extension's name to its private copy of
    the state (read-only: every environment made from it gets a deep copy of its own).
    ``unique`` is what the Init marked unique (see :mod:`.uniqueness`).
    """

    name: str
    function_name: str
    function_version: str
    taken_at: float
    source_environment: str
    runtime: str
    extensions: tuple[SnapshotExtension, ...]
    states: Mapping[str, Any] = dataclasses.field(repr=False)
    unique: tuple[UniqueMark, ...] = ()


def _copied(state: Any, who: str) -> Any:
    try:
        return copy.deepcopy(state)
    except Exception as exc:
        raise SnapshotError(
            f"the state of {who} cannot be copied into a snapshot "
            f"({type(exc).__name__}: {exc}); keep only copyable values in it "
            "(make connections, locks and files again in an after-restore hook)"
        ) from exc


def _state_of(process: ProcessHandle | None, participant: object, who: str) -> Any:
    if not callable(getattr(participant, "resume", None)):
        raise SnapshotError(
            f"{who} cannot be snapshotted: {type(participant).__name__} has no resume(); "
            "use SnapStartRuntime / SnapStartExtension, or give it resume(client, ctx, state)"
        )
    inner = process.process if process is not None else None
    snapshot_state = getattr(inner, "snapshot_state", None)
    if not callable(snapshot_state):
        raise SnapshotError(
            f"{who} cannot be snapshotted: its process ({type(inner).__name__}) "
            "has no snapshot_state()"
        )
    return _copied(snapshot_state(), who)


def capture(env: Environment) -> Snapshot:
    """The snapshot of ``env``, whose publish-time Init just ended (Frozen, Restore pending)."""
    procs = env.procs.current(env.core.generation)
    states: dict[str, Any] = {}
    rt = env.runtime
    states[RUNTIME_KEY] = _state_of(procs.get(("runtime", rt.name)), rt, f"runtime {rt.name!r}")
    for ext in env.extensions:
        states[ext.name] = _state_of(
            procs.get((ext.kind, ext.name)), ext, f"extension {ext.name!r}"
        )
    records = tuple(
        SnapshotExtension(r.id, r.name, r.kind, r.events) for r in env.core.extensions.values()
    )
    clock = env.clock
    config = env.config
    return Snapshot(
        name=f"{config.function_name}:{config.function_version}@{env.id[:12]}",
        function_name=config.function_name,
        function_version=config.function_version,
        taken_at=clock.wall(clock.now()),
        source_environment=env.id,
        runtime=rt.name,
        extensions=records,
        states=types.MappingProxyType(states),
        unique=tuple(env.unique_marks),
    )


def check_fits(env: Environment, snapshot: Snapshot) -> None:
    """Refuse a snapshot that ``env``'s participants and configuration cannot be made from."""
    if env.config.initialization_type != "snap-start":
        raise SnapshotError(
            f"environment {env.id} is {env.config.initialization_type}: only a snap-start "
            "environment can be made from a snapshot"
        )
    names = sorted(e.name for e in env.extensions)
    if env.runtime.name != snapshot.runtime or names != sorted(
        n for n in snapshot.states if n != RUNTIME_KEY
    ):
        raise SnapshotError(
            f"snapshot {snapshot.name} holds runtime {snapshot.runtime!r} and extensions "
            f"{sorted(n for n in snapshot.states if n != RUNTIME_KEY)}; environment {env.id} "
            f"has runtime {env.runtime.name!r} and extensions {names}"
        )
    named: list[tuple[str, str, object]] = [("runtime", env.runtime.name, env.runtime)]
    named += [("extension", e.name, e) for e in env.extensions]
    for who, name, participant in named:
        if not callable(getattr(participant, "resume", None)):
            raise SnapshotError(
                f"{who} {name!r} cannot be restored from a snapshot: "
                f"{type(participant).__name__} has no resume()"
            )


def _resumer(
    participant: object, client: RuntimeClient | ExtensionClient, state: Any
) -> Callable[[StartContext], Awaitable[object]]:
    resume = cast("Resumable", participant).resume  # check_fits saw it

    def start(ctx: StartContext) -> Awaitable[object]:
        return resume(client, ctx, state)

    return start


async def materialize(env: Environment, snapshot: Snapshot) -> None:
    """Make the entered, new ``env`` from ``snapshot``: its processes as the snapshot holds
    them, frozen, with the Restore pending."""
    core = env.core
    records = [ExtensionRecord(e.id, e.name, e.kind, e.events) for e in snapshot.extensions]
    env.publish_transition(core.load_snapshot(records))
    generation = core.generation
    ids = {e.name: e.id for e in snapshot.extensions}
    for ext in env.extensions:
        client = ExtensionClient(env, generation, ext.name, ext.kind)
        env.clients_by_name[ext.name] = client
        ext_id = ids.get(ext.name)
        if ext_id is not None:  # it had registered when the snapshot was taken
            client.id = ext_id
            env.ext_clients[ext_id] = client
        state = _copied(snapshot.states[ext.name], f"extension {ext.name!r}")
        proc = Started(ext.kind, ext.name, client, generation)
        await start_participant(env, proc, _resumer(ext, client, state))
    runtime = RuntimeClient(env, generation)
    env.runtime_api = runtime
    runtime.hold_for_restore()
    state = _copied(snapshot.states[RUNTIME_KEY], f"runtime {env.runtime.name!r}")
    proc = Started("runtime", env.runtime.name, runtime, generation)
    await start_participant(env, proc, _resumer(env.runtime, runtime, state))
    env.procs.freeze_all()
    env.emit(
        "snapshot_loaded", snapshot=snapshot.name, source_environment=snapshot.source_environment
    )

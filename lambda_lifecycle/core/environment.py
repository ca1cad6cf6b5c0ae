"""The bookkeeping of one execution environment: the model the state machine moves.

An :class:`EnvironmentCore` holds what the spec's guards read (is an invocation waiting, is a
SnapStart snapshot waiting to be restored), the extensions registered in the current generation
of processes, and the *next-barrier*: the set of participants that still owe a ``next`` call
before the current phase can end. It validates registrations exactly as the Extensions API does
and raises :class:`~lambda_lifecycle.core.errors.APIError` with AWS's error types.

Everything here is synchronous and deterministic; the scheduler calls it between awaits, so each
call is atomic with respect to the other participants.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from .config import MAX_EXTENSIONS
from .errors import APIError
from .machine import LifecycleMachine
from .spec import Transition

ExtensionKind = Literal["internal", "external"]
RUNTIME = "runtime"
"""The barrier key of the runtime; extensions are keyed by their identifier."""
EXTENSION_EVENTS = frozenset({"INVOKE", "SHUTDOWN"})


@dataclass(slots=True)
class ExtensionRecord:
    """A registered extension of the current generation of processes."""

    id: str
    name: str
    kind: ExtensionKind
    events: frozenset[str]


class EnvironmentCore:
    """One environment's state and bookkeeping, moved only through the spec's machine."""

    __slots__ = (
        "_invoke_members",
        "_machine",
        "extensions",
        "init_phase",
        "initialized_once",
        "invoke_waiting",
        "owed",
        "registration_open",
        "snapshot_waiting",
        "state",
    )

    def __init__(self, machine: LifecycleMachine) -> None:
        self._machine = machine
        self.state: str = machine.initial_state
        self.invoke_waiting = False
        self.snapshot_waiting = False
        self.init_phase: Literal["init", "invoke"] = "init"
        self.initialized_once = False
        self.registration_open = False
        self.extensions: dict[str, ExtensionRecord] = {}
        self.owed: set[str] = set()
        self._invoke_members: tuple[str, ...] | None = None

    # -- the spec's guards ------------------------------------------------------------------
    @property
    def invoke_pending(self) -> bool:
        """Guard: an invocation is waiting for this environment."""
        return self.invoke_waiting

    @property
    def no_invoke_pending(self) -> bool:
        """Guard: no invocation is waiting for this environment."""
        return not self.invoke_waiting

    @property
    def snapshot_pending(self) -> bool:
        """Guard: a SnapStart snapshot was taken and not restored yet."""
        return self.snapshot_waiting

    @property
    def no_snapshot_pending(self) -> bool:
        """Guard: no unrestored SnapStart snapshot."""
        return not self.snapshot_waiting

    # -- transitions ------------------------------------------------------------------------
    def fire(self, event: str) -> Transition:
        """Take the spec's transition for ``event``; refused events leave the state unchanged."""
        return self._machine.fire(self, event)

    def can_fire(self, event: str) -> bool:
        """Whether ``event`` would be accepted now."""
        return self._machine.can_fire(self, event)

    # -- generations of processes -----------------------------------------------------------
    def begin_generation(self) -> None:
        """A new Init starts: forget the extensions of the processes a Reset tore down."""
        self.extensions.clear()
        self._invoke_members = None
        self.owed.clear()
        self.registration_open = True
        self.initialized_once = True

    def counts(self) -> tuple[int, int]:
        """How many internal and external extensions are registered."""
        internal = sum(1 for e in self.extensions.values() if e.kind == "internal")
        return internal, len(self.extensions) - internal

    # -- the Extensions API's register rules ------------------------------------------------
    def register(
        self, extension_id: str, name: str, kind: ExtensionKind, events: Iterable[str]
    ) -> ExtensionRecord:
        """Record a registration, or refuse it with AWS's error type."""
        wanted = list(events)
        if not name:
            raise APIError("Extension.InvalidExtensionName", "extension name is empty")
        if not self.registration_open:
            raise APIError(
                "Extension.RegistrationClosed",
                f"extension {name!r} cannot register: registration is open only during Init",
            )
        if any(e.name == name for e in self.extensions.values()):
            raise APIError(
                "Extension.InvalidExtensionState",
                f"an extension named {name!r} is already registered",
            )
        unknown = [e for e in wanted if e not in EXTENSION_EVENTS]
        if unknown:
            raise APIError(
                "Extension.InvalidEventType",
                f"unknown event type {unknown[0]!r}: "
                "extensions may register for INVOKE and SHUTDOWN",
            )
        if kind == "internal" and "SHUTDOWN" in wanted:
            raise APIError(
                "Extension.InvalidEventType",
                f"internal extension {name!r} cannot register for SHUTDOWN",
            )
        if len(self.extensions) >= MAX_EXTENSIONS:
            raise APIError(
                "Extension.TooManyExtensions",
                f"extension {name!r} cannot register: at most {MAX_EXTENSIONS} extensions",
            )
        record = ExtensionRecord(extension_id, name, kind, frozenset(wanted))
        self.extensions[extension_id] = record
        self._invoke_members = None
        return record

    # -- the next-barrier -------------------------------------------------------------------
    def expect_next_from(self, members: Iterable[str]) -> None:
        """Start a barrier: each of ``members`` owes one ``next`` call."""
        self.owed = set(members)

    def arrive(self, member: str) -> bool:
        """``member`` called next; True when nobody owes one any more."""
        self.owed.discard(member)
        return not self.owed

    def invoke_members(self) -> tuple[str, ...]:
        """Who the Invoke phase waits for: the runtime and each INVOKE-subscribed extension.

        Registrations close with Init, so the answer is computed once per generation.
        """
        members = self._invoke_members
        if members is None:
            members = self._invoke_members = (
                RUNTIME,
                *(e.id for e in self.extensions.values() if "INVOKE" in e.events),
            )
        return members

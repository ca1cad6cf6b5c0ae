"""The rules of one execution environment: everything that changes its lifecycle state.

Two rules shape this module, in the manner of a sans-IO protocol core:

1. **Every rule that changes the lifecycle state lives here.** The state (moved only by the
   spec's machine), the guards the spec's rows read, the generations of processes, extension
   registration, the *next-barrier* of each phase, SHUTDOWN sent / received / acknowledged, the
   one Init retry an invocation is owed. Each method either applies one rule (often one spec
   row, which it returns) or refuses with an :class:`~lambda_lifecycle.core.errors.APIError`
   carrying AWS's error type and status, with nothing changed. Nobody outside edits a field.
2. **No I/O and no clock.** Deadlines passing, processes exiting and API calls arrive as method
   calls from the scheduler (:mod:`lambda_lifecycle.engine`), which owns every wait. Identifiers
   are handed in, not made here.

Theory of operation. A phase starts with a platform step (:meth:`EnvironmentCore.begin_init`,
:meth:`~EnvironmentCore.begin_invoke`, :meth:`~EnvironmentCore.begin_restore`) that opens the
phase's barrier: the set of participants that owe a ``next``. Each participant's ``next`` is an
*arrival*; the last arrival fires ``phase_complete``, which the method returns so the scheduler
can act on it (freeze, answer, close the books). A failure (:meth:`~EnvironmentCore.fail`) fires
the spec's failure row and *cancels* the barrier, so a late ``next`` during the Reset is not an
arrival: it is held until the process is stopped, or answered with SHUTDOWN. The Reset's own
procedure is the scheduler's; its end is :meth:`~EnvironmentCore.reset_complete`.

Seams, honestly: the invocation's own answer (one per invocation, the right request id) is kept
by the engine's :class:`~lambda_lifecycle.engine.invocation.Invocation`, since it concerns one
request rather than the environment's state; the process signals and the SHUTDOWN procedure's
timing are the scheduler's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from .config import InitializationType
from .errors import APIError
from .machine import LifecycleMachine
from .spec import Transition

ExtensionKind = Literal["internal", "external"]
InitPhase = Literal["init", "invoke"]
ShutdownReason = Literal["spindown", "timeout", "failure"]
ShutdownProgress = Literal["none", "sent", "received", "acknowledged"]
Plan = Literal["thaw", "restore", "init", "suppressed-init", "none"]

RUNTIME = "runtime"
"""The barrier key of the runtime; extensions are keyed by their identifier."""
EXTENSION_EVENTS = frozenset({"INVOKE", "SHUTDOWN"})
_STOPPING = frozenset({"Reset", "Shutdown"})


def pending_registration(name: str) -> str:
    """The barrier key of an attached extension that has not registered yet."""
    return f"registration:{name}"


@dataclass(slots=True)
class ExtensionRecord:
    """A registered extension of the current generation of processes.

    ``shutdown`` is how far its SHUTDOWN event has got: ``sent`` (handed to its long poll),
    ``received`` (a ``next`` returned it), ``acknowledged`` (a ``next`` after that: it is done).
    """

    id: str
    name: str
    kind: ExtensionKind
    events: frozenset[str]
    shutdown: ShutdownProgress = "none"


@dataclass(frozen=True, slots=True)
class Failure:
    """A failure the core accepted: the spec row it took and what follows from it.

    ``answer`` is True when the invocation waiting for the failed phase must be answered with
    the error now; False when it is not (the phase had no invocation, or an Init failure that
    AWS retries once at the first invocation).
    """

    row: Transition
    before: str
    reason: ShutdownReason
    answer: bool


def _refuse(message: str) -> APIError:
    return APIError("InvalidStateTransition", message, 403)


def _extension_refusal(message: str) -> APIError:
    return APIError("Extension.InvalidExtensionState", message, 403)


class EnvironmentCore:
    """One environment's lifecycle rules, moved only through the spec's machine."""

    __slots__ = (
        "_awaiting",
        "_invoke_members",
        "_machine",
        "_publishing",
        "_retry_owed",
        "_snap_start",
        "extensions",
        "generation",
        "init_phase",
        "initialized_once",
        "invoke_waiting",
        "owed",
        "registration_open",
        "reset_reason",
        "snapshot_waiting",
        "state",
    )

    def __init__(
        self, machine: LifecycleMachine, initialization_type: InitializationType = "on-demand"
    ) -> None:
        self._machine = machine
        self._snap_start = initialization_type == "snap-start"
        self.state: str = machine.initial_state
        self.generation = 0
        self.invoke_waiting = False
        self.snapshot_waiting = False
        self.init_phase: InitPhase = "init"
        self.initialized_once = False
        self.registration_open = False
        self.reset_reason: ShutdownReason = "failure"
        self.extensions: dict[str, ExtensionRecord] = {}
        self.owed: set[str] = set()
        self._awaiting: set[str] = set()  # external extensions started and not registered yet
        self._invoke_members: tuple[str, ...] | None = None
        self._publishing = False  # a SnapStart Init: the invocation waits for the Restore
        self._retry_owed = False

    # -- the spec's guards ------------------------------------------------------------------
    @property
    def invoke_pending(self) -> bool:
        """Guard: an invocation is waiting for the end of this phase.

        A SnapStart Init is the version's publish: the invocation that started it waits for
        the Restore that follows, not for the Init.
        """
        return self.invoke_waiting and not self._publishing

    @property
    def no_invoke_pending(self) -> bool:
        """Guard: no invocation is waiting for the end of this phase."""
        return not self.invoke_pending

    @property
    def snapshot_pending(self) -> bool:
        """Guard: a SnapStart snapshot was taken and not restored yet."""
        return self.snapshot_waiting

    @property
    def no_snapshot_pending(self) -> bool:
        """Guard: no unrestored SnapStart snapshot."""
        return not self.snapshot_waiting

    # -- reading ------------------------------------------------------------------------------
    def can_fire(self, event: str) -> bool:
        """Whether ``event`` would be accepted now."""
        return self._machine.can_fire(self, event)

    @property
    def stopping(self) -> bool:
        """A Reset or a Shutdown is under way: no phase is waiting for anyone's ``next``."""
        return self.state in _STOPPING

    @property
    def warm(self) -> bool:
        """Frozen, initialized and with no snapshot to restore: the next invocation can be
        handed out at once."""
        return self.state == "Frozen" and not self.snapshot_waiting

    @property
    def registrations_complete(self) -> bool:
        """Every started external extension has registered (the runtime may start)."""
        return not self._awaiting

    def counts(self) -> tuple[int, int]:
        """How many internal and external extensions are registered."""
        internal = sum(1 for e in self.extensions.values() if e.kind == "internal")
        return internal, len(self.extensions) - internal

    def wants_shutdown(self, extension_id: str | None) -> bool:
        """Whether this extension registered for SHUTDOWN."""
        record = self.extensions.get(extension_id or "")
        return record is not None and "SHUTDOWN" in record.events

    def settled(self, extension_id: str | None) -> bool:
        """Whether this extension acknowledged its SHUTDOWN (a ``next`` after receiving it)."""
        record = self.extensions.get(extension_id or "")
        return record is not None and record.shutdown == "acknowledged"

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

    @property
    def plan(self) -> Plan:
        """What the next invocation needs before its Invoke phase, as the rows say.

        ``thaw`` (warm), ``restore`` (a SnapStart snapshot is pending), ``init`` or
        ``suppressed-init`` (Uninitialized: :meth:`init_plan`), or ``none`` (the environment
        is in a phase, or being reset or shut down).
        """
        state = self.state
        if state == "Frozen":
            return "restore" if self.snapshot_waiting else "thaw"
        if state == self._machine.initial_state:
            return "init" if self.init_plan() == "init" else "suppressed-init"
        return "none"

    def init_plan(self) -> InitPhase:
        """The phase of the Init an invocation needs from an Uninitialized environment.

        The first Init is phase ``init``; after a Reset the next one is a *suppressed init*
        (phase ``invoke``). A SnapStart environment has no suppressed init: its processes
        cannot resume from the snapshot locally, so its publish-time Init runs again (phase
        ``init``, its hooks included) and the invocation then restores from the new snapshot.
        """
        if not self.initialized_once or self._snap_start:
            return "init"
        return "invoke"

    # -- platform steps -------------------------------------------------------------------------
    def _fire(self, event: str) -> Transition:
        return self._machine.fire(self, event)

    def invocation_waits(self, waiting: bool) -> None:
        """An invocation starts (True) or stops (False) waiting for this environment.

        A new invocation is owed one retry of a failed first Init (AWS retries Init at the
        first invocation).
        """
        self.invoke_waiting = waiting
        if waiting:
            self._retry_owed = True

    def begin_init(self, phase: InitPhase, attached_internal: Iterable[str] = ()) -> Transition:
        """Start an Init: a new generation of processes, registration open, and a barrier of
        the runtime and each attached internal extension's registration.

        ``phase="invoke"`` is a suppressed init (event ``invoke`` from Uninitialized).
        """
        row = self._fire("init" if phase == "init" else "invoke")
        self.generation += 1
        self.init_phase = phase
        self.initialized_once = True
        self._publishing = self._snap_start and phase == "init"
        self.extensions.clear()
        self._awaiting.clear()
        self._invoke_members = None
        self.registration_open = True
        self.owed = {RUNTIME, *(pending_registration(n) for n in attached_internal)}
        return row

    def load_snapshot(self, extensions: Iterable[ExtensionRecord]) -> Transition:
        """Make this new SnapStart environment from the version's snapshot (Uninitialized to
        Frozen, a Restore pending): no Init phase of its own.

        The snapshot was taken at the end of the publish-time Init, so the environment starts
        there: one generation of processes, registration closed, the ``extensions`` registered
        then (copied, same identifiers), nothing owed. Refused for an environment that is not
        SnapStart, or that was initialized already (after a Reset it runs Init again).
        """
        if not self._snap_start:
            raise _refuse("only a SnapStart environment can be made from a snapshot")
        if self.initialized_once or self.state != self._machine.initial_state:
            raise _refuse("only a new environment can be made from a snapshot")
        self.snapshot_waiting = True  # the guard of the load-snapshot row
        try:
            row = self._fire("load_snapshot")
        except BaseException:
            self.snapshot_waiting = False
            raise
        self.generation += 1
        self.init_phase = "init"
        self.initialized_once = True
        self.registration_open = False
        self.extensions = {
            e.id: ExtensionRecord(e.id, e.name, e.kind, e.events) for e in extensions
        }
        self._awaiting.clear()
        self._invoke_members = None
        self.owed = set()
        return row

    def extension_started(self, name: str) -> None:
        """An external extension was started in this Init: the runtime waits for its register."""
        if self.state == "Init":
            self._awaiting.add(name)

    def begin_invoke(self) -> Transition:
        """Thaw a warm environment for the waiting invocation (Frozen to Invoke)."""
        return self._fire("invoke")

    def open_invoke_barrier(self) -> tuple[str, ...]:
        """The Invoke phase starts: return who gets the invocation (the runtime first, then
        each INVOKE-subscribed extension); each of them owes a ``next``."""
        if self.state != "Invoke":
            raise _refuse(f"an Invoke phase cannot start in state {self.state}")
        members = self.invoke_members()
        self.owed = set(members)
        return members

    def begin_restore(self, runtime_in_restore_next: bool) -> tuple[Transition, Transition | None]:
        """Resume from the snapshot (Frozen to Restore); the barrier is the runtime's next.

        Returns the ``restore`` row and, for a runtime with no after-restore hook (it never
        called ``restore/next``: it waits in ``next`` already), the row of the Restore's
        completion, taken at once; None when the phase waits for the runtime's ``next``.
        """
        row = self._fire("restore")
        self.snapshot_waiting = False
        self._publishing = False
        self.owed = {RUNTIME}
        if runtime_in_restore_next:
            return row, None
        return row, self.arrive(RUNTIME)

    def fail(self, event: str) -> Failure | None:
        """A crash, an error report or a passing deadline: take the spec's failure row.

        None when the event means nothing now (a process exiting during a Reset or a
        Shutdown, a deadline of a phase that already ended). The failed phase's barrier is
        cancelled and registration closes.
        """
        if not self._machine.can_fire(self, event):
            return None
        before = self.state
        row = self._fire(event)
        self.owed.clear()
        self.registration_open = False
        self._awaiting.clear()
        self.reset_reason = "timeout" if event.endswith("_timeout") else "failure"
        retried = before == "Init" and self.init_phase == "init" and self._retry_owed
        if retried:
            self._retry_owed = False
        answer = before in ("Init", "Restore", "Invoke") and self.invoke_waiting and not retried
        if before == "Invoke":
            answer = True  # the invocation in its Invoke phase is always answered
        return Failure(row, before, self.reset_reason, answer)

    def reset_complete(self) -> Transition:
        """Every process of the reset environment has ended (Reset to Uninitialized)."""
        row = self._fire("reset_complete")
        self.extensions.clear()
        self._invoke_members = None
        return row

    def shut_down(self) -> Transition:
        """Terminate the environment (from Frozen or Uninitialized)."""
        return self._fire("shutdown")

    # -- arrivals -------------------------------------------------------------------------------
    def arrive(self, member: str) -> Transition | None:
        """``member`` called ``next``: it is done with the current phase.

        Returns the ``phase_complete`` row when it was the last one owed, else None. An
        arrival that is owed nothing (a repeated ``next``, or one during a Reset) changes
        nothing.
        """
        owed = self.owed
        if member not in owed:
            return None
        owed.discard(member)
        if owed:
            return None
        self.registration_open = False
        before = self.state
        row = self._fire("phase_complete")
        if before == "Init" and self._publishing:
            self.snapshot_waiting = True  # SnapStart: the snapshot is taken at the end of Init
            self._publishing = False
        return row

    def check_generation(self, generation: int, who: str) -> None:
        """Refuse a call from a participant whose processes a Reset tore down."""
        if generation != self.generation:
            if who == RUNTIME:
                raise _refuse("this runtime's environment was reset; its processes are gone")
            raise _extension_refusal(f"extension {who!r} belongs to processes a Reset tore down")

    def runtime_next(self) -> Transition | None:
        """The runtime called ``next``: an arrival in Init, Restore or Invoke.

        During a Reset or a Shutdown it is no arrival: the call is held until the runtime is
        stopped (a runtime may call ``next`` from its SIGTERM handler).
        """
        if self.state in _STOPPING:
            return None
        return self.arrive(RUNTIME)

    def runtime_init_error(self) -> Failure:
        """``/runtime/init/error``: accepted during Init, before the runtime's first ``next``."""
        if self.state != "Init" or RUNTIME not in self.owed:
            raise _refuse("init/error is accepted only during Init, before the first next")
        failure = self.fail("init_error")
        assert failure is not None
        return failure

    def runtime_restore_next(self) -> Transition | None:
        """``/runtime/restore/next``: the runtime ends a SnapStart Init and waits to resume."""
        if self.state != "Init" or not self._snap_start:
            raise _refuse("restore/next is accepted only during the Init of a SnapStart function")
        if RUNTIME not in self.owed:
            raise _refuse("the runtime has already finished its Init")
        return self.arrive(RUNTIME)

    def runtime_restore_error(self) -> Failure:
        """``/runtime/restore/error``: an after-restore hook failed; accepted during Restore."""
        if self.state != "Restore" or RUNTIME not in self.owed:
            raise _refuse("restore/error is accepted only during Restore")
        failure = self.fail("restore_error")
        assert failure is not None
        return failure

    # -- the Extensions API's rules ---------------------------------------------------------------
    def register(
        self, extension_id: str, name: str, kind: ExtensionKind, events: Iterable[str]
    ) -> ExtensionRecord:
        """Record a registration, or refuse it with AWS's error type.

        During Init the registration owes a ``next`` of its own (it replaces the pending key
        of an attached extension).
        """
        wanted = list(events)
        if not name:
            raise APIError("Extension.InvalidExtensionName", "extension name is empty")
        if not self.registration_open:
            raise APIError(
                "Extension.RegistrationClosed",
                f"extension {name!r} cannot register: registration is open only during Init",
            )
        if any(e.name == name for e in self.extensions.values()):
            raise _extension_refusal(f"an extension named {name!r} is already registered")
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
        most = self._machine.spec.limits.max_extensions
        if len(self.extensions) >= most:
            raise APIError(
                "Extension.TooManyExtensions",
                f"extension {name!r} cannot register: at most {most} extensions",
            )
        record = ExtensionRecord(extension_id, name, kind, frozenset(wanted))
        self.extensions[extension_id] = record
        self._invoke_members = None
        self._awaiting.discard(name)
        self.owed.discard(pending_registration(name))
        self.owed.add(extension_id)
        return record

    def extension_next(self, extension_id: str) -> Transition | None:
        """A registered extension called ``next``.

        After it received SHUTDOWN this is its acknowledgement; while SHUTDOWN waits in its
        queue this call fetches it (no arrival); during a Reset or Shutdown before SHUTDOWN is
        sent it is held; otherwise it is an arrival.
        """
        record = self.extensions.get(extension_id)
        if record is None:
            raise _extension_refusal("this extension is not registered")
        progress = record.shutdown
        if progress == "received":
            record.shutdown = "acknowledged"
            return None
        if progress != "none" or self.state in _STOPPING:
            return None
        return self.arrive(extension_id)

    def shutdown_sent(self, extension_id: str) -> None:
        """SHUTDOWN was handed to this extension's long poll."""
        record = self.extensions.get(extension_id)
        if record is not None and record.shutdown == "none":
            record.shutdown = "sent"

    def shutdown_received(self, extension_id: str) -> None:
        """A ``next`` of this extension returned its SHUTDOWN."""
        record = self.extensions.get(extension_id)
        if record is not None and record.shutdown == "sent":
            record.shutdown = "received"

    def extension_init_error(self) -> Failure:
        """``/extension/init/error``: accepted during Init."""
        if self.state != "Init":
            raise _extension_refusal("init/error is accepted during Init")
        failure = self.fail("init_error")
        assert failure is not None
        return failure

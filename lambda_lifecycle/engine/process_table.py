"""The participants an environment has started, and what is done to all of them at once.

Each Init starts a new *generation* of participants (a Reset tears the previous one down). The
:class:`ProcessTable` keeps the started ones with their client and, once they end, how they
ended. The scheduler uses it to signal them together (SIGSTOP between phases, SIGCONT for the
next event), to measure Max Memory Used, and to stop them all under the Shutdown budgets, which
is the same procedure for a Shutdown and for a Reset (:meth:`ProcessTable.stop`):

1. the runtime gets SIGTERM (only when an extension is registered) and its share of the budget
   to exit, then SIGKILL; the internal extensions live in its process and end with it;
2. each external extension subscribed to SHUTDOWN gets the event with the reason and the
   deadline of the whole budget: at once when it waits in ``next``, or as the answer to its
   next ``next`` when it is still busy (the rest of the budget stays its own); the others are
   killed at once;
3. when every external extension has exited or acknowledged SHUTDOWN (a ``next`` after
   receiving it), or the budget is spent, whatever is left is killed.

Whether an extension asked for SHUTDOWN, was sent it, received it and acknowledged it is the
core's to record (:class:`~lambda_lifecycle.core.environment.EnvironmentCore`); this table only
asks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio

from ..core.deadlines import ShutdownBudget
from ..core.environment import EnvironmentCore
from .clients import ExtensionClient, RuntimeClient
from .participant import ExitStatus, ParticipantKind, ProcessHandle


class Started:
    """A started participant: its kind, name, client and process, and how it ended."""

    __slots__ = ("client", "exited", "generation", "kind", "name", "process", "status")

    def __init__(
        self,
        kind: ParticipantKind,
        name: str,
        client: RuntimeClient | ExtensionClient,
        generation: int,
    ) -> None:
        self.kind: ParticipantKind = kind
        self.name = name
        self.client = client
        self.generation = generation
        self.process: ProcessHandle | None = None
        self.exited = False
        self.status: ExitStatus | None = None

    def kill(self) -> None:
        """SIGKILL, unless it has ended already."""
        if not self.exited and self.process is not None:
            self.process.kill()

    def settled(self, core: EnvironmentCore) -> bool:
        """Ended, or (an extension) acknowledged SHUTDOWN with a ``next`` after receiving it."""
        client = self.client
        return self.exited or (isinstance(client, ExtensionClient) and core.settled(client.id))


class ProcessTable:
    """The started participants of an environment, in start order."""

    __slots__ = ("_freeze", "entries", "freezable", "measurable")

    def __init__(self, freeze: bool) -> None:
        self._freeze = freeze
        self.entries: list[Started] = []
        self.freezable = False  # freezing is on and some process can really be frozen
        self.measurable = False  # some process reports its memory (real processes)

    def add(self, started: Started) -> None:
        """Track a participant about to be started."""
        self.entries.append(started)

    def started(self, process: ProcessHandle) -> None:
        """Note what a newly started process can do (be frozen, be measured)."""
        self.freezable = self.freezable or (self._freeze and process.freezable)
        self.measurable = self.measurable or process.peak_memory_kib() is not None

    def _live(self) -> list[ProcessHandle]:
        return [p.process for p in self.entries if p.process is not None and not p.exited]

    def current(self, generation: int) -> dict[tuple[ParticipantKind, str], ProcessHandle]:
        """The live, started processes of ``generation``, by kind and name."""
        return {
            (p.kind, p.name): p.process
            for p in self.entries
            if p.generation == generation and p.process is not None and not p.exited
        }

    def freeze_all(self) -> None:
        """SIGSTOP every live process that can be frozen (between phases)."""
        if self.freezable:
            for process in self._live():
                if process.freezable:
                    process.freeze()

    def thaw_all(self) -> None:
        """SIGCONT every live process that can be frozen (for the next event)."""
        if self.freezable:
            for process in self._live():
                if process.freezable:
                    process.thaw()

    def max_memory_used_mb(self) -> int | None:
        """The sum of the live processes' peak resident memory, in MB rounded up; None when
        none can be measured."""
        known = [kib for kib in (p.peak_memory_kib() for p in self._live()) if kib is not None]
        return -(-sum(known) // 1024) if known else None

    async def stop(
        self,
        reason: str,
        budget: ShutdownBudget,
        core: EnvironmentCore,
        *,
        now: Callable[[], float],
        wall_ms: Callable[[float], int],
        until: Callable[[Callable[[], bool]], Awaitable[None]],
    ) -> None:
        """Stop every process under ``budget`` (see the module docstring).

        ``until`` waits for a condition on the table (the environment wakes it whenever a
        process exits or an extension acknowledges SHUTDOWN).
        """
        start = now()
        end = start + budget.total_ms / 1000
        self.thaw_all()
        entries = list(self.entries)
        runtime = next((p for p in entries if p.kind == "runtime"), None)
        if runtime is not None and not runtime.exited and runtime.process is not None:
            if budget.sigterm:
                runtime.process.terminate()
                with anyio.move_on_at(min(start + budget.runtime_ms / 1000, end)):
                    await until(lambda: runtime.exited)
            runtime.kill()
        for p in entries:
            if p.kind == "internal":
                p.kill()
        externals = [p for p in entries if p.kind == "external" and not p.exited]
        event = {"eventType": "SHUTDOWN", "shutdownReason": reason, "deadlineMs": wall_ms(end)}
        for p in externals:
            client = p.client
            assert isinstance(client, ExtensionClient)
            if client.id is not None and core.wants_shutdown(client.id):
                core.shutdown_sent(client.id)
                client.deliver(dict(event))
            else:
                p.kill()
        with anyio.move_on_at(end):
            await until(lambda: all(p.settled(core) for p in externals))
        for p in entries:
            p.kill()
        await until(lambda: all(p.exited for p in entries))
        self.entries = [p for p in self.entries if not p.exited]

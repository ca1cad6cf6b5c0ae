"""In-process participants that SnapStart can snapshot: Init returns state, main receives it.

A coroutine's local variables cannot be copied, so a participant that wants to be restored
from a snapshot in many environments splits itself in two:

- ``init(client) -> state``: its Init (the runtime's static code, an extension's register and
  set-up). What it returns is the state the snapshot captures.
- ``main(client, state)``: everything after. For the runtime: its after-restore hooks, then its
  loop of ``next``; for an extension: its loop of ``next`` (its first ``next`` ends its Init).

In the publishing environment ``main`` gets the very object ``init`` returned (the runtime
first waits in ``restore/next``); the snapshot holds a deep copy of it taken at the end of the
Init; each environment made from the snapshot gets a deep copy of its own (``resume``), and its
runtime starts waiting in ``restore/next`` without running ``init``. ``main`` must keep its
state in that object (mutate it; do not rebind it), since that object is what the uniqueness
guard looks into after a Restore. Without SnapStart (on-demand, provisioned) ``main`` simply
follows ``init``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, Literal, TypeVar

from .clients import ExtensionClient, RuntimeClient
from .inprocess import InProcessProcess
from .participant import ExitStatus, StartContext

S = TypeVar("S")


class SnapshotProcess(InProcessProcess):
    """An in-process participant's task that can say what state it holds."""

    __slots__ = ("state",)

    def __init__(
        self, on_exit: Callable[[ExitStatus], None], sigterm: Callable[[], bool], state: Any
    ) -> None:
        super().__init__(on_exit, sigterm)
        self.state = state

    def snapshot_state(self) -> Any:
        """The state the participant holds now (what a snapshot copies)."""
        return self.state


class SnapStartRuntime(Generic[S]):
    """A runtime as ``init(client) -> state`` and ``main(client, state)`` (see the module)."""

    __slots__ = ("init", "main", "name")

    def __init__(
        self,
        init: Callable[[RuntimeClient], Awaitable[S]],
        main: Callable[[RuntimeClient, S], Awaitable[None]],
        name: str = "bootstrap",
    ) -> None:
        self.init = init
        self.main = main
        self.name = name

    async def start(self, client: RuntimeClient, ctx: StartContext) -> SnapshotProcess:
        """Start with Init: ``init``, then (SnapStart) ``restore/next``, then ``main``."""
        process = SnapshotProcess(ctx.on_exit, client.deliver_sigterm, None)
        snap_start = ctx.config.initialization_type == "snap-start"

        async def run() -> None:
            state = process.state = await self.init(client)
            if snap_start:
                await client.restore_next()
            await self.main(client, state)

        ctx.task_group.start_soon(process.run, run, name=self.name)
        return process

    async def resume(self, client: RuntimeClient, ctx: StartContext, state: S) -> SnapshotProcess:
        """Start as the snapshot holds it: waiting in ``restore/next``, then ``main(state)``."""
        process = SnapshotProcess(ctx.on_exit, client.deliver_sigterm, state)

        async def run() -> None:
            await client.restored()
            await self.main(client, state)

        ctx.task_group.start_soon(process.run, run, name=self.name)
        return process


class SnapStartExtension(Generic[S]):
    """An extension as ``init(client) -> state`` (it registers there) and
    ``main(client, state)`` (its loop of ``next``)."""

    __slots__ = ("init", "kind", "main", "name")

    def __init__(
        self,
        init: Callable[[ExtensionClient], Awaitable[S]],
        main: Callable[[ExtensionClient, S], Awaitable[None]],
        name: str,
        kind: Literal["internal", "external"] = "external",
    ) -> None:
        self.init = init
        self.main = main
        self.name = name
        self.kind: Literal["internal", "external"] = kind

    async def start(self, client: ExtensionClient, ctx: StartContext) -> SnapshotProcess:
        """Start with Init: ``init``, then ``main``."""
        process = SnapshotProcess(ctx.on_exit, client.deliver_sigterm, None)

        async def run() -> None:
            state = process.state = await self.init(client)
            await self.main(client, state)

        ctx.task_group.start_soon(process.run, run, name=self.name)
        return process

    async def resume(self, client: ExtensionClient, ctx: StartContext, state: S) -> SnapshotProcess:
        """Start as the snapshot holds it (registered, done with Init): ``main(state)``."""
        process = SnapshotProcess(ctx.on_exit, client.deliver_sigterm, state)
        ctx.task_group.start_soon(process.run, lambda: self.main(client, state), name=self.name)
        return process

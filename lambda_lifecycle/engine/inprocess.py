"""In-process participants: a runtime or an extension written as an async function.

An in-process participant runs as a task in the environment's task group and behaves like a
process as far as the engine can tell: returning is exit status 0, ``raise SystemExit(n)`` is
exit status ``n``, any other exception is a crash with exit status 1 (the exception is kept on
:attr:`InProcessProcess.exception`), and a kill cancels it (``signal: killed``). SIGTERM calls
the handler the participant installed with ``client.on_sigterm(...)``; without one, the default
action ends the task (``signal: terminated``), as it would end a process. Freezing is a no-op:
an in-process participant only runs when the engine hands it an event.

These are the participants for tests of lifecycle logic and for embedding the engine in another
emulator; real processes over HTTP plug into the same protocol.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

import anyio

from .clients import ExtensionClient, RuntimeClient
from .participant import ExitStatus, StartContext

RuntimeMain = Callable[[RuntimeClient], Awaitable[None]]
ExtensionMain = Callable[[ExtensionClient], Awaitable[None]]


class InProcessProcess:
    """The running task of an in-process participant, signalled like a process."""

    __slots__ = ("_on_exit", "_scope", "_signal", "_sigterm", "exception", "exited")
    freezable = False

    def __init__(self, on_exit: Callable[[ExitStatus], None], sigterm: Callable[[], bool]) -> None:
        self._on_exit = on_exit
        self._scope = anyio.CancelScope()
        self._signal: str | None = None
        self._sigterm = sigterm
        self.exception: BaseException | None = None
        self.exited = False

    async def run(self, main: Callable[[], Awaitable[None]]) -> None:
        """Run ``main`` to its end and report how it ended."""
        status: ExitStatus | None = None
        with self._scope:
            try:
                await main()
                status = ExitStatus(0)
            except SystemExit as exc:
                status = ExitStatus(_exit_code(exc.code))
            except Exception as exc:  # a crash of the participant, not of the engine
                self.exception = exc
                status = ExitStatus(1)
        if status is None:  # our own scope was cancelled by terminate() or kill()
            status = ExitStatus(None, self._signal or "killed")
        self.exited = True
        self._on_exit(status)

    def terminate(self) -> None:
        """SIGTERM: run the participant's handler, or end the task (the default action)."""
        if self.exited or self._sigterm():
            return
        self._signal = "terminated"
        self._scope.cancel()

    def kill(self) -> None:
        """SIGKILL: cancel the task."""
        if not self.exited:
            self._signal = self._signal or "killed"
            self._signal = "killed"
            self._scope.cancel()

    def freeze(self) -> None:
        """Nothing to suspend: the task only runs when handed an event."""

    def thaw(self) -> None:
        """Nothing to resume."""

    def peak_memory_kib(self) -> int | None:
        """Not measurable: the task shares the host process's memory."""
        return None


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    return 1  # SystemExit("message") exits with status 1, as CPython does


class InProcessRuntime:
    """A runtime written as ``async def main(client: RuntimeClient) -> None``."""

    __slots__ = ("main", "name")

    def __init__(self, main: RuntimeMain, name: str = "bootstrap") -> None:
        self.main = main
        self.name = name

    async def start(self, client: RuntimeClient, ctx: StartContext) -> InProcessProcess:
        """Start ``main`` as a task of the environment."""
        process = InProcessProcess(ctx.on_exit, client.deliver_sigterm)
        ctx.task_group.start_soon(process.run, lambda: self.main(client), name=self.name)
        return process


class InProcessExtension:
    """An extension written as ``async def main(client: ExtensionClient) -> None``."""

    __slots__ = ("kind", "main", "name")

    def __init__(
        self,
        main: ExtensionMain,
        name: str,
        kind: Literal["internal", "external"] = "external",
    ) -> None:
        self.main = main
        self.name = name
        self.kind: Literal["internal", "external"] = kind

    async def start(self, client: ExtensionClient, ctx: StartContext) -> InProcessProcess:
        """Start ``main`` as a task of the environment."""
        process = InProcessProcess(ctx.on_exit, client.deliver_sigterm)
        ctx.task_group.start_soon(process.run, lambda: self.main(client), name=self.name)
        return process

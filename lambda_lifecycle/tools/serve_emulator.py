"""The emulator as ``serve`` runs it: no caller is left without an answer when it is killed.

``serve`` serves a function through a pool of environments (:class:`~lambda_lifecycle.server.
function_emulator.FunctionEmulator`). A second Ctrl-C ends ``serve`` at once, without waiting for
the invocations under way. The callers still waiting for an answer (one per busy environment)
are answered first, with the invoke endpoint's answer for an environment that is gone: 503
``ServiceException`` and AWS's error JSON. :meth:`ServeEmulator.abandon` does that; ``serve``
then gives the answers a moment to be sent before it cancels everything.
"""

from __future__ import annotations

from typing import Any

import anyio

from ..core.errors import EnvironmentClosed
from ..engine.invocation import InvokeResult
from ..server.function_emulator import FunctionEmulator

ABANDONED = "the emulator was stopped (a second Ctrl-C) before the invocation ended"


class ServeEmulator(FunctionEmulator):
    """A :class:`~lambda_lifecycle.server.function_emulator.FunctionEmulator` whose waiting
    callers can be abandoned."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._waiting: set[anyio.CancelScope] = set()
        self._abandoned = False
        self._answered: anyio.Event | None = None

    async def invoke(self, payload: bytes | str | Any = b"", **options: Any) -> InvokeResult:
        """:meth:`FunctionEmulator.invoke`, or :class:`EnvironmentClosed` once abandoned."""
        if self._abandoned:
            raise EnvironmentClosed(ABANDONED)
        scope = anyio.CancelScope()
        self._waiting.add(scope)
        try:
            with scope:
                return await super().invoke(payload, **options)
        finally:
            self._waiting.discard(scope)
            if not self._waiting and self._answered is not None:
                self._answered.set()
        raise EnvironmentClosed(ABANDONED)

    @property
    def waiting(self) -> int:
        """How many callers are waiting for an invocation's answer."""
        return len(self._waiting)

    async def abandon(self, grace: float) -> None:
        """Answer every waiting caller with :class:`EnvironmentClosed`, then give the answers
        up to ``grace`` seconds to leave."""
        self._abandoned = True
        if not self._waiting:
            return
        self._answered = anyio.Event()
        for scope in list(self._waiting):
            scope.cancel()
        with anyio.move_on_after(grace):
            await self._answered.wait()
            await anyio.sleep(0.02)  # the endpoint writes the answers on the next turns

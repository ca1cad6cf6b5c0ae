"""One-shot waiters for the hand-offs on the invoke path.

Every invocation hands an event to the runtime and to each subscribed extension and waits for
the runtime's answer: a handful of one-shot waits with exactly one waiting task each. On the
asyncio backend a bare loop future does that for a fraction of the cost of an ``anyio.Event``
(which looks the backend up on every creation); on any other backend (trio) the waiter is an
``anyio.Event``. Both are used through the same three calls: ``set()``, ``is_set()`` and
``await wait()``.

A future waiter must have a single waiting task: cancelling that task cancels the future, which
is harmless when nobody else waits on it (``set()`` on it is then a no-op).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import anyio


class Waiter(Protocol):
    """A one-shot signal with one waiting task."""

    def set(self) -> None:
        """Release the waiting task (idempotent)."""

    def is_set(self) -> bool:
        """Whether :meth:`set` was called."""
        ...

    def wait(self) -> Awaitable[Any]:
        """Wait until :meth:`set` is called."""
        ...


class FutureWaiter:
    """A :class:`Waiter` over an asyncio future."""

    __slots__ = ("_future",)

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._future: asyncio.Future[None] = loop.create_future()

    def set(self) -> None:
        if not self._future.done():
            self._future.set_result(None)

    def is_set(self) -> bool:
        return self._future.done()

    def wait(self) -> Awaitable[None]:
        return self._future


def waiter_factory() -> Callable[[], Waiter]:
    """The cheapest waiter constructor for the running backend (call inside the loop)."""
    try:
        loop = asyncio.get_running_loop()
        running_asyncio = asyncio.current_task() is not None
    except RuntimeError:
        running_asyncio = False
    if running_asyncio:
        return lambda: FutureWaiter(loop)
    return anyio.Event

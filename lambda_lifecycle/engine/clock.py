"""The engine's clock: one monotonic time base for deadlines and durations, plus wall time.

Deadlines and durations use anyio's clock (the event loop's monotonic time), so that a test in
virtual time sees a 900 s timeout pass at once and still measures 900 s. Timestamps that leave the
engine (``deadlineMs``, log times) are that same clock shifted by the wall-clock offset read once
when the clock is created, so a duration and the difference of two timestamps always agree.

On asyncio the clock reads the running loop's ``time()`` directly (anyio's ``current_time()``
looks the backend up on every call, several times per invocation); it is the same clock, and a
virtual-time loop (looptime) patches that very method.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import anyio


def _loop_time() -> Callable[[], float]:
    try:
        loop = asyncio.get_running_loop()
        if asyncio.current_task() is not None:
            return loop.time
    except RuntimeError:
        pass
    return anyio.current_time


class Clock:
    """Monotonic now, and its mapping to the Unix epoch. Create it inside a running loop."""

    __slots__ = ("now", "offset")

    def __init__(self) -> None:
        self.now: Callable[[], float] = _loop_time()
        """Monotonic seconds (the event loop's clock)."""
        self.offset = time.time() - self.now()
        """Unix time minus monotonic time: ``wall(at) == at + offset``."""

    def wall(self, at: float) -> float:
        """Unix time in seconds of the monotonic instant ``at``."""
        return at + self.offset

    def wall_ms(self, at: float) -> int:
        """Unix time in whole milliseconds of the monotonic instant ``at``."""
        return int((at + self.offset) * 1000)

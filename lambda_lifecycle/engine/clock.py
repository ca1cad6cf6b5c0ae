"""The engine's clock: one monotonic time base for deadlines and durations, plus wall time.

Deadlines and durations use anyio's clock (the event loop's monotonic time), so that a test in
virtual time sees a 900 s timeout pass at once and still measures 900 s. Timestamps that leave the
engine (``deadlineMs``, log times) are that same clock shifted by the wall-clock offset read once
when the clock is created, so a duration and the difference of two timestamps always agree.
"""

from __future__ import annotations

import time

import anyio


class Clock:
    """Monotonic now, and its mapping to the Unix epoch. Create it inside a running loop."""

    __slots__ = ("_offset",)

    def __init__(self) -> None:
        self._offset = time.time() - anyio.current_time()

    def now(self) -> float:
        """Monotonic seconds (the event loop's clock)."""
        return anyio.current_time()

    def wall(self, at: float) -> float:
        """Unix time in seconds of the monotonic instant ``at``."""
        return at + self._offset

    def wall_ms(self, at: float) -> int:
        """Unix time in whole milliseconds of the monotonic instant ``at``."""
        return int((at + self._offset) * 1000)

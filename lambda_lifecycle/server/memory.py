"""Giving memory back after large bodies: the emulator's own footprint between invocations.

An event or a response of several MiB is freed as soon as its invocation is over, but glibc's
allocator keeps the freed pages (its mmap threshold grows after the first large free, so later
large bodies come from the heap, whose top is only trimmed past a threshold that grew with it).
After an invocation that carried a large body, :func:`trim_soon` asks the allocator to return
what it no longer uses (``malloc_trim(0)``), once, a moment later, so back-to-back large
invocations pay for one trim. Where the C library is not glibc it does nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
from collections.abc import Callable

LARGE_BODY = 1024 * 1024
"""Bodies (event plus response) from this size on are followed by a trim."""

_DELAY = 0.05  # seconds: the invocation's end (and the drop of its payload) comes first

_trim: Callable[[int], int] | None = None
_loaded = False
_pending: asyncio.AbstractEventLoop | None = None  # the loop a trim is scheduled on


def _malloc_trim() -> Callable[[int], int] | None:
    global _trim, _loaded  # noqa: PLW0603 - loaded once, on first use
    if not _loaded:
        _loaded = True
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _trim = libc.malloc_trim
        except (OSError, AttributeError):
            _trim = None
    return _trim


def trim_now() -> bool:
    """Return the allocator's free memory to the system now; False where that is not possible."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


def trim_soon() -> None:
    """Trim shortly (once, however many large bodies ask before then)."""
    global _pending  # noqa: PLW0603
    if _malloc_trim() is None:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        trim_now()
        return
    if _pending is loop:
        return

    def run() -> None:
        global _pending  # noqa: PLW0603
        _pending = None
        trim_now()

    _pending = loop
    loop.call_later(_DELAY, run)

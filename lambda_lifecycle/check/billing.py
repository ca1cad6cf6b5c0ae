"""Billed Duration: which values a REPORT may state, under the rule in force on its date.

Since 2025-08-01 AWS bills the Init phase of on-demand functions too: the Billed Duration of an
environment's first invocation is ``ceil(Duration + Init Duration)`` (the current English page:
133.61 + 80.00 ms bill 214 ms). Before that day the Init was billed only for custom runtimes,
container images and provisioned concurrency; the documentation of that time (the Japanese
edition of the lifecycle page) bills the same lines without it, and rounds either way
(133.61 ms -> 133 ms, 933.59 ms -> 934 ms), and a timed-out invocation bills the function
timeout (3004.92 ms after "Task timed out after 3.00 seconds" -> 3000 ms).

A suppressed init is inside the REPORT ``Duration`` and AWS's own example bills less than that
Duration (3022.91 ms -> 3000 ms, with 2.5 s between START and REPORT): where the START-to-REPORT
gap is known, anything from the gap to the Duration is accepted. When the log's date is not
known, either rule is accepted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

__all__ = ["CHANGE_DAY", "Billing", "billing_problem"]

CHANGE_DAY = date(2025, 8, 1)
"""The first day on which AWS billed the Init phase of on-demand functions."""


@dataclass(frozen=True, slots=True)
class Billing:
    """What a REPORT says and what is known around it."""

    duration_ms: float
    billed_ms: int
    init_ms: float | None
    day: date | None
    timeout_ms: int | None = None
    """The function timeout, when the invocation timed out and it is known."""
    gap_ms: float | None = None
    """START to REPORT, when a suppressed init made the Duration longer than it."""
    init_billed_before: bool = False
    """Whether Init was billed before the change (custom runtime, provisioned concurrency)."""


def _near(value: float) -> tuple[int, int]:
    value = round(value, 6)
    return math.floor(value), math.ceil(value)


def _ranges(b: Billing, current: bool) -> list[tuple[int, int]]:
    allowed: list[tuple[int, int]] = []
    init = b.init_ms or 0.0
    if current or b.init_billed_before:
        low, _ = _near(b.duration_ms + init)
        allowed.append((low, math.ceil(round(b.duration_ms, 6)) + math.ceil(round(init, 6))))
    if not current:
        allowed.append(_near(b.duration_ms))
    if b.timeout_ms is not None:
        allowed.append((b.timeout_ms, b.timeout_ms + (math.ceil(init) if current else 0)))
    if b.gap_ms is not None:
        allowed.append((math.floor(b.gap_ms), math.ceil(round(b.duration_ms + init, 6))))
    return allowed


def billing_problem(b: Billing) -> str | None:
    """Why ``b.billed_ms`` is not what the rule in force bills, or None when it is."""
    rules = (True, False) if b.day is None else (b.day >= CHANGE_DAY,)
    for current in rules:
        if any(low <= b.billed_ms <= high for low, high in _ranges(b, current)):
            return None
    init = b.init_ms or 0.0
    if b.day is None:
        when = "whatever the log's date"
    elif b.day >= CHANGE_DAY:
        when = f"on {b.day.isoformat()} (Init billed since {CHANGE_DAY.isoformat()})"
    else:
        when = f"on {b.day.isoformat()} (before {CHANGE_DAY.isoformat()}, Init not billed)"
    expected = (
        math.ceil(round(b.duration_ms + init, 6))
        if b.day is None or b.day >= CHANGE_DAY
        else math.ceil(round(b.duration_ms, 6))
    )
    init_text = f" + Init Duration {init:.2f} ms" if b.init_ms is not None else ""
    return (
        f"Billed Duration {b.billed_ms} ms for Duration {b.duration_ms:.2f} ms{init_text} "
        f"{when}: expected about {expected} ms"
    )

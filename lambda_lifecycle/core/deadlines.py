"""Deadline arithmetic: the limits of each phase, computed from the spec's numbers.

Pure functions of the spec's :class:`~lambda_lifecycle.core.spec.Deadlines` and the function's
configuration. They say *how long* a phase may take; the scheduler turns that into a point on its
clock, and the passing of that point comes back to the core as a ``*_timeout`` event.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from .config import FunctionConfig
from .spec import Deadlines

InitPhase = Literal["init", "invoke"]


def init_limit_ms(deadlines: Deadlines, config: FunctionConfig, phase: InitPhase) -> int:
    """How long an Init phase may take.

    A suppressed or retried init (``phase="invoke"``) runs inside the invocation's own function
    timeout. Otherwise on-demand functions get the spec's on-demand limit, and provisioned
    concurrency and SnapStart the larger of the spec's floor and the function timeout (the
    spec's ``deadlines.init.rule`` states the numbers).
    """
    if phase == "invoke":
        return config.timeout_ms
    if config.initialization_type == "on-demand":
        return deadlines.init_on_demand_ms
    return max(deadlines.init_provisioned_floor_ms, config.timeout_ms)


def restore_limit_ms(deadlines: Deadlines) -> int:
    """How long a SnapStart Restore phase may take."""
    return deadlines.restore_ms


@dataclass(frozen=True, slots=True)
class ShutdownBudget:
    """The time limits of a Shutdown (or Reset) phase.

    ``total_ms`` bounds the whole phase. ``runtime_ms`` is the runtime's share for a graceful
    exit after SIGTERM; ``sigterm`` is False when the runtime is killed at once (no extension is
    registered). External extensions get SHUTDOWN with the rest of the budget.
    """

    total_ms: int
    runtime_ms: int
    sigterm: bool


def shutdown_budget(deadlines: Deadlines, internal: int, external: int) -> ShutdownBudget:
    """The Shutdown budget for an environment with these registered extension counts."""
    if external:
        share = (
            deadlines.shutdown_runtime_share_with_internal_ms
            if internal
            else deadlines.shutdown_runtime_share_ms
        )
        return ShutdownBudget(deadlines.shutdown_external_ms, share, sigterm=True)
    if internal:
        total = deadlines.shutdown_internal_only_ms
        return ShutdownBudget(total, total, sigterm=True)
    return ShutdownBudget(deadlines.shutdown_no_extensions_ms, 0, sigterm=False)


def billed_duration_ms(duration_ms: float, init_duration_ms: float | None = None) -> int:
    """Billed Duration: the invocation plus, on an environment's first invoke, its Init, rounded
    up to the next millisecond (AWS's rule since 2025-08-01)."""
    total = duration_ms + (init_duration_ms or 0.0)
    # Float noise is not billed: a total less than half a nanosecond over a whole millisecond
    # bills that millisecond (100.00 ms bills 100 ms, not 101 ms): ceil(round(total, 6)) but for
    # exact ties, without a decimal rounding on every invocation.
    return math.ceil(total - _FLOAT_NOISE_MS)


_FLOAT_NOISE_MS = 5e-7
"""Half of the smallest step (a nanosecond) a duration is measured in, in milliseconds."""

"""The summary of a check: counts over every environment, in constant memory.

Durations go into a histogram of buckets 1 % wide (a few hundred counters whatever the number of
invocations), so the percentiles are exact to about 1 %.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from itertools import repeat
from operator import truediv
from typing import Any

__all__ = ["Histogram", "Summary"]

_GROWTH = math.log(1.01)


EXACT = 10_000
"""Up to this many values the percentiles are exact; beyond, they come from the buckets."""


@dataclass
class Histogram:
    """Counts of values in buckets 1 % wide, the exact maximum, and the values themselves
    while there are at most :data:`EXACT`."""

    buckets: Counter[int] = field(default_factory=Counter)
    count: int = 0
    maximum: float = 0.0
    values: list[float] | None = field(default_factory=list)

    def add(self, value: float) -> None:
        """Count ``value`` (milliseconds, >= 0)."""
        self.buckets[int(math.log1p(value) / _GROWTH)] += 1
        self.count += 1
        self.maximum = max(self.maximum, value)
        values = self.values
        if values is not None:
            if len(values) < EXACT:
                values.append(value)
            else:
                self.values = None

    def add_many(self, values: list[float]) -> None:
        """Count every one of ``values``: the same as :meth:`add` for each, in any order."""
        if not values:
            return
        self.buckets.update(map(int, map(truediv, map(math.log1p, values), repeat(_GROWTH))))
        self.count += len(values)
        top = max(values)
        self.maximum = max(self.maximum, top)
        kept = self.values
        if kept is not None:
            if len(kept) + len(values) <= EXACT:
                kept.extend(values)
            else:
                self.values = None

    def percentile(self, fraction: float) -> float | None:
        """The value below which ``fraction`` of the counted values lie (None when empty);
        beyond :data:`EXACT` values, the upper end of its 1 % bucket."""
        if not self.count:
            return None
        rank = max(1, math.ceil(fraction * self.count))
        if self.values is not None:
            return sorted(self.values)[rank - 1]
        seen = 0
        for bucket in sorted(self.buckets):
            seen += self.buckets[bucket]
            if seen >= rank:
                return min(math.expm1((bucket + 1) * _GROWTH), self.maximum)
        return self.maximum  # pragma: no cover (the ranks add up to count)


@dataclass
class Summary:
    """What the inputs held, over every environment."""

    files: int = 0
    records: int = 0
    environments: int = 0
    invokes: int = 0
    cold_starts: int = 0
    restores: int = 0
    suppressed_inits: int = 0
    resets: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    durations: Histogram = field(default_factory=Histogram)
    billed_ms: int = 0
    transitions: Counter[str] = field(default_factory=Counter)
    """How often each spec row was walked."""

    def to_json(self) -> dict[str, Any]:
        """The summary as a JSON object."""
        percentiles = {
            name: None if value is None else round(value, 2)
            for name, value in (
                ("p50", self.durations.percentile(0.5)),
                ("p90", self.durations.percentile(0.9)),
                ("p99", self.durations.percentile(0.99)),
            )
        }
        percentiles["max"] = round(self.durations.maximum, 2) if self.durations.count else None
        return {
            "files": self.files,
            "records": self.records,
            "environments": self.environments,
            "invokes": self.invokes,
            "cold_starts": self.cold_starts,
            "restores": self.restores,
            "suppressed_inits": self.suppressed_inits,
            "resets": self.resets,
            "errors": dict(sorted(self.errors.items())),
            "duration_ms": percentiles,
            "billed_ms": self.billed_ms,
            "transitions": dict(sorted(self.transitions.items())),
        }

"""The commonest line, read the quick way.

In a large log nearly every Lambda line is ``START``, ``END`` or ``REPORT``; reading them costs
most of a check. ``START`` and ``END`` are split by the reader (:mod:`.sources`); this module
reads ``REPORT`` as the wire writes it (fields separated by single tabs, in AWS's order, with
only the optional ``Init Duration``, ``Status`` and ``Error Type``) with one narrow pattern, and
gives up (None) at anything else: the caller then hands the line to
:func:`lambda_lifecycle.formats.textlog.parse_line`, which reads every form (spaces,
``Restore Duration``, ``XRAY``, ``-`` for unknown memory), so the result is the same.
:class:`FastReport` has the attributes of :class:`~lambda_lifecycle.formats.records.Report`
that the checker reads.
"""

from __future__ import annotations

import re
from typing import Protocol

from ..formats.records import STATUSES

__all__ = ["FastReport", "ReportLike", "fast_report"]


class ReportLike(Protocol):
    """What the checker reads of a ``REPORT``: a :class:`FastReport` or a ``Report``."""

    @property
    def request_id(self) -> str: ...
    @property
    def status(self) -> str | None: ...
    @property
    def error_type(self) -> str | None: ...
    @property
    def duration_ms(self) -> float: ...
    @property
    def billed_duration_ms(self) -> int: ...
    @property
    def memory_size_mb(self) -> int: ...
    @property
    def max_memory_used_mb(self) -> int | None: ...
    @property
    def init_duration_ms(self) -> float | None: ...
    @property
    def restore_duration_ms(self) -> float | None: ...
    @property
    def billed_restore_duration_ms(self) -> int | None: ...


class FastReport:
    """A ``REPORT`` line read by :func:`fast_report`."""

    __slots__ = (
        "billed_duration_ms",
        "duration_ms",
        "error_type",
        "init_duration_ms",
        "max_memory_used_mb",
        "memory_size_mb",
        "request_id",
        "status",
    )
    billed_restore_duration_ms: None = None
    restore_duration_ms: None = None

    def __init__(
        self,
        request_id: str,
        *,
        duration_ms: float,
        billed_duration_ms: int,
        memory_size_mb: int,
        max_memory_used_mb: int,
        init_duration_ms: float | None,
        status: str | None,
        error_type: str | None,
    ) -> None:
        self.request_id = request_id
        self.duration_ms = duration_ms
        self.billed_duration_ms = billed_duration_ms
        self.memory_size_mb = memory_size_mb
        self.max_memory_used_mb = max_memory_used_mb
        self.init_duration_ms = init_duration_ms
        self.status = status
        self.error_type = error_type


_WIRE_REPORT = re.compile(
    r"REPORT RequestId: ([^\s]+)\tDuration: ([0-9]+(?:\.[0-9]+)?) ms"
    r"\tBilled Duration: ([0-9]+) ms\tMemory Size: ([0-9]+) MB\tMax Memory Used: ([0-9]+) MB"
    r"(?:\tInit Duration: ([0-9]+(?:\.[0-9]+)?) ms)?"
    rf"(?:\tStatus: ({'|'.join(STATUSES)}))?"
    r"(?:\tError Type: ([^\s]+))?[ \t]*",
    re.ASCII,
)


def fast_report(text: str) -> FastReport | None:
    """The ``REPORT`` line ``text`` in its usual wire form, or None for any other form."""
    match = _WIRE_REPORT.fullmatch(text)
    if match is None:
        return None
    rid, duration, billed, memory, used, init, status, error_type = match.groups()
    return FastReport(
        rid,
        duration_ms=float(duration),
        billed_duration_ms=int(billed),
        memory_size_mb=int(memory),
        max_memory_used_mb=int(used),
        init_duration_ms=None if init is None else float(init),
        status=status,
        error_type=error_type,
    )

"""The three commonest lines, read without a regular expression.

In a large log nearly every Lambda line is ``START``, ``END`` or ``REPORT``; reading them costs
most of a check. This module reads them as the wire writes them (``REPORT`` fields separated by
tabs, in AWS's order, with only the optional ``Init Duration``, ``Status`` and ``Error Type``) by
splitting the line, and gives up (None) at the first thing it does not expect: the caller then
hands the line to :func:`lambda_lifecycle.formats.textlog.parse_line`, which reads every form
(spaces, ``Restore Duration``, ``XRAY``, ``-`` for unknown memory), so the result is the same.
:class:`FastReport` has the attributes of :class:`~lambda_lifecycle.formats.records.Report`
that the checker reads.
"""

from __future__ import annotations

from typing import Protocol

from ..formats.records import STATUSES

__all__ = ["FastReport", "ReportLike", "fast_report"]

_STATUSES = frozenset(STATUSES)


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


def _decimal(text: str) -> float | None:
    whole, dot, fraction = text.partition(".")
    if (
        whole.isdigit()
        and whole.isascii()
        and (not dot or (fraction.isdigit() and fraction.isascii()))
    ):
        return float(text)
    return None


def _whole(text: str) -> int | None:
    return int(text) if text.isdigit() and text.isascii() else None


def fast_report(text: str) -> FastReport | None:
    """The ``REPORT`` line ``text`` in its usual wire form, or None for any other form."""
    fields = text.rstrip().split("\t")
    if len(fields) < 5:
        return None
    rid, duration, billed, memory, used, *rest = fields
    if not (
        rid.startswith("REPORT RequestId: ")
        and duration.startswith("Duration: ")
        and duration.endswith(" ms")
        and billed.startswith("Billed Duration: ")
        and billed.endswith(" ms")
        and memory.startswith("Memory Size: ")
        and memory.endswith(" MB")
        and used.startswith("Max Memory Used: ")
        and used.endswith(" MB")
    ):
        return None
    request_id = rid[18:]
    duration_ms = _decimal(duration[10:-3])
    billed_ms = _whole(billed[17:-3])
    memory_mb = _whole(memory[13:-3])
    used_mb = _whole(used[17:-3])
    if (
        not request_id
        or " " in request_id
        or duration_ms is None
        or billed_ms is None
        or memory_mb is None
        or used_mb is None
    ):
        return None
    init_ms = status = error_type = None
    index = 0
    if index < len(rest) and rest[index].startswith("Init Duration: "):
        field = rest[index]
        if not field.endswith(" ms"):
            return None
        init_ms = _decimal(field[15:-3])
        if init_ms is None:
            return None
        index += 1
    if index < len(rest) and rest[index].startswith("Status: "):
        status = rest[index][8:]
        if status not in _STATUSES:
            return None
        index += 1
    if index < len(rest) and rest[index].startswith("Error Type: "):
        error_type = rest[index][12:]
        if not error_type or " " in error_type:
            return None
        index += 1
    if index != len(rest):
        return None
    return FastReport(
        request_id,
        duration_ms=duration_ms,
        billed_duration_ms=billed_ms,
        memory_size_mb=memory_mb,
        max_memory_used_mb=used_mb,
        init_duration_ms=init_ms,
        status=status,
        error_type=error_type,
    )

"""Finding the warm invocations of a block of plain-text log in one pass of one pattern.

A large log is mostly warm invocations: ``START``, the function's own lines, ``END``,
``REPORT``, with the same request id. :func:`scan_block` reads a whole block of the input
(bytes, a whole number of lines, no ``\\r``) with :data:`BLOCK_PATTERN`, whose every match is
one of:

- a **triple**: a ``START`` and its ``END`` and ``REPORT`` in their wire form (single spaces,
  as AWS writes them), the request id the same on all three, and between them only lines that
  cannot be Lambda's (see :data:`QUIET_LINE`), which the line reader would skip;
- a **candidate**: any other line that may be Lambda's (it begins as one of Lambda's lines, a
  time or JSON may), which the caller reads the ordinary way;
- before either, any number of lines that cannot be Lambda's, counted and skipped.

So the function's own output costs no Python at all, and the line numbers stay exact: each
match says how many lines it spans. The REPORTs are then read for the whole block at once (their
numbers cut out at C speed, the REPORTs written again from them and compared): a triple whose
REPORT is the plainest kind (``Duration``, ``Billed Duration``, ``Memory Size``, ``Max Memory
Used`` and nothing else, as :mod:`.fastlines` reads them) goes into a :class:`WarmRun`, which
:mod:`.warmpath` takes in bulk; any other triple is handed back as its three lines. The pattern
is narrower than the line reader, never wider: whatever it does not take is read line by line
as before, so the findings are the same.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import accumulate, compress, repeat
from operator import add

__all__ = ["BLOCK_PATTERN", "PLAIN_REPORT", "QUIET_LINE", "WarmRun", "scan_block"]

_MAYBE_LAMBDA = rb"[SERI0-9{]|\[[{\[\] ]"
"""How a line the reader might act on begins: Lambda's keywords (and, after the older error
notice, its error type line), a time, JSON (``[INFO]`` and the like are not JSON)."""

_KEYWORDS = (
    rb"START |END |REPORT |INIT_START|INIT_REPORT |RESTORE_START|RESTORE_REPORT |RequestId: "
)

QUIET_LINE = rb"(?:(?![SERI0-9{\[])|\[(?![{\[\] ])|(?!" + _KEYWORDS + rb"|[0-9{\[]))[^\n]*\n"
"""A line inside an invocation that the reader skips: it does not begin as one of Lambda's
lines, a time or JSON (after ``START`` no error type line is expected). The commonest case is
tried first."""

BLOCK_PATTERN = re.compile(
    rb"((?:\n(?!" + _MAYBE_LAMBDA + rb")[^\n]*)*)"
    rb"\n(?:START RequestId: ([!-~]+) Version: ([!-~]+)\n"
    rb"(?:(?=([\x00-\xff]))" + QUIET_LINE + rb")?((?:" + QUIET_LINE + rb")*)"
    rb"END RequestId: \2\nREPORT RequestId: \2(\t[^\n]*)"
    rb"|((?:" + _MAYBE_LAMBDA + rb")[^\n]*)|\Z)"
)
"""Applied to a block framed by a newline: every match begins at a newline and the matches tile it.
Groups: the skipped lines, request id, version, the first byte of the first line inside the
invocation (a byte object Python does not allocate) and the other lines (so that one line
inside each needs no counting), the REPORT after its request id, a candidate line. Whether the
REPORT is plain is checked after."""

PLAIN_REPORT = re.compile(
    rb"\tDuration: ([0-9]+(?:\.[0-9]+)?) ms\tBilled Duration: ([0-9]+) ms"
    rb"\tMemory Size: ([0-9]+) MB\tMax Memory Used: ([0-9]+) MB"
)
"""The plain REPORT after its request id (what :func:`_numbers` checks in bulk)."""

_PLAIN = b"\tDuration: %b ms\tBilled Duration: %b ms\tMemory Size: %b MB\tMax Memory Used: %b MB"
_SPACES = _PLAIN.count(b" ")
_NUMBER_BYTES = frozenset(b"0123456789.")
_TO_SPACE = bytes(byte if byte in _NUMBER_BYTES else 0x20 for byte in range(256))
_DURATIONS = re.compile(rb"(?:[0-9]+(?:\.[0-9]+)?\n)*")
_SHORT_DURATIONS = re.compile(rb"(?:[0-9]{1,7}(?:\.[0-9]{1,6})?\n)*")
"""Durations below 10^7 ms with at most 6 decimals: ``round(d, 6)`` gives ``d`` back (the double
nearest to such a decimal is within 10^-9 of it, so rounding it to 6 places gives the decimal
again), and the billing check needs no rounding."""
_NL = b"\n"

Column = Sequence[bytes]


class WarmRun:
    """Plain warm triples one after another in one input, nothing that counts between them,
    as columns: request ids, runtime versions, the REPORT after its request id, its four
    numbers (and the Durations rounded to 6 decimals, as the billing check reads them), the
    START lines and END lines (each REPORT is the line after its END)."""

    __slots__ = (
        "billed",
        "durations",
        "ends",
        "memory",
        "reports",
        "rids",
        "rounded",
        "starts",
        "used",
        "versions",
    )

    def __init__(self, texts: tuple[Column, Column, Column]) -> None:
        self.rids, self.versions, self.reports = texts
        self.durations: list[float] = []
        self.rounded: list[float] = []
        self.billed: list[int] = []
        self.memory: list[int] = []
        self.used: list[int] = []
        self.starts: list[int] = []
        self.ends: list[int] = []


Numbers = tuple[list[float], list[float], list[int], list[int], list[int]]
"""Durations, the same rounded to 6 decimals, Billed Durations, Memory Sizes, Max Memory Used."""


def _numbers(reports: Column) -> Numbers | None:
    """The four numbers of each of ``reports`` when every one is plain (:data:`PLAIN_REPORT`),
    else None: the digits and dots are cut out, the REPORTs written again from them must be
    the same bytes, each Duration a decimal number and the others whole numbers."""
    if not reports:
        return [], [], [], [], []
    joined = _NL.join(reports)
    pieces = joined.translate(_TO_SPACE).split()
    if len(pieces) != 4 * len(reports):
        return None
    if _NL.join([_PLAIN] * len(reports)) % tuple(pieces) != joined:
        return None
    durations, billed, memory, used = pieces[0::4], pieces[1::4], pieces[2::4], pieces[3::4]
    joined_durations = _NL.join(durations) + _NL
    if _DURATIONS.fullmatch(joined_durations) is None:
        return None
    if not all(b"".join(column).isdigit() for column in (billed, memory, used)):
        return None
    values = list(map(float, durations))
    short = _SHORT_DURATIONS.fullmatch(joined_durations) is not None
    return (
        values,
        values if short else list(map(round, values, repeat(6))),
        list(map(int, billed)),
        list(map(int, memory)),
        list(map(int, used)),
    )


def _plain(reports: Column) -> tuple[list[bool] | None, Numbers]:
    """Which REPORTs are plain (None: all of them), and the numbers of those. In bulk (a plain
    REPORT ends in `` MB``; :func:`_numbers` checks the rest); one by one only when the bulk
    reading fails."""
    mb = list(map(bytes.endswith, reports, repeat(b" MB")))
    flags = None if all(mb) else mb
    numbers = _numbers(reports if flags is None else list(compress(reports, flags)))
    if numbers is None:
        flags = [PLAIN_REPORT.fullmatch(report) is not None for report in reports]
        numbers = _numbers(list(compress(reports, flags)))
        assert numbers is not None  # each was read plain by the pattern
    return flags, numbers


def _lines(first_line: int, first: Column, more: Column) -> tuple[list[int], list[int]]:
    """The START and END lines of triples that follow one another with nothing between, the
    first on ``first_line``; ``first`` and ``more`` are the lines inside each invocation."""
    count = len(first)
    if not any(more):
        step = 4 if all(first) else 3 if not any(first) else 0
        if step:
            starts = list(range(first_line, first_line + step * count, step))
            return starts, list(map(add, starts, repeat(step - 2)))
    inside = list(map(add, map(bool, first), map(bytes.count, more, repeat(_NL))))
    starts = list(accumulate(map(add, inside, repeat(3)), initial=first_line))
    del starts[-1]
    return starts, list(map(add, starts, map(add, inside, repeat(1))))


Items = list[WarmRun | tuple[int, bytes]]


def scan_block(block: bytes, first_line: int) -> tuple[Items, int]:
    """The warm runs of ``block`` and, in order with them, every other line that may be
    Lambda's as (line number, text); and the number of the line after the block.

    ``block`` is a newline and then whole lines, each ending in its newline, without ``\\r``
    (:func:`~.blocks.read_blocks`); its first line is number ``first_line``.
    """
    rows = BLOCK_PATTERN.findall(block)
    tail = 0
    if rows and not rows[-1][1] and not rows[-1][6]:
        tail = rows.pop()[0].count(_NL)  # the end of the block, after lines that are skipped
    if not rows:
        return [], first_line + tail
    columns = list(zip(*rows, strict=True))
    if not any(columns[0]) and all(columns[1]):  # triples only, nothing between them
        starts, ends = _lines(first_line, columns[3], columns[4])
        block_run = WarmRun((columns[1], columns[2], columns[5]))
        return _runs(block_run, starts, ends, []), ends[-1] + 2 + tail
    line = first_line
    rids: list[bytes] = []
    versions: list[bytes] = []
    reports: list[bytes] = []
    starts = []
    ends = []
    candidates: list[tuple[int, int, bytes]] = []
    for gap, rid, version, one, more, report, candidate in rows:
        if gap:
            line += gap.count(_NL)
        if rid:
            rids.append(rid)
            versions.append(version)
            reports.append(report)
            starts.append(line)
            if one:
                line += 1
            if more:
                line += more.count(_NL)
            ends.append(line + 1)
            line += 3
        else:
            candidates.append((len(rids), line, candidate))
            line += 1
    if not rids:
        return [(number, text) for _, number, text in candidates], line + tail
    return _runs(WarmRun((rids, versions, reports)), starts, ends, candidates), line + tail


def _slice(block: WarmRun, part: slice, plain: slice, numbers: Numbers) -> WarmRun:
    run = WarmRun((block.rids[part], block.versions[part], block.reports[part]))
    run.durations, run.rounded = numbers[0][plain], numbers[1][plain]
    run.billed, run.memory, run.used = numbers[2][plain], numbers[3][plain], numbers[4][plain]
    return run


def _runs(
    block: WarmRun, starts: list[int], ends: list[int], candidates: list[tuple[int, int, bytes]]
) -> Items:
    """The block's triples cut into runs at each candidate line and each triple that is not
    plain; those come as their three lines."""
    rids, versions, reports = block.rids, block.versions, block.reports
    count = len(rids)
    flags, numbers = _plain(reports)
    stops = candidates
    if flags is not None:
        stops = sorted(
            [*candidates, *((k, -1, b"") for k, ok in enumerate(flags) if not ok)],
            key=lambda stop: (stop[0], stop[1] < 0),
        )
    stops.append((count, 0, b""))
    items: Items = []
    done = 0
    taken = 0  # plain triples before ``done``
    for index, line, text in stops:
        if done < index:
            run = _slice(block, slice(done, index), slice(taken, taken + index - done), numbers)
            run.starts, run.ends = starts[done:index], ends[done:index]
            items.append(run)
            taken += index - done
            done = index
        if line >= 0:
            if text:
                items.append((line, text))
            continue
        rid, end = rids[index], ends[index]
        items.append((starts[index], b"START RequestId: " + rid + b" Version: " + versions[index]))
        items.append((end, b"END RequestId: " + rid))
        items.append((end + 1, b"REPORT RequestId: " + rid + reports[index]))
        done = index + 1
    return items

"""Taking a run of plain warm invocations in bulk, with the result of walking each one.

A warm invocation of a Frozen environment walks ``thaw-invoke`` and ``invoke-complete`` and
changes nothing else but the counts; when its REPORT breaks no rule (Duration within the
timeout, Billed Duration its floor or ceiling, memory below the size, a request id not seen
lately) there is nothing to report either. :func:`take_run` checks those conditions for a whole
:class:`~.warmscan.WarmRun` at once (columns, ``map`` and ``all``: C speed), adds the counts and
keeps the last request ids as :class:`~.path.Path` would (only those are decoded). An
invocation that does not meet them, or that comes when the environment is not Frozen with no
request open, is turned back into its ``START``, ``END`` and ``REPORT`` and walked the ordinary
way: the findings, summary and memory of recent request ids are the same as walking every
record.
"""

from __future__ import annotations

import math
from operator import ge, le, lt
from typing import TYPE_CHECKING

from ..formats.records import End, Start
from .fastlines import fast_report
from .model import Seen
from .warmscan import WarmRun

if TYPE_CHECKING:
    from .path import Path

__all__ = ["take_run"]


def _to_walk(path: Path, run: WarmRun, limit_ms: float) -> list[int]:
    """The indices of the triples that break a rule (or may), to walk one by one."""
    durations, billed, memory, used = run.durations, run.billed, run.memory, run.used
    rounded = run.rounded
    rids = run.rids
    # a request id seen lately, as bytes (one that is not ASCII matches none of the run's)
    recent = {rid.encode("utf-8", "replace") for rid in path.recent_ids}
    if (
        max(durations) <= limit_ms
        and all(map(le, map(math.floor, rounded), billed))
        and all(map(ge, map(math.ceil, rounded), billed))
        and all(map(lt, used, memory))
        and len(set(rids)) == len(rids)
        and recent.isdisjoint(rids)
    ):
        return []
    walk = []
    for k, rid in enumerate(rids):
        value = rounded[k]
        if (
            durations[k] > limit_ms
            or not math.floor(value) <= billed[k] <= math.ceil(value)
            or used[k] >= memory[k]
            or rid in recent
        ):
            walk.append(k)
        recent.add(rid)
    return walk


def _walk(path: Path, run: WarmRun, index: int, seen: Seen) -> None:
    """Triple ``index`` as the three records the line reader gives, walked."""
    rid = run.rids[index].decode("ascii")
    file, environment = seen.file, seen.environment
    end = run.ends[index]
    report = fast_report(f"REPORT RequestId: {rid}{run.reports[index].decode('ascii')}")
    assert report is not None  # the scanner took only REPORTs that fast_report reads
    start = Start(rid, run.versions[index].decode("ascii"))
    path.feed(Seen(start, file, run.starts[index], environment, "text"))
    path.feed(Seen(End(rid), file, end, environment, "text"))
    path.feed(Seen(report, file, end + 1, environment, "text"))


def _take(path: Path, run: WarmRun, start: int, stop: int) -> None:
    """Triples ``start`` to ``stop`` (excluded), all plain, from a Frozen environment."""
    rows = path.table.warm_rows
    assert rows is not None
    count = stop - start
    summary = path.summary
    transitions = summary.transitions
    transitions[rows[0].id] += count
    transitions[rows[1].id] += count
    summary.invokes += count
    summary.durations.add_many(run.durations[start:stop])
    summary.billed_ms += sum(run.billed[start:stop])
    path.reports += count
    recent, ids = path.recent, path.recent_ids
    keep = recent.maxlen or 0
    for k in range(max(start, stop - keep), stop):
        if len(recent) == keep:
            oldest = recent[0]
            if ids.get(oldest[0]) is oldest:
                del ids[oldest[0]]
        rid = run.rids[k].decode("ascii")
        entry = (rid, True, run.starts[k], run.ends[k] + 1)
        recent.append(entry)
        ids[rid] = entry


def take_run(path: Path, run: WarmRun, seen: Seen, slack_ms: float) -> None:
    """Walk every triple of ``run`` in ``path`` (``seen`` is where the run ended)."""
    count = len(run.rids)
    path.summary.records += 3 * count - 1  # the run itself was counted as one record
    timeout = path.timeout_ms
    limit = timeout if timeout is not None else path.table.spec.deadlines.invoke_max_ms
    to_walk = _to_walk(path, run, limit + slack_ms)
    to_walk.append(count)
    usable = path.table.warm_rows is not None
    index = 0
    for stop in to_walk:
        while index < stop:
            if (
                usable
                and path.state == "Frozen"
                and path.request is None
                and not path.pending_failed_init
            ):
                _take(path, run, index, stop)
                index = stop
                break
            _walk(path, run, index, seen)
            index += 1
        if stop < count:
            _walk(path, run, stop, seen)
            index = stop + 1
    path.last_file, path.last_line = seen.file, run.ends[-1] + 1

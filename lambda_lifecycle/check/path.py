"""One execution environment's path, rebuilt from what it wrote and checked step by step.

A :class:`Path` is fed the records of one environment (one log stream, or one telemetry
capture) in order. Each record is a step of the lifecycle: ``INIT_START`` is the spec's ``init``
row, a ``START`` after a Reset is ``suppressed-init`` then ``init-complete-invoke``, a ``START``
of a frozen environment is ``thaw-invoke``, a ``REPORT`` ends the Invoke phase with
``invoke-complete``, ``invoke-timeout``, ``invoke-runtime-exit`` or ``invoke-extension-crash``
depending on its ``Status`` and ``Error Type`` (or on the older format's notices), and a
failed ``INIT_REPORT`` or ``RESTORE_REPORT`` takes the matching failure row. A step with no row
in the spec is a ``transition`` violation naming the rows that would have been legal. A Reset
is followed by ``reset-complete`` at once: logs do not show its end.

Around the walk, the rules of :mod:`.rules` are checked: deadlines, when ``INIT_REPORT`` is
written, ``Init Duration`` only on the first ``REPORT``, one ``START``, ``END`` and ``REPORT``
per request id in that order, ``Status`` against ``Error Type``, Billed Duration
(:mod:`.billing`) and, for telemetry, the order ``initStart``, ``initRuntimeDone``,
``initReport`` and ``start``, ``runtimeDone``, ``report``.

The first record of an input may come from the middle of a life (an export of an hour, the
source document's examples): the state is then unknown, and the path takes the state the
record implies without judging the step. Memory per environment is bounded: the only history
kept is the last :data:`RECENT` request ids, to tell a repeated ``START`` from an asynchronous
retry.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from ..formats.records import (
    End,
    InitReport,
    InitRuntimeDone,
    InitStart,
    LegacyError,
    LegacyTimeout,
    LogsDropped,
    Report,
    RestoreReport,
    RestoreRuntimeDone,
    RestoreStart,
    RuntimeDone,
    Start,
)
from . import rules
from .billing import Billing, billing_problem
from .fastlines import FastReport, ReportLike
from .model import Finding, FindingKind, RestoreStartLine, Seen
from .specwalk import SpecTable
from .stats import Summary
from .textlines import ErrorTypeLine, stream_date
from .warmpath import take_run
from .warmscan import WarmRun

__all__ = ["RECENT", "Path"]

RECENT = 64
"""How many finished request ids an environment remembers."""

SLACK_MS = 50.0
"""How far a measured duration may pass a limit before it counts as passing it."""

PROACTIVE_MS = 1000.0
"""Idle time between an Init's end and the first START above which a hint says proactive
init."""

RUNTIME_EXITS = frozenset({"Runtime.ExitError", "Runtime.OutOfMemory", "Runtime.NodejsExit"})
"""Error types of a runtime process that exited or was killed (the spec's ``runtime_exit``)."""

INIT_FAILURE_ROWS = "init-error, init-timeout, init-runtime-exit, init-extension-crash"


def _failure_event(status: str | None, error_type: str | None, phase: str) -> str:
    """The spec event that a failed phase's status and error type stand for."""
    if status == "timeout":
        return f"{phase}_timeout"
    if error_type is not None:
        if error_type.startswith("Extension."):
            return "extension_crash"
        if error_type in RUNTIME_EXITS:
            return "runtime_exit"
    return f"{phase}_error"


@dataclass(slots=True)
class _Init:
    """The Init (or Restore) phase being walked."""

    line: int
    time: datetime | None
    phase: str
    initialization_type: str | None
    runtime_done: bool = False
    reported: bool = False
    succeeded: bool = False
    report_time: datetime | None = None
    logged_success: bool = False


@dataclass(slots=True)
class _Request:
    """The invocation between its START and its REPORT."""

    request_id: str
    line: int
    time: datetime | None
    from_state: str | None
    delivery: int = 0
    ended: bool = False
    runtime_done: bool = False
    in_init: bool = False
    init_failed: bool = False
    suppressed: bool = False
    expect_init: bool = False
    expect_restore: bool = False
    notice_timeout: float | None = None
    notice_error: str | None = None
    notice_error_type: str | None = None
    notice_time: datetime | None = None
    phantom: bool = False


class Path:
    """The walk of one environment through the spec, with every rule checked on the way."""

    def __init__(
        self,
        name: str,
        table: SpecTable,
        summary: Summary,
        report: Callable[[Finding], None],
        timeout_ms: int | None = None,
    ) -> None:
        self.name = name
        self.table = table
        self.summary = summary
        self._report = report
        self.timeout_ms = timeout_ms
        self.state: str | None = None
        self.init: _Init | None = None
        self.restore: _Init | None = None
        self.request: _Request | None = None
        self.pending_failed_init = False
        self.reports = 0
        self.recent: deque[tuple[str, bool, int, int]] = deque(maxlen=RECENT)
        """(request id, whether it succeeded, its START line, its REPORT line)."""
        self.recent_ids: dict[str, tuple[str, bool, int, int]] = {}
        self.last_day: date | None = None
        parts = stream_date(name)
        self.stream_day = date(*parts) if parts else None
        self.init_billed_before = False
        self.shows_runtime_done = False
        """Whether the input carries ``*RuntimeDone`` events: the JSON log format at the
        default INFO system log level has none, so their order is checked once one came."""
        self.last_file = ""
        self.last_line = 0
        self._report_line = 0
        self._handlers: dict[type, Callable[[object, Seen], None]] = {
            InitStart: self._init_start,  # type: ignore[dict-item]
            InitRuntimeDone: self._init_runtime_done,  # type: ignore[dict-item]
            InitReport: self._init_report,  # type: ignore[dict-item]
            RestoreStart: self._restore_start,  # type: ignore[dict-item]
            RestoreStartLine: self._restore_start,  # type: ignore[dict-item]
            RestoreRuntimeDone: self._restore_runtime_done,  # type: ignore[dict-item]
            RestoreReport: self._restore_report,  # type: ignore[dict-item]
            Start: self._start,  # type: ignore[dict-item]
            RuntimeDone: self._runtime_done,  # type: ignore[dict-item]
            LegacyError: self._notice,  # type: ignore[dict-item]
            LegacyTimeout: self._notice,  # type: ignore[dict-item]
            ErrorTypeLine: self._error_type_line,  # type: ignore[dict-item]
            End: self._end,  # type: ignore[dict-item]
            Report: self._report_record,  # type: ignore[dict-item]
            FastReport: self._report_record,  # type: ignore[dict-item]
            LogsDropped: self._logs_dropped,  # type: ignore[dict-item]
            WarmRun: self._warm_run,  # type: ignore[dict-item]
        }

    # --- findings -----------------------------------------------------------------------------

    def _find(self, kind: FindingKind, seen: Seen, rule: str, spec: str, message: str) -> None:
        self._report(Finding(kind, seen.file, seen.line, self.name, rule, spec, message))

    def violation(self, seen: Seen, rule: str, spec: str, message: str) -> None:
        """Report a violation of ``rule`` at ``seen``."""
        self._find("violation", seen, rule, spec, message)

    def hint(self, seen: Seen, rule: str, spec: str, message: str) -> None:
        """Report a hint at ``seen``."""
        self._find("hint", seen, rule, spec, message)

    # --- the walk -----------------------------------------------------------------------------

    def walk(self, seen: Seen, event: str, what: str, guard: str | None = None) -> bool:
        """Take the spec row for ``event`` from the current state (``what`` names the step for a
        message); False, after reporting it, when the spec has no such row."""
        state = self.state
        if state is None:
            row = self.table.any_row(event, guard)
            self.state = row.dest if row is not None else None
            return True
        row = self.table.row(state, event, guard)
        if row is None:
            self.violation(
                seen,
                rules.TRANSITION,
                self.table.allowed(state),
                f"{what}: no spec row leaves {state} on {event!r}"
                f" (the rows from {state} are {self.table.allowed(state)})",
            )
            fallback = self.table.any_row(event, guard)
            self.state = fallback.dest if fallback is not None else state
            return False
        self.summary.transitions[row.id] += 1
        self.state = row.dest
        if row.dest == "Reset":
            self.summary.resets += 1
            self.walk(seen, "reset_complete", "the end of the Reset")
        return True

    def feed(self, seen: Seen) -> None:
        """Take one record of this environment."""
        self.last_file, self.last_line = seen.file, seen.line
        if seen.time is not None:
            self.last_day = seen.time.date()
        handler = self._handlers.get(type(seen.record))
        if handler is not None:
            handler(seen.record, seen)

    def finish(self) -> None:
        """The input has ended: say what was left open."""
        request = self.request
        if request is not None and not request.phantom:
            seen = Seen(None, self.last_file, request.line, self.name, "text")
            later = " (it may come in a delivery after the capture)" if request.delivery else ""
            self.hint(
                seen,
                rules.INCOMPLETE,
                "",
                f"request {request.request_id} has no REPORT before the input ends{later}",
            )

    # --- Init ---------------------------------------------------------------------------------

    def _outcome_fields(self, seen: Seen, what: str, status: str | None, error: str | None) -> None:
        if status in ("error", "failure") and error is None:
            self.violation(
                seen, rules.STATUS, "", f"{what} has Status {status} without an Error Type"
            )
        elif status in ("success", "timeout") and error is not None:
            self.violation(
                seen, rules.STATUS, "", f"{what} has Status {status} with Error Type {error}"
            )

    def _init_start(self, record: InitStart, seen: Seen) -> None:
        phase = record.phase or "init"
        if record.runtime_version is not None and record.runtime_version.startswith("provided"):
            self.init_billed_before = True
        if record.initialization_type == "provisioned-concurrency":
            self.init_billed_before = True
        if phase == "invoke":
            if self.state not in (None, "Uninitialized"):
                last = self.recent[-1] if self.recent else None
                after = (
                    ""
                    if last is None or self.state != "Frozen"
                    else f"; the REPORT of {last[0]} (line {last[3]}) stated no crash or timeout"
                )
                self.violation(
                    seen,
                    rules.TRANSITION,
                    "suppressed-init",
                    f"an Init with phase=invoke (a suppressed init) in state {self.state}:"
                    f" it follows only a Reset{after}",
                )
                self.state = "Uninitialized"
            self.walk(seen, "invoke", "initStart phase=invoke")
            self.summary.suppressed_inits += 1
        else:
            init = self.init
            if self.state == "Init" and init is not None and not init.reported:
                self.violation(
                    seen,
                    rules.INIT_REPORT,
                    INIT_FAILURE_ROWS,
                    f"the Init begun at line {init.line} ended without an INIT_REPORT"
                    " (an Init that fails writes one) before this new Init",
                )
                self.state = "Uninitialized"
            if self.state is None:
                self.state = "Uninitialized"  # an Init begins only there
            self.walk(seen, "init", "INIT_START")
            self.summary.cold_starts += 1
        self.init = _Init(seen.line, seen.time, phase, record.initialization_type)

    def _init_runtime_done(self, record: InitRuntimeDone, seen: Seen) -> None:
        init = self.init
        if init is None or init.runtime_done or init.reported or init.phase != record.phase:
            if init is not None or self.state is not None:
                self.violation(
                    seen,
                    rules.TELEMETRY_ORDER,
                    "",
                    f"platform.initRuntimeDone (phase={record.phase}) without a"
                    " platform.initStart of that phase before it",
                )
            if init is None:
                self.init = init = _Init(seen.line, seen.time, record.phase, None)
        init.runtime_done = True
        self.shows_runtime_done = True

    def _init_limit(self, phase: str, initialization_type: str | None) -> tuple[int, str]:
        deadlines = self.table.spec.deadlines
        timeout = self.timeout_ms or deadlines.invoke_max_ms
        if phase == "invoke":
            return timeout, "the function timeout"
        if initialization_type in (None, "on-demand"):
            return deadlines.init_on_demand_ms, "on-demand"
        return max(deadlines.init_provisioned_floor_ms, timeout), initialization_type

    def _init_report(self, record: InitReport, seen: Seen) -> None:
        telemetry = seen.source == "telemetry"
        init = self.init
        self._outcome_fields(seen, "INIT_REPORT", record.status, record.error_type)
        if telemetry and init is not None and init.phase == record.phase and not init.reported:
            if not init.runtime_done and self.shows_runtime_done:
                self.violation(
                    seen,
                    rules.TELEMETRY_ORDER,
                    "",
                    "platform.initReport before platform.initRuntimeDone",
                )
        elif telemetry and (init is not None or self.state is not None):
            self.violation(
                seen,
                rules.TELEMETRY_ORDER,
                "",
                f"platform.initReport (phase={record.phase}) without a platform.initStart of"
                " that phase before it",
            )
        if init is None or init.reported or init.phase != record.phase:
            init = _Init(seen.line, None, record.phase, record.initialization_type)
            if record.phase == "init" and self.state in (None, "Uninitialized"):
                self.state = None if self.state is None else "Uninitialized"
                self.walk(seen, "init", "INIT_REPORT")
            self.init = init
        init.reported = True
        init_type = record.initialization_type or init.initialization_type
        if record.status == "success":
            if not telemetry:
                if record.phase == "invoke":
                    self.violation(
                        seen,
                        rules.INIT_REPORT,
                        "suppressed-init",
                        "INIT_REPORT Status: success with Phase: invoke: a suppressed init is"
                        " not logged unless it fails",
                    )
                else:
                    init.logged_success = True
                    self.init_billed_before = True
                    if init_type is None:
                        init_type = "provisioned-concurrency"
            elif record.phase == "init" and init_type in ("provisioned-concurrency", "snap-start"):
                init.logged_success = True
            limit, label = self._init_limit(record.phase, init_type)
            if record.duration_ms > limit + SLACK_MS:
                self.violation(
                    seen,
                    rules.DEADLINE,
                    "deadlines.init",
                    f"an Init of {record.duration_ms:.2f} ms succeeded past its limit of"
                    f" {limit} ms ({label})",
                )
            init.succeeded = True
            init.report_time = seen.time
            if self.state is None:
                self.state = "Init"
            return
        if record.phase == "invoke":
            request = self.request
            if request is not None and request.in_init:
                request.init_failed = True
                request.in_init = False
            elif self.state == "Uninitialized":
                self.walk(seen, "invoke", "a failed suppressed init")
                self.summary.suppressed_inits += 1
                self.pending_failed_init = True
            elif telemetry:
                self.pending_failed_init = True
        if self.state is None:
            self.state = "Init"
        event = _failure_event(record.status, record.error_type, "init")
        self.walk(seen, event, f"INIT_REPORT Status: {record.status}")

    # --- Restore ------------------------------------------------------------------------------

    def _restore_start(self, record: RestoreStart | RestoreStartLine, seen: Seen) -> None:
        if self.state == "Init" and self.init is not None and self.init.succeeded:
            self.walk(seen, "phase_complete", "the end of the Init", "no_invoke_pending")
        self.walk(seen, "restore", "RESTORE_START", "snapshot_pending")
        self.summary.restores += 1
        self.summary.cold_starts += 1
        self.restore = _Init(seen.line, seen.time, "restore", "snap-start")

    def _restore_runtime_done(self, record: RestoreRuntimeDone, seen: Seen) -> None:
        restore = self.restore
        if restore is None or restore.runtime_done or restore.reported:
            if self.state is not None:
                self.violation(
                    seen,
                    rules.TELEMETRY_ORDER,
                    "",
                    "platform.restoreRuntimeDone without a platform.restoreStart before it",
                )
            restore = self.restore = _Init(seen.line, seen.time, "restore", "snap-start")
        restore.runtime_done = True

    def _restore_report(self, record: RestoreReport, seen: Seen) -> None:
        self._outcome_fields(seen, "RESTORE_REPORT", record.status, record.error_type)
        restore = self.restore
        if restore is None or restore.reported:
            restore = self.restore = _Init(seen.line, seen.time, "restore", "snap-start")
            if self.state is None:
                self.state = "Restore"
            elif self.state in ("Init", "Frozen"):  # no RESTORE_START line came before it
                self._restore_start(RestoreStartLine(None), seen)
                restore = self.restore
        restore.reported = True
        if record.status == "success":
            limit = self.table.spec.deadlines.restore_ms
            if record.duration_ms is not None and record.duration_ms > limit + SLACK_MS:
                self.violation(
                    seen,
                    rules.DEADLINE,
                    "deadlines.restore",
                    f"a Restore of {record.duration_ms:.2f} ms succeeded past its limit of"
                    f" {limit} ms",
                )
            restore.succeeded = True
            return
        event = _failure_event(record.status, record.error_type, "restore")
        self.walk(seen, event, f"RESTORE_REPORT Status: {record.status}")

    # --- Invoke -------------------------------------------------------------------------------

    def _start(self, record: Start, seen: Seen) -> None:
        open_request = self.request
        if open_request is not None:
            self.violation(
                seen,
                rules.TRANSITION,
                self.table.allowed("Invoke"),
                f"START of {record.request_id} while {open_request.request_id} (line"
                f" {open_request.line}) has had no REPORT: no spec row leaves Invoke on"
                f" 'invoke' (the rows from Invoke are {self.table.allowed('Invoke')})",
            )
            self.request = None
            self.state = "Frozen"
        earlier = self.recent_ids.get(record.request_id)
        if earlier is not None and earlier[1]:
            self.violation(
                seen,
                rules.REQUEST_ONCE,
                "",
                f"a second START for request {record.request_id}, whose REPORT (line"
                f" {earlier[3]}) said it succeeded",
            )
        request = _Request(record.request_id, seen.line, seen.time, self.state, seen.delivery)
        self.request = request
        state = self.state
        if self.pending_failed_init:
            self.pending_failed_init = False
            request.init_failed = True
            request.suppressed = True
            return
        if state is None:
            self.state = "Invoke"
        elif state == "Uninitialized":
            self.walk(seen, "invoke", "START after a Reset")
            request.in_init = True
            request.suppressed = True
            self.summary.suppressed_inits += 1
        elif state == "Init":
            self._start_after_init(request, seen)
        elif state == "Restore":
            restore = self.restore
            if seen.source == "telemetry" and restore is not None and not restore.reported:
                self.violation(
                    seen, rules.TELEMETRY_ORDER, "", "platform.start before platform.restoreReport"
                )
            self.walk(seen, "phase_complete", "START after the Restore", "invoke_pending")
            request.expect_restore = True
        else:
            self.walk(seen, "invoke", "START", "no_snapshot_pending")

    def _start_after_init(self, request: _Request, seen: Seen) -> None:
        init = self.init
        telemetry = seen.source == "telemetry"
        if telemetry and init is not None and not init.reported:
            self.violation(
                seen, rules.TELEMETRY_ORDER, "", "platform.start before platform.initReport"
            )
        idle = None
        if init is not None and init.report_time is not None and seen.time is not None:
            idle = (seen.time - init.report_time).total_seconds() * 1000
        if idle is not None and idle > PROACTIVE_MS:
            self.hint(
                seen,
                rules.PROACTIVE_INIT,
                "init-complete-freeze",
                f"the first START came {idle:.0f} ms after the Init ended: a proactive init"
                " (or provisioned concurrency)",
            )
            self.walk(seen, "phase_complete", "the end of the Init", "no_invoke_pending")
            self.walk(seen, "invoke", "START", "no_snapshot_pending")
        else:
            self.walk(seen, "phase_complete", "START after the Init", "invoke_pending")
        if init is not None and init.phase == "invoke":
            request.suppressed = True
        elif init is not None and not init.logged_success:
            request.expect_init = init.initialization_type in (None, "on-demand")

    def _open_request(self, request_id: str, seen: Seen, what: str) -> _Request | None:
        request = self.request
        if request is not None and request.request_id == request_id:
            return request
        if request is None and self.state is None:
            self.request = request = _Request(request_id, seen.line, None, None, phantom=True)
            self.state = "Invoke"
            return request
        opened = "" if request is None else f" ({request.request_id} is open)"
        self.violation(
            seen,
            rules.REQUEST_ORDER,
            "",
            f"{what} for request {request_id} without its START{opened}",
        )
        return None

    def _runtime_done(self, record: RuntimeDone, seen: Seen) -> None:
        request = self._open_request(record.request_id, seen, "platform.runtimeDone")
        if request is None:
            return
        if request.runtime_done:
            self.violation(
                seen,
                rules.TELEMETRY_ORDER,
                "",
                f"a second platform.runtimeDone for request {record.request_id}",
            )
        request.runtime_done = True
        self.shows_runtime_done = True

    def _notice(self, record: LegacyError | LegacyTimeout, seen: Seen) -> None:
        request = self._open_request(record.request_id, seen, "the error notice")
        if request is None:
            return
        if request.ended:
            self.violation(
                seen,
                rules.REQUEST_ORDER,
                "",
                f"the error notice of request {record.request_id} after its END",
            )
        if isinstance(record, LegacyTimeout):
            request.notice_timeout = record.timeout_s
            request.notice_time = record.time
            self.timeout_ms = round(record.timeout_s * 1000)
            self.last_day = record.time.date()
        else:
            request.notice_error = record.message
            request.notice_error_type = record.error_type

    def _error_type_line(self, record: ErrorTypeLine, seen: Seen) -> None:
        request = self.request
        if request is not None and request.notice_error is not None:
            request.notice_error_type = record.error_type

    def _end(self, record: End, seen: Seen) -> None:
        request = self._open_request(record.request_id, seen, "END")
        if request is None:
            return
        if request.ended:
            self.violation(
                seen, rules.REQUEST_ONCE, "", f"a second END for request {record.request_id}"
            )
        request.ended = True

    def _logs_dropped(self, record: LogsDropped, seen: Seen) -> None:
        self.hint(
            seen,
            rules.DROPPED,
            "",
            f"the capture lost {record.dropped_records} records ({record.reason}): steps may"
            " be missing after this point",
        )

    def _warm_run(self, record: WarmRun, seen: Seen) -> None:
        take_run(self, record, seen, SLACK_MS)

    # --- REPORT -------------------------------------------------------------------------------

    def _report_record(self, record: ReportLike, seen: Seen) -> None:
        request = self._open_request(record.request_id, seen, "REPORT")
        if request is None:
            request = _Request(record.request_id, seen.line, None, None, phantom=True)
        telemetry = seen.source == "telemetry"
        if not request.phantom:
            if not telemetry and not request.ended:
                self.violation(
                    seen,
                    rules.REQUEST_ORDER,
                    "",
                    f"REPORT of request {record.request_id} before its END",
                )
            if telemetry and not request.runtime_done and self.shows_runtime_done:
                self.violation(
                    seen,
                    rules.TELEMETRY_ORDER,
                    "",
                    f"platform.report of request {record.request_id} before its"
                    " platform.runtimeDone",
                )
        if request.in_init:
            self.walk(seen, "phase_complete", "the end of the suppressed init", "invoke_pending")
            request.in_init = False
        timed_out = self._check_outcome(record, request, seen)
        self._check_durations(record, request, seen, timed_out)
        self._check_gap(record, request, seen)
        self._check_billing(record, request, seen, timed_out)
        self._hints(record, seen)
        self._walk_report(record, request, seen, timed_out)
        self._count(record, request, timed_out)
        self.request = None
        self.reports += 1

    def _check_outcome(self, record: ReportLike, request: _Request, seen: Seen) -> bool:
        status = record.status
        self._outcome_fields(seen, "REPORT", status, record.error_type)
        timed_out = status == "timeout" or request.notice_timeout is not None
        if request.notice_timeout is not None and status not in (None, "timeout"):
            self.violation(
                seen,
                rules.STATUS,
                "",
                f"REPORT Status: {status} after the notice 'Task timed out'",
            )
        if request.notice_error is not None:
            if status not in (None, "error", "failure"):
                self.violation(
                    seen,
                    rules.STATUS,
                    "",
                    f"REPORT Status: {status} after the error notice '{request.notice_error}'",
                )
            notice_type = request.notice_error_type
            if notice_type and record.error_type and notice_type != record.error_type:
                self.violation(
                    seen,
                    rules.STATUS,
                    "",
                    f"REPORT Error Type {record.error_type} after a notice of {notice_type}",
                )
        return timed_out

    def _check_durations(
        self, record: ReportLike, request: _Request, seen: Seen, timed_out: bool
    ) -> None:
        first_of_unknown = request.from_state is None and self.reports == 0
        if first_of_unknown and (
            record.init_duration_ms is not None or record.restore_duration_ms is not None
        ):
            # The stream's beginning is not in the input (an environment made from a SnapStart
            # snapshot writes no Init lines of its own; a cut log lost them), yet the REPORT
            # says this was the environment's first invocation: a cold start, or a restore.
            self.summary.cold_starts += 1
            if record.restore_duration_ms is not None:
                self.summary.restores += 1
        if record.init_duration_ms is not None:
            if not (request.expect_init or first_of_unknown):
                if request.suppressed:
                    why = "after a suppressed init, whose time is inside Duration"
                elif self.init is not None and self.init.logged_success:
                    why = (
                        "after an INIT_REPORT Status: success (provisioned concurrency or"
                        " SnapStart writes no Init Duration)"
                    )
                else:
                    why = "on a REPORT that is not the first after the environment's Init"
                self.violation(
                    seen, rules.INIT_DURATION, "init, init-complete-invoke", f"Init Duration {why}"
                )
            init = self.init
            if init is not None and init.initialization_type in (None, "on-demand"):
                limit = self.table.spec.deadlines.init_on_demand_ms
                if not init.logged_success and record.init_duration_ms > limit + SLACK_MS:
                    self.violation(
                        seen,
                        rules.DEADLINE,
                        "deadlines.init",
                        f"Init Duration {record.init_duration_ms:.2f} ms passes the on-demand"
                        f" Init limit of {limit} ms without an INIT_REPORT Status: timeout",
                    )
        elif request.expect_init and record.restore_duration_ms is None:
            init = self.init
            line = "" if init is None else f" (line {init.line})"
            self.violation(
                seen,
                rules.INIT_REPORT,
                INIT_FAILURE_ROWS,
                f"the first REPORT after the Init{line} has no Init Duration and no INIT_REPORT"
                " was written: an Init that fails, and a provisioned-concurrency or SnapStart"
                " Init, writes INIT_REPORT",
            )
        if (
            record.restore_duration_ms is not None
            and not request.expect_restore
            and request.from_state == "Init"
            and self.init is not None
            and self.init.logged_success
        ):
            self._restored_without_restore_start()
        elif (
            record.restore_duration_ms is not None
            and not request.expect_restore
            and not first_of_unknown
        ):
            self.violation(
                seen,
                rules.INIT_DURATION,
                "restore, restore-complete-invoke",
                "Restore Duration on a REPORT that is not the first after a Restore",
            )
        deadlines = self.table.spec.deadlines
        timeout = self.timeout_ms
        if timed_out:
            if timeout is not None and record.duration_ms < timeout - SLACK_MS:
                self.violation(
                    seen,
                    rules.DEADLINE,
                    "deadlines.invoke",
                    f"timed out after {record.duration_ms:.2f} ms, before the function timeout"
                    f" of {timeout} ms",
                )
            return
        limit = timeout if timeout is not None else deadlines.invoke_max_ms
        if record.duration_ms > limit + SLACK_MS:
            which = "function timeout" if timeout is not None else "longest function timeout"
            self.violation(
                seen,
                rules.DEADLINE,
                "deadlines.invoke",
                f"an Invoke of {record.duration_ms:.2f} ms did not time out, past the {which}"
                f" of {limit} ms",
            )

    def _restored_without_restore_start(self) -> None:
        """A SnapStart environment's first REPORT has a Restore Duration but no RESTORE_START
        line came: the walk was the publish-time Init, a freeze, then a Restore, not the Init
        straight into the Invoke it was counted as."""
        transitions = self.summary.transitions
        if transitions["init-complete-invoke"] > 0:
            transitions["init-complete-invoke"] -= 1
            if not transitions["init-complete-invoke"]:
                del transitions["init-complete-invoke"]
        for row in ("init-complete-freeze", "restore", "restore-complete-invoke"):
            transitions[row] += 1
        self.summary.restores += 1
        self.summary.cold_starts += 1

    def _gap_ms(self, request: _Request, seen: Seen) -> float | None:
        if request.time is None or seen.time is None:
            return None
        return (seen.time - request.time).total_seconds() * 1000

    def _check_gap(self, record: ReportLike, request: _Request, seen: Seen) -> None:
        gap = self._gap_ms(request, seen)
        if gap is None or record.duration_ms <= gap + max(SLACK_MS, 0.02 * gap):
            return
        if request.suppressed:
            return
        if request.from_state is None:
            request.suppressed = True
            self.summary.suppressed_inits += 1
            return
        self.violation(
            seen,
            rules.TRANSITION,
            "suppressed-init",
            f"Duration {record.duration_ms:.2f} ms is longer than the {gap:.0f} ms from START to"
            f" REPORT, the mark of a suppressed init, but the environment was"
            f" {request.from_state} (a suppressed init follows a Reset)",
        )

    def _day(self, request: _Request, seen: Seen) -> date | None:
        for moment in (seen.time, request.time, request.notice_time):
            if moment is not None:
                return moment.date()
        return self.last_day or self.stream_day

    def _check_billing(
        self, record: ReportLike, request: _Request, seen: Seen, timed_out: bool
    ) -> None:
        if record.init_duration_ms is None:
            duration = round(record.duration_ms, 6)
            if math.floor(duration) <= record.billed_duration_ms <= math.ceil(duration):
                return  # what every rule bills for an invocation without its Init
        gap = self._gap_ms(request, seen) if request.suppressed else None
        billing = Billing(
            duration_ms=record.duration_ms,
            billed_ms=record.billed_duration_ms,
            init_ms=record.init_duration_ms,
            day=self._day(request, seen),
            timeout_ms=self.timeout_ms if timed_out else None,
            gap_ms=gap,
            init_billed_before=self.init_billed_before,
        )
        problem = billing_problem(billing)
        if problem is not None:
            self.violation(seen, rules.BILLING, "", problem)

    def _hints(self, record: ReportLike, seen: Seen) -> None:
        if record.max_memory_used_mb is not None and (
            record.max_memory_used_mb >= record.memory_size_mb
        ):
            self.hint(
                seen,
                rules.MEMORY,
                "limits.memory",
                f"Max Memory Used {record.max_memory_used_mb} MB reaches Memory Size"
                f" {record.memory_size_mb} MB: the usual sign of running out of memory",
            )
        init = self.init
        request = self.request
        if (
            record.init_duration_ms is not None
            and request is not None
            and request.expect_init
            and init is not None
            and init.time is not None
            and request.time is not None
        ):
            idle = (request.time - init.time).total_seconds() * 1000 - record.init_duration_ms
            if idle > PROACTIVE_MS:
                self.hint(
                    seen,
                    rules.PROACTIVE_INIT,
                    "init-complete-freeze",
                    f"the first START came {idle:.0f} ms after the Init ended: a proactive init",
                )

    def _walk_report(
        self, record: ReportLike, request: _Request, seen: Seen, timed_out: bool
    ) -> None:
        if request.init_failed:
            return
        error_type = record.error_type or request.notice_error_type
        if timed_out:
            event = "invoke_timeout"
        else:
            event = _failure_event(None, error_type, "invoke")
            if event == "invoke_error":
                event = "phase_complete"
        if self.state is None:
            self.state = "Invoke"
        self.walk(seen, event, f"REPORT of {record.request_id}")

    def _count(self, record: ReportLike, request: _Request, timed_out: bool) -> None:
        self._report_line = self.last_line
        summary = self.summary
        summary.invokes += 1
        summary.durations.add(record.duration_ms)
        summary.billed_ms += record.billed_duration_ms + (record.billed_restore_duration_ms or 0)
        error_type = record.error_type or request.notice_error_type
        if error_type is not None:
            summary.errors[error_type] += 1
        elif timed_out:
            summary.errors["Sandbox.Timedout"] += 1
        ok = error_type is None and not timed_out and record.status in (None, "success")
        recent, ids = self.recent, self.recent_ids
        if len(recent) == RECENT:
            oldest = recent[0][0]
            if ids.get(oldest) is recent[0]:
                del ids[oldest]
        entry = (record.request_id, ok, request.line, self._report_line)
        recent.append(entry)
        ids[record.request_id] = entry

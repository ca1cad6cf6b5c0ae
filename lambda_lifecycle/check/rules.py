"""The rules ``check`` applies, by name, with what each one rests on.

Every finding names one of these rules, and the spec rows or the deadline it rests on (a
violation of ``transition`` names the rows that would have been legal; ``deadline`` names
``deadlines.init``, ``deadlines.restore`` or ``deadlines.invoke`` of ``specs/lifecycle.json``).
"""

from __future__ import annotations

__all__ = ["HINTS", "VIOLATIONS"]

TRANSITION = "transition"
DEADLINE = "deadline"
INIT_REPORT = "init-report"
INIT_DURATION = "init-duration"
REQUEST_ONCE = "request-once"
REQUEST_ORDER = "request-order"
STATUS = "status"
BILLING = "billing"
TELEMETRY_ORDER = "telemetry-order"
MALFORMED = "malformed"

MEMORY = "memory"
PROACTIVE_INIT = "proactive-init"
INCOMPLETE = "incomplete"
DROPPED = "dropped"

VIOLATIONS: dict[str, str] = {
    TRANSITION: "every step is a row of the spec's transition table (from the state the"
    " environment is in, on the event the line stands for)",
    DEADLINE: "a phase that succeeds stays within its limit (Init 10 s on demand, max(130 s,"
    " timeout) with provisioned concurrency or SnapStart; Restore 10 s; Invoke the function"
    " timeout), and a timeout does not come before the function timeout",
    INIT_REPORT: "INIT_REPORT is written when an Init fails or times out, and after every Init"
    " of provisioned concurrency or SnapStart; never for a successful on-demand or suppressed"
    " init",
    INIT_DURATION: "Init Duration (Restore Duration) only on the first REPORT after the"
    " environment's Init (Restore); never after a suppressed init or a provisioned Init",
    REQUEST_ONCE: "one START, one END and one REPORT per request id (an asynchronous retry of"
    " a failed request may start it again)",
    REQUEST_ORDER: "START, then the older format's notices, END, then REPORT, for the request"
    " that is open",
    STATUS: "Error Type exactly with Status error or failure; Status agrees with the older"
    " format's notices",
    BILLING: "Billed Duration is ceil(Duration + Init Duration) since 2025-08-01 and the"
    " Duration alone before (the timeout for a timed-out invocation; anything from the"
    " START-to-REPORT gap to the Duration after a suppressed init)",
    TELEMETRY_ORDER: "initStart, initRuntimeDone, initReport and start, runtimeDone, report"
    " per request id, in that order",
    MALFORMED: "every line that begins like one of Lambda's reads as one",
}
"""Violation rules and what they require."""

HINTS: dict[str, str] = {
    MEMORY: "Max Memory Used reached Memory Size: the usual sign of running out of memory",
    PROACTIVE_INIT: "a long gap between an Init and the first invocation: proactive init or"
    " provisioned concurrency",
    INCOMPLETE: "a request still open when the input ends",
    DROPPED: "the capture reports lost telemetry records",
}
"""Hint rules: worth a look, not violations."""

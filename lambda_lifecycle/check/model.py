"""What the checker reads and what it finds: one observed record, a violation, a hint.

The readers turn every input format into a stream of :class:`Seen`: a record of
:mod:`lambda_lifecycle.formats.records` (or :class:`RestoreStartLine`, the one plain-text line
that module has no record for), where it was read, when it happened if the input says, and to
which execution environment it belongs (one log stream, or one telemetry capture, is one
environment). The path of each environment is rebuilt from these and checked against the spec;
what breaks a rule is a :class:`Finding` of kind ``violation``, what merely deserves a look is one
of kind ``hint``, and a line that cannot be read is one of kind ``malformed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

__all__ = ["Finding", "FindingKind", "RestoreStartLine", "Seen", "Source"]

Source = Literal["text", "telemetry"]
"""``text``: CloudWatch plain-text lines; ``telemetry``: ``{time, type, record}`` events (the
JSON log format and Telemetry API captures), which carry more than the lines do."""

FindingKind = Literal["violation", "hint", "malformed"]


@dataclass(frozen=True, slots=True)
class RestoreStartLine:
    """``RESTORE_START Runtime Version: …`` (SnapStart), which the text format has no record
    for."""

    runtime_version: str | None


@dataclass(slots=True)
class Seen:
    """One record read from the input, and where and when."""

    record: Any
    file: str
    line: int
    environment: str
    source: Source
    time: datetime | None = None
    delivery: int = 0
    """The Telemetry API delivery (one JSON array) the event came in; 0 outside captures."""


@dataclass(frozen=True, slots=True)
class Finding:
    """A violation, a hint or a malformed line, with the rule it concerns.

    ``rule`` is the checker's rule name (``transition``, ``deadline``, ``init-report``, …, see
    :mod:`.rules`); ``spec`` names the spec rows or the deadline it rests on (empty when the
    rule is not in the spec, such as billing); ``message`` says what was seen.
    """

    kind: FindingKind
    file: str
    line: int
    environment: str
    rule: str
    spec: str
    message: str

    def to_json(self) -> dict[str, Any]:
        """The finding as a JSON object."""
        return {
            "kind": self.kind,
            "file": self.file,
            "line": self.line,
            "environment": self.environment,
            "rule": self.rule,
            "spec": self.spec,
            "message": self.message,
        }

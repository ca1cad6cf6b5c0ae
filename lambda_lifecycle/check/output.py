"""The report of a check, for people (text) and for programs (JSON)."""

from __future__ import annotations

import json
from typing import Any

from .checker import CheckResult
from .model import Finding

__all__ = ["render_json", "render_text"]


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _finding(finding: Finding) -> str:
    spec = f" ({finding.spec})" if finding.spec else ""
    where = f"{finding.file}:{finding.line}"
    environment = "" if finding.environment == finding.file else f" [{finding.environment}]"
    return f"  {where}{environment}: {finding.rule}{spec}: {finding.message}"


def render_text(result: CheckResult) -> str:
    """The summary, then every finding kept, then the verdict."""
    s = result.summary
    d = s.durations
    errors = ", ".join(f"{name} {count}" for name, count in sorted(s.errors.items())) or "none"
    lines = [
        "summary",
        f"  files             {s.files:,}",
        f"  records           {s.records:,}",
        f"  environments      {s.environments:,}",
        f"  invokes           {s.invokes:,}",
        f"  cold starts       {s.cold_starts:,} (restores {s.restores:,})",
        f"  suppressed inits  {s.suppressed_inits:,}",
        f"  resets            {s.resets:,}",
        f"  errors            {errors}",
        f"  duration ms       p50 {_number(d.percentile(0.5))}  p90 {_number(d.percentile(0.9))}"
        f"  p99 {_number(d.percentile(0.99))}  max {_number(d.maximum if d.count else None)}",
        f"  billed total      {s.billed_ms:,} ms",
    ]
    for problem in result.unreadable:
        lines.append(f"unreadable: {problem}")
    for kind, title in (("violation", "violations"), ("malformed", "malformed"), ("hint", "hints")):
        count = result.counts[kind]
        if not count:
            continue
        kept = result.of_kind(kind)
        lines.append(f"{title} ({count:,})")
        lines.extend(_finding(f) for f in kept)
        if len(kept) < count:
            lines.append(f"  ... {count - len(kept):,} more not shown")
    problems = result.counts["violation"] + result.counts["malformed"]
    if result.unreadable:
        verdict = "result: unreadable input"
    elif problems:
        verdict = f"result: {problems:,} problem{'s' if problems != 1 else ''}"
    else:
        verdict = "result: conforms to the spec"
    lines.append(verdict)
    return "\n".join(lines) + "\n"


def to_json(result: CheckResult) -> dict[str, Any]:
    """The result as a JSON object."""
    return {
        "summary": result.summary.to_json(),
        "counts": {kind: result.counts[kind] for kind in ("violation", "malformed", "hint")},
        "findings": [f.to_json() for f in result.findings],
        "unreadable": result.unreadable,
        "exit": result.exit_status,
    }


def render_json(result: CheckResult) -> str:
    """:func:`to_json`, as indented JSON text."""
    return json.dumps(to_json(result), indent=2, ensure_ascii=False) + "\n"

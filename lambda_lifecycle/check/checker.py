"""Checking inputs: every record read, handed to its environment's :class:`~.path.Path`.

:func:`check_inputs` is what ``lambda-lifecycle check`` runs: it reads each input in turn
(:mod:`.sources`), keeps one path per environment, and collects the findings. Findings are kept
up to ``max_findings``; beyond that they are only counted, so that a log full of one mistake
still checks in bounded memory.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..core.spec import Spec
from .model import Finding, Seen
from .path import Path
from .sources import Unreadable, read_input
from .specwalk import SpecTable
from .stats import Summary

__all__ = [
    "EXIT_OK",
    "EXIT_UNREADABLE",
    "EXIT_VIOLATIONS",
    "CheckResult",
    "Checker",
    "check_inputs",
]

EXIT_OK = 0
EXIT_VIOLATIONS = 1
EXIT_UNREADABLE = 2

DEFAULT_MAX_FINDINGS = 10_000


@dataclass
class CheckResult:
    """The summary, the findings kept, how many of each kind there were, and what could not be
    read."""

    summary: Summary
    findings: list[Finding] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    unreadable: list[str] = field(default_factory=list)

    @property
    def exit_status(self) -> int:
        """0 when everything conforms, 1 for violations or malformed lines, 2 when an input
        could not be read."""
        if self.unreadable:
            return EXIT_UNREADABLE
        if self.counts["violation"] or self.counts["malformed"]:
            return EXIT_VIOLATIONS
        return EXIT_OK

    def of_kind(self, kind: str) -> list[Finding]:
        """The findings kept of ``kind``."""
        return [f for f in self.findings if f.kind == kind]


class Checker:
    """One check over any number of inputs."""

    def __init__(
        self,
        spec: Spec,
        *,
        timeout_ms: int | None = None,
        max_findings: int = DEFAULT_MAX_FINDINGS,
        warm_runs: bool = True,
    ) -> None:
        self.warm_runs = warm_runs
        """Whether plain text is read a block at a time, warm invocations in bulk
        (:mod:`.warmscan`); False reads every line on its own (the reference the fast way is
        tested against)."""
        self.table = SpecTable(spec)
        self.result = CheckResult(Summary())
        self.paths: dict[str, Path] = {}
        self.timeout_ms = timeout_ms
        self.max_findings = max_findings

    def report(self, finding: Finding) -> None:
        """Keep (or count) one finding."""
        result = self.result
        result.counts[finding.kind] += 1
        if len(result.findings) < self.max_findings:
            result.findings.append(finding)

    def path(self, environment: str) -> Path:
        """The path of ``environment``, begun at its first record."""
        path = self.paths.get(environment)
        if path is None:
            path = Path(environment, self.table, self.result.summary, self.report, self.timeout_ms)
            self.paths[environment] = path
            self.result.summary.environments += 1
        return path

    def feed(self, records: Iterable[Seen]) -> None:
        """Walk every record of one input."""
        paths = self.paths
        summary = self.result.summary
        count = 0
        try:
            for seen in records:
                count += 1
                path = paths.get(seen.environment) or self.path(seen.environment)
                path.feed(seen)
        finally:
            summary.records += count

    def check(self, name: str) -> None:
        """Read and check the input ``name`` (a path or ``-``)."""
        self.result.summary.files += 1
        try:
            self.feed(read_input(name, self.report, warm_runs=self.warm_runs))
        except Unreadable as exc:
            self.result.unreadable.append(str(exc))

    def finish(self) -> CheckResult:
        """End the check: what was left open is reported; the result."""
        for path in self.paths.values():
            path.finish()
        return self.result


def check_inputs(
    names: Iterable[str],
    spec: Spec,
    *,
    timeout_ms: int | None = None,
    max_findings: int = DEFAULT_MAX_FINDINGS,
    warm_runs: bool = True,
) -> CheckResult:
    """Check every input of ``names`` (paths, or ``-`` for stdin) against ``spec``;
    ``warm_runs=False`` reads every line on its own (slower, the same result)."""
    checker = Checker(spec, timeout_ms=timeout_ms, max_findings=max_findings, warm_runs=warm_runs)
    for name in names:
        checker.check(name)
    return checker.finish()

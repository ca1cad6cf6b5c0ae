"""Conformance checking: what an environment wrote, walked against ``specs/lifecycle.json``.

``lambda-lifecycle check FILE...`` reads CloudWatch logs (plain text, current and older
format, with or without an export's time prefix; the JSON log format; ``aws logs`` JSON
exports) and Telemetry API captures, rebuilds each execution environment's path and checks
every step against the spec and the rules AWS documents around it. The same walk checks the
engine's own event stream (:func:`check_engine_events`).

Modules, lowest first: :mod:`.model` (records seen, findings), :mod:`.textlines` (one plain-text
line), :mod:`.jsonstream` (large JSON documents, streamed), :mod:`.blocks` (plain text in blocks
of whole lines), :mod:`.warmscan` (the warm invocations of a block, found by one pattern),
:mod:`.sources` (inputs and their formats), :mod:`.specwalk` (the transition table),
:mod:`.billing` (Billed Duration by date), :mod:`.rules` (the rules by name), :mod:`.stats` (the
summary), :mod:`.warmpath` (a run of warm invocations taken in bulk), :mod:`.path` (one
environment's walk), :mod:`.checker` (a check over inputs), :mod:`.output` (the report),
:mod:`.engine_trace` (the engine's events), :mod:`.command` (the command line).
"""

from __future__ import annotations

from .checker import Checker, CheckResult, check_inputs
from .engine_trace import check_engine_events
from .model import Finding

__all__ = ["CheckResult", "Checker", "Finding", "check_engine_events", "check_inputs"]

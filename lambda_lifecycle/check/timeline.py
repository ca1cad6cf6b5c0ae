"""A recorded run as pictures need it: each environment's phases in time, and the messages.

:class:`TraceBuilder` takes the records :mod:`.sources` reads (a Telemetry API capture, the JSON
log format, or CloudWatch text) and makes, per environment,

- **spans**: the phases one after another (Init, Restore, Invoke, Frozen between them, Reset
  after a crash or timeout), like AWS's lifecycle figures; and
- **messages**: what passed between the platform, the runtime and each extension (the Init,
  the runtime's next, INVOKE and the response, the extensions' next, SHUTDOWN at a Reset).

Times come from the records. A text log without times has only durations: its spans are then
laid end to end from the reported durations (``synthetic`` says so), with no gap for Frozen.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..formats.records import (
    ExtensionState,
    InitReport,
    InitRuntimeDone,
    InitStart,
    Report,
    RestoreReport,
    RestoreStart,
    RuntimeDone,
    Start,
)
from .fastlines import FastReport
from .model import RestoreStartLine, Seen

__all__ = ["PLATFORM", "RUNTIME", "EnvironmentTrace", "Message", "Span", "TraceBuilder"]

PLATFORM = "Platform"
RUNTIME = "Runtime"
_EPOCH = datetime(2000, 1, 1)
_RESET_MARK = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class Span:
    """One phase of an environment, from ``start`` to ``end``."""

    phase: str
    start: datetime
    end: datetime
    label: str


@dataclass(frozen=True, slots=True)
class Message:
    """One arrow of the sequence diagram."""

    sender: str
    receiver: str
    text: str


@dataclass
class EnvironmentTrace:
    """What one environment did."""

    name: str
    spans: list[Span] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    extensions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    synthetic: bool = False
    """Whether the times were laid out from durations (the input had none)."""
    _open: tuple[str, datetime, str] | None = None
    _last_end: datetime | None = None
    _clock: datetime = _EPOCH
    _after_reset: bool = False

    def participants(self) -> list[str]:
        """Platform, the runtime, then each extension in the order it registered."""
        return [PLATFORM, RUNTIME, *self.extensions]


class TraceBuilder:
    """Spans and messages of every environment, from records in order."""

    def __init__(self, max_messages: int = 400) -> None:
        self.environments: dict[str, EnvironmentTrace] = {}
        self.max_messages = max_messages

    # --- helpers ----------------------------------------------------------------------------

    def _env(self, seen: Seen) -> EnvironmentTrace:
        env = self.environments.get(seen.environment)
        if env is None:
            env = self.environments[seen.environment] = EnvironmentTrace(seen.environment)
        return env

    def _time(self, env: EnvironmentTrace, seen: Seen, elapsed_ms: float = 0.0) -> datetime:
        if seen.time is not None and not env.synthetic:
            return seen.time
        env.synthetic = True
        env._clock += timedelta(milliseconds=elapsed_ms)
        return env._clock

    def _say(self, env: EnvironmentTrace, sender: str, receiver: str, text: str) -> None:
        if len(env.messages) < self.max_messages:
            env.messages.append(Message(sender, receiver, text))

    def _to_extensions(self, env: EnvironmentTrace, event: str, text: str) -> None:
        for name, events in env.extensions.items():
            if event in events:
                self._say(env, PLATFORM, name, text)

    def _from_extensions(self, env: EnvironmentTrace, event: str, text: str) -> None:
        for name, events in env.extensions.items():
            if event in events:
                self._say(env, name, PLATFORM, text)

    def _begin(self, env: EnvironmentTrace, phase: str, at: datetime, label: str) -> None:
        if env._open is not None:
            self._end(env, at)
        if env._last_end is not None and at > env._last_end and not env._after_reset:
            env.spans.append(Span("Frozen", env._last_end, at, "Frozen"))
        env._after_reset = False
        env._open = (phase, at, label)

    def _end(self, env: EnvironmentTrace, at: datetime, label: str | None = None) -> None:
        if env._open is None:
            return
        phase, start, opened = env._open
        env.spans.append(Span(phase, start, max(at, start), label or opened))
        env._open = None
        env._last_end = max(at, start)

    def _reset(self, env: EnvironmentTrace, at: datetime, why: str) -> None:
        env.spans.append(Span("Reset", at, at + _RESET_MARK, f"Reset ({why})"))
        env._last_end = at + _RESET_MARK
        env._after_reset = True
        self._say(env, PLATFORM, RUNTIME, f"shut down ({why})")
        self._to_extensions(env, "SHUTDOWN", f"SHUTDOWN {why}")

    # --- records ------------------------------------------------------------------------------

    def feed(self, seen: Seen) -> None:
        """Take one record."""
        record = seen.record
        env = self._env(seen)
        if isinstance(record, ExtensionState):
            env.extensions[record.name] = tuple(record.events)
            self._say(env, record.name, PLATFORM, f"register {', '.join(record.events) or '[]'}")
        elif isinstance(record, InitStart):
            phase = record.phase or "init"
            kind = record.initialization_type or "init"
            at = self._time(env, seen)
            self._begin(env, "Init", at, f"Init ({kind}, phase={phase})")
            self._say(env, PLATFORM, RUNTIME, f"Init phase={phase}")
        elif isinstance(record, InitRuntimeDone):
            self._say(env, RUNTIME, PLATFORM, f"next (init {record.status})")
        elif isinstance(record, InitReport):
            at = self._time(env, seen, record.duration_ms)
            if env._open is None:
                start = at - timedelta(milliseconds=record.duration_ms)
                env._open = ("Init", start, "Init")
            label = f"Init {record.duration_ms:.0f} ms {record.status}"
            self._end(env, at, label)
            if record.status != "success":
                self._reset(env, at, record.error_type or record.status)
        elif isinstance(record, RestoreStart | RestoreStartLine):
            self._begin(env, "Restore", self._time(env, seen), "Restore")
            self._say(env, PLATFORM, RUNTIME, "Restore")
        elif isinstance(record, RestoreReport):
            at = self._time(env, seen, record.duration_ms or 0.0)
            if env._open is None:
                env._open = ("Restore", at, "Restore")
            self._end(env, at, f"Restore {record.status}")
            if record.status != "success":
                self._reset(env, at, record.error_type or record.status)
        elif isinstance(record, Start):
            at = self._time(env, seen)
            self._begin(env, "Invoke", at, f"Invoke {record.request_id}")
            self._say(env, PLATFORM, RUNTIME, f"INVOKE {record.request_id}")
            self._to_extensions(env, "INVOKE", f"INVOKE {record.request_id}")
        elif isinstance(record, RuntimeDone):
            self._say(env, RUNTIME, PLATFORM, f"response {record.request_id} ({record.status})")
        elif isinstance(record, Report | FastReport):
            self._report(env, seen, record)

    def _report(self, env: EnvironmentTrace, seen: Seen, record: Report | FastReport) -> None:
        if (
            (env.synthetic or seen.time is None)
            and record.init_duration_ms is not None
            and env._open is not None
            and env._open[0] == "Invoke"
        ):  # no times: lay the Init out before the Invoke from its duration
            phase, begin, label = env._open
            if env.spans and env.spans[-1].phase == "Init":
                begin = env.spans.pop().start
            init_end = begin + timedelta(milliseconds=record.init_duration_ms)
            label_init = f"Init {record.init_duration_ms:.0f} ms"
            env.spans.append(Span("Init", begin, init_end, label_init))
            env._clock = init_end
            env._open = (phase, init_end, label)
        at = self._time(env, seen, record.duration_ms)
        status = record.status or "success"
        if env._open is None:
            env._open = ("Invoke", at - timedelta(milliseconds=record.duration_ms), "Invoke")
        self._end(env, at, f"Invoke {record.request_id} {record.duration_ms:.0f} ms {status}")
        self._from_extensions(env, "INVOKE", "next")
        if status == "timeout":
            self._reset(env, at, "timeout")
        elif record.error_type is not None and (
            record.error_type.startswith("Extension.")
            or record.error_type in ("Runtime.ExitError", "Runtime.OutOfMemory")
        ):
            self._reset(env, at, "failure")

    def build(self, records: Iterable[Seen]) -> list[EnvironmentTrace]:
        """Every environment's trace from ``records``."""
        for seen in records:
            self.feed(seen)
        for env in self.environments.values():
            if env._open is not None:
                self._end(env, env._open[1])
        return list(self.environments.values())

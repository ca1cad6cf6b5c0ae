"""An execution environment under test: what it answered, wrote and did, and how to poke it.

A :class:`LambdaHarness` wraps one running environment (in-process participants, or real
processes behind the HTTP APIs) and records, from its start: the CloudWatch lines exactly as
Lambda writes them (:attr:`~LambdaHarness.lines`), the engine's events and the spec rows it took
(:attr:`~LambdaHarness.transitions`), and, when asked, the Telemetry API events an extension
would receive (:attr:`~LambdaHarness.telemetry`). An :class:`Answer` is one invocation's result
with assertions that explain themselves.

Every ``assert_*`` raises :class:`LifecycleMismatch` (an ``AssertionError``) whose message says
what was expected, what the environment did (answer, transitions, the last log lines) and so
where to look.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, NoReturn

import anyio

from ..core.walk import Step, walk_violations
from ..engine.environment import Environment
from ..engine.invocation import InvokeReport, InvokeResult
from ..engine.observe import LifecycleEvent
from ..specs import load_spec


class LifecycleMismatch(AssertionError):
    """The environment did not do what the test expected; the message says what it did."""


@dataclass
class Answer:
    """One invocation's answer, as the caller got it, with its report once the phase ended."""

    result: InvokeResult
    harness: LambdaHarness = field(repr=False)

    @property
    def ok(self) -> bool:
        """The function answered without an error."""
        return self.result.ok

    @property
    def error_type(self) -> str | None:
        """The ``errorType`` of an error answer (``Sandbox.Timedout``, ``Runtime.ExitError``,
        the exception's class name, ...), None for a success."""
        return self.result.error_type

    @property
    def body(self) -> bytes:
        """The body the caller received."""
        return self.result.body

    def json(self) -> Any:
        """The body decoded as JSON."""
        return self.result.json()

    async def report(self) -> InvokeReport:
        """The REPORT figures (waits for the end of the Invoke phase)."""
        return await self.result.report()

    async def cold_start(self) -> bool:
        """Whether this invocation paid for an Init or a Restore (REPORT's Init Duration or
        Restore Duration, or a suppressed init after a Reset)."""
        report = await self.report()
        return (
            report.init_duration_ms is not None
            or report.restore_duration_ms is not None
            or report.suppressed_init
        )

    def assert_ok(self) -> Answer:
        """Fail unless the function answered without an error."""
        if not self.ok:
            self.harness.mismatch("a successful answer", f"the error {self._shown()}")
        return self

    def assert_error(self, error_type: str) -> Answer:
        """Fail unless the answer is an error of ``error_type``."""
        if self.error_type != error_type:
            self.harness.mismatch(f"an error {error_type!r}", f"the answer {self._shown()}")
        return self

    def _shown(self) -> str:
        text = self.body.decode("utf-8", "replace")
        return text if len(text) <= 300 else text[:300] + "..."


class LambdaHarness:
    """One environment under test (see the module docstring)."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        self.lines: list[str] = []
        """The CloudWatch lines so far, exactly as Lambda writes them."""
        self.events: list[LifecycleEvent] = []
        """The engine's events so far."""
        self.telemetry: list[dict[str, Any]] = []
        """The Telemetry API events delivered so far (with ``telemetry=True``)."""
        self.answers: list[Answer] = []

    def record(self, event: LifecycleEvent) -> None:
        """Keep an engine event (the harness listens to every event)."""
        self.events.append(event)

    # -- acting ------------------------------------------------------------------------------
    async def invoke(self, payload: Any = None, **options: Any) -> Answer:
        """Invoke the function with ``payload`` (JSON-encoded unless bytes or str)."""
        result = await self.env.invoke(b"" if payload is None else payload, **options)
        answer = Answer(result, self)
        self.answers.append(answer)
        return answer

    async def crash_runtime(self) -> None:
        """SIGKILL the runtime, and return once the environment has heard of its exit (an
        Invoke phase under way fails with ``Runtime.ExitError``; a frozen environment is
        reset, and the next invocation runs a suppressed init)."""
        runtime = next(
            (
                p
                for p in self.env.procs.entries
                if p.kind == "runtime" and not p.exited and p.process is not None
            ),
            None,
        )
        if runtime is None or runtime.process is None:
            raise LifecycleMismatch("there is no running runtime to crash")
        with self.env.subscribe() as events, anyio.fail_after(30):
            runtime.process.kill()
            async for event in events:
                if event.type == "process_exit" and event.data["kind"] == "runtime":
                    return

    async def spin_down(self) -> None:
        """Shut the environment down now (SHUTDOWN ``spindown`` to the extensions)."""
        await self.env.shutdown()

    # -- reading -----------------------------------------------------------------------------
    @property
    def state(self) -> str:
        """The environment's state now."""
        return self.env.state

    @property
    def transitions(self) -> list[str]:
        """The ids of the spec rows the environment took, in order."""
        return [e.data["transition"] for e in self.events if e.type == "transition"]

    def lines_starting(self, prefix: str) -> list[str]:
        """The CloudWatch lines that start with ``prefix`` (``REPORT``, ``INIT_START``, ...)."""
        return [line for line in self.lines if line.startswith(prefix)]

    def shutdown_reasons(self) -> list[str]:
        """The reasons of the Resets and Shutdowns so far (``timeout``, ``failure``,
        ``spindown``)."""
        return [e.data["reason"] for e in self.events if e.type == "shutdown_start"]

    # -- asserting ---------------------------------------------------------------------------
    def assert_transitions(self, *expected: str) -> None:
        """Fail unless the spec rows taken so far are exactly ``expected``."""
        if list(expected) != self.transitions:
            self.mismatch(f"the transitions {list(expected)}", "other transitions")

    def assert_took(self, *rows: str) -> None:
        """Fail unless every one of ``rows`` was taken (in any order, among others)."""
        missing = [row for row in rows if row not in self.transitions]
        if missing:
            self.mismatch(f"the transitions {missing} among those taken", "none of them")

    def assert_conforms(self) -> None:
        """Fail unless the transitions so far are a walk of the spec, from its initial state."""
        steps = [Step.of(e.data) for e in self.events if e.type == "transition"]
        problems = walk_violations(load_spec(), steps)
        if problems:
            self.mismatch("a walk of specs/lifecycle.json", "; ".join(problems))

    def mismatch(self, expected: str, got: str) -> NoReturn:
        """Raise :class:`LifecycleMismatch` with what was expected and what happened."""
        raise LifecycleMismatch(self.describe(expected, got))

    def describe(self, expected: str, got: str) -> str:
        """The failure message: the expectation, then what the environment did."""
        answers = [a._shown() for a in self.answers[-3:]]
        return "\n".join(
            [
                f"expected {expected}, but the environment gave {got}.",
                f"  state now: {self.state}",
                f"  transitions: {' -> '.join(self.transitions) or '(none)'}",
                f"  last answers: {json.dumps(answers)}",
                "  last log lines:",
                *(f"    {line}" for line in self.lines[-8:]),
            ]
        )
